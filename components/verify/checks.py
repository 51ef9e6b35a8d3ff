"""The four checks, as pure functions of what the lab should show (:mod:`.expectations`) and
what was read from it: the gateway's BGP neighbours and routes (:mod:`.gateway_output`), DNS
answers and service answers (:mod:`.probes`). Each failure says its likely cause and where to
look, as docs/cluster.md's troubleshooting table does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from ipaddress import IPv4Address, IPv4Network

from components.config.model import IPAddress

from .expectations import ExpectedEndpoint, ExpectedName, ExpectedNode, ExpectedRoute
from .gateway_output import BgpNeighbor, IPAddress, Route
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


def sessions(nodes: Sequence[ExpectedNode], neighbours: Mapping[IPv4Address, BgpNeighbor]) -> CheckResult:
    """Every peering node's session is Established on the gateway."""
    if not nodes:
        return CheckResult.skipped("sessions", "no node peers with the gateway (bgp.nodeSelectors match none)")
    items = []
    for node in nodes:
        neighbour = neighbours.get(node.address)
        if neighbour is None:
            items.append(Item(str(node), False, "no such neighbour on the gateway: its config lacks this node"))
        elif neighbour.established:
            received = neighbour.prefixes_received
            parts = ["Established"]
            if neighbour.uptime:
                parts.append(f"up {neighbour.uptime}")
            if received is not None:
                parts.append(f"{received} prefix{'' if received == 1 else 'es'} received")
            items.append(Item(str(node), True, ", ".join(parts)))
        else:
            cause = _STATE_CAUSES.get(neighbour.state.split()[0], "the session is not up")
            if neighbour.state.startswith("Idle (Admin)"):
                cause = "shut down on the gateway by hand"
            items.append(Item(str(node), False, f"{neighbour.state}: {cause}"))
    return CheckResult.of_items("sessions", items, listed(items), _SESSIONS_WHERE)


def routes(
    expected: Sequence[ExpectedRoute], nodes: Sequence[ExpectedNode], table: Mapping[IPv4Network, Sequence[Route]]
) -> CheckResult:
    """Each BGP service address is routed by the gateway, over BGP, via at least one node of the stack."""
    if not expected:
        return CheckResult.skipped("routes", "no BGP service address is known (none pinned, allocated or discovered)")
    names: dict[IPAddress, str] = {node.address: node.name for node in nodes}
    items = []
    for route in expected:
        subject = f"{route.address} ({', '.join(route.services)})"
        best = _longest_match(route.address, table)
        if best is None:
            items.append(
                Item(subject, False, "no route on the gateway: no node announces it, or the gateway refused it")
            )
            continue
        if best.protocol != "bgp":
            items.append(Item(subject, False, f"routed by a {best.protocol} route {best.prefix}, not by BGP"))
            continue
        hops = [hop for hop in best.next_hops if hop in names]
        strangers = [hop for hop in best.next_hops if hop not in names]
        if not hops:
            via = ", ".join(str(hop) for hop in best.next_hops) or "no next hop"
            items.append(Item(subject, False, f"via {via}, which is not a node of this stack"))
            continue
        via = ", ".join(f"{names[hop]} ({hop})" for hop in hops)
        paths = f"{len(hops)} path{'' if len(hops) == 1 else 's'}"
        extra = f"; also via {', '.join(map(str, strangers))}, not a node of this stack" if strangers else ""
        prefix = "" if best.prefix.prefixlen == 32 else f" as {best.prefix}"
        items.append(Item(subject, not strangers, f"via {via}{prefix}: {paths}{extra}"))
    return CheckResult.of_items("routes", items, listed(items), _ROUTES_WHERE)


def _longest_match(address: IPAddress, table: Mapping[IPv4Network, Sequence[Route]]) -> Route | None:
    """The selected route the gateway forwards ``address`` by (a default route does not count:
    it would forward anything)."""
    candidates = [
        route
        for prefix, entries in table.items()
        if address in prefix and prefix.prefixlen > 0
        for route in entries
        if route.selected
    ]
    return max(candidates, key=lambda r: r.prefix.prefixlen, default=None)


def names(expected: Sequence[ExpectedName], answers: Mapping[str, DnsAnswer], resolver: IPv4Address) -> CheckResult:
    """Each host name and alias resolves, through the gateway's resolver, to its address."""
    if not expected:
        return CheckResult.skipped("dns", "no host name is known (no service has an address yet)")
    items = []
    for name in expected:
        answer = answers.get(name.name)
        if answer is None or answer.error is not None:
            error = answer.error if answer is not None else "not asked"
            items.append(Item(name.name, False, f"{error} (expected {name.address})"))
        elif answer.addresses != (name.address,):
            got = ", ".join(map(str, answer.addresses))
            items.append(Item(name.name, False, f"resolves to {got}, not {name.address}"))
        else:
            items.append(Item(name.name, True, f"{name.address}"))
    return CheckResult.of_items(
        "dns",
        items,
        f"{_counted(len(expected), 'name', 'resolve')} through {resolver}",
        _DNS_WHERE,
    )


def reach(expected: Sequence[ExpectedEndpoint], answers: Mapping[str, ReachAnswer]) -> CheckResult:
    """Each service answers on its first port from this machine."""
    if not expected:
        return CheckResult.skipped("reach", "no service with a known address has a TCP port")
    items = []
    for endpoint in expected:
        answer = answers.get(endpoint.subject)
        if answer is None:
            items.append(Item(endpoint.subject, False, "not tried"))
        else:
            items.append(Item(endpoint.subject, answer.ok, f"{answer.detail} ({endpoint.address}:{endpoint.port})"))
    return CheckResult.of_items("reach", items, _counted(len(expected), "service", "answer"), _REACH_WHERE)


def _counted(n: int, noun: str, verb: str) -> str:
    """``1 name resolves``, ``2 names resolve``."""
    return f"{n} {noun} {verb}s" if n == 1 else f"{n} {noun}s {verb}"
