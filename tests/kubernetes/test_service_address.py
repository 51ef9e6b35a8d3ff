"""The wait for a Service's external address: the CLI end to end against the loopback API
stand-in (through a kubeconfig, as the program runs it), and its polling and event reading as
pure functions."""

from __future__ import annotations

import ipaddress
import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.kubernetes.api_client import Response
from components.kubernetes.service_address import Expected, Seen, ingress_ips, newest_warning, wait_for_address
from tests.kubernetes.kube_api import TOKEN, FakeApi, fake_api, free_port, lab_kubeconfig, lb_service
from tests.program_harness import REPO

KEY = "metallb-unifi:services[1]"
SERVICE_PATH = "/api/v1/namespaces/apps/services/registry"
EVENTS_PATH = "/api/v1/namespaces/apps/events"
UID = "6f1c2a47-0d3e-4b8e-9a51-3c2f0e7d9b10"
# What MetalLB's controller records when a pool is exhausted: a Warning with reason
# AllocationFailed and `Failed to allocate IP for "<namespace>/<name>": <error>`, from the source
# "metallb-controller" (metallb/metallb@v0.15.3:controller/service.go convergeBalancer,
# internal/allocator/allocator.go Allocate: "no available IPs"; internal/k8s/k8s.go Errorf;
# controller/main.go ProcessName).
NO_IPS = 'Failed to allocate IP for "apps/registry": no available IPs'
# ... and when no pool has addresses of both families for a dual-stack Service
# (metallb/metallb@v0.15.3:internal/allocator/allocator.go:345, the family internal/ipfamily/ipfamily.go:22).
NO_DUAL_POOL = 'Failed to allocate IP for "apps/registry": no suitable pool for dual IPFamily'
FORBIDDEN = json.dumps(
    {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": 'services "registry" is forbidden: User "ci" cannot get resource "services" in the namespace "apps"',
        "reason": "Forbidden",
        "code": 403,
    }
)
NOT_FOUND = json.dumps(
    {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": 'services "registry" not found',
        "reason": "NotFound",
        "details": {"name": "registry", "kind": "services"},
        "code": 404,
    }
)


def service(ip: str | list[str] | None) -> tuple[int, str]:
    """A GET of the Service: the object with kind and apiVersion, its addresses in status if any
    (a list: a dual-stack Service's ingress, one entry per address in the order given, as
    MetalLB's controller writes it: metallb/metallb@v0.15.3:controller/service.go convergeBalancer)."""
    ips = [ip] if isinstance(ip, str) else ip or []
    body: dict[str, Any] = {"kind": "Service", "apiVersion": "v1", **lb_service("apps", "registry", None)}
    body["metadata"]["uid"] = UID
    if ips:
        body["status"] = {"loadBalancer": {"ingress": [{"ip": a, "ipMode": "VIP"} for a in ips]}}
    if any(":" in a for a in ips):  # a dual-stack Service, as the API server completes it
        body["spec"] |= {
            "ipFamilyPolicy": "RequireDualStack",
            "ipFamilies": ["IPv4", "IPv6"],
            "clusterIPs": ["10.96.14.7", "fd00:96::e07"],
        }
    return 200, json.dumps(body)


def event(type_: str, reason: str, message: str, last: str, *, count: int = 1) -> dict[str, Any]:
    """A core/v1 Event as client-go's record package writes it (lastTimestamp, no eventTime)."""
    return {
        "metadata": {"name": f"registry.{abs(hash((reason, last))):x}", "namespace": "apps"},
        "involvedObject": {"kind": "Service", "namespace": "apps", "name": "registry", "uid": UID, "apiVersion": "v1"},
        "reason": reason,
        "message": message,
        "source": {"component": "metallb-controller"},
        "firstTimestamp": "2025-06-01T10:00:00Z",
        "lastTimestamp": last,
        "count": count,
        "type": type_,
        "eventTime": None,
        "reportingComponent": "",
        "reportingInstance": "",
    }


def events(*items: dict[str, Any]) -> tuple[int, str]:
    return 200, json.dumps({"kind": "EventList", "apiVersion": "v1", "metadata": {}, "items": list(items)})


def kubeconfig_for(tmp_path: Path, server: str) -> Path:
    return lab_kubeconfig(tmp_path / "config", server)


def run_wait(kubeconfig: Path, *extra: str, timeout: str = "5") -> subprocess.CompletedProcess[str]:
    arguments = ["--namespace", "apps", "--name", "registry", "--stack-key", KEY, "--kubeconfig", str(kubeconfig)]
    arguments += ["--timeout", timeout, "--interval", "0.05", *extra]
    done = subprocess.run(
        [sys.executable, "-m", "components.kubernetes.service_address", *arguments],
        cwd=REPO,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert TOKEN not in done.stdout + done.stderr
    return done


def wait_against(
    tmp_path: Path,
    *script: tuple[int, str],
    paths: dict[str, list[tuple[int, str]]] | None = None,
    timeout: str = "5",
    **options: str | list[str],
) -> tuple[subprocess.CompletedProcess[str], FakeApi]:
    """Runs the wait against the scripted API; an option given a list is repeated once per item."""
    extra = [
        item
        for key, value in options.items()
        for one in ([value] if isinstance(value, str) else value)
        for item in (f"--{key}", one)
    ]
    with fake_api(*script, paths=paths) as api:
        done = run_wait(kubeconfig_for(tmp_path, api.url), *extra, timeout=timeout)
    return done, api


def gets_of(api: FakeApi, path: str) -> int:
    return sum(1 for seen in api.seen if (seen.method, seen.path) == ("GET", path))


def test_the_address_is_printed_alone_once_metallb_has_set_it(tmp_path: Path) -> None:
    done, api = wait_against(tmp_path, service(None), service(None), service("192.0.2.77"))

    assert (done.returncode, done.stdout, done.stderr) == (0, "192.0.2.77\n", "")
    assert gets_of(api, SERVICE_PATH) == 3 and len(api.seen) == 3  # no events read on success
    assert all(seen.headers["authorization"] == f"Bearer {TOKEN}" for seen in api.seen)


def test_a_pinned_address_is_waited_for_until_the_service_has_it(tmp_path: Path) -> None:
    # MetalLB clears a Service's address and allocates the requested one when the pin changes.
    done, api = wait_against(
        tmp_path, service("10.20.10.11"), service(None), service("10.20.10.10"), expect="10.20.10.10"
    )

    assert (done.returncode, done.stdout) == (0, "10.20.10.10\n")
    assert gets_of(api, SERVICE_PATH) == 3


def test_a_pinned_address_the_service_never_gets_times_out_naming_both(tmp_path: Path) -> None:
    done, api = wait_against(
        tmp_path, service("10.20.10.11"), paths={EVENTS_PATH: [events()]}, expect="10.20.10.10", timeout="1"
    )

    assert done.returncode == 1 and done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith(
        f"{KEY}: Service apps/registry has external IP 10.20.10.11, not its pinned address 10.20.10.10, after 1s; "
    )
    assert "no Warning event about it: is MetalLB's controller running?" in line
    assert line.endswith("(kubectl -n apps describe service registry)")
    assert gets_of(api, EVENTS_PATH) == 1


# --- dual-stack ---------------------------------------------------------------------------------


def test_a_dual_stack_service_prints_both_addresses_ipv4_first_once_both_pins_are_there(tmp_path: Path) -> None:
    # A changed pin: the old addresses first, then none (MetalLB cleared them), then the pinned
    # ones, written IPv6 first; the pins as the user wrote them (not canonical).
    done, api = wait_against(
        tmp_path,
        service(["10.20.10.10", "fd00:20:10::11"]),
        service(None),
        service(["fd00:20:10::10", "10.20.10.10"]),
        expect=["10.20.10.10", "fd00:20:10:0:0::10"],
    )

    assert (done.returncode, done.stdout, done.stderr) == (0, "10.20.10.10\nfd00:20:10::10\n", "")
    assert gets_of(api, SERVICE_PATH) == 3


def test_every_ingress_ip_is_printed_and_entries_without_one_are_skipped(tmp_path: Path) -> None:
    # No pin and no family asked for: the first answer with an address ends the wait.
    status, body = service(["fd00:20:10::7", "10.20.10.7"])
    document = json.loads(body)
    document["status"]["loadBalancer"]["ingress"].insert(0, {"hostname": "lb.example.com"})
    done, _ = wait_against(tmp_path, (status, json.dumps(document)))

    assert (done.returncode, done.stdout) == (0, "10.20.10.7\nfd00:20:10::7\n")


def test_an_expected_family_is_waited_for(tmp_path: Path) -> None:
    done, api = wait_against(
        tmp_path,
        service("10.20.10.7"),
        service(["10.20.10.7", "fd00:20:10::7"]),
        family=["IPv4", "IPv6"],
    )

    assert (done.returncode, done.stdout) == (0, "10.20.10.7\nfd00:20:10::7\n")
    assert gets_of(api, SERVICE_PATH) == 2


def test_a_family_that_never_comes_times_out_naming_it_and_metallbs_reason(tmp_path: Path) -> None:
    warning = event(
        "Warning",
        "AllocationFailed",
        NO_DUAL_POOL,
        "2025-06-01T10:04:00Z",
    )
    done, _ = wait_against(
        tmp_path,
        service("10.20.10.7"),
        paths={EVENTS_PATH: [events(warning)]},
        family=["IPv4", "IPv6"],
        timeout="1",
    )

    assert (done.returncode, done.stdout) == (1, "")
    # The seconds waited: 1, or more on a loaded machine (the last request may take a while).
    assert re.fullmatch(
        re.escape(f"{KEY}: Service apps/registry has external IP 10.20.10.7 but no IPv6 address from MetalLB within ")
        + r"\d+s"
        + re.escape(
            f"; newest Warning event: AllocationFailed: {NO_DUAL_POOL} (kubectl -n apps describe service registry)\n"
        ),
        done.stderr,
    )


def test_a_missing_pin_of_a_dual_stack_service_is_named_alone(tmp_path: Path) -> None:
    done, _ = wait_against(
        tmp_path,
        service(["10.20.10.10", "fd00:20:10::11"]),
        paths={EVENTS_PATH: [events()]},
        expect=["10.20.10.10", "fd00:20:10::10"],
        timeout="1",
    )

    assert (done.returncode, done.stdout) == (1, "")
    (line,) = done.stderr.splitlines()
    assert re.match(
        re.escape(
            f"{KEY}: Service apps/registry has external IPs 10.20.10.10, fd00:20:10::11, "
            "not its pinned address fd00:20:10::10, after "
        )
        + r"\d+s; ",
        line,
    )


def test_a_timeout_shows_metallbs_newest_warning(tmp_path: Path) -> None:
    older = event(
        "Warning", "AllocationFailed", 'Failed to allocate IP for "apps/registry": old news', "2025-06-01T10:00:05Z"
    )
    newest = event("Warning", "AllocationFailed", NO_IPS, "2025-06-01T10:04:00Z", count=7)
    normal = event("Normal", "IPAllocated", 'Assigned IP ["192.0.2.1"]', "2025-06-01T10:05:00Z")

    done, api = wait_against(tmp_path, service(None), paths={EVENTS_PATH: [events(older, newest, normal)]}, timeout="1")

    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == (
        f"{KEY}: Service apps/registry got no external IP from MetalLB within 1s; "
        f"newest Warning event: AllocationFailed: {NO_IPS} (kubectl -n apps describe service registry)\n"
    )
    (listed,) = [seen for seen in api.seen if seen.path == EVENTS_PATH]
    assert listed.query["fieldSelector"] == [
        f"involvedObject.kind=Service,involvedObject.name=registry,involvedObject.uid={UID}"
    ]
    assert gets_of(api, SERVICE_PATH) >= 2  # polled until the timeout


def test_events_that_cannot_be_read_are_said_so(tmp_path: Path) -> None:
    forbidden = (403, FORBIDDEN.replace('get resource \\"services\\"', 'list resource \\"events\\"'))
    done, _ = wait_against(tmp_path, service(None), paths={EVENTS_PATH: [forbidden]}, timeout="1")

    assert done.returncode == 1
    assert "; its events could not be read (HTTP 403: " in done.stderr


def test_forbidden_fails_at_once(tmp_path: Path) -> None:
    done, api = wait_against(tmp_path, (403, FORBIDDEN))

    assert (done.returncode, len(api.seen), done.stdout) == (3, 1, "")
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"{KEY}: cannot read Service apps/registry at http://127.0.0.1:")
    assert 'HTTP 403: services "registry" is forbidden' in line
    assert line.endswith("(not retrying; the kubeconfig's user needs get on services in apps)")


def test_unauthorized_fails_at_once(tmp_path: Path) -> None:
    unauthorized = json.dumps({"kind": "Status", "status": "Failure", "message": "Unauthorized", "code": 401})
    done, api = wait_against(tmp_path, (401, unauthorized))

    assert (done.returncode, len(api.seen)) == (3, 1)
    assert "HTTP 401: Unauthorized" in done.stderr


def test_a_service_that_does_not_exist_fails_at_once_with_its_own_code(tmp_path: Path) -> None:
    done, api = wait_against(tmp_path, (404, NOT_FOUND))

    assert (done.returncode, len(api.seen)) == (4, 1)
    assert done.stderr.startswith(f"{KEY}: Service apps/registry does not exist at http://127.0.0.1:")
    assert 'HTTP 404: services "registry" not found' in done.stderr


def test_transient_failures_are_retried(tmp_path: Path) -> None:
    unavailable = json.dumps(
        {"kind": "Status", "status": "Failure", "message": "the server is shutting down", "code": 503}
    )
    done, api = wait_against(tmp_path, (503, unavailable), (429, "{}"), service("192.0.2.77"))

    assert (done.returncode, done.stdout) == (0, "192.0.2.77\n")
    assert len(api.seen) == 3


def test_an_unreachable_api_server_is_retried_until_the_timeout(tmp_path: Path) -> None:
    port = free_port()
    done = run_wait(kubeconfig_for(tmp_path, f"http://127.0.0.1:{port}"), timeout="1")

    assert done.returncode == 1
    assert done.stderr == (
        f"{KEY}: could not read Service apps/registry at http://127.0.0.1:{port} within 1s: "
        f"connection refused by 127.0.0.1:{port}\n"
    )


def test_a_missing_kubeconfig_is_a_usage_error(tmp_path: Path) -> None:
    done = run_wait(tmp_path / "absent")
    assert done.returncode == 2
    assert done.stderr == f"address of Service apps/registry: kubeconfig {tmp_path / 'absent'} does not exist\n"


@pytest.mark.parametrize(
    "bad", [["--expect", "10.20.10.300"], ["--family", "IPv5"], ["--timeout", "0"], ["--name", "Not_A_Name"]]
)
def test_bad_arguments_are_usage_errors(tmp_path: Path, bad: list[str]) -> None:
    arguments = ["--namespace", "apps", "--name", "registry", "--stack-key", KEY, "--timeout", "5", *bad]
    done = subprocess.run(
        [sys.executable, "-m", "components.kubernetes.service_address", *arguments],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2 and done.stdout == ""


# --- the polling and the events, pure ---------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.pauses: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


def test_pauses_double_up_to_the_maximum_and_stop_at_the_deadline() -> None:
    clock = Clock()
    result = wait_for_address(lambda: Response(*service(None)), timeout=20, clock=clock, sleep=clock.sleep)

    assert result.seen is Seen.WAIT and result.elapsed == 20
    assert clock.pauses == [1, 2, 4, 5, 5, 3]
    assert result.attempts == 7  # the last one at the deadline


def test_the_newest_warning_is_found_whatever_time_field_the_recorder_set() -> None:
    recorded = event("Warning", "AllocationFailed", "recorded", "2025-06-01T10:04:00Z")
    # An events.k8s.io recorder sets eventTime (microseconds) and no lastTimestamp.
    newer = {
        **event("Warning", "Other", "newer", ""),
        "lastTimestamp": None,
        "eventTime": "2025-06-01T10:04:00.500000Z",
    }
    body = json.dumps({"items": [newer, recorded, event("Normal", "IPAllocated", "newest", "2025-06-01T11:00:00Z")]})

    assert newest_warning(body) == ("Other", "newer")
    assert newest_warning(json.dumps({"items": []})) is None
    assert newest_warning("not json") is None


ADDRESSES = st.one_of(
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(str),
    st.ip_addresses(v=6).map(lambda a: a.exploded),  # the same address, written another way
)


@settings(max_examples=200, deadline=None)
@given(st.lists(ADDRESSES, max_size=4), st.lists(ADDRESSES, max_size=2), st.randoms())
def test_the_wait_ends_exactly_when_every_pin_and_family_is_there_whatever_the_order(
    ingress: list[str], pins: list[str], shuffler: random.Random
) -> None:
    families = tuple(sorted({"IPv4" if "." in a else "IPv6" for a in pins}))
    expected = Expected(tuple(pins), families)
    shuffled = list(ingress)
    shuffler.shuffle(shuffled)

    printed = ingress_ips({"status": {"loadBalancer": {"ingress": [{"ip": a} for a in shuffled]}}})

    have = {ipaddress.ip_address(a) for a in ingress}
    assert [ipaddress.ip_address(a) for a in printed] == sorted(have, key=lambda a: (a.version, int(a)))
    assert all(str(ipaddress.ip_address(a)) == a for a in printed), "canonical text"
    assert expected.met_by(printed) == (bool(have) and {ipaddress.ip_address(p) for p in pins} <= have)
