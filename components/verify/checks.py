"""The four checks, as pure functions of what the lab should show (:mod:`.expectations`) and
what was read from it: the gateway's BGP neighbours and routes (:mod:`.gateway_output`), DNS
answers and service answers (:mod:`.probes`). Each failure says its likely cause and where to
look, as docs/cluster.md's troubleshooting table does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from components.config.model import IPAddress

from .expectations import ExpectedEndpoint, ExpectedName, ExpectedNode, ExpectedRoute
from .gateway_output import BgpNeighbor, BgpPath, Route
from .probes import DnsAnswer, ReachAnswer
from .report import CheckResult, Item, listed

# Why a session is in a state other than Established, and where to look (RFC 4271 §8: Active and
# Connect wait for the TCP connection, OpenSent/OpenConfirm for the peer's OPEN or KEEPALIVE).
_STATE_CAUSES = {
    "Active": "no TCP session: the node or its speaker is down, or the BGP passwords differ",
    "Connect": "no TCP session: the node or its speaker is down, or the BGP passwords differ",
    "Idle": "the gateway is not trying: it refused the peer or is waiting to retry",
    "OpenSent": "the OPEN was not answered: the ASNs do not match what each side expects",
    "OpenConfirm": "the OPEN was refused: the ASNs or the router ids do not match",
}
_SESSIONS_WHERE = (
    "compare metallb-unifi:nodes and bgp with the gateway's neighbours (`show ip bgp summary` on it); "
    "the speaker's log: kubectl -n metallb-system logs -l component=speaker"
)
_SESSIONS_WHERE6 = (
    "compare metallb-unifi:nodes (address, address6), gateway.peerAddress6 and bgp with the gateway's "
    "neighbours (`show ip bgp summary`, `show ipv6 bgp summary` on it); "
    "the speaker's log: kubectl -n metallb-system logs -l component=speaker"
)
_ROUTES_WHERE = (
    "is the address the Service's external IP (`kubectl get services -A`) and announced by a node "
    "(its endpoints, externalTrafficPolicy, bgp.nodeSelectors)? The gateway's import filter takes only "
    "the stack's BGP pools (docs/gateway-filter.md)"
)
_DNS_WHERE = (
    "the host names did not reach the gateway (config.gateway.json's static-host-mapping on a USG, the DNS "
    "records on UniFi OS): run pulumi up, or look at them in the gateway's configuration"
)
_REACH_WHERE = (
    "routing between this machine and the service address, or the Service itself: "
    "kubectl -n NAMESPACE get endpoints SERVICE, and a node's route to it on the gateway"
)


def sessions(
    nodes: Sequence[ExpectedNode],
    neighbours: Mapping[IPv4Address, BgpNeighbor],
    neighbours6: Mapping[IPv6Address, BgpNeighbor] | None = None,
) -> CheckResult:
    """Every peering node's session is Established on the gateway: its IPv4 one, and its IPv6
    one (to ``gateway.peerAddress6``) when it has ``address6``."""
    if not nodes:
        return CheckResult.skipped("sessions", "no node peers with the gateway (bgp.nodeSelectors match none)")
    items = []
    for node in nodes:
        missing = "no such neighbour on the gateway: its config lacks this node"
        items.append(_session(str(node), neighbours.get(node.address), missing))
        if node.address6 is not None:
            missing6 = "no such IPv6 neighbour on the gateway: its config lacks this node's address6"
            items.append(_session(f"{node.name} ({node.address6})", (neighbours6 or {}).get(node.address6), missing6))
    where = _SESSIONS_WHERE6 if any(node.address6 is not None for node in nodes) else _SESSIONS_WHERE
    return CheckResult.of_items("sessions", items, listed(items), where)


def _session(subject: str, neighbour: BgpNeighbor | None, missing: str) -> Item:
    if neighbour is None:
        return Item(subject, False, missing)
    if neighbour.established:
        received = neighbour.prefixes_received
        parts = ["Established"]
        if neighbour.uptime:
            parts.append(f"up {neighbour.uptime}")
        if received is not None:
            parts.append(f"{received} prefix{'' if received == 1 else 'es'} received")
        return Item(subject, True, ", ".join(parts))
    cause = _STATE_CAUSES.get(neighbour.state.split()[0], "the session is not up")
    if neighbour.state.startswith("Idle (Admin)"):
        cause = "shut down on the gateway by hand"
    return Item(subject, False, f"{neighbour.state}: {cause}")


def routes(
    expected: Sequence[ExpectedRoute],
    nodes: Sequence[ExpectedNode],
    table: Mapping[IPv4Network, Sequence[Route]],
    table6: Mapping[IPv6Network, Sequence[Route]] | None = None,
    paths6: Mapping[IPv6Network, Sequence[BgpPath]] | None = None,
) -> CheckResult:
    """Each BGP service address is routed by the gateway, over BGP, via at least one node of the
    stack: an IPv4 address by ``table`` (``show ip route``), an IPv6 one by ``table6`` (``show
    ipv6 route``), whose link-local next hops ``paths6`` (the gateway's BGP paths) tie to the
    neighbour that announced them."""
    if not expected:
        return CheckResult.skipped("routes", "no BGP service address is known (none pinned, allocated or discovered)")
    names: dict[IPAddress, str] = {node.address: node.name for node in nodes}
    names |= {node.address6: node.name for node in nodes if node.address6 is not None}
    order = {address: index for index, address in enumerate(names)}
    items = []
    for route in expected:
        subject = f"{route.address} ({', '.join(route.services)})"
        best = _longest_match(route.address, table6 or {}) if route.address.version == 6 else None
        best = _longest_match(route.address, table) if route.address.version == 4 else best
        if best is None:
            items.append(
                Item(subject, False, "no route on the gateway: no node announces it, or the gateway refused it")
            )
            continue
        if best.protocol != "bgp":
            items.append(Item(subject, False, f"routed by a {best.protocol} route {best.prefix}, not by BGP"))
            continue
        paths = (paths6 or {}).get(best.prefix, ()) if isinstance(best.prefix, IPv6Network) else ()
        behind = [_behind(hop, paths, names) for hop in best.next_hops]
        # In the stack's node order, whatever order the gateway lists its next hops in.
        hops = sorted((node for node in behind if node is not None and node in names), key=order.__getitem__)
        strangers = [
            _stranger(hop, node) for hop, node in zip(best.next_hops, behind, strict=True) if node not in names
        ]
        if not hops:
            via = ", ".join(strangers) or "no next hop"
            items.append(Item(subject, False, f"via {via}, which is not a node of this stack"))
            continue
        via = ", ".join(f"{names[hop]} ({hop})" for hop in hops)
        count = f"{len(hops)} path{'' if len(hops) == 1 else 's'}"
        extra = f"; also via {', '.join(strangers)}, not a node of this stack" if strangers else ""
        prefix = "" if best.prefix.prefixlen == best.prefix.max_prefixlen else f" as {best.prefix}"
        items.append(Item(subject, not strangers, f"via {via}{prefix}: {count}{extra}"))
    return CheckResult.of_items("routes", items, listed(items), _ROUTES_WHERE)


def _behind(hop: IPAddress, paths: Sequence[BgpPath], names: Mapping[IPAddress, str]) -> IPAddress | None:
    """The node address a next hop leads to: the hop itself when it is one (an IPv4 next hop, a
    global IPv6 one), else the neighbour whose selected BGP path carries the hop (a link-local
    IPv6 next hop; FRR and Quagga install that one when a path has both). None: nothing names it."""
    if hop in names:
        return hop
    for path in paths:
        if path.selected and hop in path.next_hops:
            known = [address for address in (path.peer, *path.next_hops) if address in names]
            return known[0] if known else path.peer
    return None


def _stranger(hop: IPAddress, neighbour: IPAddress | None) -> str:
    return str(hop) if neighbour is None or neighbour == hop else f"{hop} (from {neighbour})"


def _longest_match(
    address: IPAddress, table: Mapping[IPv4Network, Sequence[Route]] | Mapping[IPv6Network, Sequence[Route]]
) -> Route | None:
    """The selected route the gateway forwards ``address`` by (a default route does not count:
    it would forward anything)."""
    candidates = [
        route
        for prefix, entries in table.items()
        if prefix.version == address.version and address in prefix and prefix.prefixlen > 0
        for route in entries
        if route.selected
    ]
    return max(candidates, key=lambda r: r.prefix.prefixlen, default=None)


def names(
    expected: Sequence[ExpectedName],
    answers: Mapping[str, DnsAnswer],
    resolver: IPv4Address,
    answers6: Mapping[str, DnsAnswer] | None = None,
) -> CheckResult:
    """Each host name and alias resolves, through the gateway's resolver, to its address: its A
    record to its IPv4 address (``answers``), its AAAA record to its IPv6 one (``answers6``)."""
    if not expected:
        return CheckResult.skipped("dns", "no host name is known (no service has an address yet)")
    items = []
    for name in expected:
        v6 = isinstance(name.address, IPv6Address)
        subject = f"{name.name} (AAAA)" if v6 else name.name
        answer = ((answers6 or {}) if v6 else answers).get(name.name)
        if answer is None or answer.error is not None:
            error = answer.error if answer is not None else "not asked"
            items.append(Item(subject, False, f"{error} (expected {name.address})"))
        elif answer.addresses != (name.address,):
            got = ", ".join(map(str, answer.addresses))
            items.append(Item(subject, False, f"resolves to {got}, not {name.address}"))
        else:
            items.append(Item(subject, True, f"{name.address}"))
    aaaa = sum(isinstance(name.address, IPv6Address) for name in expected)
    if aaaa:
        count = _counted(len({name.name for name in expected}), "name", "resolve")
        passed = f"{count} ({len(expected) - aaaa} A, {aaaa} AAAA) through {resolver}"
    else:
        passed = f"{_counted(len(expected), 'name', 'resolve')} through {resolver}"
    return CheckResult.of_items("dns", items, passed, _DNS_WHERE)


def reach(expected: Sequence[ExpectedEndpoint], answers: Mapping[str, ReachAnswer]) -> CheckResult:
    """Each service answers on its first port from this machine, over each family it has."""
    if not expected:
        return CheckResult.skipped("reach", "no service with a known address has a TCP port")
    items = []
    for endpoint in expected:
        answer = answers.get(endpoint.subject)
        if answer is None:
            items.append(Item(endpoint.subject, False, "not tried"))
        else:
            where = f"[{endpoint.address}]" if endpoint.address.version == 6 else str(endpoint.address)
            items.append(Item(endpoint.subject, answer.ok, f"{answer.detail} ({where}:{endpoint.port})"))
    over6 = sum(endpoint.address.version == 6 for endpoint in expected)
    passed = _counted(len(expected), "service", "answer")
    if over6:
        passed = f"{_counted(len(expected), 'URL', 'answer')} ({len(expected) - over6} over IPv4, {over6} over IPv6)"
    return CheckResult.of_items("reach", items, passed, _REACH_WHERE)


def _counted(n: int, noun: str, verb: str) -> str:
    """``1 name resolves``, ``2 names resolve``."""
    return f"{n} {noun} {verb}s" if n == 1 else f"{n} {noun}s {verb}"
