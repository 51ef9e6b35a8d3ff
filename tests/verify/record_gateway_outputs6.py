"""Record what FRR prints about IPv6 BGP for the gateway-output parsers' fixtures.

Not a test: run by hand, as root, where Debian's ``frr`` and ``gobgpd`` are installed, to
refresh ``tests/verify/outputs/frr-*-dual-*``:

    venv/bin/python -m tests.verify.record_gateway_outputs6 [uos|usg ...]

Each state is built here in network namespaces of its own (``mlu-<pid>-<n>-``, removed
afterwards): a router (FRR 8.4's zebra and bgpd on a bridge ``br0``, IPv4 and IPv6) and the
nodes on it, each a veth end with a v4 and a v6 address. Nodes ``n1``/``n2`` are FRR speakers
configured as MetalLB's FRR mode configures them (metallb/metallb@v0.15.3:
internal/bgp/frr/templates/frr.tmpl: ``no bgp default ipv4-unicast``, ``network`` statements,
no next-hop setting), so they send a global and a link-local next hop and the router installs
the link-local one; ``n3`` is gobgpd (one global next hop). The states, and what each file
holds: ``outputs/README.md``.
"""

from __future__ import annotations

import functools
import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from simulator import environment
from simulator.errors import SimulationError
from simulator.netns import Namespaces, ip, run, unique_prefix
from simulator.processes import Processes
from tests.verify.record_gateway_outputs import record, save, wait

ASN = 64512
ROUTER_V4, ROUTER_V6 = "10.60.0.1", "fd00:10::1"
# Announced by n1 and n2 (two paths), by n1 alone, by n3 (gobgpd) alone; and refused.
ECMP, SINGLE, GOBGP = "2001:db8:100::10/128", "2001:db8:100::11/128", "2001:db8:100::12/128"
REFUSED = ("2001:db8:999::/48", "::/0", "fd00:10::/64")
POOL6 = "2001:db8:100::/64"
SHUT_DOWN = "fd00:10::15"  # configured and shut down on the router: Idle (Admin)
# The stack's filter in both families, as both gateways' renderers define it.
FILTER = (
    "!",
    "ip prefix-list metallb-lab-pools seq 10 permit 10.60.10.0/24 le 32",
    f"ipv6 prefix-list metallb-lab-pools6 seq 10 permit {POOL6} le 128",
    "route-map metallb-lab-in permit 10",
    " match ip address prefix-list metallb-lab-pools",
    "route-map metallb-lab-in6 permit 10",
    " match ipv6 address prefix-list metallb-lab-pools6",
    "route-map metallb-lab-out deny 10",
    "!",
)


@dataclass(frozen=True)
class Node:
    name: str
    number: int
    speaker: str | None  # "frr", "gobgp", or None: the address answers, nothing listens (Active)
    v4_over_v6: bool = False  # the v6 session activates IPv4 unicast too (MetalLB <= v0.14 FRR modes)

    @property
    def v4(self) -> str:
        return f"10.60.0.1{self.number}"

    @property
    def v6(self) -> str:
        return f"fd00:10::1{self.number}"


def _router_uos() -> str:
    """As the UniFi OS renderer writes bgpd.conf: a v4 and a v6 peer-group, nothing active by
    default, the v6 group activated and filtered in ``address-family ipv6 unicast`` only."""
    return "\n".join(
        [
            "frr defaults traditional",
            "hostname gw",
            *FILTER,
            f"router bgp {ASN}",
            f" bgp router-id {ROUTER_V4}",
            " no bgp default ipv4-unicast",
            " neighbor metallb-lab peer-group",
            f" neighbor metallb-lab remote-as {ASN}",
            " neighbor metallb-lab timers connect 1",
            " neighbor metallb-lab-v6 peer-group",
            f" neighbor metallb-lab-v6 remote-as {ASN}",
            " neighbor metallb-lab-v6 timers connect 1",
            " neighbor 10.60.0.11 peer-group metallb-lab",
            " neighbor 10.60.0.12 peer-group metallb-lab",
            *(f" neighbor fd00:10::1{n} peer-group metallb-lab-v6" for n in (1, 2, 3, 4)),
            f" neighbor {SHUT_DOWN} peer-group metallb-lab-v6",
            f" neighbor {SHUT_DOWN} shutdown",
            " address-family ipv4 unicast",
            "  neighbor metallb-lab activate",
            "  neighbor metallb-lab route-map metallb-lab-in in",
            "  neighbor metallb-lab route-map metallb-lab-out out",
            "  maximum-paths ibgp 8",
            " exit-address-family",
            " address-family ipv6 unicast",
            "  neighbor metallb-lab-v6 activate",
            "  neighbor metallb-lab-v6 route-map metallb-lab-in6 in",
            "  neighbor metallb-lab-v6 route-map metallb-lab-out out",
            "  maximum-paths ibgp 8",
            " exit-address-family",
            "",
        ]
    )


def _router_usg() -> str:
    """As the simulator translates a USG's config.gateway.json (brief §3): FRR's default
    ``bgp default ipv4-unicast`` left on, so every neighbour, the v6 ones too, is activated for
    IPv4 unicast as Vyatta's vyatta-bgp.pl does; the v6 filter under ``address-family ipv6
    unicast``; one path per prefix."""
    neighbors = ["10.60.0.11", "10.60.0.12", "fd00:10::11", "fd00:10::12", "fd00:10::14", SHUT_DOWN]
    lines = [
        "frr defaults traditional",
        "hostname usg",
        *FILTER,
        f"router bgp {ASN}",
        f" bgp router-id {ROUTER_V4}",
        *(f" neighbor {n} remote-as {ASN}" for n in neighbors),
        *(f" neighbor {n} timers connect 1" for n in neighbors),
        f" neighbor {SHUT_DOWN} shutdown",
        " address-family ipv4 unicast",
        *(f"  neighbor {n} route-map metallb-lab-in in" for n in neighbors),
        *(f"  neighbor {n} route-map metallb-lab-out out" for n in neighbors),
        "  maximum-paths 1",
        "  maximum-paths ibgp 1",
        " exit-address-family",
        " address-family ipv6 unicast",
        *(f"  neighbor {n} activate" for n in neighbors if ":" in n),
        *(f"  neighbor {n} route-map metallb-lab-in6 in" for n in neighbors if ":" in n),
        *(f"  neighbor {n} route-map metallb-lab-out out" for n in neighbors if ":" in n),
        "  maximum-paths 1",
        "  maximum-paths ibgp 1",
        " exit-address-family",
        "",
    ]
    return "\n".join(lines)


def _frr_speaker(node: Node, prefixes: tuple[str, ...]) -> str:
    """MetalLB's FRR mode, one session per family (v0.15: only the session's own family
    unless ``dualStackAddressFamily``); ``v4_over_v6`` activates IPv4 on the v6 session too."""
    lines = [
        "frr defaults traditional",
        f"hostname {node.name}",
        "ip nht resolve-via-default",
        "ipv6 nht resolve-via-default",
        "!",
        f"router bgp {ASN}",
        f" bgp router-id {node.v4}",
        " no bgp ebgp-requires-policy",
        " no bgp network import-check",
        " no bgp default ipv4-unicast",
        f" neighbor {ROUTER_V4} remote-as {ASN}",
        f" neighbor {ROUTER_V4} timers connect 1",
        f" neighbor {ROUTER_V6} remote-as {ASN}",
        f" neighbor {ROUTER_V6} timers connect 1",
        " address-family ipv4 unicast",
        f"  neighbor {ROUTER_V4} activate",
        *([f"  neighbor {ROUTER_V6} activate"] if node.v4_over_v6 else []),
        "  network 10.60.10.10/32",
        " exit-address-family",
        " address-family ipv6 unicast",
        f"  neighbor {ROUTER_V6} activate",
        *(f"  network {prefix}" for prefix in prefixes),
        " exit-address-family",
        "",
    ]
    return "\n".join(lines)


def _gobgp_speaker(node: Node) -> str:
    """gobgpd dialling the router's v6 address; with no afi-safis it takes the neighbour's own
    family only (osrg/gobgp@024b1f85:pkg/config/oc/default.go)."""
    return "\n".join(
        [
            "[global.config]",
            f"  as = {ASN}",
            f'  router-id = "{node.v4}"',
            "  port = -1",
            "[[neighbors]]",
            "  [neighbors.config]",
            f'    neighbor-address = "{ROUTER_V6}"',
            f"    peer-as = {ASN}",
            "  [neighbors.timers.config]",
            "    connect-retry = 1",
            "  [neighbors.transport.config]",
            f'    local-address = "{node.v6}"',
            "",
        ]
    )


class _Lab:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.namespaces = Namespaces(unique_prefix())
        self.processes = Processes()
        self.router = ""

    def vtysh(self, command: str, daemon: str = "bgpd") -> str:
        return run(["vtysh", "--vty_socket", str(self.workdir / "router"), "-d", daemon, "-c", command])

    def _namespace(self, role: str) -> str:
        name = self.namespaces.create(role)
        # No duplicate address detection: addresses are usable at once (not "tentative").
        ip("netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0")
        ip("netns", "exec", name, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0")
        return name

    def _frr(self, namespace: str, directory: Path, bgpd_conf: str, *extra: str) -> None:
        directory.mkdir(parents=True)
        zebra_conf = "frr defaults traditional\nip nht resolve-via-default\nipv6 nht resolve-via-default\n"
        for daemon, config in (("zebra", zebra_conf), ("bgpd", bgpd_conf)):
            conf = directory / f"{daemon}.conf"
            conf.write_text(config)
            binary = environment.ZEBRA if daemon == "zebra" else environment.BGPD
            argv = ["ip", "netns", "exec", namespace, str(binary), "-u", "root", "-g", "frrvty", "-f", str(conf)]
            argv += ["-i", str(directory / f"{daemon}.pid"), "-z", str(directory / "zserv.api")]
            argv += ["--vty_socket", str(directory), "-P", "0", "--log", "stdout"]
            argv += list(extra) if daemon == "bgpd" else []
            self.processes.start(f"{namespace} {daemon}", argv, directory / f"{daemon}.log")
            time.sleep(0.3)  # zebra's socket before bgpd connects to it

    def start(self, router_conf: str, nodes: list[Node], prefixes: dict[str, tuple[str, ...]]) -> None:
        self.router = self._namespace("gw")
        ip("netns", "exec", self.router, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1")
        ip("-n", self.router, "link", "add", "br0", "type", "bridge")
        ip("-n", self.router, "link", "set", "br0", "up")
        ip("-n", self.router, "addr", "add", f"{ROUTER_V4}/24", "dev", "br0")
        ip("-n", self.router, "addr", "add", f"{ROUTER_V6}/64", "dev", "br0")
        for node in nodes:
            namespace = self._namespace(node.name)
            side = f"v{node.name}"
            ip("-n", self.router, "link", "add", side, "type", "veth", "peer", "name", "eth0", "netns", namespace)
            ip("-n", self.router, "link", "set", side, "master", "br0")
            ip("-n", self.router, "link", "set", side, "up")
            ip("-n", namespace, "addr", "add", f"{node.v4}/24", "dev", "eth0")
            ip("-n", namespace, "addr", "add", f"{node.v6}/64", "dev", "eth0")
            ip("-n", namespace, "link", "set", "eth0", "up")
            ip("-n", namespace, "route", "add", "default", "via", ROUTER_V4)
            ip("-n", namespace, "-6", "route", "add", "default", "via", ROUTER_V6)
        self._frr(self.router, self.workdir / "router", router_conf)
        for node in nodes:
            namespace = self.namespaces.prefix + node.name
            directory = self.workdir / node.name
            if node.speaker == "frr":
                # -n: a MetalLB speaker announces, it does not install what it hears.
                self._frr(namespace, directory, _frr_speaker(node, prefixes.get(node.name, ())), "-n")
            elif node.speaker == "gobgp":
                directory.mkdir()
                conf = directory / "gobgpd.toml"
                conf.write_text(_gobgp_speaker(node))
                argv = ["ip", "netns", "exec", namespace, "gobgpd", "-f", str(conf), "-t", "toml"]
                argv += ["--api-hosts", "127.0.0.1:50051", "--pprof-disable", "--log-plain"]
                self.processes.start(f"{node.name} gobgpd", argv, directory / "gobgpd.log")
                add = ["ip", "netns", "exec", namespace, "gobgp", "-u", "127.0.0.1", "-p", "50051"]
                for prefix in prefixes.get(node.name, ()):
                    command = [*add, "global", "rib", "add", "-a", "ipv6", prefix, "nexthop", node.v6, "origin", "igp"]
                    wait(f"gobgpd to take {prefix}", functools.partial(_succeeds, command))
        self.processes.check_alive()

    def stop(self) -> None:
        self.processes.stop_all()
        problems = self.namespaces.delete_all()
        if problems:
            print("\n".join(problems), file=sys.stderr)


def _succeeds(argv: list[str]) -> bool:
    try:
        run(argv)
    except SimulationError:
        return False
    return True


@contextmanager
def _lab(router_conf: str, nodes: list[Node], prefixes: dict[str, tuple[str, ...]]) -> Iterator[_Lab]:
    with tempfile.TemporaryDirectory() as directory:
        lab = _Lab(Path(directory))
        try:
            lab.start(router_conf, nodes, prefixes)
            yield lab
        finally:
            lab.stop()


def _states6(lab: _Lab) -> dict[str, str]:
    summary = json.loads(lab.vtysh("show bgp ipv6 unicast summary json") or "{}")
    return {address: str(peer.get("state")) for address, peer in summary.get("peers", {}).items()}


def _hops6(lab: _Lab, prefix: str) -> int:
    routes = json.loads(lab.vtysh("show ipv6 route json", "zebra") or "{}")
    return sum(
        1
        for route in routes.get(prefix, [])
        if route.get("protocol") == "bgp" and route.get("installed")
        for hop in route.get("nexthops", [])
        if hop.get("fib")
    )


def uos() -> None:
    """UniFi OS: n1 and n2 up (FRR, two paths for ECMP, n1 a second prefix and the refused
    ones), n3 up (gobgpd, global next hop), n4's address answering with nothing listening
    (Active), one neighbour shut down (Idle (Admin))."""
    nodes = [Node("n1", 1, "frr"), Node("n2", 2, "frr"), Node("n3", 3, "gobgp"), Node("n4", 4, None)]
    prefixes = {"n1": (ECMP, SINGLE, *REFUSED), "n2": (ECMP,), "n3": (GOBGP,)}
    with _lab(_router_uos(), nodes, prefixes) as lab:
        expected = {
            "fd00:10::11": "Established",
            "fd00:10::12": "Established",
            "fd00:10::13": "Established",
            "fd00:10::14": "Active",
            SHUT_DOWN: "Idle (Admin)",
        }
        wait(f"the states {expected}", lambda: _states6(lab) == expected, lambda: _states6(lab))
        wait("two paths", lambda: _hops6(lab, ECMP) == 2 and _hops6(lab, SINGLE) == 1 and _hops6(lab, GOBGP) == 1)
        time.sleep(1.0)
        save(
            lab,
            "uos-dual",
            {
                "bgp6-summary.json": ("show bgp ipv6 unicast summary json", "bgpd"),
                "bgp6-summary.txt": ("show bgp ipv6 unicast summary", "bgpd"),
                # Every address family at once: {"ipv4Unicast": ..., "ipv6Unicast": ...}.
                "bgp-summary-all.json": ("show bgp summary json", "bgpd"),
                "bgp-summary.json": ("show ip bgp summary json", "bgpd"),
                "route6.json": ("show ipv6 route json", "zebra"),
                "route6.txt": ("show ipv6 route", "zebra"),
                "bgp6-table.json": ("show bgp ipv6 unicast json", "bgpd"),
                "bgp6-path-ecmp.txt": (f"show bgp ipv6 unicast {ECMP}", "bgpd"),
                "bgp6-path-gobgp.txt": (f"show bgp ipv6 unicast {GOBGP}", "bgpd"),
                "bgp6-path-refused.txt": (f"show bgp ipv6 unicast {REFUSED[0]}", "bgpd"),
            },
        )


def usg() -> None:
    """A USG's translation: the v6 neighbours are IPv4-activated too; n1's speaker activates
    IPv4 on its v6 session (so that row carries IPv4 prefixes), n2's does not (NoNeg); one path."""
    nodes = [Node("n1", 1, "frr", v4_over_v6=True), Node("n2", 2, "frr"), Node("n4", 4, None)]
    prefixes = {"n1": (ECMP, *REFUSED), "n2": (ECMP,)}
    with _lab(_router_usg(), nodes, prefixes) as lab:
        expected = {"fd00:10::11": "Established", "fd00:10::12": "Established", "fd00:10::14": "Active"}
        wait(
            f"the states {expected}",
            lambda: _states6(lab) == {**expected, SHUT_DOWN: "Idle (Admin)"},
            lambda: _states6(lab),
        )
        wait("one path", lambda: _hops6(lab, ECMP) == 1)
        time.sleep(1.0)
        save(
            lab,
            "usg-dual",
            {
                "bgp-summary.txt": ("show ip bgp summary", "bgpd"),
                "bgp6-summary.txt": ("show bgp ipv6 unicast summary", "bgpd"),
                "route6.txt": ("show ipv6 route", "zebra"),
                "bgp6-path-ecmp.txt": (f"show bgp ipv6 unicast {ECMP}", "bgpd"),
            },
        )


STATES = {"uos": uos, "usg": usg}


if __name__ == "__main__":
    record(STATES, sys.argv[1:])
