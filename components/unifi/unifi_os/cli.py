"""The ``unifi-os`` subcommands: their options, the checks before any request, and the runs."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, Literal, TextIO

from components.contract import BGPD_CONF_ENV, PREVIOUS_STDOUT_ENV
from components.unifi.client import ControllerClient
from components.unifi.errors import EXIT_OK
from components.unifi.unifi_os.commands import Say, apply, remove, status
from components.unifi.unifi_os.inputs import ApplyInputs, read_apply_inputs
from components.unifi.unifi_os.state import StackState, parse_state, removed_line

Action = Literal["apply", "remove", "status"]
_HELP = {
    "apply": f"write the stack's BGP config and DNS records (stdin JSON, {BGPD_CONF_ENV})",
    "remove": "delete the stack's DNS records and BGP config, putting back the config it replaced",
    "status": "print the BGP config in force (passwords masked) and the stack's DNS records",
}


def add_unifi_os_parser(sub: Any, connection: argparse.ArgumentParser) -> None:
    """``unifi-os apply|remove|status`` under the top-level subcommands ``sub``."""
    unifi_os = sub.add_parser(
        "unifi-os",
        help="a UniFi OS gateway's BGP config and DNS records",
        description="Manage a UniFi OS gateway's FRR BGP config and DNS records for a Pulumi stack. "
        f"The previous run's stdout is read from {PREVIOUS_STDOUT_ENV}.",
    )
    actions = unifi_os.add_subparsers(dest="action", required=True)
    for action, text in _HELP.items():
        parser = actions.add_parser(action, parents=[connection], help=text, description=text)
        parser.add_argument("--stack", required=True, help="the Pulumi stack the config and records belong to")


@dataclass(frozen=True)
class UnifiOsJob:
    action: Action
    site: str
    stack: str
    state: StackState | None
    inputs: ApplyInputs | None  # apply only


def unifi_os_job_from_args(args: argparse.Namespace, env: dict[str, str], stdin: TextIO) -> UnifiOsJob:
    """Everything checked offline: the state of the previous run and, for apply, its inputs."""
    state = parse_state(env.get(PREVIOUS_STDOUT_ENV), args.stack)
    inputs = read_apply_inputs(stdin.read(), env) if args.action == "apply" else None
    return UnifiOsJob(action=args.action, site=args.site, stack=args.stack, state=state, inputs=inputs)


def run_unifi_os(job: UnifiOsJob, client: ControllerClient, say: Say) -> int:
    if job.action == "remove" and job.state is None:
        say(f"nothing to remove: no state of stack {job.stack} in {PREVIOUS_STDOUT_ENV}")
        say(removed_line(job.stack))
        return EXIT_OK
    client.require_unifi_os()
    client.login()
    say(f"logged in to {client.base_url} ({client.flavor}, site {job.site}, stack {job.stack})")
    if job.action == "apply":
        assert job.inputs is not None
        say(apply(client, job.site, job.stack, job.inputs, job.state, say).line())
    elif job.action == "remove":
        assert job.state is not None
        remove(client, job.site, job.state, say)
        say(removed_line(job.stack))
    else:
        status(client, job.site, job.stack, job.state, say)
    return EXIT_OK
