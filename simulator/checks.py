"""The checks a user would make on the real lab, each polled until its deadline:

1. ``sessions``: every peering node's session is Established on the router (in a dual-stack
   lab each family's: one session per family, as MetalLB has one BGPPeer per family);
2. ``routes``: each BGP service address is a /32 (/128) in the router's kernel table via nodes
   of its own stack, as many next hops as the router's ``maximum-paths`` for that family allows
   and nodes announce it over an Established session (ECMP on UniFi OS, one on the USG);
3. ``filters`` (with rogue nodes only): each rogue announcement reached the router and was
   refused, and none is in its BGP table or its routing table (another stack's address stays,
   from that stack's nodes only);
4. ``dns``: each host name and alias resolves, through the router, to its address: A records,
   and in a dual-stack lab AAAA records (a name without an address of a family must have none);
5. ``http``: each service URL answers from the workstation, served by a node holding it; in a
   dual-stack lab also ``http://[<its IPv6 address>]:<port>/``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import ip_address

from .dns_wire import RCODES
from .lab import RunningLab
from .polling import Outcome, wait_for


@dataclass(frozen=True)
class Deadlines:
    sessions_s: float = 15.0
    routes_s: float = 10.0
    filters_s: float = 10.0
    # Only how long a failure takes to be reported: a loaded machine once needed more than 5 s for
    # the URLs to answer after the routes were in (a fresh Debian chroot running the whole suite).
    dns_s: float = 10.0
    http_s: float = 10.0


def sessions_established(lab: RunningLab) -> Outcome:
    states = lab.router_sessions()
    sessions = lab.plan.sessions
    problems = [
        f"{node.label} ({address}): {states.get(address, 'no such neighbour on the router')}"
        for node, address in sessions
        if states.get(address) != "Established"
    ]
    if problems:
        return Outcome(False, "sessions not Established on the router: " + "; ".join(problems))
    ipv6 = sum(1 for _, address in sessions if address.version == 6)
    families = f" ({len(sessions) - ipv6} IPv4, {ipv6} IPv6)" if ipv6 else ""
    return Outcome(True, f"{len(sessions)} sessions Established{families}")


def routes_installed(lab: RunningLab) -> Outcome:
    """Each stack's BGP service addresses are routed via that stack's own nodes only, over as
    many of them as the router's ``maximum-paths`` allows (of those whose session is up)."""
    routes = lab.router_routes()
    states = lab.router_sessions()
    problems, described = [], []
    several = len(lab.plan.stacks) > 1
    for stack in lab.plan.stacks:
        for service in stack.bgp_services:
            for address in (a for a in service.addresses if a in stack.announced):
                hops = routes.get(address)
                announcing = stack.announcing_in(address.version)
                up = {node for node in announcing if states.get(node) == "Established"}
                limit = lab.plan.paths_allowed(address.version, stack)
                wanted = len(up) if limit is None else min(limit, len(up))
                if not hops:
                    problems.append(f"{address} ({service.name}): no route in the router's kernel table")
                elif not set(hops) <= announcing:
                    whose = f"stack {stack.name!r}'s nodes" if several else "a node"
                    problems.append(f"{address} ({service.name}): via {_list(hops)}, not via {whose}")
                elif len(set(hops)) != wanted:
                    paths = "no maximum-paths" if limit is None else f"maximum-paths {limit}"
                    count = f"{len(set(hops))} next hop{'' if len(set(hops)) == 1 else 's'}"
                    problems.append(
                        f"{address} ({service.name}): via {_list(hops)}, {count} where {wanted} "
                        f"{'is' if wanted == 1 else 'are'} due ({paths}, {len(up)} of its nodes' sessions up)"
                    )
                else:
                    described.append(f"{address} via {_list(hops)}" + (f" ({stack.name})" if several else ""))
    if problems:
        return Outcome(False, "; ".join(problems))
    return Outcome(True, ", ".join(described) or "no BGP service addresses to route")


def rogue_routes_refused(lab: RunningLab, since: int) -> Outcome:
    """Every rogue node's every rogue announcement is in the router's log as refused (past byte
    ``since``); no rogue prefix is in its BGP table or has a BGP route in zebra, except another
    stack's address its own nodes announce: that one stays, from those nodes only."""
    denied = lab.router_denied(since)
    table = lab.router_bgp_table()
    rib = lab.router_rib()
    kernel = lab.router_routes()
    problems, reasons = [], set()
    for node in lab.plan.rogue_nodes:
        for route in node.rogue_routes:
            session = node.address_of(route.prefix.version)  # it goes over the session of its family
            paths = table.get(route.prefix, set())
            checks: tuple[tuple[str, bool], ...]
            if route.owners:
                owners = set(route.owners)
                hops = set(kernel.get(route.prefix.network_address, ()))
                checks = (
                    (f"in the router's BGP table from {node.label}", session in paths),
                    ("its own stack's paths are gone from the router's BGP table", not paths & owners),
                    ("its own stack's route is gone from the router's kernel table", not hops),
                    (f"routed via {_list(sorted(hops - owners))}, not its own stack's nodes", bool(hops - owners)),
                )
            else:
                checks = (
                    ("in the router's BGP table", route.prefix in table),
                    ("a BGP route in its routing table", "bgp" in rib.get(route.prefix, ())),
                )
            where = [place for place, found in checks if found]
            reason = denied.get((session, route.prefix)) if session is not None else None
            if reason is None:
                where.append("not (yet) refused by the router")
            else:
                reasons.add(reason)
            if where:
                problems.append(f"{route.prefix} ({route.what}) from {node.label}: {', '.join(where)}")
    if problems:
        return Outcome(False, "; ".join(problems))
    parts = []
    for node in lab.plan.rogue_nodes:
        prefixes = ", ".join(str(route.prefix) for route in node.rogue_routes)
        parts.append(f"{node.label}: {prefixes}")
    kept = sorted({str(route.prefix) for node in lab.plan.rogue_nodes for route in node.rogue_routes if route.owners})
    suffix = f"; {', '.join(kept)} kept from {'its' if len(kept) == 1 else 'their'} own stack's nodes" if kept else ""
    return Outcome(
        True, f"{'; '.join(parts)} refused by the router ({', '.join(sorted(reasons))}), none installed{suffix}"
    )


def filters_hold(lab: RunningLab, timeout_s: float) -> Outcome:
    """The rogue nodes send their routes again once the router's policies are surely in force
    (a route refresh once the service routes are in: an FRR that loads a neighbour's route-map
    before the route-map itself refuses everything until it catches up), then
    :func:`rogue_routes_refused` is polled on what the router logged since."""
    since = lab.router_log_size()
    for node in lab.plan.rogue_nodes:
        for address in (node.address, node.address6 if node.peers6 else None):
            if address is not None:
                lab.refresh_routes_from(address)
    return wait_for("filters", lambda: rogue_routes_refused(lab, since), timeout_s)


# dnsmasq without upstream servers (``--no-resolv``) refuses a query it has no answer for, the
# missing family of a name it knows included (issue 19 research §5, experiment): no address.
_NO_DATA = RCODES[5]


def names_resolve(lab: RunningLab) -> Outcome:
    """Each name's A records are its service's IPv4 address; in a dual-stack lab its AAAA
    records are its IPv6 address (none, for a service without one)."""
    services = {name: service for service in lab.plan.services for name in service.names}
    if not services:
        return Outcome(True, "no names to resolve")
    problems = []
    answered = {}
    for record, version in (("A", 4), ("AAAA", 6))[: len(lab.versions)]:
        args = ("dns",) if version == 4 else ("dns", "--type", record)
        answers = lab.probe(*args, str(lab.plan.topology.router_lan_address), *services)
        answered[record] = 0
        for name, service in services.items():
            answer = answers[name]
            expected = list(service.of_version(version))
            got = [ip_address(a) for a in answer.get("addresses", [])]
            error = answer.get("error")
            if error == _NO_DATA and not expected:
                error = None
            if error is not None or got != expected:
                wanted = _list(expected) or "no address"
                problems.append(f"{name} {record}: {error or _list(got) or 'no address'} (expected {wanted})")
            answered[record] += len(got)
    if problems:
        return Outcome(False, "names do not resolve through the router: " + "; ".join(problems))
    if len(lab.versions) == 1:
        return Outcome(True, f"{len(services)} names resolve")
    return Outcome(True, f"{len(services)} names resolve ({answered['A']} A, {answered['AAAA']} AAAA answers)")


def urls_answer(lab: RunningLab) -> Outcome:
    checks = lab.plan.http_checks
    if not checks:
        return Outcome(True, "no URLs to fetch")
    answers = lab.probe("http", *(check.url for check in checks))
    problems, served = [], []
    for check in checks:
        answer = answers[check.url]
        node = _serving_node(answer.get("body", ""))
        if answer.get("status") != 200 or node not in check.answering_nodes:
            problems.append(f"{check.url}: {answer.get('error') or answer.get('status')} {answer.get('body', '')!r}")
        else:
            served.append(f"{check.url} from {node}")
    if problems:
        return Outcome(False, "URLs do not answer from the workstation: " + "; ".join(problems))
    return Outcome(True, ", ".join(served))


def serving_node(lab: RunningLab, url: str) -> str | None:
    """The node that answered ``url`` from the workstation, or None."""
    answer = lab.probe("http", url)[url]
    return _serving_node(answer.get("body", "")) if answer.get("status") == 200 else None


def run_checks(lab: RunningLab, deadlines: Deadlines | None = None) -> list[tuple[str, Outcome]]:
    """All of them, in order; the first that fails raises :class:`~simulator.errors.CheckFailed`
    naming it. Later checks get their own deadline once the earlier ones pass."""
    deadlines = deadlines or Deadlines()
    results = [
        ("sessions", wait_for("sessions", lambda: sessions_established(lab), deadlines.sessions_s)),
        ("routes", wait_for("routes", lambda: routes_installed(lab), deadlines.routes_s)),
    ]
    if lab.plan.rogue_nodes:
        results.append(("filters", filters_hold(lab, deadlines.filters_s)))
    return [
        *results,
        ("dns", wait_for("dns", lambda: names_resolve(lab), deadlines.dns_s)),
        ("http", wait_for("http", lambda: urls_answer(lab), deadlines.http_s)),
    ]


def _serving_node(body: str) -> str | None:
    try:
        node = json.loads(body).get("node")
    except (ValueError, AttributeError):
        return None
    return str(node) if node is not None else None


def _list(addresses: Iterable[object]) -> str:
    return ", ".join(str(a) for a in addresses)
