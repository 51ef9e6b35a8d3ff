"""The probes behind the ``dns`` and ``reach`` checks: ask one resolver for every name, and knock
on every service, all side by side, each bounded by the check's timeout, so that a check takes
about one timeout even when nothing answers. A probe that fails says why in its answer; only a
caller's mistake (a bad timeout, scheme or port) raises."""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from ipaddress import ip_address
from typing import TypeVar

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype

from components.config.model import IPAddress

# Probes in flight at once. Past this many names (or targets) the rest go in a second wave with
# a deadline one timeout later, so a check where nothing answers takes ceil(n / MAX_PARALLEL)
# timeouts.
MAX_PARALLEL = 256
SCHEMES = ("tcp", "http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
USER_AGENT = "metallb-unifi-verify"

_Item = TypeVar("_Item")
_Answer = TypeVar("_Answer")


# --- DNS ----------------------------------------------------------------------------------------


RECORD_TYPES = ("A", "AAAA")


@dataclass(frozen=True)
class DnsAnswer:
    name: str
    addresses: tuple[IPAddress, ...]  # the A (or AAAA) records, in the order the answer lists them
    error: str | None  # "NXDOMAIN", "no answer", "timed out after 2 s", ...; None when it resolved


def resolve_all(
    server: IPAddress, names: Sequence[str], *, timeout_s: float, port: int = 53, record_type: str = "A"
) -> dict[str, DnsAnswer]:
    """The A records (``record_type`` "AAAA": the AAAA records) of every name, asked of ``server``
    itself (not the system resolver: no search domain, no cache, no other server), side by side,
    all within ``timeout_s`` of the call. Keyed by name, in the order given; a name given twice is
    asked once. Each name is taken as absolute (``svc.lab`` is asked as ``svc.lab.``), and a CNAME
    chain in an answer is followed to its records."""
    _check_timeout(timeout_s)
    if record_type not in RECORD_TYPES:
        raise ValueError(f"record type {record_type!r} is not one of {', '.join(RECORD_TYPES)}")
    rdtype = dns.rdatatype.from_text(record_type)
    unique = list(dict.fromkeys(names))
    answers = _side_by_side(
        unique, timeout_s, lambda name, deadline: _resolve(server, port, name, rdtype, deadline, timeout_s)
    )
    return {answer.name: answer for answer in answers}


def _resolve(
    server: IPAddress, port: int, name: str, rdtype: dns.rdatatype.RdataType, deadline: float, timeout_s: float
) -> DnsAnswer:
    try:
        query = dns.message.make_query(dns.name.from_text(name), rdtype)  # recursion desired
        response = _ask(query, str(server), port, deadline)
        rcode = response.rcode()
        if rcode != dns.rcode.NOERROR:
            return DnsAnswer(name, (), dns.rcode.to_text(rcode))  # "NXDOMAIN", "SERVFAIL", "REFUSED"
        if not isinstance(response, dns.message.QueryMessage):  # an answer of another opcode
            return DnsAnswer(name, (), f"not an answer to a query: opcode {response.opcode()}")
        records = response.resolve_chaining().answer
    except dns.exception.Timeout:
        return DnsAnswer(name, (), _timed_out(timeout_s))
    except OSError as error:  # on a connected UDP socket a port with no server is ECONNREFUSED
        return DnsAnswer(name, (), _os_error_text(error))
    except dns.exception.DNSException as error:  # a bad name, a reply that is not an answer to it
        return DnsAnswer(name, (), str(error))
    if not records:  # the name exists, but has no record of the type (or its alias's target has none)
        return DnsAnswer(name, (), "no answer")
    return DnsAnswer(name, tuple(ip_address(record.address) for record in records), None)


def _ask(query: dns.message.Message, server: str, port: int, deadline: float) -> dns.message.Message:
    """Over UDP, and again over TCP if the answer came back truncated, all before ``deadline``.
    The UDP socket is connected so that the kernel reports an ICMP port unreachable (nothing
    listens there) as a refused connection at once, rather than the probe waiting it out."""
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)  # dnspython waits on it with the remaining time itself
        sock.connect((server, port))
        response = dns.query.udp(query, server, timeout=_remaining(deadline), port=port, sock=sock)
    if response.flags & dns.flags.TC:
        response = dns.query.tcp(query, server, timeout=_remaining(deadline), port=port)
    return response


# --- reach --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReachTarget:
    subject: str  # what the report names: the URL ("http://dashboard.lab/") or "10.10.10.11:5432"
    address: IPAddress  # where to connect (the service address; no DNS here)
    port: int
    scheme: str  # "tcp" | "http" | "https"
    host: str | None = None  # the HTTP Host header and TLS SNI: the service's host name

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise ValueError(f"{self.subject}: scheme {self.scheme!r} is not one of {', '.join(SCHEMES)}")
        if not 0 < self.port < 65536:
            raise ValueError(f"{self.subject}: port {self.port} is not 1-65535")


@dataclass(frozen=True)
class ReachAnswer:
    subject: str
    ok: bool
    detail: str  # "HTTP 200 in 12 ms", "TCP connect in 1.2 ms", "connection refused", ...


def reach_all(targets: Sequence[ReachTarget], *, timeout_s: float) -> dict[str, ReachAnswer]:
    """Knock on every target side by side, all within ``timeout_s`` of the call (connect and, for
    HTTP(S), the TLS handshake and the response's status line and headers). Keyed by subject, in
    the order given; of targets with the same subject the first is probed.

    TCP: connect and close. HTTP(S): ``GET /`` with the target's Host header (and SNI), no proxy
    (http.client reads no proxy variables), no redirect followed: any HTTP status, a 503 or a 302
    too, means the service answers. The certificate is not checked: a home lab's self-signed one
    still answers, and the detail says so."""
    _check_timeout(timeout_s)
    unique = list({target.subject: target for target in reversed(targets)}.values())[::-1]
    answers = _side_by_side(unique, timeout_s, lambda target, deadline: _reach(target, deadline, timeout_s))
    return {answer.subject: answer for answer in answers}


def _reach(target: ReachTarget, deadline: float, timeout_s: float) -> ReachAnswer:
    start = time.monotonic()
    if start >= deadline:
        return ReachAnswer(target.subject, False, _timed_out(timeout_s))
    try:
        sock = socket.create_connection((str(target.address), target.port), timeout=deadline - start)
    except OSError as error:
        return ReachAnswer(target.subject, False, _reach_error_text(error, timeout_s))
    with sock:
        if target.scheme == "tcp":
            return ReachAnswer(target.subject, True, f"TCP connect in {_ms(time.monotonic() - start)}")
        guard = _Deadline(sock, deadline)
        try:
            status = _http_status(sock, target)
        except (OSError, http.client.HTTPException) as error:
            detail = _timed_out(timeout_s) if guard.expired else _reach_error_text(error, timeout_s)
            return ReachAnswer(target.subject, False, detail)
        finally:
            guard.disarm()
        if guard.expired:  # http.client takes the end of the stream for the end of the headers
            return ReachAnswer(target.subject, False, _timed_out(timeout_s))
    elapsed = _ms(time.monotonic() - start)
    if target.scheme == "https":
        return ReachAnswer(target.subject, True, f"HTTPS {status} in {elapsed} (certificate not checked)")
    return ReachAnswer(target.subject, True, f"HTTP {status} in {elapsed}")


def _unchecked_tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


_TLS = _unchecked_tls()


def _http_status(sock: socket.socket, target: ReachTarget) -> int:
    """The status of ``GET /`` over the connected ``sock``; only the status line and headers are
    read. Closes what it wraps ``sock`` in (``sock`` itself is the caller's)."""
    stream = _TLS.wrap_socket(sock, server_hostname=target.host) if target.scheme == "https" else sock
    connection = http.client.HTTPConnection(str(target.address), target.port)
    connection.sock = stream  # already connected: http.client connects only when it has no socket
    try:
        host = target.host or (f"[{target.address}]" if target.address.version == 6 else str(target.address))
        if target.port != DEFAULT_PORTS[target.scheme]:
            host = f"{host}:{target.port}"
        headers = {"Host": host, "User-Agent": USER_AGENT, "Accept": "*/*", "Connection": "close"}
        connection.request("GET", "/", headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


class _Deadline:
    """Shuts the connection down at ``deadline`` (monotonic), so that no handshake or read outlives
    it however slowly the server trickles bytes: a socket's own timeout bounds each read, not
    their sum. It holds a duplicate of the socket's descriptor: shutting the duplicate down ends
    the connection even once TLS has taken the original over, and no other socket can get its
    number before ``disarm`` closes it."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.expired = False
        self._handle = sock.dup()
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        with self._lock:
            if self._handle.fileno() == -1:  # disarmed
                return
            self.expired = True
            with contextlib.suppress(OSError):
                self._handle.shutdown(socket.SHUT_RDWR)

    def disarm(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._handle.close()


def _reach_error_text(error: OSError | http.client.HTTPException, timeout_s: float) -> str:
    if isinstance(error, http.client.RemoteDisconnected):  # before OSError: it is a reset too
        return "closed the connection without an HTTP answer"
    if isinstance(error, http.client.BadStatusLine):
        return f"not an HTTP answer: {str(error.args[0])[:60]!r}"  # the line it read
    if isinstance(error, http.client.HTTPException):
        return f"bad HTTP answer: {type(error).__name__}"
    if isinstance(error, TimeoutError):
        return _timed_out(timeout_s)
    if isinstance(error, ssl.SSLError):
        reason = error.reason or str(error)
        return f"TLS: {reason.replace('_', ' ').lower()}"
    return _os_error_text(error)


# --- shared ---------------------------------------------------------------------------------------


def _side_by_side(items: Sequence[_Item], timeout_s: float, probe: Callable[[_Item, float], _Answer]) -> list[_Answer]:
    """``probe(item, deadline)`` of every item, each in its own thread (up to MAX_PARALLEL), in the
    items' order. The deadline (monotonic) is ``timeout_s`` after this call, not after the probe's
    thread started: under load the last of fifty threads starts a tenth of a second after the
    first, and the check is to end within its timeout."""
    if not items:
        return []
    start = time.monotonic()
    deadlines = [start + timeout_s * (1 + index // MAX_PARALLEL) for index in range(len(items))]
    with ThreadPoolExecutor(max_workers=min(len(items), MAX_PARALLEL), thread_name_prefix="verify-probe") as pool:
        return list(pool.map(probe, items, deadlines))


def _check_timeout(timeout_s: float) -> None:
    if not timeout_s > 0:
        raise ValueError(f"the timeout must be more than 0 s, not {timeout_s}")


def _remaining(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def _timed_out(timeout_s: float) -> str:
    return f"timed out after {timeout_s:g} s"


def _os_error_text(error: OSError) -> str:
    """The system's words, as a detail starts: "connection refused", "no route to host"."""
    text = error.strerror or str(error) or type(error).__name__
    return text[:1].lower() + text[1:]


def _ms(seconds: float) -> str:
    milliseconds = seconds * 1000
    return f"{milliseconds:.1f} ms" if milliseconds < 10 else f"{milliseconds:.0f} ms"
