"""The probes of the ``dns`` and ``reach`` checks, against real servers on loopback: a dnsmasq
answering from a hosts file, HTTP(S) servers, bare TCP listeners, and sockets that take the
connection (or the datagram) and never answer."""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from http.server import BaseHTTPRequestHandler
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.verify import probes
from components.verify.probes import DnsAnswer, ReachAnswer, ReachTarget, reach_all, resolve_all
from tests.loopback_http import serving
from tests.tls import self_signed_certificate
from tests.verify.dnsmasq import DnsmasqMissing, running_dnsmasq

LOOPBACK = IPv4Address("127.0.0.1")
TIMEOUT_S = 1.0
# The machine running the tests is shared: a check that must end "within its timeout" gets this
# much on top. Fifty probes one after another would take 50 timeouts.
MARGIN_S = 1.5

HOSTS = [
    ("10.10.10.11", "dashboard.lab"),
    ("10.10.10.12", "two.lab"),
    ("10.10.10.13", "two.lab"),
    *[(f"10.10.20.{i}", f"svc{i:02d}.lab") for i in range(1, 51)],
    # More A records than a 512-byte UDP answer holds (16 bytes each): dnsmasq sets TC.
    *[(f"10.10.30.{i}", "many.lab") for i in range(1, 41)],
]
DNSMASQ_OPTIONS = (
    "--local=/lab/",  # names under lab. that the hosts file lacks are NXDOMAIN, not forwarded
    "--host-record=six.lab,fd00::6",  # a name with an AAAA record only: no answer for A
    "--cname=grafana.lab,dashboard.lab",  # an alias whose answer is a CNAME and its target's A
    "--host-record=dual.lab,10.10.40.1,fd00::40:1",  # a name of both families
)


def expected(name: str) -> tuple[IPv4Address, ...]:
    target = "dashboard.lab" if name == "grafana.lab" else name
    return tuple(sorted(IPv4Address(address) for address, host in HOSTS if host == target))


@pytest.fixture(scope="module")
def dnsmasq_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    try:
        with running_dnsmasq(tmp_path_factory.mktemp("dnsmasq"), HOSTS, DNSMASQ_OPTIONS) as port:
            yield port
    except DnsmasqMissing as missing:
        pytest.skip(str(missing))


def free_port(kind: socket.SocketKind = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def silent_udp() -> Iterator[int]:
    """A UDP socket that takes every query and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@contextmanager
def silent_listener() -> Iterator[int]:
    """A TCP port whose connections complete (the kernel's backlog) and then hear nothing."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        yield sock.getsockname()[1]


@contextmanager
def raw_server(serve: Callable[[socket.socket], None]) -> Iterator[int]:
    """A TCP server that hands each accepted connection to ``serve`` in its own thread."""
    stop = threading.Event()
    workers: list[threading.Thread] = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(0.05)

        def accept_loop() -> None:
            while not stop.is_set():
                try:
                    connection, _ = listener.accept()
                except TimeoutError:
                    continue
                worker = threading.Thread(target=lambda c=connection: _serve_and_close(c, serve), daemon=True)
                workers.append(worker)
                worker.start()

        acceptor = threading.Thread(target=accept_loop, daemon=True)
        acceptor.start()
        try:
            yield listener.getsockname()[1]
        finally:
            stop.set()
            acceptor.join(timeout=5)
            for worker in workers:
                worker.join(timeout=5)


def _serve_and_close(connection: socket.socket, serve: Callable[[socket.socket], None]) -> None:
    with connection, suppress(OSError):  # the probe hung up first
        serve(connection)


def answering(status: int, seen: list[dict[str, str]], location: str | None = None) -> type[BaseHTTPRequestHandler]:
    """A handler that answers every GET with ``status`` and records each request's path and Host."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({"path": self.path, "host": self.headers.get("Host", "")})
            body = b"hello\n"
            self.send_response(status)
            if location is not None:
                self.send_header("Location", location)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


# --- DNS ----------------------------------------------------------------------------------------


def test_names_resolve_through_the_given_server_to_their_addresses(dnsmasq_port: int) -> None:
    names = ["dashboard.lab", "two.lab", "grafana.lab", "svc07.lab."]

    answers = resolve_all(LOOPBACK, names, timeout_s=TIMEOUT_S, port=dnsmasq_port)

    assert list(answers) == names
    for name in names:
        answer = answers[name]
        assert answer.error is None, answer
        assert tuple(sorted(answer.addresses)) == expected(name.rstrip("."))
    assert len(answers["two.lab"].addresses) == 2


def test_a_missing_name_and_one_without_an_a_record_say_which(dnsmasq_port: int) -> None:
    answers = resolve_all(
        LOOPBACK, ["gone.lab", "six.lab", "elsewhere.example"], timeout_s=TIMEOUT_S, port=dnsmasq_port
    )

    assert answers["gone.lab"] == DnsAnswer("gone.lab", (), "NXDOMAIN")
    assert answers["six.lab"] == DnsAnswer("six.lab", (), "no answer")
    # Outside its local domain, with no upstream server, dnsmasq refuses (a gateway would forward).
    assert answers["elsewhere.example"] == DnsAnswer("elsewhere.example", (), "REFUSED")


def test_aaaa_records_are_asked_for_when_told(dnsmasq_port: int) -> None:
    names = ["six.lab", "dual.lab", "dashboard.lab", "grafana.lab"]
    answers = resolve_all(LOOPBACK, names, timeout_s=TIMEOUT_S, port=dnsmasq_port, record_type="AAAA")
    assert answers == {
        "six.lab": DnsAnswer("six.lab", (IPv6Address("fd00::6"),), None),
        "dual.lab": DnsAnswer("dual.lab", (IPv6Address("fd00::40:1"),), None),
        # The name holds only an A record; the alias's target too.
        "dashboard.lab": DnsAnswer("dashboard.lab", (), "no answer"),
        "grafana.lab": DnsAnswer("grafana.lab", (), "no answer"),
    }
    a = resolve_all(LOOPBACK, ["dual.lab"], timeout_s=TIMEOUT_S, port=dnsmasq_port)["dual.lab"]
    assert a == DnsAnswer("dual.lab", (IPv4Address("10.10.40.1"),), None)
    with pytest.raises(ValueError, match="record type 'MX'"):
        resolve_all(LOOPBACK, ["dual.lab"], timeout_s=TIMEOUT_S, port=dnsmasq_port, record_type="MX")


def test_an_answer_too_long_for_udp_is_asked_again_over_tcp(dnsmasq_port: int) -> None:
    answer = resolve_all(LOOPBACK, ["many.lab"], timeout_s=TIMEOUT_S, port=dnsmasq_port)["many.lab"]

    assert answer.error is None
    assert tuple(sorted(answer.addresses)) == expected("many.lab")
    assert len(answer.addresses) == 40


def test_a_name_is_asked_as_it_is_without_a_search_domain(dnsmasq_port: int) -> None:
    # The system resolver would try "dashboard" with the host's search domains; the probe asks
    # the gateway for exactly the name the stack gives it.
    answers = resolve_all(LOOPBACK, ["dashboard"], timeout_s=TIMEOUT_S, port=dnsmasq_port)

    assert answers["dashboard"].addresses == ()
    assert answers["dashboard"].error == "REFUSED"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(["dashboard.lab", "two.lab", "grafana.lab", "svc01.lab", "svc50.lab", "gone.lab"])))
def test_every_name_asked_gets_one_answer_of_its_own(dnsmasq_port: int, names: list[str]) -> None:
    answers = resolve_all(LOOPBACK, names, timeout_s=TIMEOUT_S, port=dnsmasq_port)

    assert list(answers) == list(dict.fromkeys(names))
    for name, answer in answers.items():
        assert answer.name == name
        assert tuple(sorted(answer.addresses)) == expected(name)
        assert (answer.error is None) == bool(expected(name))


def test_fifty_names_that_all_resolve_take_well_under_five_seconds(dnsmasq_port: int) -> None:
    names = [f"svc{i:02d}.lab" for i in range(1, 51)]

    start = time.monotonic()
    answers = resolve_all(LOOPBACK, names, timeout_s=TIMEOUT_S, port=dnsmasq_port)
    elapsed = time.monotonic() - start

    assert [answer.addresses for answer in answers.values()] == [expected(name) for name in names]
    assert elapsed < 5


def test_a_server_that_never_answers_times_each_name_out_once_side_by_side() -> None:
    names = [f"svc{i:02d}.lab" for i in range(1, 51)]

    with silent_udp() as port:
        start = time.monotonic()
        answers = resolve_all(LOOPBACK, names, timeout_s=TIMEOUT_S, port=port)
        elapsed = time.monotonic() - start

    assert {answer.error for answer in answers.values()} == {"timed out after 1 s"}
    assert set(answers) == set(names)
    assert TIMEOUT_S * 0.9 <= elapsed < TIMEOUT_S + MARGIN_S


def test_nothing_listening_on_the_port_is_refused_at_once() -> None:
    # On loopback the kernel answers a datagram to a closed port with ICMP port unreachable;
    # the probe's connected socket turns that into a refusal instead of waiting out the timeout.
    port = free_port(socket.SOCK_DGRAM)

    start = time.monotonic()
    answers = resolve_all(LOOPBACK, ["dashboard.lab", "two.lab"], timeout_s=5, port=port)
    elapsed = time.monotonic() - start

    assert {answer.error for answer in answers.values()} == {"connection refused"}
    assert elapsed < 2


def test_a_name_that_is_not_a_valid_dns_name_is_an_answer_not_an_exception(dnsmasq_port: int) -> None:
    bad = "x" * 64 + ".lab"  # a label longer than DNS allows (63)

    answers = resolve_all(LOOPBACK, [bad, "dashboard.lab"], timeout_s=TIMEOUT_S, port=dnsmasq_port)

    assert answers[bad].addresses == ()
    assert answers[bad].error
    assert answers["dashboard.lab"].error is None


# --- reach --------------------------------------------------------------------------------------


def http_target(port: int, host: str | None = "dashboard.lab", scheme: str = "http") -> ReachTarget:
    return ReachTarget(f"{scheme}://{host or 'x'}:{port}/", LOOPBACK, port, scheme, host)


def test_http_answers_with_its_status_and_time_and_sends_the_service_host_name_not_via_a_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy = f"http://127.0.0.1:{free_port()}"  # a proxy would refuse: the probe must not use one
    for variable in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.setenv(variable, proxy)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    seen: list[dict[str, str]] = []

    with serving(answering(200, seen)) as port:
        target = http_target(port)
        answers = reach_all([target], timeout_s=TIMEOUT_S)

    answer = answers[target.subject]
    assert answer.ok, answer
    assert re.fullmatch(r"HTTP 200 in \d+(\.\d)? ms", answer.detail)
    assert seen == [{"path": "/", "host": f"dashboard.lab:{port}"}]


def test_http_over_ipv6_sends_the_host_name_or_the_bracketed_address() -> None:
    seen: list[dict[str, str]] = []
    loopback6 = IPv6Address("::1")
    with serving(answering(200, seen), host="::1") as port:
        named = ReachTarget(f"http://[::1]:{port}/", loopback6, port, "http", "dashboard.lab")
        bare = ReachTarget(f"[::1]:{port}", loopback6, port, "http")
        answers = reach_all([named, bare], timeout_s=TIMEOUT_S)
    assert all(answer.ok for answer in answers.values()), answers
    assert sorted(request["host"] for request in seen) == sorted([f"dashboard.lab:{port}", f"[::1]:{port}"])


@pytest.mark.parametrize(("status", "location"), [(500, None), (503, None), (302, "http://127.0.0.1:1/elsewhere")])
def test_any_http_status_means_the_service_answers_and_a_redirect_is_not_followed(
    status: int, location: str | None
) -> None:
    seen: list[dict[str, str]] = []

    with serving(answering(status, seen, location)) as port:
        target = http_target(port)
        answer = reach_all([target], timeout_s=TIMEOUT_S)[target.subject]

    assert answer.ok
    assert answer.detail.startswith(f"HTTP {status} in ")
    assert len(seen) == 1


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl to make a test certificate")
    return self_signed_certificate(tmp_path_factory.mktemp("verify-tls"), "lab")


def test_https_with_a_self_signed_certificate_answers_and_says_the_certificate_was_not_checked(
    self_signed: tuple[Path, Path],
) -> None:
    cert, key = self_signed
    server_names: list[str | None] = []
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    tls.sni_callback = lambda _sock, name, _context: server_names.append(name)
    seen: list[dict[str, str]] = []

    with serving(answering(200, seen), tls) as port:
        target = http_target(port, "dashboard.lab", "https")
        answer = reach_all([target], timeout_s=TIMEOUT_S)[target.subject]

    assert answer.ok, answer
    assert re.fullmatch(r"HTTPS 200 in \d+(\.\d)? ms \(certificate not checked\)", answer.detail)
    assert server_names == ["dashboard.lab"]  # SNI: the service's name, not its address
    assert seen == [{"path": "/", "host": f"dashboard.lab:{port}"}]


def test_https_to_a_plain_http_server_is_a_tls_failure() -> None:
    with serving(answering(200, [])) as port:
        target = http_target(port, "dashboard.lab", "https")
        answer = reach_all([target], timeout_s=TIMEOUT_S)[target.subject]

    assert not answer.ok
    assert answer.detail == "TLS: wrong version number"


def test_a_tcp_service_answers_when_it_takes_the_connection_and_a_closed_port_refuses() -> None:
    with silent_listener() as port:
        listening = ReachTarget(f"127.0.0.1:{port}", LOOPBACK, port, "tcp")
        closed = ReachTarget("127.0.0.1:closed", LOOPBACK, free_port(), "tcp")
        closed_http = ReachTarget("http://closed/", LOOPBACK, closed.port, "http", "closed")
        start = time.monotonic()
        answers = reach_all([listening, closed, closed_http], timeout_s=5)
        elapsed = time.monotonic() - start

    assert answers[listening.subject].ok
    assert re.fullmatch(r"TCP connect in \d+(\.\d)? ms", answers[listening.subject].detail)
    assert answers[closed.subject] == ReachAnswer(closed.subject, False, "connection refused")
    assert answers[closed_http.subject].detail == "connection refused"
    assert elapsed < 2  # a refusal is immediate, not a wait for the timeout


def test_a_server_that_takes_the_connection_but_never_answers_http_or_tls_times_out() -> None:
    with silent_listener() as port:
        targets = [http_target(port, "a.lab"), http_target(port, "b.lab", "https")]
        start = time.monotonic()
        answers = reach_all(targets, timeout_s=TIMEOUT_S)
        elapsed = time.monotonic() - start

    assert [(a.ok, a.detail) for a in answers.values()] == [(False, "timed out after 1 s")] * 2
    assert TIMEOUT_S * 0.9 <= elapsed < TIMEOUT_S + MARGIN_S


def test_a_server_trickling_its_headers_is_cut_off_at_the_timeout() -> None:
    # Each byte comes well within a socket timeout, so only a deadline over the whole exchange
    # ends it.
    def trickle(connection: socket.socket) -> None:
        connection.recv(4096)
        connection.sendall(b"HTTP/1.1 200 OK\r\n")
        for _ in range(100):
            connection.sendall(b"X")
            time.sleep(0.1)

    with raw_server(trickle) as port:
        target = http_target(port)
        start = time.monotonic()
        answer = reach_all([target], timeout_s=TIMEOUT_S)[target.subject]
        elapsed = time.monotonic() - start

    assert (answer.ok, answer.detail) == (False, "timed out after 1 s")
    assert elapsed < TIMEOUT_S + MARGIN_S


def test_a_server_that_hangs_up_or_speaks_another_protocol_is_no_http_answer() -> None:
    def hang_up(connection: socket.socket) -> None:
        connection.recv(4096)

    def ssh(connection: socket.socket) -> None:
        # An SSH server's identification line (RFC 4253, section 4.2), as OpenSSH on Debian sends it.
        connection.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
        connection.recv(4096)

    with raw_server(hang_up) as closing, raw_server(ssh) as other:
        targets = [http_target(closing, "closing.lab"), http_target(other, "ssh.lab")]
        answers = reach_all(targets, timeout_s=TIMEOUT_S)

    assert [(a.ok, a.detail) for a in answers.values()] == [
        (False, "closed the connection without an HTTP answer"),
        (False, "not an HTTP answer: 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\\r\\n'"),
    ]


def test_fifty_services_that_all_answer_take_well_under_five_seconds() -> None:
    with ExitStack() as stack:
        ports = [stack.enter_context(serving(answering(200, []))) for _ in range(50)]
        targets = [http_target(port, f"svc{i:02d}.lab") for i, port in enumerate(ports)]
        start = time.monotonic()
        answers = reach_all(targets, timeout_s=TIMEOUT_S)
        elapsed = time.monotonic() - start

    assert [answer.subject for answer in answers.values() if answer.ok] == [t.subject for t in targets]
    assert elapsed < 5


def test_fifty_services_that_never_answer_end_within_one_timeout() -> None:
    with silent_listener() as port:
        targets = [http_target(port, f"svc{i:02d}.lab") for i in range(50)]
        start = time.monotonic()
        answers = reach_all(targets, timeout_s=TIMEOUT_S)
        elapsed = time.monotonic() - start

    assert len(answers) == 50
    assert {(answer.ok, answer.detail) for answer in answers.values()} == {(False, "timed out after 1 s")}
    assert TIMEOUT_S * 0.9 <= elapsed < TIMEOUT_S + MARGIN_S


def test_past_the_threads_at_hand_a_second_wave_gets_a_timeout_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probes, "MAX_PARALLEL", 5)
    timeout_s = 0.5

    with silent_listener() as port:
        targets = [http_target(port, f"svc{i:02d}.lab") for i in range(10)]
        start = time.monotonic()
        answers = reach_all(targets, timeout_s=timeout_s)
        elapsed = time.monotonic() - start

    assert {answer.detail for answer in answers.values()} == {"timed out after 0.5 s"}
    assert 2 * timeout_s * 0.9 <= elapsed < 2 * timeout_s + MARGIN_S


def test_a_target_the_caller_got_wrong_is_refused_before_any_probe() -> None:
    with pytest.raises(ValueError, match="scheme 'ftp'"):
        ReachTarget("ftp://x/", LOOPBACK, 21, "ftp")
    with pytest.raises(ValueError, match="port 0"):
        ReachTarget("x", LOOPBACK, 0, "tcp")
    with pytest.raises(ValueError, match="timeout"):
        reach_all([], timeout_s=0)
