"""One pass of the four checks, the gateway read and the probes side by side; and passes
repeated until everything passes or a deadline ends (``pulumi up`` waits for sessions to come up
after a provision)."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from ipaddress import IPv6Address

from components.config.model import GatewayKind

from . import checks
from .expectations import Expectations
from .gateway import GatewayAccess, GatewayReadError, GatewayView, read_gateway
from .probes import ReachTarget, reach_all, resolve_all
from .report import CheckResult, Report, Status

_SSH_WHERE = (
    "check metallb-unifi:gatewaySsh (host, user, hostKey, the key or password) and that the gateway accepts SSH"
)


@dataclass(frozen=True)
class Timeouts:
    ssh_s: float = 10.0  # connecting, logging in, and each command's silence
    dns_s: float = 2.0  # each name
    reach_s: float = 3.0  # each service: connect and first answer


@dataclass(frozen=True)
class Gateway:
    """How ``sessions`` and ``routes`` read the gateway; ``access`` None: they are skipped, saying ``why``."""

    kind: GatewayKind
    access: GatewayAccess | None
    why: str = "set metallb-unifi:gatewaySsh to read the gateway's BGP sessions and routes"


def verify_once(expectations: Expectations, gateway: Gateway, timeouts: Timeouts = Timeouts()) -> Report:
    access = gateway.access
    targets = [ReachTarget(e.subject, e.address, e.port, e.scheme, e.host) for e in expectations.endpoints]
    # Each name is asked for the families it has: a gateway's dnsmasq without an upstream
    # server refuses a query for a family the name lacks (research brief §5).
    names4 = sorted({n.name for n in expectations.names if n.address.version == 4})
    names6 = sorted({n.name for n in expectations.names if n.address.version == 6})
    with ThreadPoolExecutor(max_workers=4) as pool:
        view = pool.submit(_read, access, gateway.kind, expectations) if access is not None else None
        dns = pool.submit(resolve_all, expectations.resolver, names4, timeout_s=timeouts.dns_s)
        dns6 = (
            pool.submit(resolve_all, expectations.resolver, names6, timeout_s=timeouts.dns_s, record_type="AAAA")
            if names6
            else None
        )
        answers = pool.submit(reach_all, targets, timeout_s=timeouts.reach_s)
        gateway_view = view.result() if view is not None else None
        dns_answers, reach_answers = dns.result(), answers.result()
        dns_answers6 = dns6.result() if dns6 is not None else {}
    if access is None:
        gateway_checks = [CheckResult.skipped("sessions", gateway.why), CheckResult.skipped("routes", gateway.why)]
    elif isinstance(gateway_view, GatewayView):
        gateway_checks = [
            checks.sessions(expectations.nodes, gateway_view.neighbours, gateway_view.neighbours6),
            checks.routes(
                expectations.routes,
                expectations.nodes,
                gateway_view.routes,
                gateway_view.routes6,
                gateway_view.paths6,
            ),
        ]
    else:
        failure = f"cannot read the gateway: {gateway_view} ({_SSH_WHERE})"
        gateway_checks = [CheckResult("sessions", Status.FAIL, failure), CheckResult("routes", Status.FAIL, failure)]
    return Report(
        (
            *gateway_checks,
            checks.names(expectations.names, dns_answers, expectations.resolver, dns_answers6),
            checks.reach(expectations.endpoints, reach_answers),
        )
    )


def _read(access: GatewayAccess, kind: GatewayKind, expectations: Expectations) -> GatewayView | str:
    """The gateway, its IPv6 side only when the lab expects some (an IPv4-only lab runs the
    two commands it always ran)."""
    routes6 = [r.address for r in expectations.routes if isinstance(r.address, IPv6Address)]
    sessions6 = any(node.address6 is not None for node in expectations.nodes)
    try:
        return read_gateway(access, kind, sessions6=sessions6, routes6=routes6)
    except GatewayReadError as exc:
        return str(exc)


def verify_until(
    expectations: Expectations,
    gateway: Gateway,
    deadline_s: float,
    *,
    timeouts: Timeouts = Timeouts(),
    interval_s: float = 5.0,
    say: Callable[[str], None] = lambda _line: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Report:
    """Passes until one has no failure or ``deadline_s`` has gone by; the last pass's report.
    Each failed pass is said in one line (which checks failed) so a long wait shows progress."""
    end = clock() + deadline_s
    attempt = 1
    while True:
        report = verify_once(expectations, gateway, timeouts)
        left = end - clock()
        if not report.failed or left <= 0:
            return report
        say(f"attempt {attempt}: {', '.join(c.name for c in report.failed)} not yet passing; trying again")
        sleep(min(interval_s, left))
        attempt += 1
