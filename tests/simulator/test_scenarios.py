"""The issue's scenarios, each a real lab: FRR/gobgpd and dnsmasq in network namespaces, built
from what ``render --show-secrets`` writes. Skipped without root, ``ip netns`` or the daemons
(a failure with METALLB_UNIFI_REQUIRE_NETNS=1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from simulator import netns
from simulator.__main__ import describe
from simulator.__main__ import main as simulate
from simulator.checks import Deadlines, names_resolve, routes_installed, run_checks, serving_node
from simulator.errors import CheckFailed, RenderRefused
from simulator.lab import LabOptions, RunningLab, SpeakerKind, running_lab
from simulator.plan import LabPlan, plan_lab, plan_stacks
from simulator.polling import Outcome, holds_for, wait_for
from simulator.rendering import PROJECT_FILE, REPO_ROOT, render_stack, render_stacks, stack_facts
from tests.simulator.conftest import STACKS, stack_path

pytestmark = pytest.mark.usefixtures("lab_environment")

GOBGP_DEADLINES = Deadlines(sessions_s=30.0)  # gobgpd waits 5-10 s before its first connect


def _plan(
    stack: str, tmp_path: Path, edit: Callable[[Path], None] | None = None, rogue: tuple[str, ...] = ()
) -> LabPlan:
    render_stack(stack_path(stack), tmp_path)
    if edit is not None:
        edit(tmp_path)
    return plan_lab(tmp_path, stack_facts(stack_path(stack)), rogue)


def _established(lab: RunningLab) -> dict[str, bool]:
    states = lab.router_sessions()
    return {node.name: states.get(node.address) == "Established" for node in lab.plan.peering_nodes}


def test_the_posts_lab(tmp_path):
    """Scenario 1: Pulumi.lab.yaml as is: iBGP 64512/64512, four nodes, one best path."""
    plan = _plan("Pulumi.lab.yaml", tmp_path)
    with running_lab(plan) as lab:
        results = dict(run_checks(lab))
        assert len(lab.router_routes()[plan.services[0].address]) == 1, "the USG keeps one best path"
        assert "http://k8s-dashboard.service/ from " in results["http"].detail


def test_ebgp_with_a_usg_and_gobgp_speakers(tmp_path):
    """Scenario 2a: eBGP 64513/64512, config.gateway.json translated to FRR (maximum-paths 1);
    speakers are gobgpd, which dials out like MetalLB's native speaker."""
    plan = _plan("ebgp-usg", tmp_path)
    with running_lab(plan, LabOptions(speaker=SpeakerKind.GOBGP)) as lab:
        run_checks(lab, GOBGP_DEADLINES)
        hops = lab.router_routes()[plan.services[0].address]
        assert len(hops) == 1


def test_ebgp_with_unifi_os_spreads_over_every_node(tmp_path):
    """Scenario 2b: eBGP 65010/65000, the rendered bgpd.conf loaded as is: ECMP over three nodes."""
    plan = _plan("ebgp-unifi-os", tmp_path)
    with running_lab(plan) as lab:
        run_checks(lab)
        hops = lab.router_routes()[plan.services[0].address]
        assert sorted(hops) == sorted(node.address for node in plan.nodes)


def test_without_an_import_policy_sessions_come_up_but_no_route(tmp_path):
    """Scenario 2, negative control: RFC 8212 in FRR drops every eBGP route without a policy
    (the rendered bgpd.conf imports through the stack's route-map; without that line, nothing)."""

    def drop_the_line(directory: Path) -> None:
        conf = directory / "bgpd.conf"
        text = conf.read_text()
        line = "  neighbor metallb-ebgp-unifi-os route-map metallb-ebgp-unifi-os-in in\n"
        assert line in text and "ebgp-requires-policy" not in text
        conf.write_text(text.replace(line, ""))

    plan = _plan("ebgp-unifi-os", tmp_path, drop_the_line)
    with running_lab(plan) as lab:
        with pytest.raises(CheckFailed) as failure:
            run_checks(lab, Deadlines(routes_s=2.0))
        assert failure.value.check == "routes"
        assert "no route in the router's kernel table" in failure.value.detail
        assert all(_established(lab).values()), "the sessions themselves are up"
        assert set(lab.router_received_prefixes().values()) == {0}, "every announcement was dropped"
        assert lab.router_routes().get(plan.services[0].address) is None
        assert names_resolve(lab).ok, "DNS does not depend on BGP"


def test_a_password_on_both_sides(tmp_path):
    """Scenario 3a: TCP MD5 on the router's neighbours and the speakers: sessions up."""
    with running_lab(_plan("password", tmp_path)) as lab:
        run_checks(lab)


def test_a_mismatched_password_keeps_that_session_down(tmp_path):
    """Scenario 3b: one node's speaker has another password: only its session stays down."""
    plan = _plan("password", tmp_path)
    with running_lab(plan, LabOptions(speaker_passwords={"node2": "not-the-password"})) as lab:

        def others_up_node2_down() -> Outcome:
            states = _established(lab)
            return Outcome(states == {"node1": True, "node2": False, "node3": True}, f"sessions: {states}")

        wait_for("node1 and node3 up", others_up_node2_down, timeout_s=15.0)
        # Observed over several connect retries (1 s each), not just once.
        holds_for("node2 stays down", others_up_node2_down, duration_s=3.0)
        with pytest.raises(CheckFailed) as failure:
            run_checks(lab, Deadlines(sessions_s=0.0))
        assert failure.value.check == "sessions"
        assert "node2 (10.50.0.12)" in failure.value.detail
        assert "node1" not in failure.value.detail and "node3" not in failure.value.detail
        # Polled: a session can be Established a moment before its first UPDATE is installed.
        wait_for("the other nodes still carry the service", lambda: routes_installed(lab), timeout_s=10.0)


def test_failover_by_hold_timer(tmp_path):
    """Scenario 4: hold time 4 s. The node the router uses loses its link and its speaker is
    killed (no NOTIFICATION, no FIN): the hold timer expires, the route moves to another node,
    and the URL answers again within the hold time of the failure."""
    plan = _plan("failover", tmp_path)
    hold_s, keepalive_s = plan.peer.hold_time_s, plan.peer.keepalive_time_s
    service = plan.services[0]
    with running_lab(plan) as lab:
        run_checks(lab)
        (hop,) = lab.router_routes()[service.address]
        used = lab.node_of(hop)
        assert serving_node(lab, service.url) == used

        failed_at = time.monotonic()
        lab.link_down(used)  # first, so that the kill's FIN never reaches the router
        lab.kill_speaker(used)

        def moved_and_answering() -> Outcome:
            hops = lab.router_routes().get(service.address, ())
            answered_by = serving_node(lab, service.url) if hops and hop not in hops else None
            ok = answered_by not in (None, used)
            return Outcome(ok, f"route via {hops or 'nothing'}, URL answered by {answered_by}")

        wait_for("failover", moved_and_answering, timeout_s=hold_s + 2.0)
        recovered_s = time.monotonic() - failed_at
        # Nothing moved before the hold timer could expire (the last keepalive came at most one
        # keepalive interval before the failure), and recovery followed it closely.
        print(f"failover: route moved and URL answered {recovered_s:.2f}s after the failure (hold {hold_s}s)")
        assert hold_s - keepalive_s - 0.5 <= recovered_s <= hold_s + 1.0, f"recovered after {recovered_s:.1f}s"
        assert _established(lab)[used] is False


def test_a_stack_render_refuses_builds_no_lab(tmp_path, capsys):
    """Scenario 5: render refuses the stack, so there is nothing to simulate and nothing is built."""
    ours = f"mlu-{os.getpid()}-"
    before = netns.existing(ours)
    with pytest.raises(RenderRefused, match="outside every pool"):
        render_stack(stack_path("invalid"), tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert simulate(["--stack-file", str(stack_path("invalid"))]) == 1
    assert "render refused" in capsys.readouterr().err
    assert netns.existing(ours) == before


def test_discovered_services_resolve_and_answer(tmp_path, capsys):
    """Scenario 6: a USG stack with discovery (mode all) and a saved `kubectl get services -A -o json`:
    the cluster's other Services' names resolve through the router and their URLs answer."""
    dump = STACKS / "discovery-services.json"
    render_stack(stack_path("discovery"), tmp_path, dump)
    plan = plan_lab(tmp_path, stack_facts(stack_path("discovery")))
    by_name = {service.name: service for service in plan.services}
    assert sorted(by_name) == ["dns/pihole-tcp", "media/jellyfin", "monitoring/grafana", "web"]
    assert by_name["dns/pihole-tcp"].names == ("pihole.lab.home", "pihole")
    with running_lab(plan) as lab:
        results = dict(run_checks(lab))
    assert results["dns"].detail == "9 names resolve"
    for url in ("http://grafana.lab.home/", "http://jellyfin.lab.home:8096/", "http://pihole.lab.home/"):
        assert f"{url} from " in results["http"].detail
    assert simulate(["--stack-file", str(stack_path("discovery")), "--services-from", str(dump)]) == 0
    assert "ok   dns: 9 names resolve" in capsys.readouterr().out


def _strip_usg_filters(directory: Path) -> None:
    """config.gateway.json without its neighbours' route-maps and the policies they name."""
    path = directory / "config.gateway.json"
    document = json.loads(path.read_text())
    for neighbor in document["protocols"]["bgp"]["64512"]["neighbor"].values():
        assert neighbor.pop("route-map") == {"import": "metallb-lab-in", "export": "metallb-lab-out"}
    assert sorted(document.pop("policy")) == ["prefix-list", "route-map"]
    path.write_text(json.dumps(document))


def test_without_import_filters_a_rogue_speaker_takes_over_the_router(tmp_path):
    """Scenario 7, negative control: with no import policy, everything worker1 announces is
    installed: a default route, a route to the LAN, addresses no pool holds. The filters check
    sees each one and fails (which is what makes its passing, below, mean something)."""
    plan = _plan("Pulumi.lab.yaml", tmp_path, _strip_usg_filters, rogue=("worker1",))
    with running_lab(plan) as lab:
        with pytest.raises(CheckFailed) as failure:
            run_checks(lab, Deadlines(filters_s=2.0))
        assert failure.value.check == "filters"
        for route in plan.rogue_routes:
            assert f"{route.prefix} ({route.what}) from worker1: in the router's BGP table" in failure.value.detail
        table = lab.router_bgp_table()
        assert all(table.get(route.prefix) == {plan.node("worker1").address} for route in plan.rogue_routes)
        rib = lab.router_rib()
        assert rib[IPv4Network("0.0.0.0/0")] == {"bgp"}, "a rogue default route on the gateway"
        assert rib[IPv4Network("192.168.1.0/24")] == {"connected", "bgp"}


def test_a_rogue_node_that_is_not_a_node_builds_no_lab(capsys):
    ours = f"mlu-{os.getpid()}-"
    before = netns.existing(ours)
    assert simulate(["--stack-file", str(stack_path("Pulumi.lab.yaml")), "--rogue-node", "worker9"]) == 1
    assert (
        "rogue node 'worker9': no such node (the nodes: master, worker1, worker2, worker3)" in capsys.readouterr().err
    )
    assert netns.existing(ours) == before


@pytest.mark.parametrize(
    ("stack", "rogue", "speaker"),
    [
        pytest.param("Pulumi.lab.yaml", "worker1", SpeakerKind.FRR, id="usg-frr"),
        pytest.param("Pulumi.lab.yaml", "worker1", SpeakerKind.GOBGP, id="usg-gobgp"),
        pytest.param("ebgp-unifi-os", "k2", SpeakerKind.FRR, id="unifi-os-frr"),
        pytest.param("ebgp-unifi-os", "k2", SpeakerKind.GOBGP, id="unifi-os-gobgp"),
    ],
)
def test_a_rogue_speakers_announcements_are_refused(tmp_path, stack, rogue, speaker):
    """Scenario 7: one node's speaker also announces a default route, the LAN, an address
    outside every pool, one in another stack's would-be pool and an aggregate wider than the
    pool. The gateway's import policy, as rendered (the USG's translated, UniFi OS's as
    written), refuses each; the services are routed, resolve and answer as before."""
    plan = _plan(stack, tmp_path, rogue=(rogue,))
    deadlines = GOBGP_DEADLINES if speaker is SpeakerKind.GOBGP else Deadlines()
    announcing = {node.address for node in plan.nodes if node.bgp_addresses}

    def every_path_in(lab: RunningLab) -> Outcome:
        table = lab.router_bgp_table()
        paths = {str(service.address): table.get(IPv4Network(service.address)) for service in plan.bgp_services}
        return Outcome(all(peers == announcing for peers in paths.values()), f"paths from {paths}")

    with running_lab(plan, LabOptions(speaker=speaker)) as lab:
        results = dict(run_checks(lab, deadlines))
        # Polled: the routes check needs one path per address, not yet every node's.
        wait_for("a path from every announcing node", lambda: every_path_in(lab), timeout_s=10.0)
        table, rib, denied = lab.router_bgp_table(), lab.router_rib(), lab.router_denied()
    rogue_address = plan.node(rogue).address
    assert len(plan.rogue_routes) == 5
    for route in plan.rogue_routes:
        assert route.prefix not in table, f"{route.prefix} ({route.what}) is in the router's BGP table"
        assert "bgp" not in rib.get(route.prefix, set()), f"{route.prefix} has a BGP route in zebra"
        assert denied[(rogue_address, route.prefix)] == "route-map"
    assert "bgp" not in rib.get(IPv4Network("0.0.0.0/0"), set())
    assert rib[plan.topology.lan] == {"connected"}
    for service in plan.bgp_services:
        host = IPv4Network(service.address)
        assert rib[host] == {"bgp"}
        assert rogue_address in table[host], "the rogue's own service route is taken"
    assert results["filters"].detail.startswith(f"{rogue}: 0.0.0.0/0, ")
    assert results["http"].ok and results["dns"].ok


def test_the_rogue_scenario_from_the_command_line(capsys):
    """`make simulate STACK=lab ROGUE=worker1`: the filters check is part of the run."""
    assert simulate(["--stack-file", str(stack_path("Pulumi.lab.yaml")), "--rogue-node", "worker1"]) == 0
    out = capsys.readouterr().out
    assert "  rogue: also announces 0.0.0.0/0 (a default route), 192.168.1.0/24 (the workstation's LAN)" in out
    assert "ok   filters: worker1: 0.0.0.0/0, 192.168.1.0/24, 10.10.10.251/32, 10.10.11.10/32, 10.10.10.8/30 " in out
    assert "ok   http: http://k8s-dashboard.service/ from worker1" in out


USG_PAIR = ("Pulumi.lab.yaml", "Pulumi.lab-test.yaml")
UNIFI_OS_PAIR = ("ebgp-unifi-os", "ibgp-unifi-os")
SAME_NAMES_PAIR = ("Pulumi.lab.yaml", "lab-twin")  # both clusters have a master and a worker1


def _plan_stacks(
    stacks: tuple[str, ...], tmp_path: Path, edit: Callable[[Path], None] | None = None, rogue: tuple[str, ...] = ()
) -> LabPlan:
    """As ``python -m simulator --stack-file A --with-stack B`` plans it: the gateway's files
    from ``render --with-stack`` (into the first directory), each stack's cluster from its own."""
    outs = [tmp_path / str(index) for index in range(len(stacks))]
    for out in outs:
        out.mkdir()
    render_stacks([stack_path(stack) for stack in stacks], outs)
    if edit is not None:
        edit(outs[0])
    return plan_stacks([(out, stack_facts(stack_path(stack))) for out, stack in zip(outs, stacks, strict=True)], rogue)


@pytest.mark.parametrize(
    ("stacks", "rogue", "speaker"),
    [
        pytest.param(USG_PAIR, "test1", SpeakerKind.FRR, id="usg-frr"),
        pytest.param(UNIFI_OS_PAIR, "t2", SpeakerKind.FRR, id="unifi-os-frr"),
        pytest.param(UNIFI_OS_PAIR, "k1", SpeakerKind.GOBGP, id="unifi-os-gobgp"),
        pytest.param(SAME_NAMES_PAIR, "lab-twin/worker1", SpeakerKind.FRR, id="same-node-names-frr"),
    ],
)
def test_two_clusters_behind_one_gateway_each_reach_only_their_own_addresses(tmp_path, stacks, rogue, speaker):
    """Scenario 8 (issue 17): two stacks' clusters behind one router running the gateway's files
    composed with both installed (the USG's translated, UniFi OS's as written). Every session is
    up, each stack's service routes go via its own nodes only, every name resolves and every URL
    answers. A rogue node of one stack also announces the other stack's service address and pool
    block: the router refuses them from it (its stack's import route-map accepts its own pools
    only) and keeps the other stack's own route to that address. With nodes of the same names in
    both stacks (a test cluster copied from the lab) each node still has its own namespace,
    speaker and HTTP stand-in, and each URL answers from a node of its own stack only."""
    plan = _plan_stacks(stacks, tmp_path, rogue=(rogue,))
    deadlines = GOBGP_DEADLINES if speaker is SpeakerKind.GOBGP else Deadlines()
    with running_lab(plan, LabOptions(speaker=speaker)) as lab:
        results = dict(run_checks(lab, deadlines))
        table, routes, denied = lab.router_bgp_table(), lab.router_routes(), lab.router_denied()
        served = {check.url: serving_node(lab, check.url) for check in plan.http_checks}
        described = describe(plan, lab)
        namespaces, speakers = dict(lab.node_ns), dict(lab.speakers)
    assert len(set(namespaces.values())) == len(namespaces) == len(plan.nodes)
    assert len({daemon.log.parent for daemon in speakers.values()}) == len(speakers) == len(plan.peering_nodes)
    for stack in plan.stacks:
        for node in stack.nodes:
            assert f"  node {stack.name}/{node.name} {namespaces[node.key]}: {node.address}, " in described
        for check in stack.http_checks:
            assert served[check.url] in check.answering_nodes
            assert str(served[check.url]).startswith(f"{stack.name}/"), f"{check.url} from {served[check.url]}"
    assert results["sessions"].detail == f"{len(plan.peering_nodes)} sessions Established"
    for stack in plan.stacks:
        for service in stack.bgp_services:
            assert table[IPv4Network(service.address)] <= stack.announcing, f"{service.name}: a path from elsewhere"
            assert set(routes[service.address]) <= stack.announcing
    rogue_node = plan.node(rogue)
    (owned,) = [route for route in rogue_node.rogue_routes if route.owners]
    other = next(stack for stack in plan.stacks if stack.name != rogue_node.stack)
    assert owned.prefix == IPv4Network(other.bgp_services[0].address) and set(owned.owners) == other.announcing
    for route in rogue_node.rogue_routes:
        assert denied[(rogue_node.address, route.prefix)] == "route-map", f"{route.prefix} ({route.what})"
        assert rogue_node.address not in table.get(route.prefix, set())
    assert table[owned.prefix], "the other stack's own route to its address stays"
    assert all(f"{check.url} from " in results["http"].detail for check in plan.http_checks)
    assert len(plan.http_checks) == 2


def test_two_clusters_from_the_command_line(capsys):
    """`make simulate STACKS=lab,lab-test ROGUE=worker2`: a rogue of the first stack this time."""
    argv = ["--stack-file", str(stack_path(USG_PAIR[0])), "--with-stack", str(stack_path(USG_PAIR[1]))]
    started = time.monotonic()
    assert simulate([*argv, "--rogue-node", "worker2"]) == 0
    print(f"two USG clusters, FRR speakers: {time.monotonic() - started:.1f}s")
    out = capsys.readouterr().out
    assert "10.10.0.1 (nodes 10.10.0.0/24), 10.10.1.1 (nodes 10.10.1.0/24)" in out
    assert "stack lab-test:\n  node lab-test/test1 " in out
    assert "ok   sessions: 6 sessions Established" in out
    assert "ok   routes: 10.10.10.10 via 10.10.0.101 (lab), 10.10.11.10 via 10.10.1.11 (lab-test)" in out
    assert "10.10.11.10/32 kept from its own stack's nodes" in out
    assert "ok   dns: 4 names resolve" in out
    assert "http://k8s-dashboard.service/ from lab/worker1, http://whoami.test.service/ from lab-test/test1" in out


def test_a_name_both_clusters_have_must_say_its_stack(capsys):
    """`--rogue-node worker1` beside a cluster that has a worker1 too: which one? No lab is built."""
    ours = f"mlu-{os.getpid()}-"
    before = netns.existing(ours)
    argv = ["--stack-file", str(stack_path(SAME_NAMES_PAIR[0])), "--with-stack", str(stack_path(SAME_NAMES_PAIR[1]))]
    assert simulate([*argv, "--rogue-node", "worker1"]) == 1
    assert (
        "FAIL rogue node 'worker1': ambiguous, stacks lab, lab-twin each have a node of that name: "
        "say lab/worker1 or lab-twin/worker1" in capsys.readouterr().err
    )
    assert netns.existing(ours) == before


def _no_import_policy_for_lab_test(directory: Path) -> None:
    """The composed config.gateway.json without lab-test's neighbours' route-maps."""
    path = directory / "config.gateway.json"
    document = json.loads(path.read_text())
    neighbors = document["protocols"]["bgp"]["64512"]["neighbor"]
    for address in ("10.10.1.11", "10.10.1.12"):
        assert neighbors[address].pop("route-map")["import"] == "metallb-lab-test-in"
    path.write_text(json.dumps(document))


def test_without_its_import_policy_another_clusters_rogue_is_taken(tmp_path):
    """Scenario 8, negative control: lab-test's neighbours without their import route-map; its
    rogue test1's announcement of lab's service address reaches the router's BGP table, and the
    filters check names it."""
    plan = _plan_stacks(USG_PAIR, tmp_path, _no_import_policy_for_lab_test, rogue=("test1",))
    with running_lab(plan) as lab:
        with pytest.raises(CheckFailed) as failure:
            run_checks(lab, Deadlines(filters_s=2.0))
        table = lab.router_bgp_table()
    assert failure.value.check == "filters"
    assert (
        "10.10.10.10/32 (stack lab's service address (k8s-dashboard)) from lab-test/test1: "
        "in the router's BGP table from lab-test/test1" in failure.value.detail
    )
    assert IPv4Address("10.10.1.11") in table[IPv4Network("10.10.10.10/32")]


def test_stacks_that_cannot_share_a_gateway_build_no_lab(tmp_path, capsys):
    """Conflicting stacks: the simulator stops before building anything, with the conflicts
    render --with-stack prints (here: another gateway AS, and a pool overlapping lab's)."""
    clash = tmp_path / "lab-clash.yaml"
    text = stack_path("Pulumi.lab-test.yaml").read_text()
    clash.write_text(
        text.replace("asn: 64512\n    peerAddress", "asn: 64513\n    peerAddress").replace(
            "10.10.11.50", '10.10.11.50", "10.10.10.200/32'
        )
    )
    ours = f"mlu-{os.getpid()}-"
    before = netns.existing(ours)
    lab = str(stack_path("Pulumi.lab.yaml"))
    assert simulate(["--stack-file", lab, "--with-stack", str(clash), "--rogue-node", "test1"]) == 1
    err = capsys.readouterr().err
    options = ["--with-stack", str(clash), "--out", str(tmp_path / "out"), "--show-secrets"]
    rendered = subprocess.run(
        [sys.executable, "-m", "components.render", "--stack-file", lab, "--project-file", str(PROJECT_FILE), *options],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert rendered.returncode == 2
    assert "these stacks cannot share one gateway (2 conflicts):" in rendered.stderr
    assert "metallb-unifi:gateway.asn" in rendered.stderr
    assert rendered.stderr.strip() in err and "no lab was built" in err
    assert netns.existing(ours) == before
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
