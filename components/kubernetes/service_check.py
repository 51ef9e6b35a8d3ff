"""Refuse to create a Service that already exists, with a message that says what to do.

Why: the Services the stack creates go through a provider without ``upsertExistingObjects``
(components/resources/providers.py), so an existing one fails the create with the provider's own
AlreadyExists, which cannot say that ``existing: true`` is the way to take it over. The program
runs this check as a command before each such Service is created.

Usage::

    python -m components.kubernetes.service_check --namespace NS --name NAME \\
        --stack-key 'metallb-unifi:services[0]' [--kubeconfig PATH] [--context NAME] [--timeout 30]

One ``GET /api/v1/namespaces/NS/services/NAME`` through the official client's typed API
(:meth:`components.kubernetes.api_client.ApiClient.read_service`), with the kubeconfig the
provider gets (:func:`components.kubernetes.api_client.kubeconfig_configuration`).

Exit codes: 0 the Service does not exist (or carries this program's ``managed-by`` label: see
:func:`verdict`); 1 it exists and this stack did not create it; 2 bad usage or kubeconfig;
3 the check could not be made (no answer, 401, 403, any other status): never taken as "absent".
The verdict goes on one line (stderr when the check fails, stdout otherwise).
"""

from __future__ import annotations

import argparse
import contextlib
import enum
import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from components.artifacts.metallb import MANAGED_BY
from components.kubernetes.api_client import ApiClient, InputError, Response, kubeconfig_configuration
from components.kubernetes.service_ref import ServiceRef, add_service_arguments, service_ref

EXIT_FREE = 0
EXIT_TAKEN = 1
EXIT_USAGE = 2
EXIT_UNKNOWN = 3

DEFAULT_TIMEOUT = 30.0
# The label every Service this program renders carries. The provider keeps it as given: in
# server-side apply mode it adds no managed-by label of its own
# (pulumi/pulumi-kubernetes@v4.32.0:provider/pkg/provider/provider.go, Check).
((MANAGED_BY_LABEL, MANAGED_BY_VALUE),) = MANAGED_BY.items()


class Verdict(enum.Enum):
    FREE = "free"
    OURS = "ours"
    TAKEN = "taken"
    UNKNOWN = "unknown"


def verdict(response: Response) -> Verdict:
    """What a GET of the Service says.

    A live Service with this program's ``managed-by`` label is taken as the stack's own: the check
    is new to stacks that created their Services before it existed (it is created, so it runs,
    while the Service is already in state), and a command with only ``create`` runs it again on
    any change of its command line, e.g. a new index after services were reordered
    (pulumi/pulumi-command@v1.2.1:provider/pkg/provider/local/commandController.go, Update: the
    create command when there is no update command). Nothing is adopted that way: the provider
    still refuses a Service that is not in the stack's state.
    """
    if response.status == 404 and _reason(response.body) == "NotFound":
        return Verdict.FREE
    if response.status == 200:
        labels = _labels(response.body)
        return Verdict.OURS if labels.get(MANAGED_BY_LABEL) == MANAGED_BY_VALUE else Verdict.TAKEN
    return Verdict.UNKNOWN


def _json(body: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _reason(body: str) -> str | None:
    reason = _json(body).get("reason")
    return reason if isinstance(reason, str) else None


def _labels(body: str) -> dict[str, Any]:
    metadata = _json(body).get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    return labels if isinstance(labels, dict) else {}


def message(ref: ServiceRef, found: Verdict, response: Response, server: str) -> str:
    """The one line the user reads."""
    if found is Verdict.FREE:
        return f"Service {ref} does not exist yet: the stack creates it"
    if found is Verdict.OURS:
        return (
            f"Service {ref} exists with {MANAGED_BY_LABEL}={MANAGED_BY_VALUE}: taken as this stack's own "
            "(the provider still refuses it if another stack created it)"
        )
    if found is Verdict.TAKEN:
        return (
            f"Service {ref} already exists and this stack did not create it: set existing: true on "
            f"{ref.stack_key} to patch it instead (the stack then never deletes it), or delete it first"
        )
    hint = f"; the kubeconfig's user needs get on services in {ref.namespace}" if response.status in (401, 403) else ""
    return (
        f"cannot check whether Service {ref} already exists at {server}: {response.describe()} "
        f"(not assuming it is absent{hint})"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m components.kubernetes.service_check",
        description="Fail if the Service the stack is about to create already exists.",
        epilog="Exit codes: 0 absent (or this program's), 1 exists, 2 bad usage/kubeconfig, 3 could not check.",
    )
    add_service_arguments(parser)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="request timeout in seconds")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    environ = os.environ if environ is None else environ
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.timeout > 0:
        parser.error("--timeout must be > 0")
    ref = service_ref(parser, args)
    try:
        with contextlib.ExitStack() as stack:
            configuration = stack.enter_context(kubeconfig_configuration(args.kubeconfig, args.context, environ))
            server = configuration.host
            client = ApiClient(configuration, request_timeout=lambda: float(args.timeout))
            stack.callback(client.close)
            response = client.read_service(ref.namespace, ref.name)
    except InputError as exc:
        print(f"service check of {ref}: {exc}", file=stderr, flush=True)
        return EXIT_USAGE
    found = verdict(response)
    line = message(ref, found, response, server)
    if found in (Verdict.FREE, Verdict.OURS):
        print(line, file=stdout, flush=True)
        return EXIT_FREE
    print(line, file=stderr, flush=True)
    return EXIT_TAKEN if found is Verdict.TAKEN else EXIT_UNKNOWN


if __name__ == "__main__":
    sys.exit(main())
