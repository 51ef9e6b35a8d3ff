"""SSH to the controller (or the gateway) with paramiko: a pinned host key and a key from the environment.

The server's host key must equal the one given (``"ssh-ed25519 AAAA..."``): there is no trust
on first use and ``~/.ssh/known_hosts`` is never read, so a wrong or intercepted host is
refused before the key is offered. The private key is PEM/OpenSSH text from an environment
variable, never a path; it is never printed or logged. Scripts run as ``sh -s`` (or
``sudo -n sh -s``) with their text on stdin; files go up over SFTP.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import logging
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Final

import paramiko
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from paramiko.ssh_exception import IncompatiblePeer

from components.unifi.errors import (
    HostKeyMismatchError,
    RemoteCommandError,
    SshAuthError,
    SshConnectionError,
    UsageError,
)
from components.unifi.private_keys import parse_private_key

# The host key algorithms paramiko may negotiate for each key type (RSA keys sign with SHA-2:
# paramiko has no SHA-1 "ssh-rsa" signatures any more).
HOST_KEY_ALGORITHMS: Final[dict[str, tuple[str, ...]]] = {
    "ssh-ed25519": ("ssh-ed25519",),
    "ecdsa-sha2-nistp256": ("ecdsa-sha2-nistp256",),
    "ecdsa-sha2-nistp384": ("ecdsa-sha2-nistp384",),
    "ecdsa-sha2-nistp521": ("ecdsa-sha2-nistp521",),
    "ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256"),
}
_POLL_SECONDS: Final = 0.02
_CHUNK: Final = 65536


def fingerprint(blob: bytes) -> str:
    """``SHA256:...`` like ``ssh-keygen -l`` prints it."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


@dataclass(frozen=True)
class HostKey:
    """The expected host key: its type and the public key blob."""

    type: str
    blob: bytes

    @classmethod
    def parse(cls, text: str, option: str = "--ssh-host-key") -> HostKey:
        """``"TYPE BASE64 [comment]"``, or a ``known_hosts``/``ssh-keyscan`` line with the host first."""
        fields = text.split()
        if len(fields) >= 3 and fields[0] not in HOST_KEY_ALGORITHMS and fields[1] in HOST_KEY_ALGORITHMS:
            fields = fields[1:]
        if len(fields) < 2 or fields[0] not in HOST_KEY_ALGORITHMS:
            kinds = ", ".join(HOST_KEY_ALGORITHMS)
            raise UsageError(f"{option} must be 'TYPE BASE64' with TYPE one of {kinds}")
        try:
            blob = base64.b64decode(fields[1], validate=True)
        except (binascii.Error, ValueError):
            raise UsageError(f"{option}: the key is not valid base64") from None
        # The blob starts with its own type name; it must agree with the one written before it.
        (length,) = struct.unpack(">I", blob[:4]) if len(blob) >= 4 else (0,)
        if blob[4 : 4 + length].decode("ascii", "replace") != fields[0]:
            raise UsageError(f"{option}: the key data is not a {fields[0]} key")
        return cls(fields[0], blob)

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.blob)

    def __str__(self) -> str:
        return f"{self.type} {self.fingerprint}"


def load_private_key(text: str, source: str) -> paramiko.PKey:
    """An unencrypted ed25519, ecdsa or rsa private key from PEM/OpenSSH text (``source`` names
    the environment variable in messages; the text itself never appears in one).

    cryptography parses the text: paramiko's own OpenSSH-format reader drops ecdsa and rsa keys
    whose data needs no padding (one in eight keys made with an empty comment, ``-C ""``).
    """
    unusable = f"{source} is not an ed25519, ecdsa or rsa private key (PEM or OpenSSH format)"
    try:
        key = parse_private_key(text)
    except TypeError:  # cryptography's way to say "encrypted, and no password given"
        raise SshAuthError(f"{source} holds a passphrase-protected key; give an unencrypted one") from None
    except (ValueError, UnsupportedAlgorithm):
        raise SshAuthError(unusable) from None
    if isinstance(key, rsa.RSAPrivateKey):
        return paramiko.RSAKey(key=key)
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in ("secp256r1", "secp384r1", "secp521r1"):
        return paramiko.ECDSAKey(vals=(key, key.public_key()))
    if isinstance(key, ed25519.Ed25519PrivateKey):
        # paramiko takes ed25519 keys in OpenSSH format only (its own reader is fine for them).
        openssh = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
        return paramiko.Ed25519Key.from_private_key(io.StringIO(openssh.decode()))
    raise SshAuthError(unusable)


@dataclass(frozen=True)
class Password:
    """A password to log in with instead of a key (never printed)."""

    value: str = field(repr=False)


@dataclass(frozen=True)
class SshTarget:
    host: str
    port: int
    user: str
    host_key: HostKey
    timeout: float = 30.0  # TCP connect, handshake, authentication, and silence of a command

    def __str__(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"


@dataclass(frozen=True)
class RemoteResult:
    exit_code: int
    stdout: str
    stderr: str


def _quiet_paramiko() -> None:
    # paramiko logs handshake failures from its own thread; the CLI reports them itself, on one line.
    logging.getLogger("paramiko").setLevel(logging.CRITICAL + 1)


class SshSession:
    """An authenticated SSH connection; use as a context manager (``SshSession.open(...)``)."""

    def __init__(self, transport: paramiko.Transport, target: SshTarget) -> None:
        self._transport = transport
        self.target = target

    @property
    def user(self) -> str:
        return self.target.user

    def __str__(self) -> str:
        return str(self.target)

    @classmethod
    def open(cls, target: SshTarget, key: paramiko.PKey | Password, key_source: str) -> SshSession:
        """Connect, check the host key, and log in with ``key`` (or a password), which
        ``key_source`` names in messages."""
        _quiet_paramiko()
        try:
            sock = socket.create_connection((target.host, target.port), timeout=target.timeout)
        except OSError as exc:
            raise SshConnectionError(f"cannot connect to {target.host}:{target.port} ({exc.strerror or exc})") from None
        transport = paramiko.Transport(sock)
        try:
            cls._handshake(transport, target)
            cls._authenticate(transport, target, key, key_source)
        except BaseException:
            transport.close()
            raise
        return cls(transport, target)

    @staticmethod
    def _handshake(transport: paramiko.Transport, target: SshTarget) -> None:
        transport.banner_timeout = target.timeout
        transport.auth_timeout = target.timeout
        expected = target.host_key
        # Offer only the expected key's algorithms: a server without such a key fails here.
        transport.get_security_options().key_types = HOST_KEY_ALGORITHMS[expected.type]
        where = f"{target.host}:{target.port}"
        try:
            transport.start_client(timeout=target.timeout)
        except IncompatiblePeer as exc:
            if "host key" in str(exc):
                raise HostKeyMismatchError(
                    f"{where} has no {expected.type} host key (expected {expected}); not connecting"
                ) from None
            raise SshConnectionError(f"SSH handshake with {where} failed ({exc})") from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise SshConnectionError(f"SSH handshake with {where} failed ({exc or type(exc).__name__})") from None
        if not transport.is_active() or not transport.initial_kex_done:
            # start_client returns, without raising, once its timeout has passed with the key
            # exchange still under way (paramiko@5.1.0: transport.py, Transport.start_client),
            # and every later call fails "No existing session": a server that took the
            # connection and then fell silent.
            raise SshConnectionError(
                f"SSH handshake with {where} did not finish within {target.timeout:g}s "
                "(the server took the connection, then fell silent)"
            )
        server_key = transport.get_remote_server_key()
        if server_key.asbytes() != expected.blob:
            seen = f"{server_key.get_name()} {fingerprint(server_key.asbytes())}"
            raise HostKeyMismatchError(
                f"{where} presented host key {seen}, not the expected {expected}; not connecting "
                "(wrong host key option, or someone in between)"
            )

    @staticmethod
    def _authenticate(
        transport: paramiko.Transport, target: SshTarget, key: paramiko.PKey | Password, key_source: str
    ) -> None:
        try:
            if isinstance(key, Password):
                # Falls back to keyboard-interactive, which some sshd configurations offer instead.
                remaining = transport.auth_password(target.user, key.value)
            else:
                remaining = transport.auth_publickey(target.user, key)
        except paramiko.AuthenticationException:
            what = "password" if isinstance(key, Password) else f"{key.get_name()} key"
            raise SshAuthError(f"{target} refused the {what} from {key_source}") from None
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise SshConnectionError(f"SSH authentication with {target} failed ({exc})") from None
        if remaining:
            raise SshAuthError(
                f"{target} asks for more than the {'password' if isinstance(key, Password) else 'key'} "
                f"({', '.join(remaining)})"
            )

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> SshSession:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def run(self, command: str, stdin: bytes = b"") -> RemoteResult:
        """Run ``command``, feed it ``stdin`` then EOF; fails if it stays silent for the timeout."""
        timeout = self.target.timeout
        try:
            channel = self._transport.open_session(timeout=timeout)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise SshConnectionError(f"{self.target}: cannot open a session ({exc})") from None
        try:
            channel.settimeout(timeout)
            channel.exec_command(command)
            self._send_stdin(channel, stdin)
            stdout, stderr = bytearray(), bytearray()
            last_activity = time.monotonic()
            # Both streams are drained as data arrives (a full stderr must not block stdout).
            # Done once the exit status and the end of the data (EOF) are in and nothing is
            # left: sshd may send the exit status before the last of the output.
            while True:
                got = False
                while channel.recv_ready():
                    stdout += channel.recv(_CHUNK)
                    got = True
                while channel.recv_stderr_ready():
                    stderr += channel.recv_stderr(_CHUNK)
                    got = True
                finished = channel.exit_status_ready() and (channel.eof_received or channel.closed)
                if finished and not channel.recv_ready() and not channel.recv_stderr_ready():
                    break
                now = time.monotonic()
                if got:
                    last_activity = now
                elif now - last_activity > timeout:
                    raise SshConnectionError(f"{self.target}: {command!r} silent for {timeout:g}s")
                else:
                    channel.status_event.wait(_POLL_SECONDS)
            code = channel.recv_exit_status()
            if channel.exit_status == -1 and not self._transport.is_active():
                # paramiko's -1: no exit status came before the channel closed, and the
                # connection is gone (sshd sends the status before it closes the channel).
                raise SshConnectionError(f"{self.target}: the connection was lost during {command!r}")
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise SshConnectionError(f"{self.target}: {command!r} failed ({exc or type(exc).__name__})") from None
        finally:
            channel.close()
        return RemoteResult(code, stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace"))

    @staticmethod
    def _send_stdin(channel: paramiko.Channel, stdin: bytes) -> None:
        """Write ``stdin``, then EOF. A command may exit without reading all of it (``echo hi``
        given input): sshd then sends its exit status and closes the channel without waiting
        for the client's EOF (openssh-portable@V_9_2_P1: session.c, session_exit_message, and
        nchan.c, chan_is_dead), and paramiko refuses writes to a closed channel ("Socket is
        closed", paramiko@5.1.0: channel.py, Channel._send). As with a pipe to a process that has
        exited, the rest of the input is dropped and the exit status decides; the caller's
        drain collects it (or finds the connection lost)."""
        try:
            if stdin:
                channel.sendall(stdin)
            channel.shutdown_write()
        except OSError:
            if not channel.closed:
                raise

    def run_script(self, script: str, *, sudo: bool) -> RemoteResult:
        """Run a ``sh`` script fed on stdin (``sudo -n``: fail rather than prompt for a password)."""
        return self.run("sudo -n sh -s" if sudo else "sh -s", script.encode())

    def upload(self, data: bytes, path: str) -> None:
        """Write ``data`` to ``path`` over SFTP (create or truncate; mode and owner are left alone)."""
        try:
            sftp = paramiko.SFTPClient.from_transport(self._transport)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise RemoteCommandError(f"{self.target}: cannot start SFTP ({exc})") from None
        if sftp is None:
            raise RemoteCommandError(f"{self.target}: cannot start SFTP")
        try:
            with sftp.open(path, "wb") as remote_file:
                remote_file.write(data)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
            raise RemoteCommandError(f"SFTP upload to {path} on {self.target} failed ({reason})") from None
        finally:
            sftp.close()
