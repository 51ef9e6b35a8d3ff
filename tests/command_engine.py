"""Carry out registered pulumi-command resources for real, the way the Pulumi engine and the
command provider (1.2.1) would across successive deployments.

The Pulumi CLI cannot run here, so this stands in for it: given the resources a program run
under mocks registered, it diffs them against the previous deployment and creates, updates,
replaces or deletes them in dependency order, running their commands for real. Local commands
run with ``sh -c`` in the project directory with their ``environment``; remote commands and
uploads go through a real SSH server (the program's own SSH client). The rules it follows:

* a new resource is created (``create``); a gone one deleted (``delete``), dependents first;
* a change of ``triggers`` or of a remote ``connection`` (any change, for ``CopyToRemote``) is
  a replacement: create the new one, then delete the old one after the deployment's other
  steps; with ``deleteBeforeReplace``, delete the old one first;
* any other change is an update: ``update``, or ``create`` again when there is no ``update``;
* unchanged resources run nothing; a failed step stops the deployment and leaves the
  resource's previous state in place (so the next deployment tries again);
* ``stdin`` is fed to every command of a resource, delete included;
* update and delete see the previous run's stdout and stderr as ``PULUMI_COMMAND_STDOUT`` and
  ``PULUMI_COMMAND_STDERR`` (local commands).
"""

from __future__ import annotations

import posixpath
import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.unifi.ssh import HostKey, SshSession, SshTarget, load_private_key
from tests.program_harness import Registration
from tests.pulumi_values import unwrap

COMMAND_TYPES = ("command:local:Command", "command:remote:Command", "command:remote:CopyToRemote")


class StepFailed(Exception):
    def __init__(self, name: str, operation: str, code: int, stdout: str, stderr: str) -> None:
        super().__init__(f"{operation} of {name} exited {code}: {stderr.strip() or stdout.strip()}")
        self.name, self.operation, self.code, self.stdout, self.stderr = name, operation, code, stdout, stderr


@dataclass
class Resource:
    name: str
    type: str
    inputs: dict[str, Any]
    delete_before_replace: bool = False
    stdout: str = ""  # of the last create or update, as the provider keeps it
    stderr: str = ""


@dataclass
class CommandEngine:
    project_dir: Path
    base_env: dict[str, str]
    rewrite_local: Callable[[str], str] = lambda command: command  # e.g. faster polling in tests
    state: dict[str, Resource] = field(default_factory=dict)  # in creation order
    steps: list[tuple[str, str]] = field(default_factory=list)  # (operation, name) of the last run

    def up(self, registrations: list[Registration]) -> list[tuple[str, str]]:
        """One deployment of the command resources among ``registrations`` (in registration
        order, which follows their dependencies). Returns the steps that ran."""
        self.steps = []
        desired = [
            Resource(r.name, r.type, unwrap(r.inputs), r.delete_before_replace)
            for r in registrations
            if r.type in COMMAND_TYPES
        ]
        replaced: list[Resource] = []
        for resource in desired:
            old = self.state.get(resource.name)
            if old is None:
                self._run(resource, "create")
            elif old.inputs == resource.inputs:
                continue
            elif self._replaces(old, resource) and resource.delete_before_replace:
                self._run(old, "delete", kind="replaced")
                self._run(resource, "create")
            elif self._replaces(old, resource):
                self._run(resource, "create")
                replaced.append(old)
            else:
                resource.stdout, resource.stderr = old.stdout, old.stderr
                self._run(resource, "update")
            self.state[resource.name] = resource
        for old in reversed(replaced):
            self._run(old, "delete", kind="replaced")
        wanted = {r.name for r in desired}
        for name in [n for n in reversed(self.state) if n not in wanted]:
            self._run(self.state[name], "delete")
            del self.state[name]
        return self.steps

    def destroy(self) -> list[tuple[str, str]]:
        self.steps = []
        for name in list(reversed(self.state)):
            self._run(self.state[name], "delete")
            del self.state[name]
        return self.steps

    @staticmethod
    def _replaces(old: Resource, new: Resource) -> bool:
        if new.type == "command:remote:CopyToRemote":
            return True
        return old.inputs.get("triggers") != new.inputs.get("triggers") or old.inputs.get(
            "connection"
        ) != new.inputs.get("connection")

    def _run(self, resource: Resource, operation: str, kind: str = "") -> None:
        inputs = resource.inputs
        if resource.type == "command:remote:CopyToRemote":
            if operation == "delete":
                return  # the provider leaves copied files alone
            _upload(inputs)
            self.steps.append((kind or operation, resource.name))
            return
        script = inputs.get(operation)
        if operation == "update" and script is None:
            script = inputs.get("create")
        if script is None:
            return
        if resource.type == "command:local:Command":
            env = {**self.base_env, **inputs.get("environment", {})}
            if operation != "create":
                env |= {"PULUMI_COMMAND_STDOUT": resource.stdout, "PULUMI_COMMAND_STDERR": resource.stderr}
            done = subprocess.run(
                ["sh", "-c", self.rewrite_local(script)],
                input=inputs.get("stdin"),
                cwd=self.project_dir,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            code, stdout, stderr = done.returncode, done.stdout, done.stderr
        else:
            code, stdout, stderr = _ssh_run(inputs["connection"], script, inputs.get("stdin"))
        self.steps.append((kind or operation, resource.name))
        if code != 0:
            raise StepFailed(resource.name, operation, code, stdout, stderr)
        # The provider keeps stdout/stderr trimmed of the final newline.
        resource.stdout, resource.stderr = stdout.rstrip("\n"), stderr.rstrip("\n")


def _session(connection: dict[str, Any]) -> SshSession:
    """An SSH session like the provider's with ``hostKey`` set: only that host key is accepted.
    The program's own SSH client does the work (both streams drained, OpenSSH keys read)."""
    target = SshTarget(
        host=connection["host"],
        port=int(connection["port"]),
        user=connection["user"],
        host_key=HostKey.parse(connection["hostKey"], "hostKey"),
        timeout=10,
    )
    return SshSession.open(target, load_private_key(connection["privateKey"], "privateKey"), "privateKey")


def _ssh_run(connection: dict[str, Any], command: str, stdin: str | None) -> tuple[int, str, str]:
    with _session(connection) as session:
        result = session.run(command, (stdin or "").encode())
    return result.exit_code, result.stdout, result.stderr


def _upload(inputs: dict[str, Any]) -> None:
    path = inputs["remotePath"]
    with _session(inputs["connection"]) as session:
        # The provider creates parent directories before the SFTP write.
        made = session.run(f"mkdir -p -- {shlex.quote(posixpath.dirname(path))}")
        if made.exit_code != 0:
            raise OSError(f"cannot create the parent of {path}: {made.stderr.strip()}")
        session.upload(inputs["source"]["asset"].encode(), path)
