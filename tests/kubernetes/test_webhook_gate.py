"""The MetalLB webhook gate: retry policy as a unit, and the CLI end to end (kubeconfig, TLS and
credentials through the official client, collections from the API server's discovery) against a
loopback stand-in for the Kubernetes API server."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from components.kubernetes.api_client import InputError, Response
from components.kubernetes.webhook_gate import (
    FIELD_MANAGER,
    Outcome,
    Verdict,
    classify,
    main,
    object_ref,
    wait_for_webhook,
)
from tests.conftest import REFERENCE
from tests.kubernetes.kube_api import (
    METALLB_CRDS,
    NOT_FOUND,
    TOKEN,
    Crd,
    FakeApi,
    Seen,
    fake_api,
    free_port,
    lab_kubeconfig,
    write_kubeconfig,
)
from tests.tls import self_signed_certificate

REPO = Path(__file__).resolve().parents[2]
POOL = {
    "apiVersion": "metallb.io/v1beta1",
    "kind": "IPAddressPool",
    "metadata": {"name": "lab-pool", "namespace": "metallb-system"},
    "spec": {"addresses": ["192.168.50.200-192.168.50.220"], "autoAssign": True},
}
POOL_PATH = "/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools"
APPLY_PATCH = "application/apply-patch+yaml"  # a server-side apply's Content-Type
WEBHOOK_REFUSED = json.dumps(
    {
        "kind": "Status",
        "status": "Failure",
        "message": 'Internal error occurred: failed calling webhook "ipaddresspoolvalidationwebhook.metallb.io": '
        'failed to call webhook: Post "https://metallb-webhook-service.metallb-system.svc:443/'
        'validate-metallb-io-v1beta1-ipaddresspool?timeout=10s": dial tcp 10.96.0.10:443: connect: connection refused',
        "reason": "InternalError",
        "code": 500,
    }
)
INVALID = json.dumps(
    {
        "kind": "Status",
        "status": "Failure",
        "message": 'admission webhook "ipaddresspoolvalidationwebhook.metallb.io" denied the request: '
        "CIDR 192.168.50.200-192.168.50.220 overlaps with already defined CIDR",
        "reason": "Invalid",
        "code": 422,
    }
)
EXISTS = json.dumps(
    {
        "kind": "Status",
        "status": "Failure",
        "message": 'ipaddresspools.metallb.io "lab-pool" already exists',
        "reason": "AlreadyExists",
        "code": 409,
    }
)


# --- the pure retry policy ---------------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def scripted(*responses: Response) -> tuple[Callable[[], Response], list[int]]:
    calls: list[int] = []

    def post() -> Response:
        calls.append(1)
        return responses[min(len(calls), len(responses)) - 1]

    return post, calls


@pytest.mark.parametrize(
    ("response", "verdict"),
    [
        (Response(200, "{}"), Verdict.READY),
        (Response(201, "{}"), Verdict.READY),
        (Response(None, error="connection refused by x:443"), Verdict.RETRY),
        (Response(None, error="TLS verification failed", retryable=False), Verdict.REJECTED),
        (Response(500, WEBHOOK_REFUSED), Verdict.RETRY),
        (Response(500, '{"message":"failed calling webhook: no endpoints available for service"}'), Verdict.RETRY),
        (Response(500, '{"message":"etcdserver: leader changed"}'), Verdict.REJECTED),
        (Response(503, "service unavailable"), Verdict.RETRY),
        (Response(404, '{"reason":"NotFound"}'), Verdict.RETRY),
        (Response(429, ""), Verdict.RETRY),
        (Response(400, '{"reason":"BadRequest"}'), Verdict.REJECTED),
        (Response(401, ""), Verdict.REJECTED),
        (Response(403, '{"reason":"Forbidden"}'), Verdict.REJECTED),
        (Response(409, EXISTS), Verdict.REJECTED),
        (Response(422, INVALID), Verdict.REJECTED),
    ],
)
def test_classification(response: Response, verdict: Verdict) -> None:
    assert classify(response) is verdict


def test_backoff_doubles_to_the_cap_and_never_sleeps_past_the_deadline() -> None:
    fake = FakeTime()
    post, calls = scripted(Response(503))
    result = wait_for_webhook(post, timeout=40, interval=1, max_interval=10, clock=fake.clock, sleep=fake.sleep)
    assert result.outcome is Outcome.TIMED_OUT
    assert fake.sleeps == [1, 2, 4, 8, 10, 10, 5]  # 40 s in all, the last pause cut to the deadline
    assert len(calls) == result.attempts == 8  # one last attempt at the deadline
    assert result.elapsed == pytest.approx(40)
    assert result.last == Response(503)


def test_success_after_retries_reports_attempts_and_elapsed() -> None:
    fake = FakeTime()
    retried: list[tuple[int, float]] = []
    post, _ = scripted(Response(500, WEBHOOK_REFUSED), Response(None, error="reset"), Response(201, "{}"))
    result = wait_for_webhook(
        post,
        timeout=300,
        interval=0.5,
        clock=fake.clock,
        sleep=fake.sleep,
        on_retry=lambda attempt, _response, pause: retried.append((attempt, pause)),
    )
    assert (result.outcome, result.attempts, result.elapsed) == (Outcome.READY, 3, 1.5)
    assert retried == [(1, 0.5), (2, 1.0)]


def test_a_real_rejection_stops_at_once() -> None:
    fake = FakeTime()
    post, calls = scripted(Response(500, WEBHOOK_REFUSED), Response(422, INVALID))
    result = wait_for_webhook(post, timeout=300, clock=fake.clock, sleep=fake.sleep)
    assert (result.outcome, result.attempts, len(calls)) == (Outcome.REJECTED, 2, 2)
    assert "overlaps" in result.last.describe()


def test_zero_timeout_still_makes_one_attempt() -> None:
    fake = FakeTime()
    post, calls = scripted(Response(503))
    result = wait_for_webhook(post, timeout=0, clock=fake.clock, sleep=fake.sleep)
    assert (result.outcome, len(calls), fake.sleeps) == (Outcome.TIMED_OUT, 1, [])


def test_bad_policy_arguments() -> None:
    post, _ = scripted(Response(200))
    with pytest.raises(ValueError):
        wait_for_webhook(post, interval=0)
    with pytest.raises(ValueError):
        wait_for_webhook(post, interval=20, max_interval=10)


# --- the object on stdin ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "obj",
    [
        [],
        {"kind": "IPAddressPool", "metadata": {"name": "a", "namespace": "b"}},
        {"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": "a"}},
        {"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": {"name": "../x", "namespace": "b"}},
        {"apiVersion": "metallb.io/v1beta1", "kind": "IP/Pool", "metadata": {"name": "a", "namespace": "b"}},
    ],
)
def test_object_ref_rejects_incomplete_objects(obj: object) -> None:
    with pytest.raises(InputError):
        object_ref(obj)


# --- the CLI end to end, against the stand-in --------------------------------------------------


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def run_gate(
    *args: str, stdin: object = POOL, env: dict[str, str] | None = None, timeout: float = 20
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "components.kubernetes.webhook_gate", *args],
        input=stdin if isinstance(stdin, str) else json.dumps(stdin),
        cwd=REPO,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def direct(api: FakeApi, *extra: str) -> tuple[str, ...]:
    return ("--server", api.url, "--token-env", "GATE_TOKEN", "--interval", "0.05", *extra)


TOKEN_ENV = {"GATE_TOKEN": TOKEN}


def assert_no_token(done: subprocess.CompletedProcess[str]) -> None:
    assert TOKEN not in done.stdout and TOKEN not in done.stderr


def test_cli_retries_through_webhook_refusals_then_succeeds() -> None:
    with fake_api(
        (500, WEBHOOK_REFUSED), (500, WEBHOOK_REFUSED), (500, WEBHOOK_REFUSED), (201, json.dumps(POOL))
    ) as api:
        done = run_gate(*direct(api), env=TOKEN_ENV)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("webhook ready after 4 attempts (")
    assert lines[0].endswith("s)")
    assert done.stderr.count("failed calling webhook") == 3  # each retry is reported
    assert len(api.seen) == 4
    for seen in api.seen:
        assert (seen.method, seen.path) == ("POST", POOL_PATH)
        assert seen.query == {"dryRun": ["All"], "fieldManager": [FIELD_MANAGER]}
        assert json.loads(seen.body) == POOL
        assert seen.headers["content-type"] == "application/json"
        assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert_no_token(done)


def test_cli_gives_up_at_the_deadline_naming_the_last_failure() -> None:
    with fake_api((500, WEBHOOK_REFUSED)) as api:
        started = time.monotonic()
        done = run_gate(*direct(api, "--timeout", "3", "--interval", "0.2"), env=TOKEN_ENV)
        elapsed = time.monotonic() - started
    assert done.returncode == 1, done.stderr
    assert 3 <= elapsed < 8
    assert done.stdout == ""
    last = done.stderr.strip().splitlines()[-1]
    assert "gave up after" in last and "IPAddressPool metallb-system/lab-pool" in last
    assert "last failure: HTTP 500: Internal error occurred: failed calling webhook" in last
    assert "kubectl -n metallb-system get pods,endpoints metallb-webhook-service" in last
    assert 4 <= len(api.seen) <= 8  # 0.2, 0.4, 0.8, 1.6 s pauses: about 5 attempts, not a busy loop
    assert all(seen.query["dryRun"] == ["All"] for seen in api.seen)
    assert_no_token(done)


def test_cli_stops_at_once_when_the_webhook_rejects_the_pool() -> None:
    with fake_api((422, INVALID)) as api:
        done = run_gate(*direct(api), env=TOKEN_ENV)
    assert done.returncode == 3
    assert len(api.seen) == 1
    assert "rejected, not retrying: HTTP 422" in done.stderr and "overlaps with already defined CIDR" in done.stderr
    assert done.stdout == ""
    assert_no_token(done)


def test_cli_forbidden_is_not_retried() -> None:
    forbidden = (
        '{"kind":"Status","message":"ipaddresspools.metallb.io is forbidden: User \\"ci\\" cannot create","code":403}'
    )
    with fake_api((403, forbidden)) as api:
        done = run_gate(*direct(api), env=TOKEN_ENV)
    assert (done.returncode, len(api.seen)) == (3, 1)
    assert "forbidden" in done.stderr


def test_cli_existing_object_is_checked_with_a_dry_run_apply() -> None:
    with fake_api((409, EXISTS), (200, json.dumps(POOL))) as api:
        done = run_gate(*direct(api), env=TOKEN_ENV)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("webhook ready after 1 attempts (")
    create, apply = api.seen
    assert (create.method, create.path) == ("POST", POOL_PATH)
    assert (apply.method, apply.path) == ("PATCH", f"{POOL_PATH}/lab-pool")
    assert apply.headers["content-type"] == APPLY_PATCH
    assert apply.query == {"dryRun": ["All"], "fieldManager": [FIELD_MANAGER], "force": ["true"]}
    assert json.loads(apply.body) == POOL
    assert apply.headers["authorization"] == f"Bearer {TOKEN}"


def test_cli_existing_object_then_webhook_down_keeps_retrying() -> None:
    with fake_api((409, EXISTS), (500, WEBHOOK_REFUSED), (409, EXISTS), (200, "{}")) as api:
        done = run_gate(*direct(api), env=TOKEN_ENV)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("webhook ready after 2 attempts")
    assert [seen.method for seen in api.seen] == ["POST", "PATCH", "POST", "PATCH"]


def test_cli_nothing_listening_is_retried_until_the_deadline() -> None:
    port = free_port()
    started = time.monotonic()
    done = run_gate("--server", f"http://127.0.0.1:{port}", "--timeout", "2", "--interval", "0.2")
    elapsed = time.monotonic() - started
    assert done.returncode == 1, done.stderr
    assert 2 <= elapsed < 7
    assert f"last failure: connection refused by 127.0.0.1:{port}" in done.stderr


def test_cli_crd_not_established_yet_is_retried() -> None:
    not_found = '{"kind":"Status","message":"the server could not find the requested resource","code":404}'
    with fake_api((404, not_found), (404, not_found), (201, "{}")) as api:
        done = run_gate(*direct(api), env=TOKEN_ENV)
    assert done.returncode == 0, done.stderr
    assert len(api.seen) == 3


def test_cli_with_a_kubeconfig_over_plain_http(tmp_path: Path) -> None:
    with fake_api((503, "unavailable"), (201, "{}")) as api:
        kubeconfig = lab_kubeconfig(tmp_path / "config", api.url)
        done = run_gate("--interval", "0.05", env={"KUBECONFIG": str(kubeconfig)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("webhook ready after 2 attempts")
    assert all(seen.headers["authorization"] == f"Bearer {TOKEN}" for seen in api.seen)
    assert_no_token(done)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a test certificate")
def test_cli_with_a_kubeconfig_over_tls_with_ca_data(tmp_path: Path) -> None:
    cert, key = self_signed_certificate(tmp_path, "server")
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with fake_api((500, WEBHOOK_REFUSED), (201, "{}"), tls=tls) as api:
        kubeconfig = write_kubeconfig(
            tmp_path / "config",
            {"lab": {"server": api.url, "certificate-authority-data": b64(cert.read_bytes())}},
            {"ci": {"token": TOKEN}},
            {"lab": ("lab", "ci")},
            "lab",
        )
        done = run_gate("--kubeconfig", str(kubeconfig), "--interval", "0.05")
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("webhook ready after 2 attempts")
        assert api.seen[-1].headers["authorization"] == f"Bearer {TOKEN}"
        # Without the CA the server is not trusted: a configuration problem, not a race.
        unverified = lab_kubeconfig(tmp_path / "bad", api.url)
        refused = run_gate("--kubeconfig", str(unverified), "--interval", "0.05")
    assert refused.returncode == 3, refused.stderr
    assert "TLS verification of 127.0.0.1" in refused.stderr
    assert_no_token(done)
    assert_no_token(refused)


@pytest.mark.parametrize(
    ("args", "stdin", "needle"),
    [
        (("--server", "http://127.0.0.1:9"), "not json", "stdin is not JSON"),
        (("--server", "http://127.0.0.1:9"), {"kind": "IPAddressPool"}, "apiVersion"),
        (("--server", "http://127.0.0.1:9", "--token-env", "UNSET_VAR"), POOL, "UNSET_VAR"),
        (("--server", "ftp://127.0.0.1:9"), POOL, "http(s)://"),
        (("--kubeconfig", "/nonexistent/kubeconfig"), POOL, "kubeconfig /nonexistent/kubeconfig does not exist"),
        (("--server", "http://127.0.0.1:9", "--context", "x"), POOL, "--server replaces"),
        (("--token-env", "X"), POOL, "go with --server"),
        (("--server", "http://127.0.0.1:9", "--interval", "0"), POOL, "must be > 0"),
    ],
)
def test_cli_usage_errors_exit_2(args: tuple[str, ...], stdin: object, needle: str) -> None:
    done = run_gate(*args, stdin=stdin)
    assert done.returncode == 2
    assert needle in done.stderr


def test_response_describe_prefers_the_status_message() -> None:
    assert Response(500, WEBHOOK_REFUSED).describe().startswith("HTTP 500: Internal error occurred: failed calling")
    assert Response(502, "<html>bad gateway</html>").describe() == "HTTP 502: <html>bad gateway</html>"
    assert len(Response(500, "x" * 5000).describe()) < 600


# --- the collection, from the API server's discovery ------------------------------------------


def gate(api: FakeApi, obj: object, *extra: str) -> tuple[int, str, str]:
    """The gate in this process (fast enough to run once per kind): exit code, stdout, stderr."""
    stdout, stderr = io.StringIO(), io.StringIO()
    code = main(
        [*direct(api), *extra], stdin=io.StringIO(json.dumps(obj)), stdout=stdout, stderr=stderr, environ=TOKEN_ENV
    )
    return code, stdout.getvalue(), stderr.getvalue()


def metallb(kind: str, version: str = "v1beta1", namespace: str = "metallb-system") -> dict[str, object]:
    return {"apiVersion": f"metallb.io/{version}", "kind": kind, "metadata": {"name": "x", "namespace": namespace}}


@pytest.mark.parametrize(
    ("kind", "plural"),
    [
        ("IPAddressPool", "ipaddresspools"),
        ("L2Advertisement", "l2advertisements"),
        ("BGPAdvertisement", "bgpadvertisements"),
        ("BGPPeer", "bgppeers"),
        ("BFDProfile", "bfdprofiles"),
        ("Community", "communities"),
        ("ServiceL2Status", "servicel2statuses"),
    ],
)
def test_each_metallb_kind_goes_to_the_collection_discovery_lists(kind: str, plural: str) -> None:
    with fake_api((201, "{}")) as api:
        code, _, stderr = gate(api, metallb(kind))
    assert code == 0, stderr
    (seen,) = api.seen
    assert (seen.method, seen.path) == ("POST", f"/apis/metallb.io/v1beta1/namespaces/metallb-system/{plural}")


def test_collection_paths_for_another_version_the_plural_option_and_the_core_group() -> None:
    peer = metallb("BGPPeer", "v1beta2", "ns")
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ns"}}
    with fake_api((201, "{}")) as api:
        assert [
            gate(api, obj, *extra)[0]
            for obj, extra in ((POOL, ()), (peer, ()), (peer, ("--plural", "bgppeers")), (config_map, ()))
        ] == [0] * 4
    assert [seen.path for seen in api.seen] == [
        POOL_PATH,
        "/apis/metallb.io/v1beta2/namespaces/ns/bgppeers",
        "/apis/metallb.io/v1beta2/namespaces/ns/bgppeers",
        "/api/v1/namespaces/ns/configmaps",
    ]


def test_a_plural_discovery_does_not_list_for_the_kind_is_retried_until_the_deadline() -> None:
    with fake_api((201, "{}")) as api:
        code, stdout, stderr = gate(api, metallb("BGPPeer", "v1beta2", "ns"), "--plural", "peers", "--timeout", "0.3")
    assert (code, stdout, api.seen) == (1, "", [])
    assert "last failure: the API server does not serve BGPPeer (peers) in metallb.io/v1beta2 yet" in stderr


def test_a_crd_being_installed_is_retried_with_fresh_discovery_until_it_is_listed() -> None:
    with fake_api((201, json.dumps(POOL)), hidden=3) as api:
        done = run_gate(*direct(api), env=TOKEN_ENV)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("webhook ready after ")
    assert "does not serve IPAddressPool in metallb.io/v1beta1 yet" in done.stderr  # each retry says why
    assert [(seen.method, seen.path) for seen in api.seen] == [("POST", POOL_PATH)]
    group_lists = [seen for seen in api.discovery if seen.path == "/apis"]
    assert len(group_lists) >= 4  # the three that left MetalLB out, then one that lists it
    assert {seen.headers["authorization"] for seen in api.discovery} == {f"Bearer {TOKEN}"}
    assert_no_token(done)


def test_a_version_discovery_lists_but_does_not_serve_yet_is_retried() -> None:
    # /apis names metallb.io/v1beta1 while /apis/metallb.io/v1beta1 still answers 404 (e.g. API
    # server replicas that have not all caught up): the client's NotFoundError, then a retry.
    with fake_api((201, "{}")) as api:
        answer = api.answer
        refused: list[str] = []

        def lagging(seen: Seen) -> tuple[int, str]:
            if seen.path == "/apis/metallb.io/v1beta1" and len(refused) < 2:
                refused.append(seen.path)
                api.discovery.append(seen)
                return 404, json.dumps(NOT_FOUND)
            return answer(seen)

        api.answer = lagging  # type: ignore[method-assign]
        code, stdout, stderr = gate(api, POOL)
    assert code == 0, stderr
    assert stdout.startswith("webhook ready after 2 attempts")
    assert "attempt 1: the API server does not serve IPAddressPool in metallb.io/v1beta1 yet" in stderr
    assert [(seen.method, seen.path) for seen in api.seen] == [("POST", POOL_PATH)]


def test_a_server_that_answers_discovery_with_something_else_is_rejected() -> None:
    with fake_api((201, "{}")) as api:
        api.answer = lambda seen: (200, "<html>it works</html>")  # type: ignore[method-assign]
        code, stdout, stderr = gate(api, POOL)
    assert (code, stdout) == (3, "")
    assert f"127.0.0.1:{api.port} does not answer discovery as a Kubernetes API server does" in stderr


def test_discovery_requests_are_bounded_by_the_deadline() -> None:
    with socket.socket() as silent:  # accepts connections (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        started = time.monotonic()
        done = run_gate("--server", f"http://127.0.0.1:{port}", "--timeout", "2", "--interval", "0.2")
        elapsed = time.monotonic() - started
    assert done.returncode == 1, done.stderr
    assert f"last failure: no answer from 127.0.0.1:{port} within" in done.stderr and "(timeout)" in done.stderr
    assert elapsed < 8


def test_the_discovery_cache_is_private_and_removed(tmp_path: Path) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    with fake_api((201, "{}")) as api:
        done = run_gate(*direct(api), env={**TOKEN_ENV, "TMPDIR": str(temporary)})
    assert done.returncode == 0, done.stderr
    assert list(temporary.iterdir()) == []  # no osrcp-<hash>.json for the next run, or another user, to read


@pytest.mark.skipif(not REFERENCE.is_dir(), reason=f"MetalLB's upstream manifests not found at {REFERENCE}")
def test_the_stand_ins_crds_are_metallbs() -> None:
    manifests = sorted(REFERENCE.glob("*/metallb-native.yaml"))
    assert manifests
    for manifest in manifests:
        found = set()
        for doc in yaml.safe_load_all(manifest.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec, names = doc["spec"], doc["spec"]["names"]
            served = [v for v in spec["versions"] if v["served"]]
            assert "shortNames" not in names and "categories" not in names  # the stand-in lists none
            crd = Crd(
                spec["group"],
                names["kind"],
                names["plural"],
                names["singular"],
                tuple(v["name"] for v in served),
                next(v["name"] for v in spec["versions"] if v["storage"]),
                spec["scope"] == "Namespaced",
                all("status" in v.get("subresources", {}) for v in served),
            )
            found.add(crd)
        assert found == set(METALLB_CRDS), manifest
