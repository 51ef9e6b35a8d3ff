"""The router answers SSH as the gateway does: an OpenSSH ``sshd`` in the router's namespace on
the gateway's address, port 22, whose every session runs :mod:`simulator.gateway_shell`
(``ForceCommand``), so that ``verify`` runs against the lab exactly as against a real gateway.

Its host key and one client key (both ed25519) are made per lab in the lab's temp directory;
:class:`GatewaySshEndpoint` hands them to the caller, who connects from the workstation's
namespace. The config text is pure (:func:`sshd_config`, :func:`force_command`); the lab starts
and stops ``sshd`` by its PID (:func:`simulator.lab.running_lab`).
"""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path

from .errors import SimulationError

# sshd's privilege separation directory, compiled into Debian's sshd; systemd's unit creates it
# (RuntimeDirectory=sshd), a machine without that service may lack it.
PRIVSEP_DIR = Path("/run/sshd")
PORT = 22
USER = "root"  # the simulator runs as root; the gateway's admin logs in as root on a UDM too


@dataclass(frozen=True)
class GatewaySshEndpoint:
    """How to reach the simulated gateway over SSH from the workstation's namespace."""

    host: str  # the router's LAN address: the gateway's peer address
    port: int
    user: str
    host_key: str  # "ssh-ed25519 AAAA...": pin it as the stack's gatewaySsh.hostKey
    private_key: str  # PEM/OpenSSH text of the one client key the router's sshd accepts


@dataclass(frozen=True)
class KeyPair:
    private: str  # OpenSSH text
    public: str  # "TYPE BASE64", no comment


def keygen(path: Path) -> KeyPair:
    """A fresh ed25519 key pair at ``path`` (and ``path.pub``), unencrypted, mode 0600."""
    result = subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "", "-f", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SimulationError(f"ssh-keygen for {path.name} failed: {result.stderr.strip()}")
    public = " ".join(path.with_name(path.name + ".pub").read_text().split()[:2])
    return KeyPair(path.read_text(), public)


def force_command(python: Path, repo: Path, kind: str, vty_socket: Path) -> str:
    """The shell line sshd runs for every session (through the user's shell, ``-c``): the
    gateway shell, with the venv's python by absolute path (sshd's environment has no venv)."""
    shell = [str(python), "-m", "simulator.gateway_shell", "--kind", kind, "--vty-socket", str(vty_socket)]
    return f"cd {shlex.quote(str(repo))} && exec {shlex.join(shell)}"


def sshd_config(address: IPv4Address, port: int, directory: Path, command: str) -> str:
    """``sshd_config`` of the router's sshd: keys only (one authorized client key), every
    session the gateway shell, nothing else offered (no pty, forwarding, sftp, environment), and
    nothing written outside ``directory`` (no utmp/wtmp/lastlog records: those come with a pty)."""
    for value in (str(directory), command):
        if "\n" in value:
            raise SimulationError(f"sshd_config: a line break in {value!r}")
    return "".join(
        f"{line}\n"
        for line in (
            f"ListenAddress {address}:{port}",
            f"HostKey {directory / 'host_ed25519'}",
            f"PidFile {directory / 'sshd.pid'}",
            f"AuthorizedKeysFile {directory / 'authorized_keys'}",
            # The temp directory lies under world-writable /tmp, which StrictModes refuses.
            "StrictModes no",
            "UsePAM no",
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitTTY no",
            "DisableForwarding yes",
            "PermitTunnel no",
            "PermitUserRC no",
            "PrintMotd no",
            "PrintLastLog no",
            "UseDNS no",
            "LogLevel VERBOSE",
            f"ForceCommand {command}",
        )
    )


class PrivsepDir:
    """sshd refuses to start without its privilege separation directory: created when missing,
    and removed again only then (a directory the lab did not create is left alone)."""

    def __init__(self, path: Path = PRIVSEP_DIR) -> None:
        self.path = path
        self.created = False

    def ensure(self) -> None:
        if self.path.is_dir():
            return
        self.path.mkdir(mode=0o755)  # root's, not group or world writable, as sshd requires
        self.created = True

    def release(self) -> list[str]:
        """Remove the directory if this lab created it; problems are returned, not raised
        (teardown goes on)."""
        if not self.created:
            return []
        self.created = False
        try:
            self.path.rmdir()
        except OSError as error:
            return [f"removing {self.path}: {error.strerror or error}"]
        return []
