"""Issue 19's lab: dual-stack, each a real lab (FRR/gobgpd and dnsmasq in network namespaces),
built from hand-written rendered files (tests/simulator/dual_stack.py says why and how they are
to be replaced by render's). Skipped where the other scenarios are (the ``lab_environment``
fixture), a failure with METALLB_UNIFI_REQUIRE_NETNS=1."""

from __future__ import annotations

import json
from dataclasses import replace
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path

import pytest

from components.config.model import GatewayKind
from simulator.__main__ import describe
from simulator.checks import Deadlines, run_checks
from simulator.errors import CheckFailed
from simulator.lab import LabOptions, SpeakerKind, running_lab
from simulator.plan import LabPlan, plan_stacks
from tests.simulator.dual_stack import dual_stack_rendered

pytestmark = pytest.mark.usefixtures("lab_environment")

GOBGP_DEADLINES = Deadlines(sessions_s=30.0)  # gobgpd waits 5-10 s before its first connect


def _plan(stack: str, tmp_path: Path, rogue: tuple[str, ...] = ()) -> LabPlan:
    return plan_stacks([dual_stack_rendered(stack, tmp_path)], rogue)


@pytest.mark.parametrize(
    ("stack", "rogue", "speaker"),
    [
        pytest.param("dual-stack-usg", "n1", SpeakerKind.FRR, id="usg-frr"),
        pytest.param("dual-stack-usg", "n2", SpeakerKind.GOBGP, id="usg-gobgp"),
        pytest.param("dual-stack-unifi-os", "k2", SpeakerKind.FRR, id="unifi-os-frr"),
        pytest.param("dual-stack-unifi-os", "k3", SpeakerKind.GOBGP, id="unifi-os-gobgp"),
    ],
)
def test_a_dual_stack_lab(tmp_path, stack, rogue, speaker):
    """The issue's dual-stack lab: each node has an IPv4 and an IPv6 session, both Established;
    the IPv6 service addresses are routed (over every node on UniFi OS, over one on the USG,
    whose translated config keeps one path); names answer AAAA beside A through the gateway's
    dnsmasq; the workstation reaches the services over IPv6; a rogue node's IPv6 default route,
    the LAN's IPv6 prefix, an address outside the pools and a wider aggregate are each refused
    by the gateway's IPv6 import map, and none is installed."""
    plan = _plan(stack, tmp_path, (rogue,))
    deadlines = GOBGP_DEADLINES if speaker is SpeakerKind.GOBGP else Deadlines()
    with running_lab(plan, LabOptions(speaker=speaker)) as lab:
        results = dict(run_checks(lab, deadlines))
        routes, table, rib, denied = lab.router_routes(), lab.router_bgp_table(), lab.router_rib(), lab.router_denied()
        server = str(plan.topology.router_lan_address)
        aaaa = lab.probe("dns", "--type", "AAAA", server, *(n for s in plan.services for n in s.names))
        neighbors = json.loads(lab.vtysh("show bgp neighbors json"))
        described = describe(plan, lab)
    nodes = len(plan.nodes)
    for node in plan.nodes:
        assert f": {node.address} and {node.address6}, peers (IPv4 and IPv6)\n" in described + "\n"
    assert f"; IPv6 {plan.topology.router_lan_address6} (LAN {plan.topology.lan6}), " in described
    assert results["sessions"].detail == f"{2 * nodes} sessions Established ({nodes} IPv4, {nodes} IPv6)"
    nodes6 = {node.address6 for node in plan.nodes}
    for service in plan.bgp_services:
        for address in service.of_version(6):
            hops = set(routes[address])
            if plan.kind is GatewayKind.USG:
                assert len(hops) == 1 and hops <= nodes6, f"{address} via {hops}: the USG keeps one path"
            else:
                assert hops == nodes6, f"{address} via {hops}: ECMP over every node"
    for name, service in ((n, s) for s in plan.services for n in s.names):
        expected = [str(a) for a in service.of_version(6)]
        assert aaaa[name] == ({"addresses": expected} if expected else {"error": "REFUSED"}), name
    for service in plan.services:
        for address in service.of_version(6):
            assert f"http://[{address}]:" in results["http"].detail
    # The gateway's sessions: an IPv6 neighbour is also IPv4-active on the USG (Vyatta's
    # ``remote-as`` activates it there), only IPv6-active on UniFi OS (its own peer-group).
    for node in plan.nodes:
        families = set(neighbors[str(node.address6)]["addressFamilyInfo"])
        assert families == ({"ipv4Unicast", "ipv6Unicast"} if plan.kind is GatewayKind.USG else {"ipv6Unicast"})
    rogue_node = plan.node(rogue)
    assert rogue_node.address6 is not None
    rogue6 = [route for route in rogue_node.rogue_routes if route.prefix.version == 6]
    assert [route.prefix for route in rogue6[:2]] == [IPv6Network("::/0"), plan.topology.lan6]
    for route in rogue6:
        assert denied[(rogue_node.address6, route.prefix)] == "route-map", f"{route.prefix} ({route.what})"
        assert route.prefix not in table and "bgp" not in rib.get(route.prefix, set())
    assert plan.topology.lan6 is not None and rib[plan.topology.lan6] == {"connected"}
    assert "::/0" in results["filters"].detail and "none installed" in results["filters"].detail


def test_without_its_ipv6_import_map_a_usg_takes_a_rogues_ipv6_routes(tmp_path):
    """Negative control: the USG's IPv6 neighbours without ``address-family ipv6-unicast
    route-map``; everything n1 announces over IPv6 gets in (iBGP: FRR wants no policy), a
    default route included, and the filters check names it."""
    directory, lab_facts = dual_stack_rendered("dual-stack-usg", tmp_path)
    path = directory / "config.gateway.json"
    document = json.loads(path.read_text())
    for address, neighbor in document["protocols"]["bgp"]["64512"]["neighbor"].items():
        if ":" in address:
            assert neighbor["address-family"]["ipv6-unicast"].pop("route-map")["import"].endswith("-in6")
    path.write_text(json.dumps(document))
    plan = plan_stacks([(directory, lab_facts)], ("n1",))
    with running_lab(plan) as lab:
        with pytest.raises(CheckFailed) as failure:
            run_checks(lab, Deadlines(filters_s=2.0))
        rib = lab.router_rib()
    assert failure.value.check == "filters"
    assert "::/0 (an IPv6 default route) from n1: in the router's BGP table" in failure.value.detail
    assert rib[IPv6Network("::/0")] == {"bgp"}, "a rogue IPv6 default route on the gateway"
    assert "10.60.10.64/32" not in failure.value.detail, "IPv4 keeps its own import map"


def test_the_routes_check_counts_next_hops_per_family(tmp_path):
    """Negative control: UniFi OS's IPv6 ``maximum-paths`` edited to 1 while the check expects
    the rendered 3: IPv4 still spreads over the three nodes, IPv6 takes one, and the routes
    check says so (each family has its own maximum-paths)."""
    directory, lab_facts = dual_stack_rendered("dual-stack-unifi-os", tmp_path)
    conf = directory / "bgpd.conf"
    head, ipv6 = conf.read_text().split(" address-family ipv6 unicast\n")
    conf.write_text(head + " address-family ipv6 unicast\n" + ipv6.replace("maximum-paths 3", "maximum-paths 1"))
    edited = plan_stacks([(directory, lab_facts)])
    assert edited.maximum_paths[(6, "ebgp")] == 1
    plan = replace(edited, maximum_paths={(4, "ebgp"): 3, (6, "ebgp"): 3})
    service = plan.services[0]
    with running_lab(plan) as lab:
        with pytest.raises(CheckFailed) as failure:
            run_checks(lab, Deadlines(routes_s=3.0))
        routes = lab.router_routes()
    assert failure.value.check == "routes"
    (address6,) = service.of_version(6)
    assert f"{address6} (home-assistant): via " in failure.value.detail
    assert "1 next hop where 3 are due (maximum-paths 3, 3 of its nodes' sessions up)" in failure.value.detail
    assert len(routes[service.address]) == 3 and len(routes[address6]) == 1
    assert isinstance(address6, IPv6Address) and str(service.address) not in failure.value.detail
