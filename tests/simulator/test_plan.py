from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from components.config.model import GatewayKind
from components.render import load_lab
from simulator.errors import SimulationError, UnmodeledField
from simulator.plan import LabPlan, RogueRoute, plan_lab
from tests.simulator.conftest import REPO, stack_path, write_rendered


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
