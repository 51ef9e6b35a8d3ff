"""Build a :class:`~simulator.plan.LabPlan` in network namespaces, and take it down again.

Namespaces: ``<prefix>router`` (a bridge ``br<i>`` per nodes' subnet, ``lan0`` to the
workstation unless the gateway sits on a nodes' subnet), ``<prefix>node<i>`` (``eth0``; service
addresses on ``lo`` as MetalLB's speaker announces them, layer2 ones on ``eth0``) and
``<prefix>ws`` (the workstation, resolving through the router's dnsmasq). The router also
answers SSH on its LAN address as the gateway does (:mod:`simulator.gateway_ssh`).

A dual-stack lab (:attr:`~simulator.plan.Topology.ipv6`) has IPv6 beside IPv4 on every link: the
router forwards it, nodes and the workstation route it through the router, and no address is
ever ``tentative``: duplicate address detection is off in each namespace before any of its
interfaces exists (the kernel runs DAD when max(all, interface) ``accept_dad`` >= 1 and a new
interface takes ``default``'s: https://docs.kernel.org/networking/ip-sysctl.html, accept_dad).
"""

from __future__ import annotations

import atexit
import contextlib
import enum
import functools
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from pathlib import Path
from typing import Any

from . import environment
from .configs import (
    dnsmasq_host_records,
    frr_speaker_bgpd_conf,
    gobgp_speaker_conf,
    hosts_file,
    router_zebra_conf,
    speaker_zebra_conf,
)
from .errors import SimulationError
from .gateway_ssh import PORT, USER, GatewaySshEndpoint, PrivsepDir, force_command, keygen, sshd_config
from .model import IPAddress, IPNetwork
from .netns import Namespaces, ip, run, unique_prefix
from .plan import LabPlan, NodeKey, NodePlan
from .processes import Daemon, Processes
from .rendering import REPO_ROOT

STARTUP_TIMEOUT_S = 10.0
# bgpd's debug line for an announcement it refused (FRR bgpd/bgp_route.c, bgp_update, at "filtered:";
# "%pBP rcvd UPDATE about %s -- DENIED due to: %s", FRRouting/frr@frr-8.4.4 bgpd/bgp_route.c:4745),
# e.g. "10.10.0.101(worker1) rcvd UPDATE about 0.0.0.0/0 IPv4 unicast -- DENIED due to: route-map;"
# or "fd00:40::12(k2) rcvd UPDATE about ::/0 IPv6 unicast -- DENIED due to: route-map;"
_DENIED = re.compile(
    r"(?<!\S)(?P<peer>[0-9a-fA-F.:]+)\S* rcvd UPDATE about (?P<prefix>[0-9a-fA-F.:]+/\d+) .*-- DENIED due to: "
    r"(?P<reason>.*)"
)
GOBGP_API = "127.0.0.1:50051"  # inside each node's namespace


class SpeakerKind(enum.Enum):
    FRR = "frr"  # fast to converge: the default
    GOBGP = "gobgp"  # dials out and never listens, like MetalLB's native speaker


@dataclass(frozen=True)
class LabOptions:
    speaker: SpeakerKind = SpeakerKind.FRR
    # Fault injection: a node whose speaker uses another password than the rendered one. Keys
    # as LabPlan.node takes them: ``<stack>/<name>``, a name only one stack's nodes have, a NodeKey.
    speaker_passwords: Mapping[str | NodeKey, str] = field(default_factory=dict)


@dataclass
class RunningLab:
    plan: LabPlan
    workdir: Path
    router_ns: str
    workstation_ns: str
    node_ns: dict[NodeKey, str]
    speakers: dict[NodeKey, Daemon]
    processes: Processes
    gateway_ssh: GatewaySshEndpoint  # the router's sshd, reached from the workstation's namespace
    # A dual-stack lab: each node's link-local address → its address6. The router's IPv6 routes
    # go via a node's link-local address when its speaker sends one beside the global next hop
    # (FRR does on a shared network, and bgpd prefers it for the kernel route).
    link_locals: dict[IPv6Address, IPv6Address] = field(default_factory=dict)

    # --- the router's view ---------------------------------------------------------------

    def vtysh(self, command: str, daemon: str = "bgpd") -> str:
        return run(["vtysh", "--vty_socket", str(self.workdir / "router"), "-d", daemon, "-c", command])

    @property
    def versions(self) -> tuple[int, ...]:
        """The lab's IP versions: (4,) or, dual-stack, (4, 6)."""
        return (4, 6) if self.plan.topology.ipv6 else (4,)

    def router_sessions(self) -> dict[IPAddress, str]:
        """Neighbour address (either family) → BGP state, as the router's bgpd reports it."""
        neighbors: dict[str, Any] = json.loads(self.vtysh("show bgp neighbors json") or "{}")
        return {ip_address(address): str(info.get("bgpState")) for address, info in neighbors.items()}

    def router_received_prefixes(self, version: int = 4) -> dict[IPAddress, int]:
        """Neighbour address → prefixes of that family accepted from it (after policy)."""
        summary: dict[str, Any] = json.loads(self.vtysh(f"show bgp ipv{version} unicast summary json") or "{}")
        peers: dict[str, Any] = summary.get("peers", {})
        return {ip_address(address): int(info.get("pfxRcd", 0)) for address, info in peers.items()}

    def router_routes(self) -> dict[IPAddress, tuple[IPAddress, ...]]:
        """Host routes in the router's kernel table (IPv4, and IPv6 in a dual-stack lab) → their
        next hops; a node's link-local next hop is given as its address6."""
        result: dict[IPAddress, tuple[IPAddress, ...]] = {}
        for version in self.versions:
            routes: list[dict[str, Any]] = json.loads(
                ip(f"-{version}", "-n", self.router_ns, "-j", "route", "show") or "[]"
            )
            for route in routes:
                destination = str(route.get("dst", ""))
                if "/" in destination or destination == "default":
                    continue  # the /32 (/128) routes of service addresses are shown without a prefix length
                hops = [route] if "gateway" in route else route.get("nexthops", [])
                result[ip_address(destination)] = tuple(self._hop(hop["gateway"]) for hop in hops if "gateway" in hop)
        return result

    def _hop(self, text: str) -> IPAddress:
        hop = ip_address(text)
        return self.link_locals.get(hop, hop) if isinstance(hop, IPv6Address) else hop

    def router_bgp_table(self) -> dict[IPNetwork, set[IPAddress]]:
        """The router's BGP table (what its import policies let in): prefix → the neighbours
        it has a path from (IPv4 unicast, and IPv6 unicast in a dual-stack lab)."""
        result: dict[IPNetwork, set[IPAddress]] = {}
        for version in self.versions:
            table: dict[str, Any] = json.loads(self.vtysh(f"show bgp ipv{version} unicast json") or "{}")
            routes: dict[str, list[dict[str, Any]]] = table.get("routes", {})
            for prefix, paths in routes.items():
                result[ip_network(prefix)] = {ip_address(path["peerId"]) for path in paths}
        return result

    def router_rib(self) -> dict[IPNetwork, set[str]]:
        """zebra's routing table: prefix → the protocols with a route to it (both families in a
        dual-stack lab)."""
        result: dict[IPNetwork, set[str]] = {}
        for command in ("show ip route json", "show ipv6 route json")[: len(self.versions)]:
            routes: dict[str, list[dict[str, Any]]] = json.loads(self.vtysh(command, "zebra") or "{}")
            for prefix, entries in routes.items():
                result[ip_network(prefix)] = {str(e.get("protocol")) for e in entries}
        return result

    def router_log_size(self) -> int:
        return (self.workdir / "router" / "bgpd.log").stat().st_size

    def router_denied(self, since: int = 0) -> dict[tuple[IPAddress, IPNetwork], str]:
        """(neighbour, prefix) → why the router's bgpd refused that announcement, from its log
        past byte ``since`` (``debug bgp updates in`` is on in a lab with rogue nodes)."""
        with (self.workdir / "router" / "bgpd.log").open("rb") as log:
            log.seek(since)
            text = log.read().decode(errors="replace")
        return {
            (ip_address(match["peer"]), ip_network(match["prefix"])): match["reason"].strip(" ;")
            for match in _DENIED.finditer(text)
        }

    def refresh_routes_from(self, address: IPAddress) -> None:
        """Ask a neighbour to send its routes again (a route refresh), through today's policy."""
        self.vtysh(f"clear bgp ipv{address.version} unicast {address} soft in")

    # --- the workstation's view ----------------------------------------------------------

    def probe(self, *args: str) -> dict[str, Any]:
        output = run(["ip", "netns", "exec", self.workstation_ns, sys.executable, "-m", "simulator.probe", *args])
        result: dict[str, Any] = json.loads(output)
        return result

    # --- faults ----------------------------------------------------------------------------

    # A node is named as LabPlan.node takes it: its label, ``<stack>/<name>``, or a NodeKey.

    def link_down(self, node: str | NodeKey) -> None:
        ip("-n", self.node_ns[self.plan.node(node).key], "link", "set", "eth0", "down")

    def kill_speaker(self, node: str | NodeKey) -> None:
        """SIGKILL: the speaker sends no NOTIFICATION; with the link down not even a FIN."""
        speaker = self.speakers[self.plan.node(node).key]
        speaker.process.kill()
        speaker.process.wait()

    def node_of(self, address: IPAddress) -> str:
        """The label of the node at ``address``, either family (addresses are distinct across stacks)."""
        return next(node.label for node in self.plan.nodes if address in (node.address, node.address6))


@contextlib.contextmanager
def running_lab(plan: LabPlan, options: LabOptions | None = None) -> Iterator[RunningLab]:
    """The lab, up; everything started is stopped and every namespace deleted on exit, also
    when building or a check fails (and at interpreter exit, should the process be interrupted)."""
    options = options or LabOptions()
    # Before anything is built: a password for no such node, or for an ambiguous name, is an error.
    passwords: dict[str | NodeKey, str] = {
        plan.node(node, "speaker password for").key: pw for node, pw in options.speaker_passwords.items()
    }
    options = replace(options, speaker_passwords=passwords)
    environment.require(gobgp=options.speaker is SpeakerKind.GOBGP)
    validate_frr_config(plan.router_bgpd_conf)
    namespaces = Namespaces(unique_prefix())
    processes = Processes()
    privsep = PrivsepDir()
    workdir = Path(tempfile.mkdtemp(prefix=namespaces.prefix))
    stopped: list[str] = []  # the teardown's problems, once it ran

    def teardown() -> list[str]:
        if not stopped:
            processes.stop_all()
            stopped.extend(namespaces.delete_all() + privsep.release() or ["ok"])
            shutil.rmtree(workdir, ignore_errors=True)
        return [problem for problem in stopped if problem != "ok"]

    atexit.register(teardown)  # should the process be interrupted past the finally below
    try:
        yield _build(plan, options, namespaces, processes, workdir, privsep)
    finally:
        atexit.unregister(teardown)
        problems = teardown()
    # Reached only without an exception in flight: never hide the original failure.
    if problems:
        raise SimulationError("teardown: " + "; ".join(problems))


def validate_frr_config(text: str) -> None:
    """FRR's own parser on the router's config (``vtysh -C`` fails on a bad line; bgpd -C does not)."""
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as conf:
        conf.write(text)
        conf.flush()
        result = subprocess.run(["vtysh", "-C", "-f", conf.name], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SimulationError(f"FRR refuses the router's bgpd.conf:\n{result.stdout}{result.stderr}".strip())


def _build(
    plan: LabPlan,
    options: LabOptions,
    namespaces: Namespaces,
    processes: Processes,
    workdir: Path,
    privsep: PrivsepDir,
) -> RunningLab:
    topology = plan.topology
    ipv6 = topology.ipv6
    router = _namespace(namespaces, "router", ipv6)
    workstation = _namespace(namespaces, "ws", ipv6)
    node_ns = {node.key: _namespace(namespaces, f"node{index}", ipv6) for index, node in enumerate(plan.nodes)}

    bridges = {}
    for index, segment in enumerate(topology.segments):
        bridge = bridges[segment.subnet] = f"br{index}"
        ip("-n", router, "link", "add", bridge, "type", "bridge")
        ip("-n", router, "link", "set", bridge, "up")
        ip("-n", router, "addr", "add", f"{segment.router_address}/{segment.subnet.prefixlen}", "dev", bridge)
        if segment.subnet6 is not None and segment.router_address6 is not None:
            _add6(router, segment.router_address6, segment.subnet6, bridge)
    run(["ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv4.ip_forward=1"])
    if ipv6:
        run(["ip", "netns", "exec", router, "sysctl", "-qw", "net.ipv6.conf.all.forwarding=1"])
    if topology.shared_segment:
        _attach(router, "ws0", workstation, bridges[topology.lan])
    else:
        _attach(router, "lan0", workstation, None)
        ip("-n", router, "addr", "add", f"{topology.router_lan_address}/{topology.lan.prefixlen}", "dev", "lan0")
        if topology.lan6 is not None and topology.router_lan_address6 is not None:
            _add6(router, topology.router_lan_address6, topology.lan6, "lan0")
    ip("-n", workstation, "addr", "add", f"{topology.workstation_address}/{topology.lan.prefixlen}", "dev", "eth0")
    ip("-n", workstation, "route", "add", "default", "via", str(topology.router_lan_address))
    if topology.lan6 is not None and topology.workstation_address6 is not None:
        _add6(workstation, topology.workstation_address6, topology.lan6, "eth0")
        ip("-n", workstation, "-6", "route", "add", "default", "via", str(topology.router_lan_address6))
    namespaces.set_resolver(workstation, str(topology.router_lan_address))

    link_locals = {}
    for index, node in enumerate(plan.nodes):
        namespace = node_ns[node.key]
        segment = topology.segment_of(node.address)
        _attach(router, f"node{index}", namespace, bridges[segment.subnet])
        ip("-n", namespace, "addr", "add", f"{node.address}/{segment.subnet.prefixlen}", "dev", "eth0")
        ip("-n", namespace, "route", "add", "default", "via", str(segment.router_address))
        if node.address6 is not None and segment.subnet6 is not None:
            _add6(namespace, node.address6, segment.subnet6, "eth0")
            ip("-n", namespace, "-6", "route", "add", "default", "via", str(segment.router_address6))
            link_locals[_link_local(namespace)] = node.address6
        for address in node.bgp_addresses:
            ip("-n", namespace, "addr", "add", f"{address}/{address.max_prefixlen}", "dev", "lo")
        for address in node.layer2_addresses:
            ip("-n", namespace, "addr", "add", f"{address}/{address.max_prefixlen}", "dev", "eth0")

    _start_router(plan, router, processes, workdir / "router")
    speakers = {}
    for node in plan.peering_nodes:
        password = options.speaker_passwords.get(node.key, plan.stack_of(node).peer.password)
        speakers[node.key] = _start_speaker(
            plan, node, node_ns[node.key], options.speaker, password, processes, _node_dir(workdir, node)
        )
    for node in plan.nodes:
        if node.http_ports:
            log = _node_dir(workdir, node).with_name(f"http-{node.name}.log")
            log.parent.mkdir(parents=True, exist_ok=True)
            argv = ["ip", "netns", "exec", node_ns[node.key], sys.executable, "-m", "simulator.node_http"]
            argv += ["--ipv6"] if ipv6 else []
            processes.start(
                f"HTTP on {node.label}", [*argv, node.label, *map(str, node.http_ports)], log, cwd=REPO_ROOT
            )
    ssh = _start_gateway_sshd(plan, router, workstation, processes, workdir, privsep)
    processes.check_alive()
    return RunningLab(plan, workdir, router, workstation, node_ns, speakers, processes, ssh, link_locals)


def _namespace(namespaces: Namespaces, role: str, ipv6: bool) -> str:
    """A new namespace; in a dual-stack lab with duplicate address detection off before any
    interface is made in it (so no address of its is ever ``tentative``)."""
    name = namespaces.create(role)
    if ipv6:
        for scope in ("all", "default"):
            run(["ip", "netns", "exec", name, "sysctl", "-qw", f"net.ipv6.conf.{scope}.accept_dad=0"])
    return name


def _add6(namespace: str, address: IPv6Address, subnet: IPv6Network, device: str) -> None:
    ip("-n", namespace, "-6", "addr", "add", f"{address}/{subnet.prefixlen}", "dev", device)


def _link_local(namespace: str) -> IPv6Address:
    """eth0's link-local address (the kernel makes it as the link comes up: waited for)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        entries: list[dict[str, Any]] = json.loads(
            ip("-n", namespace, "-6", "-j", "addr", "show", "dev", "eth0", "scope", "link") or "[]"
        )
        # iproute2 writes an empty object for each address the scope filter leaves out.
        found = [info["local"] for entry in entries for info in entry.get("addr_info", []) if "local" in info]
        if found:
            return IPv6Address(str(found[0]))
        if time.monotonic() >= deadline:
            raise SimulationError(f"{namespace}: eth0 has no IPv6 link-local address")
        time.sleep(0.05)  # polling pace


def _node_dir(workdir: Path, node: NodePlan) -> Path:
    """``<workdir>/<name>``, or ``<workdir>/<stack>/<name>`` beside other stacks (whose nodes
    may have the same names)."""
    return workdir / node.stack / node.name if node.qualified else workdir / node.name


def _attach(router: str, router_side: str, other: str, bridge: str | None) -> None:
    """A veth pair: ``router_side`` in the router (on ``bridge`` if any), ``eth0`` in ``other``."""
    ip("-n", router, "link", "add", router_side, "type", "veth", "peer", "name", "eth0", "netns", other)
    if bridge is not None:
        ip("-n", router, "link", "set", router_side, "master", bridge)
    ip("-n", router, "link", "set", router_side, "up")
    ip("-n", other, "link", "set", "eth0", "up")


def _frr(
    namespace: str, daemon: str, config: str, directory: Path, processes: Processes, label: str, *extra: str
) -> Daemon:
    conf = directory / f"{daemon}.conf"
    conf.write_text(config)
    binary = environment.ZEBRA if daemon == "zebra" else environment.BGPD
    argv = ["ip", "netns", "exec", namespace, str(binary), "-u", "root", "-g", "frrvty", "-f", str(conf)]
    argv += ["-i", str(directory / f"{daemon}.pid"), "-z", str(directory / "zserv.api")]
    argv += ["--vty_socket", str(directory), "-P", "0", "--log", "stdout", *extra]
    return processes.start(label, argv, directory / f"{daemon}.log")


def _start_router(plan: LabPlan, namespace: str, processes: Processes, directory: Path) -> None:
    directory.mkdir()
    _frr(namespace, "zebra", router_zebra_conf(), directory, processes, "router zebra")
    _frr(namespace, "bgpd", plan.router_bgpd_conf, directory, processes, "router bgpd")
    hosts = directory / "hosts"
    hosts.write_text(hosts_file(plan.hosts))
    address = str(plan.topology.router_lan_address)
    dnsmasq = ["ip", "netns", "exec", namespace, "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--no-resolv"]
    dnsmasq += ["--no-hosts", f"--addn-hosts={hosts}", "--bind-interfaces", f"--listen-address={address}"]
    dnsmasq += ["--user=root", f"--pid-file={directory / 'dnsmasq.pid'}", "--log-facility=-"]
    processes.start("router dnsmasq", dnsmasq + dnsmasq_host_records(plan.hosts), directory / "dnsmasq.log")
    # Speakers that dial before the router listens back off; wait until its bgpd answers.
    _wait_until(lambda: _vtysh_ok(directory), "the router's bgpd to answer", processes)
    if plan.topology.ipv6:
        # An IPv6 session that comes up before bgpd knows its interfaces has no interface for the
        # node's link-local next hop, and bgpd withdraws every route it gets over it ("sent a v6
        # LL next-hop and there's no peer interface information", FRRouting/frr@frr-8.4.4
        # bgpd/bgp_attr.c:2192-2195). A gateway's bgpd knows them long before nodes dial.
        _wait_until(lambda: _bgpd_has_addresses(directory), "the router's bgpd to learn its interfaces", processes)
    if plan.rogue_routes:
        # Before any speaker dials: the log then names every announcement the router refuses.
        # A debug switch at run time, not a line of the config under test.
        run(["vtysh", "--vty_socket", str(directory), "-d", "bgpd", "-c", "debug bgp updates in"])


def _start_gateway_sshd(
    plan: LabPlan, router: str, workstation: str, processes: Processes, workdir: Path, privsep: PrivsepDir
) -> GatewaySshEndpoint:
    """The router's sshd on its LAN address, port 22, waited for until it answers the
    workstation; its keys, config and PID file in ``<workdir>/ssh``."""
    directory = workdir / "ssh"
    directory.mkdir()
    host_key = keygen(directory / "host_ed25519")
    client_key = keygen(directory / "client_ed25519")
    (directory / "authorized_keys").write_text(client_key.public + "\n")
    address = plan.topology.router_lan_address
    # For a person exploring a kept lab: ssh -o UserKnownHostsFile=<this> -i client_ed25519 ...
    (directory / "known_hosts").write_text(f"{address} {host_key.public}\n")
    # The venv's python as invoked (a venv's python is a symlink: resolving it would leave the venv).
    python = Path(sys.executable).absolute()
    command = force_command(python, REPO_ROOT, plan.kind.value, workdir / "router")
    config = directory / "sshd_config"
    config.write_text(sshd_config(address, PORT, directory, command))
    privsep.ensure()
    argv = ["ip", "netns", "exec", router, str(environment.SSHD), "-D", "-e", "-f", str(config)]
    processes.start("router sshd", argv, directory / "sshd.log")
    # Its banner, read from the workstation: the caller's way in answers.
    banner = f"exec 3<>/dev/tcp/{address}/{PORT} && read -r -t 1 line <&3 && [[ $line == SSH-2.0-* ]]"
    answers = functools.partial(_succeeds, ["ip", "netns", "exec", workstation, "bash", "-c", banner])
    _wait_until(answers, f"the router's sshd to answer on {address}:{PORT}", processes)
    return GatewaySshEndpoint(str(address), PORT, USER, host_key.public, client_key.private)


def _start_speaker(
    plan: LabPlan,
    node: NodePlan,
    namespace: str,
    kind: SpeakerKind,
    password: str | None,
    processes: Processes,
    directory: Path,
) -> Daemon:
    directory.mkdir(parents=True)
    peer = plan.stack_of(node).peer
    address6 = node.address6 if node.peers6 else None
    if kind is SpeakerKind.FRR:
        zebra = speaker_zebra_conf(ipv6=address6 is not None)
        _frr(namespace, "zebra", zebra, directory, processes, f"{node.label} zebra")
        config = frr_speaker_bgpd_conf(
            node.name, node.address, peer, password, node.bgp_addresses, node.rogue_prefixes, address6
        )
        # -n: a MetalLB speaker announces, it does not install the routes it hears.
        return _frr(namespace, "bgpd", config, directory, processes, f"{node.label} bgpd", "-n")
    conf = directory / "gobgpd.toml"
    conf.write_text(gobgp_speaker_conf(node.address, peer, password, address6))
    argv = ["ip", "netns", "exec", namespace, "gobgpd", "-f", str(conf), "-t", "toml"]
    argv += ["--api-hosts", GOBGP_API, "--pprof-disable", "--log-plain"]
    daemon = processes.start(f"{node.label} gobgpd", argv, directory / "gobgpd.log")
    host, port = GOBGP_API.split(":")
    for prefix in [ip_network(address) for address in node.bgp_addresses] + list(node.rogue_prefixes):
        # The config file cannot hold routes: add each through the API once gobgpd serves it.
        add = ["ip", "netns", "exec", namespace, "gobgp", "-u", host, "-p", port, "global", "rib", "add"]
        if isinstance(prefix, IPv4Network):
            add += ["-a", "ipv4", str(prefix), "nexthop", str(node.address)]
        else:
            # Origin IGP, as FRR's ``network`` gives: the router's multipath needs equal attributes
            # on every node's path (issue 19 research §4, experiment).
            add += ["-a", "ipv6", str(prefix), "nexthop", str(node.address6), "origin", "igp"]
        _wait_until(functools.partial(_succeeds, add), f"{node.label}'s gobgpd to take {prefix}", processes)
    return daemon


_INTERFACE_ADDRESSES = re.compile(r"^Intf Addr\s+(\d+)", re.MULTILINE)


def _bgpd_has_addresses(directory: Path) -> bool:
    """zebra has sent bgpd the interfaces' addresses (``show zebra client``: the bgp client's
    ``Intf Addr`` count, FRRouting/frr@frr-8.4.4 zebra/zserv.c:1070)."""
    result = subprocess.run(
        ["vtysh", "--vty_socket", str(directory), "-d", "zebra", "-c", "show zebra client"],
        capture_output=True,
        text=True,
        check=False,
    )
    for block in result.stdout.split("Client: ")[1:]:
        if block.startswith("bgp") and (sent := _INTERFACE_ADDRESSES.search(block)) is not None:
            return int(sent[1]) > 0
    return False


def _vtysh_ok(directory: Path) -> bool:
    return _succeeds(["vtysh", "--vty_socket", str(directory), "-d", "bgpd", "-c", "show bgp summary json"])


def _succeeds(argv: list[str]) -> bool:
    return subprocess.run(argv, capture_output=True, check=False).returncode == 0


def _wait_until(condition: Callable[[], bool], what: str, processes: Processes) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not condition():
        processes.check_alive()
        if time.monotonic() >= deadline:
            raise SimulationError(f"timed out after {STARTUP_TIMEOUT_S:g}s waiting for {what}")
        time.sleep(0.05)  # polling pace
