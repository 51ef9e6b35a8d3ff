"""One pass of ``verify`` (``components.verify.run``) against a lab where nothing answers, on
loopback: it still ends with a report, within its timeouts."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from ipaddress import IPv4Address

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from components.config.model import GatewayKind
from components.unifi.ssh import HostKey, SshTarget, load_private_key
from components.verify.expectations import Expectations, ExpectedEndpoint, ExpectedNode, ExpectedRoute
from components.verify.gateway import GatewayAccess
from components.verify.report import Status
from components.verify.run import Gateway, Timeouts, verify_once

LOOPBACK = IPv4Address("127.0.0.1")
# RFC 4253 section 4.2: an SSH server's first line; this one then never sends its key exchange.
BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"


@contextmanager
def silent_server(greeting: bytes) -> Iterator[int]:
    """A TCP port whose connections complete, hear ``greeting`` and then nothing, until the end."""
    held: list[socket.socket] = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)

        def serve() -> None:
            while True:
                try:
                    connection = listener.accept()[0]
                except OSError:  # the listener is closed
                    return
                held.append(connection)
                connection.sendall(greeting)

        threading.Thread(target=serve, daemon=True).start()
        try:
            yield listener.getsockname()[1]
        finally:
            listener.shutdown(socket.SHUT_RDWR)
            for connection in held:
                connection.close()


def ed25519_access(port: int, timeout_s: float) -> GatewayAccess:
    """SSH access to 127.0.0.1:``port`` with a key and host key made here (no server checks them)."""
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    target = SshTarget("127.0.0.1", port, "root", HostKey.parse(public.decode()), timeout_s)
    return GatewayAccess(target, load_private_key(private, "the test's key"), "the test's key")


@pytest.mark.parametrize("greeting", [b"", BANNER], ids=["says-nothing", "says-only-its-banner"])
def test_a_gateway_that_falls_silent_fails_sessions_and_routes_within_the_ssh_timeout(greeting: bytes) -> None:
    """Both the gateway and the service take connections and then say nothing: the pass ends
    after about the longest timeout, with sessions and routes failing on the SSH wait and reach
    on the service's, not with an exception."""
    node = ExpectedNode("node1", IPv4Address("10.30.0.11"))
    with silent_server(greeting) as ssh_port, silent_server(b"") as service_port:
        expectations = Expectations(
            stack="silent",
            gateway_kind=GatewayKind.USG.value,
            resolver=LOOPBACK,
            nodes=(node,),
            routes=(ExpectedRoute(LOOPBACK, ("web",)),),
            names=(),  # the resolver's port is 53: a silent resolver is the probes' tests' (test_probes.py)
            endpoints=(ExpectedEndpoint("http://web.lab/", LOOPBACK, service_port, "http", "web.lab", "web"),),
        )
        gateway = Gateway(GatewayKind.USG, ed25519_access(ssh_port, 1.0))
        started = time.monotonic()
        report = verify_once(expectations, gateway, Timeouts(ssh_s=1.0, dns_s=0.5, reach_s=0.5))
        elapsed = time.monotonic() - started
    statuses = {check.name: check.status for check in report.checks}
    assert statuses == {"sessions": Status.FAIL, "routes": Status.FAIL, "dns": Status.SKIP, "reach": Status.FAIL}
    sessions = report.checks[0].detail
    assert sessions.startswith(f"cannot read the gateway: ssh root@127.0.0.1:{ssh_port}: SSH connection failed: ")
    if greeting:  # its banner came: the key exchange is what did not finish
        assert "did not finish within 1s" in sessions
    assert "timed out after 0.5 s" in report.checks[3].detail
    assert elapsed < 2.5, f"took {elapsed:.1f}s"
