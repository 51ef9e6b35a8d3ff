"""A real OpenSSH server on loopback for the SSH tests: its own config, host keys and
authorized keys in a temp dir, started as ``sshd -D -e`` and stopped by its PID.

The login user is the one running the tests (root in CI, with ``PermitRootLogin
prohibit-password``): the controller-side scripts then run for real, ``chown`` included.

Without ``sshd`` (or ``ssh-keygen``) the tests that need them skip, naming the package to
install (./test installs it as root on Debian); under CI every skip is a failure (tests/conftest.py),
so CI still fails on it.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD = Path("/usr/sbin/sshd")
INSTALL_HINT = "apt-get install openssh-server (./test installs it as root on Debian)"


@dataclass(frozen=True)
class KeyPair:
    private: str  # the private key's text, as the CLI takes it from the environment
    public: str  # "TYPE BASE64" (no comment)


def keygen(path: Path, kind: str, *extra: str) -> KeyPair:
    if shutil.which("ssh-keygen") is None:
        pytest.skip(f"ssh-keygen is missing (openssh-client, which openssh-server brings): {INSTALL_HINT}")
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "", *extra, "-f", str(path)],
        check=True,
        capture_output=True,
    )
    public = " ".join(path.with_suffix(".pub").read_text().split()[:2])
    return KeyPair(path.read_text(), public)


@dataclass(frozen=True)
class SshServer:
    host: str
    port: int
    user: str
    host_keys: dict[str, str]  # key type -> "TYPE BASE64" of this server's host keys
    other_host_key: str  # an ed25519 host key this server does not have
    clients: dict[str, KeyPair]  # authorized client keys by name (ed25519, ecdsa, rsa-pem)
    stranger: KeyPair  # a client key that is not authorized
    log: Path

    @property
    def host_key(self) -> str:
        return self.host_keys["ssh-ed25519"]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"sshd exited with {proc.returncode}: {log.read_text(errors='replace')}")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail(f"sshd did not listen on 127.0.0.1:{port} within the deadline: {log.read_text(errors='replace')}")


def start_sshd(directory: Path) -> tuple[SshServer, subprocess.Popen[bytes]]:
    if not SSHD.is_file():
        pytest.skip(f"{SSHD} is missing: the SSH tests need a real OpenSSH server: {INSTALL_HINT}")
    if os.geteuid() == 0:
        # sshd's privilege separation directory; systemd creates it on a normal system.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    host_keys = {
        "ssh-ed25519": keygen(directory / "host_ed25519", "ed25519"),
        "ecdsa-sha2-nistp256": keygen(directory / "host_ecdsa", "ecdsa", "-b", "256"),
        "ssh-rsa": keygen(directory / "host_rsa", "rsa", "-b", "2048"),
    }
    other = keygen(directory / "other_host_ed25519", "ed25519")
    clients = {
        "ed25519": keygen(directory / "client_ed25519", "ed25519"),
        "ecdsa": keygen(directory / "client_ecdsa", "ecdsa", "-b", "384"),
        "rsa-pem": keygen(directory / "client_rsa", "rsa", "-b", "2048", "-m", "PEM"),
    }
    stranger = keygen(directory / "stranger", "ed25519")
    authorized = directory / "authorized_keys"
    authorized.write_text("".join(f"{pair.public}\n" for pair in clients.values()))
    authorized.chmod(0o600)
    config = directory / "sshd_config"
    config.write_text(
        "ListenAddress 127.0.0.1\n"
        + "".join(f"HostKey {directory / name}\n" for name in ("host_ed25519", "host_ecdsa", "host_rsa"))
        + f"PidFile {directory / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {authorized}\n"
        "StrictModes no\n"
        "UsePAM no\n"
        "PermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "PubkeyAuthentication yes\n"
        "Subsystem sftp internal-sftp\n"
        "LogLevel VERBOSE\n"
    )
    port = _free_port()
    log = directory / "sshd.log"
    with log.open("wb") as log_file:
        proc = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(config), "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_port(port, proc, log, time.monotonic() + 15)
    except BaseException:
        stop_sshd(proc)
        raise
    server = SshServer(
        host="127.0.0.1",
        port=port,
        user=getpass.getuser(),
        host_keys={kind: pair.public for kind, pair in host_keys.items()},
        other_host_key=other.public,
        clients=clients,
        stranger=stranger,
        log=log,
    )
    return server, proc


def stop_sshd(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
