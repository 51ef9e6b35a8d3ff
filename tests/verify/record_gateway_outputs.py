"""Record what FRR prints for the gateway-output parsers' fixtures, from the simulated labs.

Not a test: run by hand, as root, where the simulator runs (``make simulate`` works), to
refresh ``tests/verify/outputs/frr-*``:

    venv/bin/python -m tests.verify.record_gateway_outputs [state ...]

Each state is a real lab (FRR's zebra and bgpd as the router, FRR speakers in network
namespaces) brought into the state the file names; what the verify command reads is saved as
the router prints it: ``show ip bgp summary`` (text and ``json``, and the one-family JSON
without its wrapper) from bgpd, ``show ip route`` (text and ``json``) from zebra. The states
and the FRR that printed them: ``outputs/README.md``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any, Protocol

from simulator.lab import LabOptions, RunningLab, running_lab
from simulator.netns import ip, run
from simulator.plan import LabPlan, plan_lab
from simulator.rendering import render_stack, stack_facts
from tests.simulator.conftest import stack_path

OUTPUTS = Path(__file__).resolve().parent / "outputs"
COMMANDS = {
    "bgp-summary.txt": ("show ip bgp summary", "bgpd"),
    "bgp-summary.json": ("show ip bgp summary json", "bgpd"),
    # One address family asked for: FRR prints its table without the "ipv4Unicast" wrapper.
    "bgp-summary-ipv4-unicast.json": ("show bgp ipv4 unicast summary json", "bgpd"),
    "route.txt": ("show ip route", "zebra"),
    "route.json": ("show ip route json", "zebra"),
}
TIMEOUT_S = 60.0


def wait(what: str, condition: Callable[[], bool], seen: Callable[[], object] | None = None) -> None:
    """Until ``condition`` holds, for TIMEOUT_S at the most; the timeout says what was ``seen``."""
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}" + (f"; seen: {seen()}" if seen else ""))
        time.sleep(0.2)


def _states(lab: RunningLab) -> dict[IPv4Address, str]:
    """IPv4 neighbour -> BGP state (RunningLab.router_sessions reads IPv4 neighbours only)."""
    neighbors: dict[str, Any] = json.loads(lab.vtysh("show bgp neighbors json") or "{}")
    return {IPv4Address(key): str(info.get("bgpState")) for key, info in neighbors.items() if ":" not in key}


def _all_established(lab: RunningLab) -> Callable[[], bool]:
    expected = {node.address for node in lab.plan.peering_nodes}
    return lambda: {a for a, s in _states(lab).items() if s == "Established"} == expected


def _hops(lab: RunningLab, count: int) -> Callable[[], bool]:
    """Every BGP service address is in the kernel table with ``count`` next hops."""
    addresses = [service.address for service in lab.plan.bgp_services]
    return lambda: all(len(lab.router_routes().get(address, ())) == count for address in addresses)


class Router(Protocol):
    def vtysh(self, command: str, daemon: str = "bgpd") -> str: ...


def save(lab: Router, state: str, commands: Mapping[str, tuple[str, str]] = COMMANDS) -> None:
    """What the router prints for each of ``commands`` (file suffix → command, daemon), saved as
    ``outputs/frr-<state>-<suffix>``."""
    for suffix, (command, daemon) in commands.items():
        text = lab.vtysh(command, daemon)
        if suffix.endswith(".json"):
            json.loads(text)  # a broken capture is not a fixture
        (OUTPUTS / f"frr-{state}-{suffix}").write_text(text)
    print(f"recorded {state}", file=sys.stderr)


def _configure(lab: RunningLab, *lines: str) -> None:
    argv = ["vtysh", "--vty_socket", str(lab.workdir / "router"), "-d", "bgpd", "-c", "configure terminal"]
    for line in lines:
        argv += ["-c", line]
    run(argv)


@contextmanager
def _lab(
    stack: str, options: LabOptions | None = None, edit: Callable[[Path], None] | None = None
) -> Iterator[RunningLab]:
    with tempfile.TemporaryDirectory() as directory:
        rendered = Path(directory)
        render_stack(stack_path(stack), rendered)
        if edit is not None:
            edit(rendered)
        plan: LabPlan = plan_lab(rendered, stack_facts(stack_path(stack)))
        with running_lab(plan, options) as lab:
            yield lab


def usg() -> None:
    """The post's lab (config.gateway.json translated, maximum-paths 1): all up; then a node's
    speaker killed, another neighbour shut down, and a kernel route beside the BGP one."""
    with _lab("Pulumi.lab.yaml") as lab:
        wait("every session", _all_established(lab))
        wait("the service route", _hops(lab, 1))
        save(lab, "usg-established")

        lab.kill_speaker("worker3")
        # An IPv6 neighbour with a 4-byte AS beside them (never up: nothing answers there); its
        # long address widens FRR's Neighbor column for every row.
        ipv6 = "fd00:10:10:0:1234:5678:9abc:def0"
        _configure(lab, "router bgp 64512", "neighbor 10.10.0.200 shutdown", f"neighbor {ipv6} remote-as 4200000001")
        # A route the kernel holds for the service address (as another daemon or a user would
        # add it): zebra prefers it over BGP's, and shows both entries for the one prefix.
        ip("-n", lab.router_ns, "route", "add", "10.10.10.10/32", "via", "10.10.0.102", "metric", "500")
        down = {IPv4Address("10.10.0.103"), IPv4Address("10.10.0.200")}
        wait("two sessions down", lambda: all(_states(lab)[a] != "Established" for a in down))
        save(lab, "usg-down")


# A peer that accepts the router's connection and then, with "open", sends one OPEN (BGP-4,
# RFC 4271 4.2: marker, length 29, type 1, version 4, AS, hold time 90, BGP identifier, no
# optional parameters) and nothing more: the router waits in OpenConfirm for its KEEPALIVE;
# with "silent", nothing at all: the router waits in OpenSent for its OPEN.
FAKE_PEER = """
import socket, struct, sys, time
address, asn, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
server = socket.create_server((address, 179))
connection, _ = server.accept()
if mode == "open":
    connection.sendall(b"\\xff" * 16 + struct.pack("!HBBHH4sB", 29, 1, 4, asn, 90, socket.inet_aton(address), 0))
time.sleep(600)
"""


def _fake_peer(lab: RunningLab, node: str, asn: int, mode: str) -> subprocess.Popen[bytes]:
    namespace = lab.node_ns[lab.plan.node(node).key]
    address = str(lab.plan.node(node).address)
    argv = ["ip", "netns", "exec", namespace, sys.executable, "-c", FAKE_PEER, address, str(asn), mode]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def usg_states() -> None:
    """The post's lab with its sessions in the states between Idle and Established: worker2's
    speaker killed (the router's connects are refused: Active), worker3 and master replaced
    by peers that accept the connection and stay silent (OpenSent) or send only an OPEN
    (OpenConfirm), each session reset so that the router dials them at once."""
    with _lab("Pulumi.lab.yaml") as lab:
        wait("every session", _all_established(lab))
        for node in ("worker2", "worker3", "master"):
            lab.kill_speaker(node)
        peers = [_fake_peer(lab, "worker3", 64512, "silent"), _fake_peer(lab, "master", 64512, "open")]
        try:
            time.sleep(0.5)  # the fake peers listen
            for address in ("10.10.0.103", "10.10.0.200"):
                lab.vtysh(f"clear ip bgp {address}")
            expected = {
                IPv4Address("10.10.0.101"): "Established",
                IPv4Address("10.10.0.102"): "Active",
                IPv4Address("10.10.0.103"): "OpenSent",
                IPv4Address("10.10.0.200"): "OpenConfirm",
            }
            wait(f"the states {expected}", lambda: _states(lab) == expected)
            save(lab, "usg-states")
        finally:
            for peer in peers:
                peer.kill()
                peer.wait()


def password() -> None:
    """A USG lab with TCP MD5: node2's speaker has another password, so its session stays down."""
    options = LabOptions(speaker_passwords={"node2": "not-the-password"})
    with _lab("password", options) as lab:
        up = {IPv4Address("10.50.0.11"), IPv4Address("10.50.0.13")}
        wait("node1 and node3", lambda: {a for a, s in _states(lab).items() if s == "Established"} == up)
        wait("the service route", _hops(lab, 1))
        time.sleep(3.0)  # several connect retries of node2's session
        save(lab, "password")


def udm() -> None:
    """Pulumi.udm.yaml (the rendered bgpd.conf, eBGP, maximum-paths 3): ECMP over three nodes;
    then one node's speaker killed: two paths."""
    with _lab("Pulumi.udm.yaml") as lab:
        wait("every session", _all_established(lab))
        wait("three paths", _hops(lab, 3))
        save(lab, "udm-ecmp")
        lab.kill_speaker("k2")
        wait("two paths", _hops(lab, 2))
        save(lab, "udm-one-down")


def policy() -> None:
    """eBGP to FRR without an import policy (RFC 8212): sessions up, every route refused."""

    def drop_the_line(directory: Path) -> None:
        conf = directory / "bgpd.conf"
        line = "  neighbor metallb-ebgp-unifi-os route-map metallb-ebgp-unifi-os-in in\n"
        conf.write_text(conf.read_text().replace(line, ""))

    with _lab("ebgp-unifi-os", edit=drop_the_line) as lab:
        wait("every session", _all_established(lab))
        time.sleep(2.0)
        save(lab, "no-import-policy")


STATES = {"usg": usg, "usg-states": usg_states, "password": password, "udm": udm, "policy": policy}


def record(states: Mapping[str, Callable[[], None]], argv: list[str]) -> None:
    """Record the states named in ``argv``, or all of them."""
    OUTPUTS.mkdir(exist_ok=True)
    for name in argv or list(states):
        states[name]()


if __name__ == "__main__":
    record(STATES, sys.argv[1:])
