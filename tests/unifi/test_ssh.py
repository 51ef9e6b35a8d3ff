"""``components.unifi.ssh`` against a real OpenSSH server on loopback (no mocks; two tests hold the
client at one point to force an order a busy machine gives at random)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import paramiko
import pytest

from components.unifi.errors import (
    HostKeyMismatchError,
    RemoteCommandError,
    SshAuthError,
    SshConnectionError,
    UsageError,
)
from components.unifi.ssh import HostKey, SshSession, SshTarget, load_private_key
from tests.unifi import sshd as sshd_module
from tests.unifi.conftest import free_port
from tests.unifi.sshd import KeyPair, SshServer, keygen, start_sshd

SOURCE = "UNIFI_SSH_PRIVATE_KEY"


def target(server: SshServer, host_key: str | None = None, timeout: float = 10.0) -> SshTarget:
    key = HostKey.parse(host_key or server.host_key)
    return SshTarget(server.host, server.port, server.user, key, timeout=timeout)


def session(
    server: SshServer, client: KeyPair | None = None, *, host_key: str | None = None, timeout: float = 10.0
) -> SshSession:
    pair = client or server.clients["ed25519"]
    key = load_private_key(pair.private, SOURCE)
    return SshSession.open(target(server, host_key, timeout), key, SOURCE)


@pytest.mark.parametrize("client", ["ed25519", "ecdsa", "rsa-pem"])
def test_each_client_key_type_logs_in(sshd: SshServer, client: str) -> None:
    with session(sshd, sshd.clients[client]) as ssh:
        result = ssh.run("printf 'out\\n'; printf 'err\\n' >&2; exit 3")
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")


@pytest.mark.parametrize("kind", ["ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"])
def test_each_host_key_type_is_checked(sshd: SshServer, kind: str) -> None:
    with session(sshd, host_key=sshd.host_keys[kind]) as ssh:
        assert ssh.run("true").exit_code == 0


def test_other_host_key_refused(sshd: SshServer) -> None:
    with pytest.raises(HostKeyMismatchError, match="not the expected ssh-ed25519 SHA256:") as info:
        session(sshd, host_key=sshd.other_host_key)
    assert HostKey.parse(sshd.host_key).fingerprint in str(info.value)  # what the server presented


def test_missing_host_key_type_refused(sshd: SshServer, tmp_path: Path) -> None:
    nistp384 = keygen(tmp_path / "k384", "ecdsa", "-b", "384").public
    with pytest.raises(HostKeyMismatchError, match="has no ecdsa-sha2-nistp384 host key"):
        session(sshd, host_key=nistp384)


def test_unauthorized_client_key_refused(sshd: SshServer) -> None:
    with pytest.raises(SshAuthError, match=f"refused the ssh-ed25519 key from {SOURCE}"):
        session(sshd, sshd.stranger)


def test_connection_refused(sshd: SshServer) -> None:
    closed = SshTarget("127.0.0.1", free_port(), sshd.user, HostKey.parse(sshd.host_key), timeout=2)
    key = load_private_key(sshd.clients["ed25519"].private, SOURCE)
    with pytest.raises(SshConnectionError, match=r"cannot connect to 127\.0\.0\.1:"):
        SshSession.open(closed, key, SOURCE)


@pytest.mark.parametrize(
    "says",
    # RFC 4253 section 4.2: the server's identification string, CR LF, and then its KEXINIT,
    # which this one never sends.
    [b"", b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"],
    ids=["nothing", "only-its-banner"],
)
def test_a_server_that_falls_silent_in_the_handshake_is_a_connection_error_within_the_timeout(
    sshd: SshServer, says: bytes
) -> None:
    """paramiko's start_client returns when its timeout passes without raising (paramiko@5.1.0:
    transport.py, Transport.start_client): that must still be a connection error naming the
    wait, within the timeout, and not paramiko's "No existing session"."""
    connections: list[socket.socket] = []  # held open (and silent) until the client gives up

    def answer(listener: socket.socket) -> None:
        connections.append(listener.accept()[0])
        connections[0].sendall(says)

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # the kernel completes the connection; the server then says only ``says``
        port = listener.getsockname()[1]
        hung = SshTarget("127.0.0.1", port, sshd.user, HostKey.parse(sshd.host_key), timeout=0.5)
        key = load_private_key(sshd.clients["ed25519"].private, SOURCE)
        if says:
            threading.Thread(target=answer, args=(listener,), daemon=True).start()
        started = time.monotonic()
        try:
            with pytest.raises(SshConnectionError, match=r"SSH handshake with 127\.0\.0\.1:\d+ ") as raised:
                SshSession.open(hung, key, SOURCE)
            elapsed = time.monotonic() - started
        finally:
            for connection in connections:
                connection.close()
    assert elapsed < 2.0, f"took {elapsed:.1f}s"
    if says:  # the banner came: the key exchange is what did not finish in time
        assert "did not finish within 0.5s" in str(raised.value)


def test_private_key_errors_never_quote_the_key(tmp_path: Path) -> None:
    encrypted = tmp_path / "encrypted"
    pair = keygen(encrypted, "ed25519")
    subprocess.run(["ssh-keygen", "-q", "-p", "-P", "", "-N", "pass phrase", "-f", str(encrypted)], check=True)
    with pytest.raises(SshAuthError, match="passphrase-protected") as info:
        load_private_key(encrypted.read_text(), SOURCE)
    assert encrypted.read_text().splitlines()[1] not in str(info.value)
    with pytest.raises(SshAuthError, match="not an ed25519, ecdsa or rsa private key"):
        load_private_key(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5\n-----END OPENSSH PRIVATE KEY-----\n", SOURCE
        )
    # CRLF line ends and surrounding blanks (a pasted secret) are fine.
    assert load_private_key("\n" + pair.private.replace("\n", "\r\n") + "  ", SOURCE).get_name() == "ssh-ed25519"


def test_script_on_stdin_and_sudo(sshd: SshServer) -> None:
    if os.geteuid() != 0:
        pytest.skip("the sudo path is tested as root (sudo -n needs no password there)")
    if shutil.which("sudo") is None:
        pytest.skip("sudo is missing: apt-get install sudo (./test installs it as root on Debian)")
    with session(sshd) as ssh:
        plain = ssh.run_script('printf "%s\\n" "${SUDO_USER:-none}"; read -r x || echo "stdin at EOF"\n', sudo=False)
        with_sudo = ssh.run_script('printf "%s\\n" "${SUDO_USER:-none}"\n', sudo=True)
    assert plain.stdout == "none\nstdin at EOF\n"  # the script was all of stdin
    assert with_sudo.stdout == f"{sshd.user}\n", with_sudo.stderr


def test_large_stderr_does_not_block_stdout(sshd: SshServer) -> None:
    with session(sshd) as ssh:
        result = ssh.run("head -c 3000000 /dev/zero | tr '\\0' e >&2; head -c 3000000 /dev/zero | tr '\\0' o")
    assert result.exit_code == 0
    assert len(result.stderr) == 3_000_000 and len(result.stdout) == 3_000_000


def write_stdin_once(monkeypatch: pytest.MonkeyPatch, ready: Callable[[paramiko.Channel], bool]) -> None:
    """Hold the client between the exec reply and its stdin write until ``ready(channel)``: an
    order a busy machine produces at random (issue 20), made certain."""
    exec_command = paramiko.Channel.exec_command

    def exec_then_wait(channel: paramiko.Channel, command: str) -> None:
        exec_command(channel, command)
        deadline = time.monotonic() + 10
        while not ready(channel):
            assert time.monotonic() < deadline, "the channel did not get there within 10 s"
            time.sleep(0.01)

    monkeypatch.setattr(paramiko.Channel, "exec_command", exec_then_wait)


def test_a_command_that_exits_before_its_stdin_is_written_keeps_its_result(
    sshd: SshServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # sshd sends the exit status and closes the channel once the command exits, read or not.
    write_stdin_once(monkeypatch, lambda channel: channel.closed)
    with session(sshd) as ssh:
        unread = ssh.run("echo hi; exit 3", b"never read\n")
        ok = ssh.run("echo hi", b"y")
    assert (unread.exit_code, unread.stdout) == (3, "hi\n")
    assert (ok.exit_code, ok.stdout, ok.stderr) == (0, "hi\n", "")


def test_a_connection_lost_before_the_stdin_write_is_an_error(sshd: SshServer, monkeypatch: pytest.MonkeyPatch) -> None:
    def cut(channel: paramiko.Channel) -> bool:
        transport = channel.get_transport()
        if transport.is_active():
            transport.sock.shutdown(socket.SHUT_RDWR)
        return channel.closed and not transport.is_active()

    write_stdin_once(monkeypatch, cut)
    with session(sshd) as ssh, pytest.raises(SshConnectionError, match="the connection was lost during 'sleep 5'"):
        ssh.run("sleep 5", b"x")


def test_silent_command_times_out(sshd: SshServer) -> None:
    with session(sshd, timeout=0.5) as ssh, pytest.raises(SshConnectionError, match=r"silent for 0\.5s"):
        ssh.run("sleep 5")


def test_upload(sshd: SshServer, tmp_path: Path) -> None:
    path = tmp_path / "uploaded"
    path.write_bytes(b"a much longer previous content\n")
    path.chmod(0o600)
    with session(sshd) as ssh:
        ssh.upload(b'{"a": 1}\n', str(path))
        with pytest.raises(RemoteCommandError, match=r"SFTP upload to .*/missing/x on .* failed"):
            ssh.upload(b"x", str(tmp_path / "missing" / "x"))
    assert path.read_bytes() == b'{"a": 1}\n'  # truncated and rewritten in place
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_missing_sshd_skips_naming_the_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A skip, so that a user's clone says what to install; under CI a skip fails (tests/conftest.py).
    monkeypatch.setattr(sshd_module, "SSHD", tmp_path / "no-sshd")
    with pytest.raises(pytest.skip.Exception, match=r"no-sshd is missing: .*apt-get install openssh-server"):
        start_sshd(tmp_path)


def test_host_key_parsing(sshd: SshServer) -> None:
    kind, data = sshd.host_key.split()
    assert HostKey.parse(f"{kind} {data} root@controller").blob == HostKey.parse(sshd.host_key).blob
    assert HostKey.parse(f"[192.168.1.2]:22 {kind} {data}").type == kind  # ssh-keyscan / known_hosts line
    assert str(HostKey.parse(sshd.host_key)).startswith("ssh-ed25519 SHA256:")
    for bad in ("", "ssh-dss AAAAB3NzaC1kc3M=", f"{kind} not-base64!", f"ssh-rsa {data}", kind):
        with pytest.raises(UsageError, match="--ssh-host-key"):
            HostKey.parse(bad)
