"""The command lines, stdin texts and environments of the USG upload, as pure data.

The Pulumi component (``usg.py``) only wires these into pulumi-command resources, so what
runs on the controller and on the user's machine is tested without Pulumi. Two rules hold
for everything here: no secret in a command line or stdin (secrets travel in the local
command's environment, marked secret), and no path of the user's machine (the program's
venv is addressed relative to the project directory, where Pulumi runs commands).
"""

from __future__ import annotations

import hashlib
import json
import shlex
from collections.abc import Iterable, Mapping, Sequence

from components.config.model import ControllerAccess, Secret, SshAccess
from components.contract import (
    API_KEY_ENV,
    CA_CERT_ENV,
    CONTROLLER_CLIENT,
    PASSWORD_ENV,
    PYTHON,
    SSH_KEY_ENV,
    USERNAME_ENV,
)
from components.unifi.scripts import lock_script, original_script, verify_script

# The heredoc that carries the redacted file in the install command's stdin. ``:`` discards
# it; it is there so that `pulumi preview --diff` shows the file's change line by line.
_PREVIEW_DELIMITER = "METALLB_UNIFI_DESIRED_CONFIG_GATEWAY_JSON"


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def site_dir(controller: ControllerAccess, ssh: SshAccess) -> str:
    return f"{ssh.data_dir}/sites/{controller.site}"


def host_identity(controller: ControllerAccess, ssh: SshAccess) -> list[str]:
    """Where the file lives: a change replaces ``usg-original``, whose delete puts the old host's
    original back (with the old connection) before the new host gets the file."""
    return [ssh.host, str(ssh.port), site_dir(controller, ssh)]


def remote_shell(ssh: SshAccess) -> str:
    """Runs the script given on stdin; ``sudo -n`` fails at once instead of asking for a password."""
    return "sudo -n sh -s" if ssh.sudo else "sh -s"


def check_site_parameters(controller: ControllerAccess, ssh: SshAccess, stack: str) -> None:
    """Render the controller-side scripts once, so that a bad stack name, directory or owner
    stops the program before any resource exists."""
    directory = site_dir(controller, ssh)
    original_script(site_dir=directory, stack=stack)
    lock_script(site_dir=directory, owner=ssh.owner, upload_user=ssh.user, token="0" * 32, hold_s=1, holder="x")


def readback_stdin(controller: ControllerAccess, ssh: SshAccess, preview: str) -> str:
    """The verify script (it prints the live file's sha256), led by ``preview`` (this stack's
    part, secrets redacted) as a discarded heredoc: only for people reading a diff."""
    script = verify_script(site_dir=site_dir(controller, ssh))
    lines = preview.rstrip("\n").splitlines()
    if _PREVIEW_DELIMITER in lines:  # cannot happen with JSON (its strings are quoted)
        raise ValueError("the preview must not contain the heredoc delimiter")
    body = "\n".join(lines)
    return (
        "# this stack's part of config.gateway.json (secrets redacted); the file is composed of every stack's\n"
        f": <<'{_PREVIEW_DELIMITER}'\n{body}\n{_PREVIEW_DELIMITER}\n{script}"
    )


def provision_stdin(claims: Mapping[str, object]) -> str:
    """What ``provision`` reads on stdin: what the stack holds on the gateway, checked there
    against every other stack's part (no secret in it; shown in diffs)."""
    return json.dumps({"claims": claims}, indent=2, sort_keys=True) + "\n"


def _client_command(
    controller: ControllerAccess, action: Sequence[str], device: Sequence[str] = (), extra: Sequence[str] = ()
) -> str:
    """``python -m components.unifi ACTION --url --site --flavor [DEVICE] [trust] [EXTRA]``."""
    trust: list[str] = []
    if controller.fingerprint:
        trust = ["--fingerprint", controller.fingerprint]
    elif controller.insecure:
        trust = ["--insecure"]
    site = ["--url", controller.url, "--site", controller.site, "--flavor", controller.flavor.value]
    return shlex.join([PYTHON, "-m", CONTROLLER_CLIENT, *action, *site, *device, *trust, *extra])


def _provision(controller: ControllerAccess, ssh_arguments: list[str]) -> str:
    device = ["--timeout", str(controller.provision_timeout_s)]
    device += ["--gateway-mac", controller.gateway_mac] if controller.gateway_mac else []
    return _client_command(controller, ("provision",), device, ssh_arguments)


def reprovision_command(controller: ControllerAccess) -> str:
    """Provision the gateway as it is: run on destroy, after the original file is back."""
    return _provision(controller, [])


def _ssh_file_arguments(controller: ControllerAccess, ssh: SshAccess, stack: str) -> list[str]:
    return [
        "--ssh-host",
        ssh.host,
        "--ssh-port",
        str(ssh.port),
        "--ssh-user",
        ssh.user,
        "--ssh-host-key",
        ssh.host_key,
        *(["--sudo"] if ssh.sudo else []),
        "--site-dir",
        site_dir(controller, ssh),
        "--stack",
        stack,
    ]


def provision_command(controller: ControllerAccess, ssh: SshAccess, stack: str, content: str) -> str:
    """Provision after an install. With SSH the client first checks that the live file is
    ``content`` (reinstalling it if an earlier failed provision rolled it back), provisions only
    if the previous run (its stdout, PULUMI_COMMAND_STDOUT) did not already provision this
    content on this gateway, and rolls back to the original if the gateway does not come back."""
    # --owner before --stack, as the release before usg-original had it: the same command line
    # leaves a deployed stack's provision untouched (an update would provision once more).
    file_arguments = _ssh_file_arguments(controller, ssh, stack)
    at = file_arguments.index("--stack")
    ssh_arguments = [
        *file_arguments[:at],
        "--owner",
        ssh.owner,
        *file_arguments[at:],
        "--expect-sha256",
        sha256_hex(content),
    ]
    return _provision(controller, ssh_arguments)


def _ssh_file_command(controller: ControllerAccess, ssh: SshAccess, stack: str, action: str) -> str:
    return shlex.join([PYTHON, "-m", CONTROLLER_CLIENT, action, *_ssh_file_arguments(controller, ssh, stack)])


def check_original_command(controller: ControllerAccess, ssh: SshAccess, stack: str) -> str:
    """Refuse (exit 22) when installing the content would drop a setting of the user's original."""
    return _ssh_file_command(controller, ssh, stack, "check-original")


def restore_command(controller: ControllerAccess, ssh: SshAccess, stack: str) -> str:
    """Put the user's original back (run with the stored, i.e. old, connection on a host change)."""
    return _ssh_file_command(controller, ssh, stack, "restore")


def original_stdin(owned: Iterable[Sequence[str]]) -> str:
    """What ``check-original`` reads on stdin: the paths the stack owns, shown in diffs."""
    paths = sorted({tuple(str(part) for part in path) for path in owned})
    return json.dumps({"owned": [list(path) for path in paths]}, indent=2) + "\n"


def secret_value(secret: Secret) -> str:
    if secret.value is None:
        raise ValueError(f"{secret.key} is encrypted and was not decrypted: run through the Pulumi CLI")
    return secret.value


def client_environment(controller: ControllerAccess) -> dict[str, str]:
    """Credentials and TLS trust for the client; every value but the user name is secret."""
    env: dict[str, str] = {}
    if controller.api_key is not None:
        env[API_KEY_ENV] = secret_value(controller.api_key)
    if controller.username is not None:
        env[USERNAME_ENV] = controller.username
    if controller.password is not None:
        env[PASSWORD_ENV] = secret_value(controller.password)
    if controller.ca_certificate is not None:
        env[CA_CERT_ENV] = controller.ca_certificate
    return env


def ssh_environment(ssh: SshAccess) -> dict[str, str]:
    """The private key for the client's own SSH commands (``check-original``, ``restore``)."""
    return {SSH_KEY_ENV: secret_value(ssh.private_key)}


def provision_environment(controller: ControllerAccess, ssh: SshAccess) -> dict[str, str]:
    """The client's environment for a provision after an install, except ``CONTENT_ENV``
    (the file itself, so the client can install it again after a rollback)."""
    return {**client_environment(controller), SSH_KEY_ENV: secret_value(ssh.private_key)}


# UniFi OS gateways: BGP config and DNS records through the controller API (no SSH).


def unifi_os_command(controller: ControllerAccess, action: str, stack: str) -> str:
    """``apply`` (create and update) or ``remove`` (delete) of the stack's BGP config and records."""
    return _client_command(controller, ("unifi-os", action), extra=("--stack", stack))


def unifi_os_stdin(stack: str, bgpd_conf: str, preview: str, records: list[dict[str, object]]) -> str:
    """What ``unifi-os apply`` reads on stdin: the records and the sha256 of the real bgpd.conf
    (which comes by environment: it may hold the BGP password), plus ``bgpd_conf_preview``, the
    config with secrets redacted, one list item per line so that a diff shows its lines."""
    document = {
        "description": f"metallb-unifi stack {stack}",
        "bgpd_conf_sha256": sha256_hex(bgpd_conf),
        "bgpd_conf_preview": preview.splitlines(),
        "records": records,
    }
    return json.dumps(document, indent=2, sort_keys=True) + "\n"
