"""A caller of the simulated gateway's SSH, run inside the workstation's namespace:
``python -m tests.simulator.gateway_ssh_client`` with one JSON request on stdin's first line
(``host``, ``port``, ``user``, ``host_key``, ``commands``, optional ``login``: also ask for an
interactive login, ``hold``: keep the connection open until stdin ends) and the private key in
``GATEWAY_SSH_KEY``. Prints one JSON line: ``{"results": [{"command", "exit_code", "stdout",
"stderr"}]}``, or ``{"error": <class name>, "message": …}`` when connecting fails. One connection,
with the product's own client (pinned host key, key from the environment)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import paramiko

from components.unifi.errors import HostKeyMismatchError, SshAuthError, SshConnectionError
from components.unifi.ssh import HostKey, SshSession, SshTarget, load_private_key

KEY_ENV = "GATEWAY_SSH_KEY"
TIMEOUT_S = 10.0


def interactive_login(transport: paramiko.Transport) -> dict[str, Any]:
    """A shell request with no command, as ``ssh host`` makes (no pty: the gateway allows none)."""
    channel = transport.open_session(timeout=TIMEOUT_S)
    channel.settimeout(TIMEOUT_S)
    channel.invoke_shell()
    channel.shutdown_write()
    stdout, stderr = channel.makefile("rb").read(), channel.makefile_stderr("rb").read()
    code = channel.recv_exit_status()
    channel.close()
    return {"command": None, "exit_code": code, "stdout": stdout.decode(), "stderr": stderr.decode()}


def main() -> int:
    request = json.loads(sys.stdin.readline())
    target = SshTarget(request["host"], request["port"], request["user"], HostKey.parse(request["host_key"]), TIMEOUT_S)
    try:
        session = SshSession.open(target, load_private_key(os.environ[KEY_ENV], KEY_ENV), KEY_ENV)
    except (HostKeyMismatchError, SshAuthError, SshConnectionError) as error:
        print(json.dumps({"error": type(error).__name__, "message": str(error)}), flush=True)
        return 0
    with session:
        results = []
        for command in request["commands"]:
            result = session.run(command)
            results.append(
                {"command": command, "exit_code": result.exit_code, "stdout": result.stdout, "stderr": result.stderr}
            )
        if request.get("login"):
            results.append(interactive_login(session._transport))
        print(json.dumps({"results": results}), flush=True)
        if request.get("hold"):
            sys.stdin.read()  # the test stops the lab meanwhile
    return 0


if __name__ == "__main__":
    sys.exit(main())
