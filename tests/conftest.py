"""Fixtures shared by the tests that run the Pulumi program, and the skip policy of the suite:
under CI (``CI=true``, or ``METALLB_UNIFI_REQUIRE_ALL=1`` as ``.ci/run`` sets) a skipped or
xfailed test is a failure, so that a green run means every test ran."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from tests.loopback_http import serving
from tests.program_harness import REPO

REFERENCE = REPO.parent / "shared" / "reference" / "metallb"
REQUIRE_ALL = "METALLB_UNIFI_REQUIRE_ALL"
SMALL_MANIFEST = b"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: controller\n  namespace: metallb-system\n"


# How to get what a skipped test lacks, for skip reasons that say only what is missing.
HOW_TO_GET = {
    "shared/reference": "../shared sits beside the clone in the project's own CI only; elsewhere these tests skip",
    "openssl": "apt-get install openssl",
}


# `./test --quick`: leaves out the slowest modules (property tests, network namespaces, the
# lifecycle runs over real SSH or with the Services' waits, renders in fresh processes); CI runs
# everything.
QUICK_LEAVES_OUT = (
    "tests/config/test_properties.py",
    "tests/simulator/test_scenarios.py",
    "tests/simulator/test_strict.py",
    "tests/resources/test_usg_lifecycle.py",
    "tests/resources/test_service_lifecycle.py",
    "tests/test_day_one_and_two.py",
    "tests/test_determinism.py",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--quick", action="store_true", help="leave out the slowest tests (for iterating; CI runs all)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("quick"):
        return
    if every_test_must_run():
        raise pytest.UsageError(f"--quick leaves tests out: not under CI or {REQUIRE_ALL}=1")
    slow = [item for item in items if item.nodeid.split("::")[0] in QUICK_LEAVES_OUT]
    config.hook.pytest_deselected(items=slow)
    items[:] = [item for item in items if item not in slow]


def every_test_must_run() -> bool:
    return os.environ.get(REQUIRE_ALL) == "1" or os.environ.get("CI", "").lower() == "true"


def _as_failure(report: pytest.TestReport | pytest.CollectReport) -> None:
    # A skip's longrepr is (file, line, "Skipped: reason"); an xfail's reason is on the report.
    skip = isinstance(report.longrepr, tuple)
    reason = report.longrepr[2] if skip else f"xfail: {getattr(report, 'wasxfail', '')}"  # type: ignore[index]
    report.outcome = "failed"
    report.longrepr = f"{reason}\n(under CI or {REQUIRE_ALL}=1 every test must run: a skip or xfail is a failure)"


def _with_how_to_get(report: pytest.TestReport | pytest.CollectReport) -> None:
    if isinstance(report.longrepr, tuple):
        file, line, reason = report.longrepr
        hints = [hint for missing, hint in HOW_TO_GET.items() if missing in reason and hint not in reason]
        report.longrepr = (file, line, "; ".join([reason, *hints]))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report: pytest.TestReport = yield
    # An xpass passes with `wasxfail` set: a stale xfail marker hides nothing, but it must go too.
    if every_test_must_run() and (report.skipped or hasattr(report, "wasxfail")):
        _as_failure(report)
    elif report.skipped:
        _with_how_to_get(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, Any]:
    report: pytest.CollectReport = yield
    if every_test_must_run() and report.skipped:  # a module-level skip or importorskip
        _as_failure(report)
    elif report.skipped:
        _with_how_to_get(report)
    return report


@pytest.fixture(scope="module")
def mirror() -> Iterator[str]:
    """MetalLB's upstream manifests over loopback HTTP, laid out as <version>/<file>."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(REFERENCE))
    with serving(handler) as port:
        yield f"http://127.0.0.1:{port}"


class _SmallManifestHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(SMALL_MANIFEST)))
        self.end_headers()
        self.wfile.write(SMALL_MANIFEST)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def small_mirror() -> Iterator[str]:
    """A mirror that answers every manifest URL with SMALL_MANIFEST (see with_small_manifest), so
    that tests of the program do not need MetalLB's upstream files (../shared)."""
    with serving(_SmallManifestHandler) as port:
        yield f"http://127.0.0.1:{port}"


def with_small_manifest(config: dict[str, str]) -> dict[str, str]:
    """The stack config, pinned to SMALL_MANIFEST's sha256 (the program refuses anything else)."""
    metallb = json.loads(config["metallb-unifi:metallb"])
    metallb["manifestSha256"] = hashlib.sha256(SMALL_MANIFEST).hexdigest()
    return {**config, "metallb-unifi:metallb": json.dumps(metallb)}
