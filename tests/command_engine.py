"""Carry out registered pulumi-command resources for real, the way the Pulumi engine and the
command provider (pulumi/pulumi-command@v1.2.1) would across successive deployments.

The Pulumi CLI cannot run here, so this stands in for it: given the resources a program run
under mocks registered, it diffs them against the previous deployment and creates, updates,
replaces or deletes them in dependency order, running their commands for real. Local commands
run with ``sh -c`` in the project directory; remote commands and uploads go through a real SSH
server (the program's own SSH client). Each rule below names the source it comes from:

* replacement only when a replace-on-changes input changes: ``triggers`` for every type (the
  provider's field tags, pulumi/pulumi-command@v1.2.1:provider/pkg/provider/common/inputs.go and
  remote/copy.go; the SDK adds ``replace_on_changes=["triggers[*]"]``). ``connection`` is tagged
  secret only (remote/command.go, remote/copy.go): a changed connection is an update;
* any other input change is an update: ``update``, else ``create``, else nothing
  (local/commandController.go, remote/commandController.go, Update); CopyToRemote's update
  copies only when the asset's hash or ``remotePath`` changed, and it has no delete
  (remote/copyController.go, Update; no CustomDelete there);
* ``stdin`` goes to create, update and delete alike, when not empty (local/commandOutputs.go,
  remote/commandOutputs.go, run); a local command gets the engine's own environment plus
  ``environment`` (local/commandOutputs.go: ``os.Environ()`` then the input), a delete the
  stored (old) inputs with today's engine environment;
* ``PULUMI_COMMAND_STDOUT``/``STDERR`` hold the previous create/update's outputs, set only when
  not empty and unless ``addPreviousOutputInEnv`` is false: local in the environment, remote by
  SSH Setenv, a warning when the server refuses (remote/commandOutputs.go: a refused
  ``environment`` entry is an error). The test sshd has no ``AcceptEnv``, and OpenSSH refuses an
  ``env`` request whose name matches no ``AcceptEnv`` pattern (openssh-portable@V_9_2_P1:
  session.c, session_env_req), so every Setenv would be refused: the emulation sends none and
  gives that outcome (paramiko's ``set_environment_variable`` asks for no reply, so it could not
  tell a refusal anyway): over SSH an update sends what a create sends;
* stored stdout/stderr lose exactly one trailing newline (``strings.TrimSuffix`` in both run
  functions);
* a pinned ``hostKey`` makes the client offer only that key's own type
  (remote/connection.go: ``HostKeyAlgorithms = []string{publicKey.Type()}``): for ``ssh-rsa``
  that is SHA-1 RSA, which OpenSSH >= 8.8 refuses, so the handshake fails;
* a replacement creates the new resource first and deletes the old one after all other steps;
  with deleteBeforeReplace it deletes first (pulumi/pulumi@v3.259.0:pkg/resource/deploy/
  step_generator.go, the replacement steps). Only dependents whose inputs depend on the replaced
  resource's outputs would be deleted with it (calculateDependentReplacements); ``depends_on``
  alone does not, and the programs tested here have no such inputs between commands;
* a failed create leaves no state (pulumi/pulumi-go-provider@v1.3.0:infer/resource.go, Create:
  a plain error returns no ID), a failed update keeps the old state, the first failure stops the
  deployment (pulumi/pulumi@v3.259.0:pkg/resource/deploy/step_executor.go, cancelDueToError);
  old resources of replacements not deleted yet stay pending and go at the end of the next one;
* resources no longer registered are deleted at the end, in reverse dependency order
  (step_generator.go, GenerateDeletes and ScheduleDeletes);
* ``ignoreChanges``: before diffing a resource that has an old state, each ignored path of the
  new inputs takes the old value, or is deleted when the old inputs do not have it
  (step_generator.go, processIgnoreChanges; sdk/go/common/resource/properties_path.go, Reset);
  paths here are dotted keys (``environment.NAME``).
"""

from __future__ import annotations

import posixpath
import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.unifi.errors import UnifiError
from components.unifi.ssh import HostKey, SshSession, SshTarget, load_private_key
from tests.program_harness import Registration
from tests.pulumi_values import unwrap

COMMAND_TYPES = ("command:local:Command", "command:remote:Command", "command:remote:CopyToRemote")
COPY = "command:remote:CopyToRemote"
PREVIOUS_OUTPUTS = ("PULUMI_COMMAND_STDOUT", "PULUMI_COMMAND_STDERR")


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
    replace_keys: frozenset[str] = frozenset({"triggers"})
    ignore_changes: tuple[str, ...] = ()
    stdout: str = ""  # of the last create or update, as the provider keeps it
    stderr: str = ""


@dataclass
class CommandEngine:
    project_dir: Path
    base_env: dict[str, str]  # the engine's own environment (the user's shell running `pulumi up`)
    rewrite_local: Callable[[str], str] = lambda command: command  # e.g. faster polling in tests
    state: dict[str, Resource] = field(default_factory=dict)  # in dependency order
    pending_deletes: list[Resource] = field(default_factory=list)  # replaced, not yet deleted
    steps: list[tuple[str, str]] = field(default_factory=list)  # (operation, name) of the last run
    ran: list[tuple[str, str]] = field(default_factory=list)  # the steps that ran a command or copied
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (name, message) of the last run
    _env: dict[str, str] = field(default_factory=dict)

    def up(self, registrations: list[Registration], env: dict[str, str] | None = None) -> list[tuple[str, str]]:
        """One deployment of the command resources among ``registrations`` (in registration
        order, which follows their dependencies), with ``env`` added to the engine's own
        environment. Returns the steps; raises StepFailed at the first failure."""
        self._start(env)
        desired = [
            Resource(
                r.name,
                r.type,
                unwrap(r.inputs),
                r.delete_before_replace,
                frozenset({"triggers", *(key.split("[")[0] for key in r.replace_on_changes)}),
                r.ignore_changes,
            )
            for r in registrations
            if r.type in COMMAND_TYPES
        ]
        old_order = list(self.state)
        try:
            for resource in desired:
                self._step(resource)
            wanted = {r.name for r in desired}
            self._delete_at_end(old_order, [n for n in reversed(old_order) if n not in wanted])
        finally:
            self._reorder([r.name for r in desired])
        return self.steps

    def destroy(self, env: dict[str, str] | None = None) -> list[tuple[str, str]]:
        self._start(env)
        self._delete_at_end(list(self.state), list(reversed(self.state)))
        return self.steps

    def _start(self, env: dict[str, str] | None) -> None:
        self.steps, self.ran, self.warnings = [], [], []
        self._env = {**self.base_env, **(env or {})}

    def _step(self, resource: Resource) -> None:
        name = resource.name
        old = self.state.get(name)
        if old is not None:
            for path in resource.ignore_changes:
                _reset(path.split("."), old.inputs, resource.inputs)
        if old is None:
            self._run(resource, "create")  # raises: no state (a failed create)
            self.state[name] = resource
        elif old.inputs == resource.inputs:
            return
        elif any(old.inputs.get(key) != resource.inputs.get(key) for key in resource.replace_keys):
            if resource.delete_before_replace:
                self._run(old, "delete", kind="replaced")
                del self.state[name]
                self._run(resource, "create")
                self.state[name] = resource
            else:
                self._run(resource, "create")  # raises: the old one stays, nothing pending
                self.pending_deletes.append(old)
                self.state[name] = resource
        else:
            resource.stdout, resource.stderr = old.stdout, old.stderr
            self._run(resource, "update", old=old)  # raises: the old state stays
            self.state[name] = resource

    def _delete_at_end(self, old_order: list[str], removed: list[str]) -> None:
        position = {name: i for i, name in enumerate(old_order)}
        condemned = [(position.get(r.name, -1), "replaced", r) for r in self.pending_deletes]
        condemned += [(position[name], "delete", self.state[name]) for name in removed]
        for _, kind, resource in sorted(condemned, key=lambda item: -item[0]):
            self._run(resource, "delete", kind=kind)
            if kind == "replaced":
                self.pending_deletes.remove(resource)
            else:
                del self.state[resource.name]

    def _reorder(self, names: list[str]) -> None:
        ordered = {name: self.state[name] for name in names if name in self.state}
        self.state = ordered | {name: r for name, r in self.state.items() if name not in ordered}

    def _run(self, resource: Resource, operation: str, kind: str = "", old: Resource | None = None) -> None:
        self.steps.append((kind or operation, resource.name))
        inputs = resource.inputs
        if resource.type == COPY:
            if operation == "delete":
                return
            if operation == "update" and old is not None:
                before, after = old.inputs, inputs
                if before["source"] == after["source"] and before["remotePath"] == after["remotePath"]:
                    return
            try:
                _upload(inputs)
            except (UnifiError, OSError) as exc:
                raise StepFailed(resource.name, operation, -1, "", str(exc)) from None
            self.ran.append((kind or operation, resource.name))
            return
        script = inputs.get(operation)
        if operation == "update" and script is None:
            script = inputs.get("create")
        if script is None:
            return
        previous: dict[str, str] = {}
        if inputs.get("addPreviousOutputInEnv") is not False:
            previous = {
                key: value
                for key, value in zip(PREVIOUS_OUTPUTS, (resource.stdout, resource.stderr), strict=True)
                if value
            }
        stdin = inputs.get("stdin") or None
        if resource.type == "command:local:Command":
            env = {**self._env, **inputs.get("environment", {}), **previous}
            done = subprocess.run(
                ["sh", "-c", self.rewrite_local(script)],
                input=stdin,
                cwd=self.project_dir,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            code, stdout, stderr = done.returncode, done.stdout, done.stderr
        else:
            if inputs.get("environment"):
                raise StepFailed(resource.name, operation, -1, "", "Unable to set an environment variable (AcceptEnv)")
            for key in previous:
                self.warnings.append((resource.name, f"Unable to set '{key}'"))
            try:
                code, stdout, stderr = _ssh_run(resource.name, operation, inputs["connection"], script, stdin)
            except UnifiError as exc:  # the provider's dial or handshake failed
                raise StepFailed(resource.name, operation, -1, "", str(exc)) from None
        self.ran.append((kind or operation, resource.name))
        if code != 0:
            raise StepFailed(resource.name, operation, code, stdout, stderr)
        resource.stdout, resource.stderr = stdout.removesuffix("\n"), stderr.removesuffix("\n")


def _reset(path: list[str], old: Any, new: Any) -> None:
    """Reset's rule for a path of keys: the old value at the leaf, or no value when old has none;
    a missing object on the way leaves ``new`` as it is."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return
    key, rest = path[0], path[1:]
    if rest:
        _reset(rest, old.get(key), new.get(key))
    elif key in old:
        new[key] = old[key]
    else:
        new.pop(key, None)


def _session(name: str, operation: str, connection: dict[str, Any]) -> SshSession:
    """An SSH session like the provider's with ``hostKey`` set: only that host key is accepted.
    The program's own SSH client does the work (both streams drained, OpenSSH keys read)."""
    host_key = HostKey.parse(connection["hostKey"], "hostKey")
    if host_key.type == "ssh-rsa":
        raise StepFailed(name, operation, -1, "", "ssh: handshake failed: no common algorithm for host key (ssh-rsa)")
    target = SshTarget(
        host=connection["host"], port=int(connection["port"]), user=connection["user"], host_key=host_key, timeout=10
    )
    return SshSession.open(target, load_private_key(connection["privateKey"], "privateKey"), "privateKey")


def _ssh_run(
    name: str, operation: str, connection: dict[str, Any], command: str, stdin: str | None
) -> tuple[int, str, str]:
    with _session(name, operation, connection) as session:
        result = session.run(command, (stdin or "").encode())
    return result.exit_code, result.stdout, result.stderr


def _upload(inputs: dict[str, Any]) -> None:
    path = inputs["remotePath"]
    with _session("upload", "copy", inputs["connection"]) as session:
        # The provider creates parent directories before the SFTP write (copyController.go).
        made = session.run(f"mkdir -p -- {shlex.quote(posixpath.dirname(path))}")
        if made.exit_code != 0:
            raise OSError(f"cannot create the parent of {path}: {made.stderr.strip()}")
        session.upload(inputs["source"]["asset"].encode(), path)
