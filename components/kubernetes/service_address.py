"""Wait until MetalLB has given a Service its external addresses, and print them.

Why: the Services the stack creates or patches carry ``pulumi.com/skipAwait: "true"``, so that
``pulumi refresh`` does not run the provider's Service check (which also wants every endpoint
Ready, and so reports a Service whose pods crash-loop as unhealthy). That annotation also makes
the provider's create and update return at once, so ``up`` waits for the address with this
command instead (components/resources/service.py).

Usage::

    python -m components.kubernetes.service_address --namespace NS --name NAME \\
        --stack-key 'metallb-unifi:services[0]' --timeout 600 [--expect 10.20.10.10 [--expect fd00::10]] \\
        [--family IPv4 --family IPv6] [--kubeconfig PATH] [--context NAME] [--interval 1]

Polls ``GET /api/v1/namespaces/NS/services/NAME`` (through the official client's typed API,
:meth:`components.kubernetes.api_client.ApiClient.read_service`, with the kubeconfig the provider
gets: :func:`components.kubernetes.api_client.kubeconfig_configuration`) until
``.status.loadBalancer.ingress[].ip`` holds an address, every ``--expect`` (the pinned addresses,
one per family) among them, and one of every ``--family`` (the families a dual-stack Service is
expected to get). MetalLB writes one ingress entry per address, all of them in one status update
(metallb/metallb@v0.15.3:controller/service.go convergeBalancer, :207-211; allocateIPs gives both
families at once), so a second family that has not come by the timeout fails the wait as a
missing pin does. Then it prints every ingress IP, one a line, IPv4 first and each family
ascending: a single-stack Service's one address alone (``10.20.10.10`` and a newline, as before
dual-stack), a dual-stack one's two lines (``10.20.10.10``, ``fd00:20:10::10``). Pauses start at
``--interval`` seconds and double up to 5 s. No answer, 408, 429 and 5xx are retried until the
timeout.

When the timeout passes, the one line on stderr names the stack key and the Service, and the
likely cause (one more request, of at most 5 s): the newest ``Warning`` Event about the Service (``GET
/api/v1/namespaces/NS/events?fieldSelector=involvedObject.kind=Service,involvedObject.name=NAME,
involvedObject.uid=UID``). MetalLB's controller records why it could not give an address there:
reason ``AllocationFailed``, message ``Failed to allocate IP for "NS/NAME": <why>``, e.g. ``no
available IPs`` or ``["10.1.2.3"] is not allowed in config`` for an address outside every pool
(metallb/metallb@v0.12.1:controller/service.go convergeBalancer and
internal/allocator/allocator.go Assign, Allocate; the same at v0.15.3; ``Errorf`` records a
``Warning``: internal/k8s/k8s.go).

Exit codes: 0 the addresses are printed; 1 the timeout passed without them (without any, without
a pinned one, or without one of an expected family); 2 bad usage or kubeconfig; 3 the API server
refused the request (401, 403, any other 4xx but 404, 408 and 429, an answer that is not a
Service) or TLS verification failed: not retried; 4 the Service does not exist (404). Tokens,
client keys and exec-plugin output are never printed; only the kubeconfig's path goes on the
command line.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import enum
import ipaddress
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from components.kubernetes.api_client import ApiClient, InputError, Response, kubeconfig_configuration
from components.kubernetes.service_ref import ServiceRef, add_service_arguments, service_ref

EXIT_ADDRESS = 0
EXIT_TIMED_OUT = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_NOT_FOUND = 4

DEFAULT_INTERVAL = 1.0
MAX_INTERVAL = 5.0
MAX_REQUEST_TIMEOUT = 10.0
MIN_REQUEST_TIMEOUT = 0.5
EVENTS_TIMEOUT = 5.0  # for the one request after the timeout
RETRYABLE_STATUSES = frozenset({408, 429})  # and every 5xx
METALLB_CONTROLLER = "kubectl -n metallb-system logs deployment/controller"
# Kubernetes' names of the families (core/v1 IPFamily), by IP version.
FAMILIES = {4: "IPv4", 6: "IPv6"}


# --- one answer, pure -------------------------------------------------------------------------


class Seen(enum.Enum):
    ADDRESS = "address"  # the addresses, as expected
    WAIT = "wait"  # the Service, without the addresses (yet)
    RETRY = "retry"  # no answer worth reading: a transient failure
    REFUSED = "refused"
    NOT_FOUND = "not found"


@dataclass(frozen=True)
class Expected:
    """What the Service must have before its addresses are printed: each pinned address, and an
    address of each family (``IPv4``, ``IPv6``); always at least one address."""

    addresses: tuple[str, ...] = ()
    families: tuple[str, ...] = ()

    def missing(self, ips: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(the pinned addresses, the families) ``ips`` lack."""
        pins = tuple(a for a in self.addresses if not any(same_address(a, ip) for ip in ips))
        have = {FAMILIES[ipaddress.ip_address(ip).version] for ip in ips}
        return pins, tuple(f for f in self.families if f not in have)

    def met_by(self, ips: Sequence[str]) -> bool:
        return bool(ips) and self.missing(ips) == ((), ())


@dataclass(frozen=True)
class Observation:
    seen: Seen
    ips: tuple[str, ...] = ()  # the ingress IPs of the Service read, IPv4 first
    uid: str | None = None  # the Service's metadata.uid, if read


def _field(value: Any, *path: str | int) -> Any:
    for step in path:
        if isinstance(step, int):
            value = value[step] if isinstance(value, list) and len(value) > step else None
        else:
            value = value.get(step) if isinstance(value, dict) else None
    return value


def same_address(a: str, b: str) -> bool:
    """Whether two textual IP addresses are one address (``10.0.0.1`` and ``10.000.0.1`` are not
    both valid; IPv6 may be written in several ways)."""
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


def ingress_ips(service: Mapping[str, Any]) -> tuple[str, ...]:
    """Every ``status.loadBalancer.ingress[].ip`` of a Service, in canonical text, IPv4 first and
    each family ascending (the order does not depend on the order MetalLB wrote them in). An entry
    without an IP (a cloud balancer's ``hostname``) or with text that is not one is left out."""
    ingress = _field(dict(service), "status", "loadBalancer", "ingress")
    found: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
    for entry in ingress if isinstance(ingress, list) else []:
        ip = entry.get("ip") if isinstance(entry, dict) else None
        if isinstance(ip, str):
            with contextlib.suppress(ValueError):
                found.add(ipaddress.ip_address(ip))
    return tuple(str(a) for a in sorted(found, key=lambda a: (a.version, int(a))))


def observe(response: Response, expected: Expected) -> Observation:
    """What one GET of the Service says."""
    if response.status is None:
        return Observation(Seen.RETRY if response.retryable else Seen.REFUSED)
    if response.status == 200:
        try:
            service = json.loads(response.body)
        except ValueError:
            service = None
        if not isinstance(service, dict) or service.get("kind", "Service") != "Service":
            return Observation(Seen.REFUSED)
        ips = ingress_ips(service)
        uid = _field(service, "metadata", "uid")
        uid = uid if isinstance(uid, str) and uid else None
        return Observation(Seen.ADDRESS if expected.met_by(ips) else Seen.WAIT, ips, uid)
    if response.status == 404:
        return Observation(Seen.NOT_FOUND)
    if response.status in RETRYABLE_STATUSES or 500 <= response.status <= 599:
        return Observation(Seen.RETRY)
    return Observation(Seen.REFUSED)


# --- the wait ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    seen: Seen  # ADDRESS, REFUSED, NOT_FOUND; WAIT or RETRY: the timeout passed
    attempts: int
    elapsed: float
    last: Response  # the last answer
    service: Observation | None  # the last time the Service was read, if ever


def wait_for_address(
    read: Callable[[], Response],
    *,
    expected: Expected = Expected(),
    timeout: float,
    interval: float = DEFAULT_INTERVAL,
    max_interval: float = MAX_INTERVAL,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Result:
    """Call ``read`` until the Service has its addresses, the API refuses, or ``timeout`` seconds
    have passed. Pauses start at ``interval`` and double up to ``max_interval``; a pause never runs
    past the deadline, and one last attempt is made at the deadline."""
    if timeout < 0 or interval <= 0 or max_interval < interval:
        raise ValueError("need timeout >= 0 and 0 < interval <= max_interval")
    start = clock()
    deadline, delay, attempts = start + timeout, interval, 0
    service: Observation | None = None
    while True:
        attempts += 1
        response = read()
        observation = observe(response, expected)
        if observation.seen in (Seen.ADDRESS, Seen.WAIT):
            service = observation
        now = clock()
        if observation.seen in (Seen.ADDRESS, Seen.REFUSED, Seen.NOT_FOUND) or now >= deadline:
            return Result(observation.seen, attempts, now - start, response, service)
        pause = min(delay, deadline - now)
        sleep(pause)
        delay = min(delay * 2, max_interval)


# --- why there is no address: the Service's events --------------------------------------------


def event_selector(ref: ServiceRef, uid: str | None) -> str:
    """The field selector of the Service's own Events (core/v1 Events are selectable by
    involvedObject.kind, .name and .uid: kubernetes pkg/registry/core/event/strategy.go
    ToSelectableFields): by uid too when known, so a former Service of that name is left out."""
    selector = f"involvedObject.kind=Service,involvedObject.name={ref.name}"
    return f"{selector},involvedObject.uid={uid}" if uid else selector


def _when(event: Mapping[str, Any]) -> datetime.datetime:
    """The latest time an Event records: ``lastTimestamp`` (client-go's record package, which
    MetalLB uses), ``series.lastObservedTime`` or ``eventTime`` (events.k8s.io recorders),
    ``firstTimestamp``, or its creation."""
    candidates = [
        _field(event, "lastTimestamp"),
        _field(event, "series", "lastObservedTime"),
        _field(event, "eventTime"),
        _field(event, "firstTimestamp"),
        _field(event, "metadata", "creationTimestamp"),
    ]
    times = []
    for text in candidates:
        if isinstance(text, str) and text:
            with contextlib.suppress(ValueError):
                parsed = datetime.datetime.fromisoformat(text)
                times.append(parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC))
    return max(times, default=datetime.datetime.min.replace(tzinfo=datetime.UTC))


def newest_warning(body: str) -> tuple[str, str] | None:
    """(reason, message) of the newest ``Warning`` in an EventList body, or None."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    items = data.get("items") if isinstance(data, dict) else None
    warnings = [e for e in items or [] if isinstance(e, dict) and e.get("type") == "Warning"]
    if not warnings:
        return None
    newest = max(warnings, key=_when)
    reason, note = newest.get("reason"), newest.get("message")
    return (reason if isinstance(reason, str) else ""), " ".join(str(note or "").split())


def likely_cause(ref: ServiceRef, events: Response) -> str:
    if not events.ok:
        return f"its events could not be read ({events.describe()})"
    warning = newest_warning(events.body)
    if warning is None:
        return f"no Warning event about it: is MetalLB's controller running? ({METALLB_CONTROLLER})"
    reason, note = warning
    return f"newest Warning event: {reason}: {note}" if reason else f"newest Warning event: {note}"


def _listed(noun: str, items: Sequence[str]) -> str:
    """``external IP 10.0.0.1``; ``external IPs 10.0.0.1, fd00::1``."""
    plural = "es" if noun.endswith("address") else "s"
    return f"{noun}{plural if len(items) > 1 else ''} {', '.join(items)}"


def timeout_message(ref: ServiceRef, result: Result, expected: Expected, events: Response | None, server: str) -> str:
    """The one line the user reads when the timeout passed."""
    waited = f"{result.elapsed:.0f}s"
    if result.service is None:
        return f"{ref.stack_key}: could not read Service {ref} at {server} within {waited}: {result.last.describe()}"
    ips = result.service.ips
    pins, families = expected.missing(ips) if ips else ((), ())
    if pins:
        head = (
            f"{ref.stack_key}: Service {ref} has {_listed('external IP', ips)}, "
            f"not its {_listed('pinned address', pins)}, after {waited}"
        )
    elif families:
        head = (
            f"{ref.stack_key}: Service {ref} has {_listed('external IP', ips)} but no "
            f"{' or '.join(families)} address from MetalLB within {waited}"
        )
    else:
        head = f"{ref.stack_key}: Service {ref} got no external IP from MetalLB within {waited}"
    cause = likely_cause(ref, events) if events is not None else ""
    tail = f"; last request: {result.last.describe()}" if result.seen is Seen.RETRY else ""
    return f"{head}; {cause}{tail} (kubectl -n {ref.namespace} describe service {ref.name})"


def refused_message(ref: ServiceRef, result: Result, server: str) -> str:
    if result.seen is Seen.NOT_FOUND:
        return (
            f"{ref.stack_key}: Service {ref} does not exist at {server} ({result.last.describe()}): "
            "it was deleted, or the kubeconfig points at another cluster"
        )
    what = result.last.describe()
    if result.last.status == 200:
        what = "HTTP 200 with something that is not a Service"
    hint = ""
    if result.last.status in (401, 403):
        hint = f"; the kubeconfig's user needs get on services in {ref.namespace}"
    return f"{ref.stack_key}: cannot read Service {ref} at {server}: {what} (not retrying{hint})"


# --- command line -----------------------------------------------------------------------------


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def _address(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an IP address") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m components.kubernetes.service_address",
        description="Wait until MetalLB has given the Service its external IPs, and print them, one a line.",
        epilog="Exit codes: 0 printed, 1 timed out, 2 bad usage/kubeconfig, 3 refused, 4 no such Service.",
    )
    add_service_arguments(parser)
    parser.add_argument("--timeout", type=_positive, required=True, help="how long to wait, in seconds")
    parser.add_argument(
        "--expect",
        type=_address,
        action="append",
        default=[],
        help="a pinned address (once per pinned address): wait until the Service has it",
    )
    parser.add_argument(
        "--family",
        choices=sorted(FAMILIES.values()),
        action="append",
        default=[],
        help="a family the Service is expected to get an address of (once per family): wait for one",
    )
    parser.add_argument(
        "--interval", type=_positive, default=DEFAULT_INTERVAL, help="first pause, doubling up to 5 (default 1)"
    )
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    environ = os.environ if environ is None else environ
    parser = build_parser()
    args = parser.parse_args(argv)
    ref = service_ref(parser, args)
    try:
        with contextlib.ExitStack() as stack:
            configuration = stack.enter_context(kubeconfig_configuration(args.kubeconfig, args.context, environ))
            server = configuration.host
            deadline = [time.monotonic() + float(args.timeout)]

            def request_timeout() -> float:
                return min(MAX_REQUEST_TIMEOUT, max(MIN_REQUEST_TIMEOUT, deadline[0] - time.monotonic()))

            client = ApiClient(configuration, request_timeout=request_timeout)
            stack.callback(client.close)
            expected = Expected(tuple(args.expect), tuple(dict.fromkeys(args.family)))
            result = wait_for_address(
                lambda: client.read_service(ref.namespace, ref.name),
                expected=expected,
                timeout=args.timeout,
                interval=min(args.interval, MAX_INTERVAL),
            )
            events = None
            if result.seen in (Seen.WAIT, Seen.RETRY) and result.service is not None:
                deadline[0] = time.monotonic() + EVENTS_TIMEOUT
                events = client.list_events(ref.namespace, field_selector=event_selector(ref, result.service.uid))
    except InputError as exc:
        print(f"address of Service {ref}: {exc}", file=stderr, flush=True)
        return EXIT_USAGE

    if result.seen is Seen.ADDRESS:
        assert result.service is not None and result.service.ips
        print("\n".join(result.service.ips), file=stdout, flush=True)
        return EXIT_ADDRESS
    if result.seen in (Seen.REFUSED, Seen.NOT_FOUND):
        print(refused_message(ref, result, server), file=stderr, flush=True)
        return EXIT_NOT_FOUND if result.seen is Seen.NOT_FOUND else EXIT_REFUSED
    print(timeout_message(ref, result, expected, events, server), file=stderr, flush=True)
    return EXIT_TIMED_OUT


if __name__ == "__main__":
    sys.exit(main())
