"""The four checks a user would make on the real lab, each polled until its deadline:

1. ``sessions``: every peering node's session is Established on the router;
2. ``routes``: each BGP service address is a /32 in the router's kernel table via a node;
3. ``dns``: each host name and alias resolves, through the router, to its address;
4. ``http``: each service URL answers from the workstation, served by a node holding it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address

from .lab import RunningLab
from .polling import Outcome, wait_for


@dataclass(frozen=True)
class Deadlines:
    sessions_s: float = 15.0
    routes_s: float = 10.0
    # Only how long a failure takes to be reported: a loaded machine once needed more than 5 s for
    # the URLs to answer after the routes were in (a fresh Debian chroot running the whole suite).
    dns_s: float = 10.0
    http_s: float = 10.0


def sessions_established(lab: RunningLab) -> Outcome:
    states = lab.router_sessions()
    problems = [
        f"{node.name} ({node.address}): {states.get(node.address, 'no such neighbour on the router')}"
        for node in lab.plan.peering_nodes
        if states.get(node.address) != "Established"
    ]
    if problems:
        return Outcome(False, "sessions not Established on the router: " + "; ".join(problems))
    return Outcome(True, f"{len(lab.plan.peering_nodes)} sessions Established")


def routes_installed(lab: RunningLab) -> Outcome:
    routes = lab.router_routes()
    announcing = {node.address for node in lab.plan.nodes if node.bgp_addresses}
    problems = []
    for service in lab.plan.bgp_services:
        hops = routes.get(service.address)
        if not hops:
            problems.append(f"{service.address} ({service.name}): no route in the router's kernel table")
        elif not set(hops) <= announcing:
            problems.append(f"{service.address} ({service.name}): via {_list(hops)}, not via a node")
    if problems:
        return Outcome(False, "; ".join(problems))
    described = ", ".join(f"{s.address} via {_list(routes[s.address])}" for s in lab.plan.bgp_services)
    return Outcome(True, described or "no BGP service addresses to route")


def names_resolve(lab: RunningLab) -> Outcome:
    wanted = {name: service.address for service in lab.plan.services for name in service.names}
    if not wanted:
        return Outcome(True, "no names to resolve")
    answers = lab.probe("dns", str(lab.plan.topology.router_lan_address), *wanted)
    problems = []
    for name, address in wanted.items():
        answer = answers[name]
        got = [IPv4Address(a) for a in answer.get("addresses", [])]
        if got != [address]:
            problems.append(f"{name}: {answer.get('error') or _list(got) or 'no address'} (expected {address})")
    if problems:
        return Outcome(False, "names do not resolve through the router: " + "; ".join(problems))
    return Outcome(True, f"{len(wanted)} names resolve")


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
    """All four, in order; the first that fails raises :class:`~simulator.errors.CheckFailed`
    naming it. Later checks get their own deadline once the earlier ones pass."""
    deadlines = deadlines or Deadlines()
    return [
        ("sessions", wait_for("sessions", lambda: sessions_established(lab), deadlines.sessions_s)),
        ("routes", wait_for("routes", lambda: routes_installed(lab), deadlines.routes_s)),
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
