"""A real dnsmasq on 127.0.0.1 for the probes' tests and the bench: it answers from a hosts file
(as a USG's dnsmasq answers its ``static-host-mapping``) and nothing else, and is stopped by its
PID when the block ends."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import dns.exception
import dns.message
import dns.query

INSTALL_HINT = "apt-get install dnsmasq-base (./test installs it as root on Debian)"


class DnsmasqMissing(RuntimeError):
    pass


def free_udp_and_tcp_port() -> int:
    """A loopback port free for both UDP and TCP (dnsmasq serves DNS on both)."""
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port: int = udp.getsockname()[1]
            with socket.socket() as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no loopback port free for both UDP and TCP")


@contextmanager
def running_dnsmasq(directory: Path, hosts: Sequence[tuple[str, str]], options: Sequence[str] = ()) -> Iterator[int]:
    """dnsmasq answering ``hosts`` ((address, name) lines of a hosts file, in that order) plus
    ``options`` (e.g. ``--local=/lab/``), with no upstream server; yields its port."""
    binary = shutil.which("dnsmasq")
    if binary is None:
        raise DnsmasqMissing(f"dnsmasq is missing: {INSTALL_HINT}")
    if not hosts:
        raise ValueError("dnsmasq's readiness is checked with the first host name: give one")
    hosts_file, log = directory / "dnsmasq.hosts", directory / "dnsmasq.log"
    hosts_file.write_text("".join(f"{address} {name}\n" for address, name in hosts))
    port = free_udp_and_tcp_port()
    command = [
        binary,
        "--keep-in-foreground",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        f"--addn-hosts={hosts_file}",
        f"--port={port}",
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        f"--user={getpass.getuser()}",  # as root it would switch to nobody, who cannot read directory
        f"--pid-file={directory / 'dnsmasq.pid'}",
        "--log-facility=-",
        *options,
    ]
    with log.open("wb") as log_file:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        _wait_until_it_answers(process, port, hosts[0][1], log)
        yield port
    finally:
        process.terminate()  # SIGTERM to its PID: --keep-in-foreground, so the PID is dnsmasq's
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait_until_it_answers(process: subprocess.Popen[bytes], port: int, name: str, log: Path) -> None:
    query = dns.message.make_query(name + ".", "A")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dnsmasq exited with {process.returncode}: {log.read_text(errors='replace')}")
        try:
            if dns.query.udp(query, "127.0.0.1", timeout=0.2, port=port).answer:
                return
        except (dns.exception.DNSException, OSError):
            time.sleep(0.05)
    raise RuntimeError(f"dnsmasq did not answer on 127.0.0.1:{port} within 10 s: {log.read_text(errors='replace')}")
