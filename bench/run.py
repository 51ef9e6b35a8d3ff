"""Benchmark (not a test): how long `__main__.py` takes to evaluate under Pulumi mocks (up mode),
against an empty program and an "SDK floor" that registers as many trivial resources.

Run from the repo root:  venv/bin/python bench/run.py [--repeat N] [--synthetic-manifest]
                         [--verify-only | --verify-lab]

With ``discovery`` set, the same program against a loopback stand-in of the Kubernetes API
(tests/kubernetes/kube_api.py) holding 0/100/500/1000 annotated LoadBalancer Services.

``python -m components.verify``'s probes on loopback: 50 names asked of a real dnsmasq and 50
HTTP services, all answering and none answering (``--verify-only``: just these).

``python -m components.verify`` itself against the simulator's 50-service lab, a USG and a
UniFi OS gateway, everything answering and nothing answering (``--verify-lab``: just these; as
root, with the simulator's daemons).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import http.server
import json
import os
import runpy
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pulumi
import yaml
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.stack import wait_for_rpcs

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared" / "reference" / "metallb"
NS = "metallb-unifi"
BENCH_STACK = "bench"  # the stack the mocked program runs as
SERVICE_TYPES = ("kubernetes:core/v1:Service", "kubernetes:core/v1:ServicePatch")
LARGE_NODES, LARGE_SERVICES = 50, 240
DISCOVERED_COUNTS = (0, 100, 500, 1000)
DISCOVERY_POOL = "10.20.0.0/22"  # room for 1000 discovered Services beside the lab's own pool
# The synthetic manifest used when MetalLB's upstream files are not at REFERENCE: one object.
SYNTHETIC_MANIFEST = (
    b"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: controller\n  namespace: metallb-system\n"
)
MANIFEST_FILES = {"v0.12.1": "metallb.yaml", "v0.15.3": "metallb-native.yaml"}
VERIFY_SERVICES = 50  # the lab: 50 services, each a host name and an HTTP URL
VERIFY_TIMEOUT_S = 2.0  # per check

if TYPE_CHECKING:
    from components.verify.job import VerifyJob
    from components.verify.report import Report
    from simulator.lab import RunningLab

if str(REPO) not in sys.path:  # `components` is imported by __main__.py and by the pure-work timing
    sys.path.insert(0, str(REPO))


# --- mocks ------------------------------------------------------------------------------------


class BenchMocks(pulumi.runtime.Mocks):
    """Echo inputs as state; a Service gets a distinct ingress IP, as MetalLB would hand out."""

    def __init__(self) -> None:
        self.allocated = 0

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ in SERVICE_TYPES:
            self.allocated += 1
            ip = IPv4Address("100.64.0.0") + self.allocated
            state["status"] = {"loadBalancer": {"ingress": [{"ip": str(ip)}]}}
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


class CountingMonitor(MockMonitor):
    """Records (type, name) of every registration except the root Stack. Unlike the test's
    monitor it does not deserialize inputs: that would add harness cost to every scenario."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[tuple[str, str]] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append((request.type, request.name))
        return response


@dataclass
class Sample:
    seconds: float
    resources: int
    exports: dict[str, Any]


def run_once(program: Callable[[], object], config: dict[str, str]) -> Sample:
    """One evaluation: set up mocks and config, run ``program``, wait for every RPC and output."""
    mocks = BenchMocks()
    monitor = CountingMonitor(mocks)
    exports: dict[str, Any] = {}
    original_export = pulumi.export
    setattr(pulumi, "export", lambda name, value: exports.__setitem__(name, value))  # noqa: B010
    loop = asyncio.get_event_loop()
    try:
        start = time.perf_counter()
        pulumi.runtime.set_mocks(mocks, project=NS, stack=BENCH_STACK, preview=False, monitor=monitor)
        pulumi.runtime.set_all_config(config)
        program()
        loop.run_until_complete(wait_for_rpcs())
        seconds = time.perf_counter() - start
    finally:
        pulumi.runtime.settings.reset_options()
        setattr(pulumi, "export", original_export)  # noqa: B010
    return Sample(seconds, len(monitor.registrations), exports)


def run_main() -> None:
    runpy.run_path(str(REPO / "__main__.py"), run_name="__main__")


def empty_program() -> None:
    """Registers nothing."""


def sdk_floor(count: int) -> Callable[[], None]:
    def program() -> None:
        for index in range(count):
            pulumi.CustomResource("bench:index:Trivial", f"r{index}", {"value": index, "label": "x"})

    return program


# --- configs ----------------------------------------------------------------------------------


def engine_config(raw: dict[str, Any]) -> dict[str, str]:
    """Config as the engine passes it: namespaced keys, objects and lists as JSON text."""
    return {f"{NS}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}


def with_mirror(raw: dict[str, Any], mirror: str, sha256: dict[str, str] | None) -> dict[str, Any]:
    metallb = {**raw["metallb"], "manifestMirror": mirror}
    if sha256 is not None:
        metallb["manifestSha256"] = sha256[metallb["version"]]
    return {**raw, "metallb": metallb}


def lab_stack_raw() -> dict[str, Any]:
    config = yaml.safe_load((REPO / "Pulumi.lab.yaml").read_text())["config"]
    return {key.removeprefix(f"{NS}:"): value for key, value in config.items()}


def large_lab_raw() -> dict[str, Any]:
    """50 nodes, 4 pools (3 bgp + 1 layer2), 240 services; deterministic.

    Service i: pool ``i % 4``; pinned when ``(i // 4) % 2 == 0`` (so half of each pool's
    services are pinned); existing (patched) when ``i % 3 == 0``; allocated services with
    ``i % 8 == 5`` name no pool (MetalLB picks an auto-assigning one); every 5th has an alias.
    """
    nodes: list[dict[str, Any]] = []
    for n in range(LARGE_NODES):
        node: dict[str, Any] = {"name": f"node{n:02d}", "address": f"10.30.0.{11 + n}"}
        if n < 3:
            node["labels"] = {"node-role.kubernetes.io/control-plane": ""}
        nodes.append(node)
    pools = [
        {"name": f"bgp{p}", "protocol": "bgp", "addresses": [f"10.30.{10 + p}.0/24"], "avoidBuggyIPs": True}
        for p in range(3)
    ] + [{"name": "lan", "protocol": "layer2", "addresses": ["10.30.0.100-10.30.0.250"]}]
    pinned_count = [0] * len(pools)
    services: list[dict[str, Any]] = []
    for i in range(LARGE_SERVICES):
        p = i % len(pools)
        service: dict[str, Any] = {"name": f"svc-{i:03d}", "namespace": f"team-{i % 10}"}
        pinned = (i // 4) % 2 == 0
        if pinned:
            k = pinned_count[p]
            pinned_count[p] += 1
            service["address"] = f"10.30.{10 + p}.{10 + k}" if p < 3 else f"10.30.0.{100 + k}"
        if pinned or i % 8 != 5:
            service["pool"] = pools[p]["name"]
        if i % 3 == 0:
            service["existing"] = True
            service["serviceName"] = f"app-{i:03d}"
        else:
            port = 443 if i % 2 else 80
            service["ports"] = [{"port": port, "targetPort": 8000 + i}]
            service["selector"] = {"app": f"app-{i:03d}"}
            if i % 7 == 0:
                service["externalTrafficPolicy"] = "Local"
        if i % 5 == 0:
            service["aliases"] = [f"alias-{i:03d}"]
        services.append(service)
    return {
        "nodes": nodes,
        "metallb": {"version": "v0.15.3", "asn": 64513, "pools": pools},
        "bgp": {
            "holdTime": "30s",
            "nodeSelectors": [
                {"matchExpressions": [{"key": "node-role.kubernetes.io/control-plane", "operator": "DoesNotExist"}]}
            ],
        },
        "gateway": {"kind": "usg", "asn": 64512, "peerAddress": "192.168.1.1", "dnsDomain": "bench.lab"},
        "services": services,
    }


def discovery_lab_raw(kubeconfig: Path) -> dict[str, Any]:
    """The lab stack with ``discovery`` (annotated) and a second pool for the cluster's Services."""
    raw = lab_stack_raw()
    pools = [*raw["metallb"]["pools"], {"name": "cluster", "protocol": "bgp", "addresses": [DISCOVERY_POOL]}]
    return {
        **raw,
        "metallb": {**raw["metallb"], "pools": pools},
        "kubernetes": {"kubeconfig": str(kubeconfig)},
        "discovery": {"mode": "annotated"},
    }


def cluster_services(count: int) -> list[dict[str, Any]]:
    """``count`` annotated LoadBalancer Services, ten namespaces, each on its own address."""
    from tests.kubernetes.kube_api import lb_service

    base = IPv4Address(DISCOVERY_POOL.split("/")[0]) + 16
    return [
        lb_service(
            f"team-{i % 10}", f"app-{i:03d}", str(base + i), annotations={"metallb-unifi.io/hostname": f"app-{i:03d}"}
        )
        for i in range(count)
    ]


# --- manifest mirror --------------------------------------------------------------------------


@contextlib.contextmanager
def manifest_mirror(synthetic: bool) -> Iterator[tuple[str, dict[str, str] | None, str]]:
    """(mirror URL, sha256 per version or None for the pinned ones, description), served over
    loopback HTTP for the duration of the block."""
    with tempfile.TemporaryDirectory(prefix="metallb-bench-") as tmp:
        if REFERENCE.is_dir() and not synthetic:
            directory, sha256, what = REFERENCE, None, f"upstream manifests from {REFERENCE}"
        else:
            directory, sha256 = Path(tmp), {}
            for version, file_name in MANIFEST_FILES.items():
                (directory / version).mkdir()
                (directory / version / file_name).write_bytes(SYNTHETIC_MANIFEST)
                sha256[version] = hashlib.sha256(SYNTHETIC_MANIFEST).hexdigest()
            what = "synthetic one-object manifest (manifestSha256 set)"
        handler = functools.partial(QuietHandler, directory=str(directory))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}", sha256, what
        finally:
            server.shutdown()
            server.server_close()
            thread.join()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


# --- the program's own work -------------------------------------------------------------------


def time_pure_work(raw: dict[str, Any], repeat: int) -> tuple[float, float]:
    """Median seconds of (parse + renderers) and of the manifest load (fetch, sha256, YAML)."""
    from components.artifacts import parse_renderable_lab
    from components.artifacts.metallb import render_metallb
    from components.artifacts.services import render_services
    from components.artifacts.usg_gateway import config_gateway_json
    from components.kubernetes.manifests import load_install_objects

    def read_file(name: str) -> str:
        return (REPO / name).read_text(encoding="utf-8")

    # load_stack_lab's input: what raw_stack_config() decodes from the engine's JSON text.
    engine = engine_config(raw)
    pure: list[float] = []
    manifest: list[float] = []
    for _ in range(repeat):
        start = time.perf_counter()
        decoded = {key.removeprefix(f"{NS}:"): json.loads(value) for key, value in engine.items()}
        lab = parse_renderable_lab(decoded, stack=BENCH_STACK, read_file=read_file)
        render_metallb(lab)
        render_services(lab)
        addresses = {
            s.name: s.addresses or (IPv4Address("100.64.0.0") + index,) for index, s in enumerate(lab.services, 1)
        }
        config_gateway_json(lab, addresses)
        pure.append(time.perf_counter() - start)
        start = time.perf_counter()
        load_install_objects(lab.metallb)
        manifest.append(time.perf_counter() - start)
    return statistics.median(pure), statistics.median(manifest)


@dataclass
class DiscoveryRow:
    count: int
    seconds: float
    requests: int  # per evaluation, against the API stand-in
    listing: float  # list_services alone, median
    rules: float  # discover() alone, median
    hosts: int


def measure_discovery(mirror: str, sha256: dict[str, str] | None, repeat: int) -> list[DiscoveryRow]:
    """The program with discovery against the API stand-in, per number of cluster Services."""
    from components.artifacts import parse_renderable_lab
    from components.discovery.rules import discover
    from components.kubernetes.service_list import list_services
    from tests.kubernetes.kube_api import services_api

    rows = []
    with tempfile.TemporaryDirectory(prefix="metallb-bench-kube-") as tmp:
        for count in DISCOVERED_COUNTS:
            with services_api(cluster_services(count)) as api:
                kubeconfig = api.kubeconfig(Path(tmp) / f"kubeconfig-{count}")
                raw = with_mirror(discovery_lab_raw(kubeconfig), mirror, sha256)
                seconds, _, sample = measure(run_main, engine_config(raw), repeat)
                requests = len(api.requests) // (repeat + 1)
                gateway = sample.exports["configGatewayJson"]
                text = asyncio.get_event_loop().run_until_complete(gateway.future()) or "{}"
                hosts = json.loads(text)["system"]["static-host-mapping"]["host-name"]
                if len(hosts) != count + 1:
                    raise SystemExit(f"{count} cluster Services gave {len(hosts) - 1} discovered host names")
                lab = parse_renderable_lab(
                    raw, stack=BENCH_STACK, read_file=lambda name: (REPO / name).read_text(encoding="utf-8")
                )
                listing, rules = [], []
                for _ in range(repeat):
                    start = time.perf_counter()
                    listed = list_services(lab.kubernetes, (), {})
                    listing.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    discover(lab, listed)
                    rules.append(time.perf_counter() - start)
                rows.append(
                    DiscoveryRow(
                        count, seconds, requests, statistics.median(listing), statistics.median(rules), len(hosts)
                    )
                )
    return rows


# --- verify: the dns and reach probes ---------------------------------------------------------


class ServiceHandler(http.server.BaseHTTPRequestHandler):
    """A service's web page: 200 and a short body to every GET."""

    def do_GET(self) -> None:
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class VerifyRow:
    scenario: str
    probes: int
    answered: int  # probes whose answer was a success (a name resolved, a service answered)
    median: float
    worst: float


def time_verify(name: str, probe: Callable[[], Sequence[bool]], repeat: int) -> VerifyRow:
    """One warm-up, then ``repeat`` timed calls of ``probe`` (which returns each probe's success)."""
    probe()
    seconds, successes = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        results = probe()
        seconds.append(time.perf_counter() - start)
        successes.append(sum(results))
    if len(set(successes)) != 1:
        raise SystemExit(f"{name}: the number of successes varies between runs: {sorted(set(successes))}")
    return VerifyRow(name, len(results), successes[0], statistics.median(seconds), max(seconds))


def measure_verify(repeat: int) -> list[VerifyRow]:
    """The probes on loopback: 50 names of a real dnsmasq (a USG's resolver answers its
    static-host-mapping the same way: a hosts file) and 50 HTTP servers, one per service; then a
    UDP socket that never answers and a TCP listener that takes connections and never answers."""
    from components.verify.probes import ReachTarget, reach_all, resolve_all
    from tests.loopback_http import serving
    from tests.verify.dnsmasq import DnsmasqMissing, running_dnsmasq

    loopback = IPv4Address("127.0.0.1")
    names = [f"svc{i:02d}.bench.lab" for i in range(VERIFY_SERVICES)]
    hosts = [(f"10.30.10.{10 + i}", name) for i, name in enumerate(names)]

    def dns(port: int) -> Callable[[], list[bool]]:
        def probe() -> list[bool]:
            answers = resolve_all(loopback, names, timeout_s=VERIFY_TIMEOUT_S, port=port).values()
            return [answer.error is None for answer in answers]

        return probe

    def reach(ports: Sequence[int]) -> Callable[[], list[bool]]:
        targets = [
            ReachTarget(f"http://{name}/", loopback, port, "http", name)
            for name, port in zip(names, ports, strict=True)
        ]

        def probe() -> list[bool]:
            return [answer.ok for answer in reach_all(targets, timeout_s=VERIFY_TIMEOUT_S).values()]

        return probe

    def both(*checks: Callable[[], list[bool]]) -> Callable[[], list[bool]]:
        """The checks side by side, as the command may run them."""

        def probe() -> list[bool]:
            with ThreadPoolExecutor(max_workers=len(checks)) as pool:
                return [ok for results in pool.map(lambda check: check(), checks) for ok in results]

        return probe

    rows = []
    with tempfile.TemporaryDirectory(prefix="metallb-bench-verify-") as tmp, contextlib.ExitStack() as stack:
        try:
            dnsmasq: int | None = stack.enter_context(running_dnsmasq(Path(tmp), hosts, ["--local=/lab/"]))
        except DnsmasqMissing as missing:
            dnsmasq = None
            print(f"(the dns rows where dnsmasq answers are left out: {missing})")
        answering = reach([stack.enter_context(serving(ServiceHandler)) for _ in names])
        if dnsmasq is not None:
            rows.append(time_verify(f"dns: {VERIFY_SERVICES} names, dnsmasq answers", dns(dnsmasq), repeat))
        rows.append(time_verify(f"reach: {VERIFY_SERVICES} HTTP services answer", answering, repeat))
        if dnsmasq is not None:
            rows.append(time_verify("dns + reach side by side, all answer", both(dns(dnsmasq), answering), repeat))

        silent_udp = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
        silent_udp.bind(("127.0.0.1", 0))
        silent_dns = dns(silent_udp.getsockname()[1])
        silent_tcp = stack.enter_context(socket.socket())
        silent_tcp.bind(("127.0.0.1", 0))
        silent_tcp.listen(128)  # connections complete in the kernel's backlog, and hear nothing
        silent_reach = reach([silent_tcp.getsockname()[1]] * VERIFY_SERVICES)
        rows.append(time_verify("dns: resolver never answers", silent_dns, repeat))
        rows.append(time_verify("reach: no service answers", silent_reach, repeat))
        rows.append(time_verify("dns + reach side by side, none answer", both(silent_dns, silent_reach), repeat))
    return rows


def print_verify(rows: Sequence[VerifyRow], repeat: int) -> None:
    print(
        f"verify probes on loopback, {VERIFY_SERVICES} services, timeout {VERIFY_TIMEOUT_S:g} s per check, "
        f"median and worst of {repeat} runs:"
    )
    header = f"{'check':<38} {'probes':>6} {'answered':>8} {'median s':>9} {'worst s':>8}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row.scenario:<38} {row.probes:>6} {row.answered:>8} {row.median:>9.3f} {row.worst:>8.3f}")


# --- verify: the command against a simulated 50-service lab ---------------------------------------

VERIFY_LABS = {kind: REPO / "bench" / f"verify-lab-{kind}.yaml" for kind in ("usg", "unifi-os")}
CHECK_LABELS = {"ok": "ok", "fail": "FAIL", "skip": "skip"}


@dataclass
class LabRow:
    kind: str  # the gateway's kind
    scenario: str
    checks: str  # each check's status in order ("ok ok ok ok"); "" for a row that runs no check
    seconds: list[float]
    bound: float | None = None  # the timeout the run must end within (plus the process start)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def time_in_namespace(namespace: str, argv: Sequence[str], repeat: int) -> list[float]:
    """Wall time of ``ip netns exec NAMESPACE python ARGV``, after one warm-up."""
    command = ["ip", "netns", "exec", namespace, sys.executable, *argv]
    subprocess.run(command, cwd=REPO, capture_output=True, check=True)
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, cwd=REPO, capture_output=True, check=True)
        seconds.append(time.perf_counter() - start)
    return seconds


def timed_verify(lab: RunningLab, job: VerifyJob) -> tuple[float, Report]:
    """``simulator.verification.run_verify``: the real ``python -m components.verify --job FILE
    --json`` in the workstation's namespace, and its report."""
    from simulator.verification import run_verify

    start = time.perf_counter()
    report = run_verify(lab, job)
    return time.perf_counter() - start, report


def statuses(report: Report) -> str:
    return " ".join(CHECK_LABELS[check.status.value] for check in report.checks)


def silence(lab: RunningLab) -> Callable[[], None]:
    """Make nothing in the lab answer: every speaker SIGKILLed (its sessions end, its routes are
    withdrawn), a blackhole route on the router for the pool (packets to a service address are
    dropped without an ICMP error, so each connect waits out its timeout) and the router's dnsmasq
    stopped (SIGSTOP: queries are queued and never answered). Returns what stops the router's
    sshd too (SIGSTOP: connections complete in its backlog and hear no banner). Every stopped
    daemon is continued when the lab is taken down (``ExitStack`` in :func:`measure_verify_lab`)."""
    from simulator.polling import Outcome, wait_for

    plan = lab.plan
    for node in plan.peering_nodes:
        lab.kill_speaker(node.key)
    addresses = {service.address for service in plan.services}

    def withdrawn() -> Outcome:
        left = addresses & set(lab.router_routes())
        return Outcome(not left, f"{len(left)} service routes left on the router")

    wait_for("routes withdrawn", withdrawn, timeout_s=15.0)
    for pool in {IPv4Network(f"{service.address}/24", strict=False) for service in plan.services}:
        subprocess.run(["ip", "-n", lab.router_ns, "route", "add", "blackhole", str(pool)], check=True)
    daemons = {daemon.label: daemon for daemon in lab.processes.daemons}
    daemons["router dnsmasq"].process.send_signal(signal.SIGSTOP)
    return lambda: daemons["router sshd"].process.send_signal(signal.SIGSTOP)


def continue_stopped(lab: RunningLab) -> None:
    for daemon in lab.processes.daemons:
        if daemon.alive():
            daemon.process.send_signal(signal.SIGCONT)


def measure_verify_lab(kind: str, repeat: int) -> tuple[list[LabRow], dict[str, list[float]]]:
    """The 50-service lab of ``kind`` in the simulator; ``python -m components.verify`` timed
    against it answering (``repeat`` runs after a warm-up) and silenced (one run each), and the
    parts of one pass timed inside the workstation's namespace."""
    from components.contract import GATEWAY_KEY_ENV
    from components.verify.run import Timeouts
    from simulator.checks import run_checks
    from simulator.lab import running_lab
    from simulator.plan import plan_lab
    from simulator.rendering import render_stack, stack_facts
    from simulator.verification import verify_job

    stack_file = VERIFY_LABS[kind]
    facts = stack_facts(stack_file)
    timeouts = Timeouts()
    with tempfile.TemporaryDirectory(prefix="metallb-bench-render-") as rendered:
        render_stack(stack_file, Path(rendered))
        plan = plan_lab(Path(rendered), facts)
    rows: list[LabRow] = []
    with running_lab(plan) as lab, contextlib.ExitStack() as stopped:
        stopped.callback(continue_stopped, lab)  # before running_lab's teardown stops them
        run_checks(lab)
        starts = {
            "interpreter start (python -c pass)": ["-c", "pass"],
            "start + imports (--help)": ["-m", "components.verify", "--help"],
            "start + every import of a run": ["-c", "import components.verify.__main__, components.unifi.ssh"],
        }
        for scenario, argv in starts.items():
            rows.append(LabRow(kind, scenario, "", time_in_namespace(lab.workstation_ns, argv, repeat)))

        job = verify_job(facts, lab.gateway_ssh)
        timed_verify(lab, job)  # warm-up: the gateway's first answers, the page cache
        runs = [timed_verify(lab, job) for _ in range(repeat)]
        answered = {statuses(report) for _, report in runs}
        if answered != {"ok ok ok ok"}:
            failed = next(report for _, report in runs if report.failed)
            raise SystemExit(f"{kind}: verify failed on the answering lab:\n" + "\n".join(failed.lines()))
        rows.append(LabRow(kind, "verify: everything answers", answered.pop(), [s for s, _ in runs]))

        job_file = lab.workdir / "bench-job.json"
        job_file.write_text(json.dumps(job.to_json()), encoding="utf-8")
        parts_command = ["ip", "netns", "exec", lab.workstation_ns, sys.executable, str(REPO / "bench" / "run.py")]
        parts_command += ["--verify-parts", str(job_file), "--repeat", str(repeat)]
        env = {**os.environ, GATEWAY_KEY_ENV: lab.gateway_ssh.private_key}
        done = subprocess.run(parts_command, cwd=REPO, env=env, capture_output=True, text=True, check=True)
        parts: dict[str, list[float]] = json.loads(done.stdout)

        stop_sshd = silence(lab)
        seconds, report = timed_verify(lab, job)
        bound = max(timeouts.dns_s, timeouts.reach_s)
        rows.append(LabRow(kind, "verify: nothing answers but SSH", statuses(report), [seconds], bound))
        stop_sshd()
        seconds, report = timed_verify(lab, job)
        rows.append(LabRow(kind, "verify: nothing answers, SSH too", statuses(report), [seconds], timeouts.ssh_s))
        for row in rows[-2:]:
            if row.checks != "FAIL FAIL FAIL FAIL":
                raise SystemExit(f"{kind}: {row.scenario}: not every check failed ({row.checks})")
        print(f"{kind}, nothing answers, SSH too, as verify says it (first 160 characters):")
        for line in report.lines():
            print(f"  {line[:160]}")
    return rows, parts


def verify_parts(job_file: Path, repeat: int) -> dict[str, list[float]]:
    """Run inside the workstation's namespace (``--verify-parts``): one pass's parts, each alone
    (after one warm-up), and the pass; the key comes from the environment, as for the command."""
    from components.unifi.ssh import SshSession
    from components.verify.__main__ import gateway_from_job
    from components.verify.gateway import read_gateway
    from components.verify.job import VerifyJob
    from components.verify.probes import ReachTarget, reach_all, resolve_all
    from components.verify.run import Timeouts, verify_once

    job = VerifyJob.from_json(json.loads(job_file.read_text(encoding="utf-8")))
    timeouts = Timeouts()
    gateway = gateway_from_job(job, os.environ, timeouts.ssh_s)
    access = gateway.access
    assert access is not None
    expected = job.expectations
    names = sorted({name.name for name in expected.names})
    targets = [ReachTarget(e.subject, e.address, e.port, e.scheme, e.host) for e in expected.endpoints]

    def login() -> None:
        SshSession.open(access.target, access.credential, access.source).close()

    parts: dict[str, Callable[[], object]] = {
        "ssh login (connect, handshake, key)": login,
        "gateway read (login + 2 commands)": lambda: read_gateway(access, gateway.kind),
        f"dns ({len(names)} names)": lambda: resolve_all(expected.resolver, names, timeout_s=timeouts.dns_s),
        f"reach ({len(targets)} services)": lambda: reach_all(targets, timeout_s=timeouts.reach_s),
        "one pass (all side by side)": lambda: verify_once(expected, gateway, timeouts),
    }
    seconds: dict[str, list[float]] = {}
    for name, part in parts.items():
        part()
        seconds[name] = []
        for _ in range(repeat):
            start = time.perf_counter()
            part()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def print_verify_lab(rows: Sequence[LabRow], parts: dict[str, dict[str, list[float]]], repeat: int) -> None:
    services = len(yaml.safe_load(VERIFY_LABS["usg"].read_text())["config"][f"{NS}:services"])
    print(
        f"python -m components.verify against a simulated {services}-service lab "
        f"(bench/verify-lab-*.yaml), from the workstation's namespace; median and worst of {repeat} runs "
        "(the nothing-answers rows: one run):"
    )
    header = f"{'gateway':<8} {'scenario':<36} {'checks':<19} {'median s':>8} {'worst s':>7} {'bound s':>7}"
    print(header)
    print("-" * len(header))
    for row in rows:
        bound = f"{row.bound:>7.1f}" if row.bound is not None else f"{'':>7}"
        print(f"{row.kind:<8} {row.scenario:<36} {row.checks:<19} {row.median:>8.3f} {max(row.seconds):>7.3f} {bound}")
    print()
    print("one pass's parts, each alone, in one process in the workstation's namespace (imports done):")
    header = f"{'gateway':<8} {'part':<36} {'median s':>8} {'worst s':>7}"
    print(header)
    print("-" * len(header))
    for kind, timings in parts.items():
        for name, seconds in timings.items():
            print(f"{kind:<8} {name:<36} {statistics.median(seconds):>8.3f} {max(seconds):>7.3f}")


def run_verify_lab(repeat: int) -> None:
    from simulator.environment import missing_requirements

    problems = missing_requirements(gobgp=False)
    if problems:
        raise SystemExit("--verify-lab needs the lab simulator: " + "; ".join(problems))
    rows: list[LabRow] = []
    parts: dict[str, dict[str, list[float]]] = {}
    for kind in VERIFY_LABS:
        kind_rows, parts[kind] = measure_verify_lab(kind, repeat)
        rows += kind_rows
    print()
    print_verify_lab(rows, parts, repeat)


# --- main -------------------------------------------------------------------------------------


def measure(program: Callable[[], object], config: dict[str, str], repeat: int) -> tuple[float, int, Sample]:
    run_once(program, config)  # warm-up (imports, first compile), not counted
    samples = [run_once(program, config) for _ in range(repeat)]
    counts = {s.resources for s in samples}
    if len(counts) != 1:
        raise SystemExit(f"registration count varies between runs: {sorted(counts)}")
    return statistics.median(s.seconds for s in samples), counts.pop(), samples[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per scenario (median reported)")
    parser.add_argument(
        "--synthetic-manifest", action="store_true", help="serve a one-object manifest even if upstream's is present"
    )
    parser.add_argument("--verify-only", action="store_true", help="time only the verify command's probes")
    parser.add_argument(
        "--verify-lab",
        action="store_true",
        help="time only python -m components.verify against a simulated 50-service lab (root, the simulator's daemons)",
    )
    parser.add_argument("--verify-parts", type=Path, help=argparse.SUPPRESS)  # run by --verify-lab in the lab
    options = parser.parse_args()
    if options.repeat < 1:
        parser.error("--repeat must be at least 1")
    os.chdir(REPO)  # the program reads files relative to the project directory
    if options.verify_parts is not None:
        print(json.dumps(verify_parts(options.verify_parts, options.repeat)))
        return 0
    if options.verify_lab:
        run_verify_lab(options.repeat)
        return 0
    if options.verify_only:
        print_verify(measure_verify(options.repeat), options.repeat)
        return 0

    with manifest_mirror(options.synthetic_manifest) as (mirror, sha256, what):
        lab_raw = with_mirror(lab_stack_raw(), mirror, sha256)
        large_raw = with_mirror(large_lab_raw(), mirror, sha256)

        lab_s, lab_n, _ = measure(run_main, engine_config(lab_raw), options.repeat)
        large_s, large_n, large_sample = measure(run_main, engine_config(large_raw), options.repeat)
        gateway = large_sample.exports.get("configGatewayJson")
        if not isinstance(gateway, pulumi.Output):
            raise SystemExit("the large lab exported no configGatewayJson")
        # Sanity: every service, pinned or allocated, reached the gateway file's host names.
        hosts = json.loads(asyncio.get_event_loop().run_until_complete(gateway.future()) or "{}")
        hosts = hosts.get("system", {}).get("static-host-mapping", {}).get("host-name", {})
        if len(hosts) != LARGE_SERVICES:
            raise SystemExit(f"the large lab's gateway file names {len(hosts)} hosts, not {LARGE_SERVICES}")
        empty_s, empty_n, _ = measure(empty_program, {}, options.repeat)
        floor_s, floor_n, _ = measure(sdk_floor(large_n), {}, options.repeat)
        pure_s, manifest_s = time_pure_work(large_raw, options.repeat)
        discovery = measure_discovery(mirror, sha256, options.repeat)

    print(f"metallb-unifi benchmark: Pulumi mocks, up mode, median of {options.repeat} runs (after 1 warm-up)")
    print(f"manifests: {what}")
    print()
    header = f"{'scenario':<36} {'resources':>9} {'median s':>10} {'x floor':>8} {'x empty':>9}"
    print(header)
    print("-" * len(header))
    rows = [
        ("lab stack (Pulumi.lab.yaml)", lab_n, lab_s),
        (f"large lab ({LARGE_NODES} nodes, {LARGE_SERVICES} services)", large_n, large_s),
        (f"SDK floor ({floor_n} trivial resources)", floor_n, floor_s),
        ("empty program", empty_n, empty_s),
    ]
    for name, count, seconds in rows:
        print(f"{name:<36} {count:>9} {seconds:>10.4f} {seconds / floor_s:>8.2f} {seconds / empty_s:>9.1f}")
    print()
    print(f"large lab, per service: {(large_s - empty_s) / LARGE_SERVICES * 1000:.2f} ms over the empty program")
    print(f"                        {(large_s - floor_s) / LARGE_SERVICES * 1000:.2f} ms over the SDK floor")
    print(
        "large lab, program's pure work "
        f"(parse_renderable_lab + render_metallb + render_services + config_gateway_json): "
        f"{pure_s * 1000:.1f} ms = {pure_s / large_s:.1%} of the large lab's time"
    )
    print(
        f"large lab, manifest load (loopback fetch + sha256 + YAML parse, not in pure work): "
        f"{manifest_s * 1000:.1f} ms = {manifest_s / large_s:.1%}"
    )
    print()
    print("lab stack + discovery (annotated), cluster listed from a loopback API stand-in, page size 250:")
    header = (
        f"{'cluster Services':>16} {'requests':>9} {'median s':>10} {'listing ms':>11} {'rules ms':>9} {'hosts':>6}"
    )
    print(header)
    print("-" * len(header))
    for row in discovery:
        print(
            f"{row.count:>16} {row.requests:>9} {row.seconds:>10.4f} {row.listing * 1000:>11.1f} "
            f"{row.rules * 1000:>9.1f} {row.hosts:>6}"
        )
    first, last = discovery[0], discovery[-1]
    print(
        f"per discovered Service: {(last.seconds - first.seconds) / (last.count - first.count) * 1000:.2f} ms "
        f"over {first.count} (program evaluation, listing included)"
    )
    print()
    print_verify(measure_verify(options.repeat), options.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
