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
from collections.abc import Sequence
from dataclasses import dataclass

from components.config.model import ControllerAccess, Secret, SshAccess
from components.gateway.scripts import install_script, prepare_script, restore_script, staged_path

# The project's venv (Pulumi.yaml: virtualenv: venv), relative to the project directory.
PYTHON = "venv/bin/python"
CLIENT = "components.unifi"

# The heredoc that carries the redacted file in the install command's stdin. ``:`` discards
# it; it is there so that `pulumi preview --diff` shows the file's change line by line.
_PREVIEW_DELIMITER = "METALLB_UNIFI_DESIRED_CONFIG_GATEWAY_JSON"

# Environment variables the client reads (components/unifi/__main__.py).
ENV_USERNAME = "UNIFI_USERNAME"
ENV_PASSWORD = "UNIFI_PASSWORD"
ENV_API_KEY = "UNIFI_API_KEY"
ENV_CA_CERT = "UNIFI_CA_CERT"
ENV_SSH_PRIVATE_KEY = "UNIFI_SSH_PRIVATE_KEY"
ENV_CONTENT = "UNIFI_CONFIG_GATEWAY_JSON"


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def site_dir(controller: ControllerAccess, ssh: SshAccess) -> str:
    return f"{ssh.data_dir}/sites/{controller.site}"


def remote_shell(ssh: SshAccess) -> str:
    """Runs the script given on stdin; ``sudo -n`` fails at once instead of asking for a password."""
    return "sudo -n sh -s" if ssh.sudo else "sh -s"


def remote_inline(ssh: SshAccess, script: str) -> str:
    """Runs ``script`` given on the command line. pulumi-command feeds one stdin to create,
    update and delete alike, so the delete (restore) script cannot come by stdin."""
    return f"{'sudo -n ' if ssh.sudo else ''}sh -c {shlex.quote(script)}"


@dataclass(frozen=True)
class UploadPlan:
    """Everything the upload resources need besides the file's content."""

    site_dir: str
    staged_path: str
    prepare_stdin: str
    restore_command: str
    shell: str


def upload_plan(controller: ControllerAccess, ssh: SshAccess, stack: str) -> UploadPlan:
    directory = site_dir(controller, ssh)
    return UploadPlan(
        site_dir=directory,
        staged_path=staged_path(directory),
        prepare_stdin=prepare_script(site_dir=directory, owner=ssh.owner, upload_user=ssh.user),
        restore_command=remote_inline(ssh, restore_script(site_dir=directory, stack=stack)),
        shell=remote_shell(ssh),
    )


def install_stdin(controller: ControllerAccess, ssh: SshAccess, stack: str, content: str, preview: str) -> str:
    """The install script for ``content``, led by ``preview`` (the same file, secrets
    redacted) as a discarded heredoc: the script checks the upload by sha256, the preview is
    only for people reading a diff."""
    script = install_script(
        site_dir=site_dir(controller, ssh), expected_sha256=sha256_hex(content), owner=ssh.owner, stack=stack
    )
    lines = preview.rstrip("\n").splitlines()
    if _PREVIEW_DELIMITER in lines:  # cannot happen with JSON (its strings are quoted)
        raise ValueError("the preview must not contain the heredoc delimiter")
    body = "\n".join(lines)
    return (
        f"# config.gateway.json as installed below (secrets redacted; the upload is checked by sha256)\n"
        f": <<'{_PREVIEW_DELIMITER}'\n{body}\n{_PREVIEW_DELIMITER}\n{script}"
    )


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
    return shlex.join([PYTHON, "-m", CLIENT, *action, *site, *device, *trust, *extra])


def _provision(controller: ControllerAccess, ssh_arguments: list[str]) -> str:
    device = ["--timeout", str(controller.provision_timeout_s)]
    device += ["--gateway-mac", controller.gateway_mac] if controller.gateway_mac else []
    return _client_command(controller, ("provision",), device, ssh_arguments)


def reprovision_command(controller: ControllerAccess) -> str:
    """Provision the gateway as it is: run on destroy, after the original file is back."""
    return _provision(controller, [])


def provision_command(controller: ControllerAccess, ssh: SshAccess, stack: str, content: str) -> str:
    """Provision after an install. With SSH the client first checks that the live file is
    ``content`` (reinstalling it if an earlier failed provision rolled it back) and rolls
    back to the original if the gateway does not come back."""
    ssh_arguments = [
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
        "--owner",
        ssh.owner,
        "--stack",
        stack,
        "--expect-sha256",
        sha256_hex(content),
    ]
    return _provision(controller, ssh_arguments)


def secret_value(secret: Secret) -> str:
    if secret.value is None:
        raise ValueError(f"{secret.key} is encrypted and was not decrypted: run through the Pulumi CLI")
    return secret.value


def client_environment(controller: ControllerAccess) -> dict[str, str]:
    """Credentials and TLS trust for the client; every value but the user name is secret."""
    env: dict[str, str] = {}
    if controller.api_key is not None:
        env[ENV_API_KEY] = secret_value(controller.api_key)
    if controller.username is not None:
        env[ENV_USERNAME] = controller.username
    if controller.password is not None:
        env[ENV_PASSWORD] = secret_value(controller.password)
    if controller.ca_certificate is not None:
        env[ENV_CA_CERT] = controller.ca_certificate
    return env


def provision_environment(controller: ControllerAccess, ssh: SshAccess) -> dict[str, str]:
    """The client's environment for a provision after an install, except ``ENV_CONTENT``
    (the file itself, so the client can install it again after a rollback)."""
    return {**client_environment(controller), ENV_SSH_PRIVATE_KEY: secret_value(ssh.private_key)}


# Environment values that may show in state and diffs; all others are marked secret.
NOT_SECRET = frozenset({ENV_USERNAME, ENV_CA_CERT})


# UniFi OS gateways: BGP config and DNS records through the controller API (no SSH).
ENV_BGPD_CONF = "UNIFI_BGPD_CONF"


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
