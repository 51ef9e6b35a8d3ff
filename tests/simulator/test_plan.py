import re
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from pathlib import Path
from typing import Any

import pytest

from components.config.model import GatewayKind
from components.render import load_lab, render_artifacts
from simulator.errors import SimulationError, UnmodeledField
from simulator.lab import LabOptions, running_lab
from simulator.plan import LabPlan, NodeKey, RogueRoute, Segment, maximum_paths, plan_lab, plan_stacks
from tests.simulator.conftest import REPO, stack_path, write_rendered, write_rendered_stacks
from tests.simulator.dual_stack import dual_stack_rendered

USG_PAIR = ["Pulumi.lab.yaml", "Pulumi.lab-test.yaml"]
UNIFI_OS_PAIR = ["ebgp-unifi-os", "ibgp-unifi-os"]
SAME_NAMES_PAIR = ["Pulumi.lab.yaml", "lab-twin"]  # both clusters have a master and a worker1


def _plan(name: str, tmp_path: Path, rogue: tuple[str, ...] = ()) -> LabPlan:
    return plan_lab(write_rendered(name, tmp_path), load_lab(stack_path(name), REPO / "Pulumi.yaml"), rogue)


def test_the_posts_lab(tmp_path):
    plan = _plan("Pulumi.lab.yaml", tmp_path)
    topology = plan.topology
    assert (topology.lan, topology.router_lan_address) == (IPv4Network("192.168.1.0/24"), IPv4Address("192.168.1.1"))
    assert (topology.router_node_address, topology.workstation_address) == (
        IPv4Address("10.10.0.1"),
        IPv4Address("192.168.1.254"),
    )
    assert [n.name for n in plan.peering_nodes] == ["master", "worker1", "worker2", "worker3"]
    assert all(n.bgp_addresses == (IPv4Address("10.10.10.10"),) and n.http_ports == (80,) for n in plan.nodes)
    assert "maximum-paths 1" in plan.router_bgpd_conf
    assert [c.url for c in plan.http_checks] == ["http://k8s-dashboard.service/"]


def test_a_gateway_on_the_nodes_subnet_shares_their_segment(tmp_path):
    plan = _plan("Pulumi.udm.yaml", tmp_path)
    assert plan.kind is GatewayKind.UNIFI_OS
    assert plan.topology.shared_segment
    assert plan.topology.router_node_address == IPv4Address("192.168.30.1")
    assert plan.router_bgpd_conf == (tmp_path / "bgpd.conf").read_text()  # as rendered
    assert any("jellyfin" in note for note in plan.notes)


def test_selectors_layer2_and_notes(tmp_path):
    plan = _plan("Pulumi.crds.yaml", tmp_path)
    cp1 = plan.node("cp1")
    assert not cp1.peers and cp1.bgp_addresses == ()
    assert cp1.layer2_addresses == (IPv4Address("10.20.0.200"),)  # the elected layer2 node
    assert plan.node("node1").bgp_addresses == (IPv4Address("10.20.10.10"),)
    assert [s.name for s in plan.bgp_services] == ["grafana"]
    assert any("registry" in note for note in plan.notes)
    assert any("http://dns.lab.home:53/" in note for note in plan.notes)


def test_an_unmodeled_field_stops_the_plan(tmp_path):
    write_rendered("Pulumi.lab.yaml", tmp_path)
    path = tmp_path / "config.gateway.json"
    path.write_text(path.read_text().replace('"remote-as"', '"route-reflector-client": "\'\'", "remote-as"', 1))
    with pytest.raises(UnmodeledField, match="route-reflector-client"):
        plan_lab(tmp_path, load_lab(stack_path("Pulumi.lab.yaml"), REPO / "Pulumi.yaml"))


def test_a_rogue_node_announces_what_no_gateway_should_take(tmp_path):
    plan = _plan("Pulumi.lab.yaml", tmp_path, ("worker1",))
    assert plan.rogue_routes == (
        RogueRoute(IPv4Network("0.0.0.0/0"), "a default route"),
        RogueRoute(IPv4Network("192.168.1.0/24"), "the workstation's LAN"),
        # the pool is 10.10.10.10-10.10.10.250
        RogueRoute(IPv4Network("10.10.10.251/32"), "an address outside every pool"),
        RogueRoute(IPv4Network("10.10.11.10/32"), "an address in 10.10.11.0/24, a pool another stack could own"),
        RogueRoute(IPv4Network("10.10.10.8/30"), "an aggregate wider than the pool's 10.10.10.10/31"),
    )
    assert [node.name for node in plan.rogue_nodes] == ["worker1"]
    worker1 = plan.node("worker1")
    assert worker1.rogue_prefixes == tuple(route.prefix for route in plan.rogue_routes)
    assert worker1.bgp_addresses == (IPv4Address("10.10.10.10"),), "it announces the services too"
    assert _plan("Pulumi.lab.yaml", tmp_path).rogue_routes == ()


def test_rogue_routes_stay_clear_of_the_pools_and_of_each_other(tmp_path):
    plan = _plan("Pulumi.crds.yaml", tmp_path, ("node1",))
    outside, other = (route.prefix for route in plan.rogue_routes[2:4])
    assert (outside, other) == (IPv4Network("10.20.11.0/32"), IPv4Network("10.20.12.10/32"))


@pytest.mark.parametrize(
    ("name", "why"),
    [("worker9", "no such node"), ("cp1", "does not peer with the gateway")],
)
def test_a_rogue_node_must_be_a_peering_node(tmp_path, name, why):
    stack = "Pulumi.crds.yaml" if name == "cp1" else "Pulumi.lab.yaml"
    with pytest.raises(SimulationError, match=why):
        _plan(stack, tmp_path, (name,))


def test_two_usg_stacks_on_two_subnets_get_a_bridge_each(tmp_path):
    plan = plan_stacks(write_rendered_stacks(USG_PAIR, tmp_path))
    assert [stack.name for stack in plan.stacks] == ["lab", "lab-test"]
    assert plan.topology.segments == (
        Segment(IPv4Network("10.10.0.0/24"), IPv4Address("10.10.0.1")),
        Segment(IPv4Network("10.10.1.0/24"), IPv4Address("10.10.1.1")),
    )
    assert not plan.topology.shared_segment
    assert (plan.topology.router_lan_address, plan.topology.workstation_address) == (
        IPv4Address("192.168.1.1"),
        IPv4Address("192.168.1.254"),
    )
    lab, test = plan.stacks
    assert [n.name for n in test.nodes] == ["test1", "test2"] and {n.stack for n in test.nodes} == {"lab-test"}
    assert test.announcing == {IPv4Address("10.10.1.11"), IPv4Address("10.10.1.12")}
    assert [s.address for s in test.bgp_services] == [IPv4Address("10.10.11.10")]
    assert [s.address for s in lab.bgp_services] == [IPv4Address("10.10.10.10")]
    # Beside another stack, a node is named with its stack.
    assert [c.answering_nodes for c in plan.http_checks] == [
        tuple(f"lab/{n.name}" for n in lab.nodes),
        ("lab-test/test1", "lab-test/test2"),
    ]
    # The router runs the composed file: both stacks' neighbours, each through its own route-map.
    conf = plan.router_bgpd_conf
    assert "  neighbor 10.10.0.101 route-map metallb-lab-in in" in conf
    assert "  neighbor 10.10.1.11 route-map metallb-lab-test-in in" in conf
    assert {h.name for h in plan.hosts} >= {"k8s-dashboard.service", "whoami.test.service"}
    assert "composed with every stack installed (lab, lab-test)" in plan.router_config_source


def test_two_unifi_os_stacks_on_one_subnet_share_its_bridge(tmp_path):
    plan = plan_stacks(write_rendered_stacks(UNIFI_OS_PAIR, tmp_path))
    assert plan.topology.segments == (Segment(IPv4Network("10.40.0.0/24"), IPv4Address("10.40.0.1")),)
    assert plan.topology.lan == IPv4Network("192.168.40.0/24")
    ebgp, ibgp = plan.stacks
    assert (ebgp.peer.ebgp, ibgp.peer.ebgp) == (True, False)
    assert plan.router_bgpd_conf == (tmp_path / "0" / "bgpd.conf").read_text()  # as composed
    assert "  maximum-paths ibgp 2" in plan.router_bgpd_conf.splitlines()
    assert {h.name for h in plan.hosts} >= {"home-assistant.k8s.home", "whoami.test.k8s.home"}


def test_beside_another_stack_a_rogue_announces_its_real_addresses(tmp_path):
    plan = plan_stacks(write_rendered_stacks(USG_PAIR, tmp_path), ("test1",))
    lab_nodes = tuple(sorted(node.address for node in plan.stacks[0].nodes))
    assert plan.node("test1").rogue_routes == (
        RogueRoute(IPv4Network("0.0.0.0/0"), "a default route"),
        RogueRoute(IPv4Network("192.168.1.0/24"), "the workstation's LAN"),
        RogueRoute(IPv4Network("10.10.11.51/32"), "an address outside every pool"),
        # lab's service address: lab's own nodes announce it, and their routes must stay
        RogueRoute(IPv4Network("10.10.10.10/32"), "stack lab's service address (k8s-dashboard)", lab_nodes),
        RogueRoute(IPv4Network("10.10.10.10/31"), "stack lab's pool block"),
        RogueRoute(IPv4Network("10.10.11.8/30"), "an aggregate wider than the pool's 10.10.11.10/31"),
    )
    assert [node.name for node in plan.rogue_nodes] == ["test1"]
    # A rogue of the first stack gets the second's; "outside every pool" stays clear of both.
    (tmp_path / "again").mkdir()
    other = plan_stacks(write_rendered_stacks(USG_PAIR, tmp_path / "again"), ("worker1",))
    routes = {route.prefix: route for route in other.node("worker1").rogue_routes}
    assert routes[IPv4Network("10.10.11.10/32")].owners == (IPv4Address("10.10.1.11"), IPv4Address("10.10.1.12"))
    assert IPv4Network("10.10.10.251/32") in routes
    assert not any("another stack could own" in route.what for route in routes.values())


def _variant(tmp_path: Path, name: str, source: str, old: str, new: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    text = stack_path(source).read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return path


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ("peerAddress: 192.168.1.1", "peerAddress: 192.168.2.1", "different addresses"),
        ("address: 10.10.1.1", "address: 10.10.0.1", None),  # one subnet for both: modeled
    ],
)
def test_what_a_shared_lab_cannot_build_is_refused(tmp_path, old, new, why):
    (tmp_path / "lab").mkdir()
    (tmp_path / "other").mkdir()
    lab = load_lab(stack_path("Pulumi.lab.yaml"), REPO / "Pulumi.yaml")
    other = load_lab(_variant(tmp_path, "other", "Pulumi.lab-test.yaml", old, new), REPO / "Pulumi.yaml")
    for file, content in render_artifacts(other, other.pinned_addresses).items():
        (tmp_path / "other" / file).write_text(content)
    stacks = [(write_rendered("Pulumi.lab.yaml", tmp_path / "lab"), lab), (tmp_path / "other", other)]
    if why is None:
        plan = plan_stacks(stacks)
        assert [segment.subnet for segment in plan.topology.segments] == [IPv4Network("10.10.0.0/24")]
        return
    with pytest.raises(SimulationError, match=why):
        plan_stacks(stacks)


def test_two_stacks_may_have_nodes_of_the_same_names(tmp_path):
    plan = plan_stacks(write_rendered_stacks(SAME_NAMES_PAIR, tmp_path), ("lab-twin/worker1",))
    lab, twin = plan.stacks
    assert [n.label for n in twin.nodes] == ["lab-twin/master", "lab-twin/worker1"]
    assert [n.label for n in lab.nodes] == ["lab/master", "lab/worker1", "lab/worker2", "lab/worker3"]
    assert len({n.key for n in plan.nodes}) == len(plan.nodes) == 6
    assert plan.node("lab/worker1").address == IPv4Address("10.10.0.101")
    assert plan.node(NodeKey("lab-twin", "worker1")).address == IPv4Address("10.10.1.101")
    assert plan.node("worker2").label == "lab/worker2", "a name only one stack has needs no stack"
    assert plan.stack_of(plan.node("lab-twin/master")) is twin
    # Each stack's service is announced and served by its own nodes only, named with their stack.
    assert twin.announcing == {IPv4Address("10.10.1.200"), IPv4Address("10.10.1.101")}
    assert [c.answering_nodes for c in plan.http_checks] == [
        ("lab/master", "lab/worker1", "lab/worker2", "lab/worker3"),
        ("lab-twin/master", "lab-twin/worker1"),
    ]
    # Only the named one is rogue, not its namesake in the other stack.
    assert [n.label for n in plan.rogue_nodes] == ["lab-twin/worker1"]
    owned = [route for route in plan.node("lab-twin/worker1").rogue_routes if route.owners]
    assert [route.prefix for route in owned] == [IPv4Network("10.10.10.10/32")]
    assert set(owned[0].owners) == lab.announcing


def test_a_single_stack_names_its_nodes_without_the_stack(tmp_path):
    plan = _plan("Pulumi.lab.yaml", tmp_path)
    assert [n.label for n in plan.nodes] == ["master", "worker1", "worker2", "worker3"]
    assert plan.node("lab/worker1") is plan.node("worker1")


@pytest.mark.parametrize(
    ("reference", "why"),
    [
        (
            "worker1",
            "'worker1': ambiguous, stacks lab, lab-twin each have a node of that name: "
            "say lab/worker1 or lab-twin/worker1",
        ),
        ("lab-twin/worker2", "'lab-twin/worker2': no such node (the nodes: lab/master, lab/worker1, "),
        ("other/worker1", "'other/worker1': no such node"),
    ],
)
def test_a_bare_name_two_stacks_have_is_ambiguous(tmp_path, reference, why):
    stacks = write_rendered_stacks(SAME_NAMES_PAIR, tmp_path)
    plan = plan_stacks(stacks)
    with pytest.raises(SimulationError, match=f"^node {re.escape(why)}"):
        plan.node(reference)
    (tmp_path / "again").mkdir()
    with pytest.raises(SimulationError, match=f"^rogue node {re.escape(why)}"):
        plan_stacks(write_rendered_stacks(SAME_NAMES_PAIR, tmp_path / "again"), (reference,))
    # A speaker's password is refused before anything is built (no daemon, no namespace).
    with (
        pytest.raises(SimulationError, match=f"^speaker password for {re.escape(why)}"),
        running_lab(plan, LabOptions(speaker_passwords={reference: "not-the-password"})),
    ):
        pass


# --- dual-stack (issue 19), from hand-written rendered files -----------------------------------


def _dual(name: str, tmp_path: Path, rogue: tuple[str, ...] = (), **facts: Any) -> LabPlan:
    return plan_stacks([dual_stack_rendered(name, tmp_path, **facts)], rogue)


def test_an_ipv4_only_lab_has_no_ipv6(tmp_path):
    plan = _plan("ebgp-unifi-os", tmp_path)
    assert not plan.topology.ipv6 and plan.topology.lan6 is None
    assert all(n.address6 is None and not n.peers6 for n in plan.nodes)
    assert [address.version for _, address in plan.sessions] == [4, 4, 4]


def test_a_dual_stack_usg_lab(tmp_path):
    plan = _dual("dual-stack-usg", tmp_path)
    topology = plan.topology
    # The gateway's IPv6 address is on the nodes' subnet: the router holds it on their bridge, and
    # the workstation's LAN gets a unique local /64 of its own.
    assert topology.segments == (
        Segment(
            IPv4Network("10.60.0.0/24"),
            IPv4Address("10.60.0.1"),
            IPv6Network("fd00:60::/64"),
            IPv6Address("fd00:60::1"),
        ),
    )
    assert (topology.lan6, topology.router_lan_address6, topology.workstation_address6) == (
        IPv6Network("fd00:1a::/64"),
        IPv6Address("fd00:1a::1"),
        IPv6Address("fd00:1a::fe"),
    )
    n1 = plan.node("n1")
    assert (n1.address6, n1.peers6) == (IPv6Address("fd00:60::11"), True)
    assert set(n1.bgp_addresses) == {
        IPv4Address("10.60.10.10"),
        IPv4Address("10.60.10.11"),
        IPv6Address("2001:db8:60::10"),
        IPv6Address("2001:db8:60::20"),
    }
    assert [str(address) for _, address in plan.sessions] == ["10.60.0.11", "10.60.0.12", "fd00:60::11", "fd00:60::12"]
    services = {s.name: s.addresses for s in plan.services}
    # outputs.json names web's IPv4 address; its Service pins the IPv6 one too.
    assert services["web"] == (IPv4Address("10.60.10.10"), IPv6Address("2001:db8:60::10"))
    assert services["v6only"] == (IPv6Address("2001:db8:60::20"),)
    assert [c.url for c in plan.http_checks] == [
        "http://legacy.lab.home:8080/",
        "http://v6only.lab.home:8081/",
        "http://[2001:db8:60::20]:8081/",
        "http://web.lab.home/",
        "http://[2001:db8:60::10]:80/",
    ]
    assert set(plan.maximum_paths.values()) == {1}, "the translated USG keeps one path in both families"
    assert plan.stacks[0].announcing_in(6) == {IPv6Address("fd00:60::11"), IPv6Address("fd00:60::12")}


def test_a_dual_stack_unifi_os_lab_spreads_each_family_over_three_paths(tmp_path):
    plan = _dual("dual-stack-unifi-os", tmp_path)
    assert plan.router_bgpd_conf == (tmp_path / "bgpd.conf").read_text()
    assert plan.maximum_paths == {(4, "ebgp"): 3, (6, "ebgp"): 3}
    assert plan.paths_allowed(6, plan.stacks[0]) == 3
    assert {h.name for h in plan.hosts if h.address.version == 6} == {"ha", "home-assistant", "home-assistant.k8s.home"}


def test_a_rogue_also_announces_an_ipv6_default_route_and_the_lans_ipv6_prefix(tmp_path):
    plan = _dual("dual-stack-unifi-os", tmp_path, ("k2",))
    routes = [(route.prefix, route.what) for route in plan.node("k2").rogue_routes if route.prefix.version == 6]
    assert routes == [
        (IPv6Network("::/0"), "an IPv6 default route"),
        (IPv6Network("fd00:1a::/64"), "the workstation's IPv6 LAN"),
        (IPv6Network("2001:db8:70::100/128"), "an IPv6 address outside every pool"),
        (IPv6Network("2001:db8:70::/119"), "an aggregate wider than the pool's 2001:db8:70::/120"),
    ]
    assert len(plan.rogue_routes) == 9, "the five IPv4 ones too"


def test_a_node_without_an_ipv6_address_has_no_ipv6_session(tmp_path):
    plan = _dual("dual-stack-unifi-os", tmp_path, ("k2",), without_address6=("k2",))
    k2 = plan.node("k2")
    assert (k2.address6, k2.peers6) == (None, False)
    assert k2.bgp_addresses == (IPv4Address("10.70.10.10"),), "an IPv6 address goes over an IPv6 session"
    assert all(route.prefix.version == 4 for route in k2.rogue_routes)
    assert plan.stacks[0].announcing_in(6) == {IPv6Address("fd00:70::11"), IPv6Address("fd00:70::13")}
    assert len(plan.sessions) == 5


def test_a_pin_of_a_family_the_service_lacks_is_not_announced(tmp_path):
    plan_dir, lab = dual_stack_rendered("dual-stack-usg", tmp_path)
    services = plan_dir / "services.yaml"
    services.write_text(services.read_text().replace("  - IPv4\n  - IPv6\n", "  - IPv4\n", 1))
    plan = plan_stacks([(plan_dir, lab)])
    assert IPv6Address("2001:db8:60::10") not in plan.node("n1").bgp_addresses
    assert any("2001:db8:60::10 is IPv6, the Service's ipFamilies are IPv4" in note for note in plan.notes)


def test_a_gateway_ipv6_address_metallb_does_not_peer_with_is_refused(tmp_path):
    why = "MetalLB peers with fd00:60::1 but the gateway's IPv6 address is fd00:60::2"
    with pytest.raises(SimulationError, match=re.escape(why)):
        _dual("dual-stack-usg", tmp_path, peer_address6="fd00:60::2")


def test_two_stacks_at_different_gateway_ipv6_addresses_are_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = dual_stack_rendered("dual-stack-usg", tmp_path / "a")
    second = dual_stack_rendered("dual-stack-usg", tmp_path / "b", peer_address6="fd00:60::2")
    with pytest.raises(SimulationError, match="different IPv6 addresses"):
        plan_stacks([first, second])


def test_maximum_paths_are_read_per_address_family():
    conf = "\n".join(
        [
            "router bgp 65000",
            " maximum-paths 4",  # outside an address-family: IPv4 unicast's
            " address-family ipv6 unicast",
            "  maximum-paths 2",
            "  maximum-paths ibgp 8",
            " exit-address-family",
            " address-family ipv4 unicast",
            "  maximum-paths ibgp 3",
            " exit-address-family",
        ]
    )
    assert maximum_paths(conf) == {(4, "ebgp"): 4, (6, "ebgp"): 2, (6, "ibgp"): 8, (4, "ibgp"): 3}
