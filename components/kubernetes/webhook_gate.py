"""Wait until MetalLB's admission webhook answers, by server-side dry-running a MetalLB object.

Why: MetalLB custom resources applied right after MetalLB's install fail with ``failed calling
webhook "ipaddresspoolvalidationwebhook.metallb.io" … connection refused`` (MetalLB issues #1540,
#1597, #2486, #2566, #3133). Since MetalLB 0.16 the controller's readiness no longer waits for
the webhook, so "Deployment ready" is not enough. This command retries a server-side dry run of
the rendered object until the API server accepts it — the same admission path the real apply
takes — with a deadline, not a sleep. Nothing is persisted (``dryRun=All``).

Usage::

    python -m components.kubernetes.webhook_gate [--kubeconfig PATH] [--context NAME] \\
        [--timeout 300] [--interval 1] < pool.json
    python -m components.kubernetes.webhook_gate --server https://10.0.0.1:6443 \\
        --token-env K8S_TOKEN [--ca-file ca.crt | --insecure-skip-tls-verify] < pool.json

The object (e.g. an ``IPAddressPool`` with ``metadata.name``/``metadata.namespace``) comes as
JSON on stdin: it is data, not a secret, and keeps the command line short and stable.

One attempt is ``POST {collection}?dryRun=All&fieldManager=…`` (a dry-run create). If the
object already exists the API answers 409 AlreadyExists, which does not prove the webhook
answered; the attempt then sends a dry-run server-side apply
``PATCH {collection}/{name}?dryRun=All&fieldManager=…&force=true`` with
``Content-Type: application/apply-patch+yaml`` (JSON is YAML), which goes through admission.
The collection is the one the API server's discovery lists for the object's apiVersion and kind
(e.g. ``/apis/metallb.io/v1beta1/namespaces/metallb-system/communities`` for a Community;
:class:`components.kubernetes.api_client.ApiClient`); ``--plural`` picks among several.

Exit codes: 0 the API server accepted the dry run (prints ``webhook ready after N attempts
(X.Xs)``); 1 the deadline passed while the failure still looked like a startup race; 2 bad
usage, stdin or kubeconfig; 3 a failure that retrying cannot fix (the webhook or the API server
rejected the object as invalid, RBAC denied it, TLS verification failed, …).

Retry classification (:func:`classify`): 2xx → ready. Retried until the deadline: no HTTP
answer (connection refused/reset, timeouts, DNS), a kind discovery does not list yet (CRD not
established), 500 whose body mentions ``failed calling webhook``, ``connection refused`` or
``no endpoints available``, 404 (CRD or namespace not established yet), 429, 502, 503, 504.
Everything else (400, 401, 403, 409 from the apply, 422, other 500s, a kind discovery lists
twice) → exit 3 at once with the API's message. Discovery requests are classified the same way.

The kubeconfig is the one the Kubernetes provider gets (:mod:`components.kubernetes.kubeconfig`:
``--kubeconfig``, else ``$KUBECONFIG`` merged like client-go, else ``~/.kube/config``); the
official ``kubernetes`` client loads its credentials (exec plugins included) and sends the
requests (:mod:`components.kubernetes.api_client`). Tokens, client keys and exec-plugin output
are never printed. No Pulumi import, so the program can run it as a command.
"""

from __future__ import annotations

import argparse
import contextlib
import enum
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from components.kubernetes.api_client import (
    ApiClient,
    InputError,
    Response,
    direct_configuration,
    kubeconfig_configuration,
)

if TYPE_CHECKING:
    from kubernetes.client import Configuration

FIELD_MANAGER = "metallb-unifi-webhook-gate"

EXIT_READY = 0
EXIT_TIMED_OUT = 1
EXIT_USAGE = 2
EXIT_REJECTED = 3

DEFAULT_TIMEOUT = 300.0
DEFAULT_INTERVAL = 1.0
DEFAULT_MAX_INTERVAL = 10.0
MAX_REQUEST_TIMEOUT = 10.0
MIN_REQUEST_TIMEOUT = 0.5

RETRYABLE_500_MARKERS = ("failed calling webhook", "connection refused", "no endpoints available")
RETRYABLE_STATUSES = frozenset({404, 429, 502, 503, 504})
TROUBLESHOOT = "kubectl -n metallb-system get pods,endpoints metallb-webhook-service"


# --- the retry policy, pure -----------------------------------------------------------------


class Verdict(enum.Enum):
    READY = "ready"
    RETRY = "retry"
    REJECTED = "rejected"


def classify(response: Response) -> Verdict:
    """Is the response success, a startup race worth retrying, or a real problem?"""
    if response.ok:
        return Verdict.READY
    if response.status is None:
        return Verdict.RETRY if response.retryable else Verdict.REJECTED
    if response.status == 500:
        body = response.body.lower()
        return Verdict.RETRY if any(marker in body for marker in RETRYABLE_500_MARKERS) else Verdict.REJECTED
    if response.status in RETRYABLE_STATUSES:
        return Verdict.RETRY
    return Verdict.REJECTED


class Outcome(enum.Enum):
    READY = "ready"
    REJECTED = "rejected"
    TIMED_OUT = "timed out"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    attempts: int
    elapsed: float
    last: Response


def wait_for_webhook(
    post: Callable[[], Response],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = DEFAULT_INTERVAL,
    max_interval: float = DEFAULT_MAX_INTERVAL,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[int, Response, float], None] | None = None,
) -> Result:
    """Call ``post`` until it succeeds, fails for good, or ``timeout`` seconds have passed.

    Pauses start at ``interval`` and double up to ``max_interval``; a pause never runs past the
    deadline, and one last attempt is made at the deadline. ``clock`` must be monotonic.
    ``on_retry(attempt, response, pause)`` is told about every failure that will be retried.
    """
    if timeout < 0 or interval <= 0 or max_interval < interval:
        raise ValueError("need timeout >= 0 and 0 < interval <= max_interval")
    start = clock()
    deadline = start + timeout
    delay = interval
    attempts = 0
    while True:
        attempts += 1
        response = post()
        verdict = classify(response)
        now = clock()
        if verdict is Verdict.READY:
            return Result(Outcome.READY, attempts, now - start, response)
        if verdict is Verdict.REJECTED:
            return Result(Outcome.REJECTED, attempts, now - start, response)
        remaining = deadline - now
        if remaining <= 0:
            return Result(Outcome.TIMED_OUT, attempts, now - start, response)
        pause = min(delay, remaining)
        if on_retry is not None:
            on_retry(attempts, response, pause)
        sleep(pause)
        delay = min(delay * 2, max_interval)


# --- the object and one attempt ---------------------------------------------------------------


@dataclass(frozen=True)
class ObjectRef:
    api_version: str
    kind: str
    name: str
    namespace: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


def object_ref(obj: object) -> ObjectRef:
    if not isinstance(obj, dict):
        raise InputError("stdin must be one JSON object (e.g. an IPAddressPool)")
    api_version, kind, metadata = obj.get("apiVersion"), obj.get("kind"), obj.get("metadata")
    if not isinstance(api_version, str) or not api_version.strip("/") or api_version.count("/") > 1:
        raise InputError("the object needs an apiVersion like metallb.io/v1beta1")
    if not isinstance(kind, str) or not kind.isalnum():
        raise InputError("the object needs a kind like IPAddressPool")
    if not isinstance(metadata, dict):
        raise InputError("the object needs metadata.name and metadata.namespace")
    name, namespace = metadata.get("name"), metadata.get("namespace")
    for label, value in (("metadata.name", name), ("metadata.namespace", namespace)):
        if not isinstance(value, str) or not value or "/" in value or value in (".", ".."):
            raise InputError(f"the object needs a valid {label} (MetalLB objects are namespaced)")
    assert isinstance(name, str) and isinstance(namespace, str)
    return ObjectRef(api_version, kind, name, namespace)


def dry_run_attempt(client: ApiClient, obj: Mapping[str, Any], *, plural: str | None = None) -> Callable[[], Response]:
    """One attempt: dry-run create; on 409 AlreadyExists, a dry-run server-side apply instead."""
    object_ref(obj)  # the client reads apiVersion, kind and metadata as checked here

    def attempt() -> Response:
        created = client.create(obj, dry_run=True, field_manager=FIELD_MANAGER, plural=plural)
        if created.status != 409:
            return created
        return client.apply(obj, dry_run=True, field_manager=FIELD_MANAGER, force=True, plural=plural)

    return attempt


# --- command line ----------------------------------------------------------------------------


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m components.kubernetes.webhook_gate",
        description="Retry a server-side dry run of the MetalLB object on stdin until the API server "
        "(and so MetalLB's admission webhook) accepts it.",
        epilog="Exit codes: 0 ready, 1 deadline passed, 2 bad usage/input/kubeconfig, 3 rejected for good.",
    )
    kube = parser.add_argument_group("kubeconfig (default)")
    kube.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
    kube.add_argument("--context", help="kubeconfig context (default: current-context)")
    direct = parser.add_argument_group("direct access (instead of a kubeconfig)")
    direct.add_argument("--server", help="API server URL, e.g. https://10.0.0.1:6443")
    direct.add_argument("--token-env", metavar="VAR", help="environment variable holding a bearer token")
    direct.add_argument("--ca-file", help="CA bundle to verify the API server with")
    direct.add_argument("--insecure-skip-tls-verify", action="store_true", help="do not verify the server certificate")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="deadline in seconds (default 300)")
    parser.add_argument(
        "--interval", type=_positive, default=DEFAULT_INTERVAL, help="first pause, doubling (default 1)"
    )
    parser.add_argument(
        "--max-interval", type=_positive, default=DEFAULT_MAX_INTERVAL, help="longest pause (default 10)"
    )
    parser.add_argument(
        "--plural", help="the resource (e.g. communities) if the API server's discovery lists several for the kind"
    )
    return parser


def _direct_configuration(args: argparse.Namespace, environ: Mapping[str, str]) -> Configuration:
    token = None
    if args.token_env:
        token = environ.get(args.token_env)
        if not token:
            raise InputError(f"--token-env {args.token_env}: that environment variable is not set or empty")
    if args.ca_file and not Path(args.ca_file).is_file():
        raise InputError(f"--ca-file {args.ca_file} does not exist")
    return direct_configuration(args.server, token, args.ca_file, args.insecure_skip_tls_verify)


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    environ = os.environ if environ is None else environ
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.server and (args.kubeconfig or args.context):
        parser.error("--server replaces --kubeconfig/--context; pass one or the other")
    if not args.server and (args.token_env or args.ca_file or args.insecure_skip_tls_verify):
        parser.error("--token-env, --ca-file and --insecure-skip-tls-verify go with --server")
    if args.timeout < 0 or args.max_interval < args.interval:
        parser.error("need --timeout >= 0 and --interval <= --max-interval")

    def say(message: str) -> None:
        print(f"webhook gate: {message}", file=stderr, flush=True)

    try:
        try:
            obj = json.loads(stdin.read())
        except ValueError as exc:
            raise InputError(f"stdin is not JSON: {exc}") from exc
        ref = object_ref(obj)
        with contextlib.ExitStack() as stack:
            if args.server:
                configuration = _direct_configuration(args, environ)
            else:
                configuration = stack.enter_context(kubeconfig_configuration(args.kubeconfig, args.context, environ))
            server = configuration.host
            deadline: float = time.monotonic() + float(args.timeout)

            def request_timeout() -> float:
                return min(MAX_REQUEST_TIMEOUT, max(MIN_REQUEST_TIMEOUT, deadline - time.monotonic()))

            client = ApiClient(configuration, request_timeout=request_timeout)
            stack.callback(client.close)

            def on_retry(attempt: int, response: Response, pause: float) -> None:
                say(f"attempt {attempt}: {response.describe()}; retrying in {pause:.1f}s")

            result = wait_for_webhook(
                dry_run_attempt(client, obj, plural=args.plural),
                timeout=args.timeout,
                interval=args.interval,
                max_interval=args.max_interval,
                on_retry=on_retry,
            )
    except InputError as exc:
        say(str(exc))
        return EXIT_USAGE

    if result.outcome is Outcome.READY:
        print(f"webhook ready after {result.attempts} attempts ({result.elapsed:.1f}s)", file=stdout, flush=True)
        return EXIT_READY
    if result.outcome is Outcome.REJECTED:
        say(
            f"dry run of {ref} at {server} rejected, not retrying: {result.last.describe()} "
            "(not a startup race: an invalid object, missing RBAC permission or a TLS/credential problem)"
        )
        return EXIT_REJECTED
    say(
        f"gave up after {result.elapsed:.1f}s and {result.attempts} attempts to dry-run {ref} at {server}; "
        f"last failure: {result.last.describe()}. "
        f"Check that MetalLB's webhook has ready endpoints: {TROUBLESHOOT}"
    )
    return EXIT_TIMED_OUT


if __name__ == "__main__":
    sys.exit(main())
