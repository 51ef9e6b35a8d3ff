"""The suite's skip policy (tests/conftest.py), run on a throwaway test file: in a user's clone a
test that cannot run is skipped with its reason; under CI every skip and xfail is a failure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REQUIRE_ALL
from tests.program_harness import REPO

CASES = """\
import pytest

def test_runs():
    pass

@pytest.mark.skip(reason="needs the thing (apt-get install thing)")
def test_skipped():
    pass

@pytest.mark.xfail(reason="known to fail")
def test_expected_to_fail():
    assert False
"""
MODULE_SKIP = 'import pytest\n\npytest.importorskip("no_such_module_for_this_test")\n'


def run_suite(
    tmp_path: Path, files: dict[str, str], *options: str, **environment: str
) -> subprocess.CompletedProcess[str]:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    env = (
        {k: v for k, v in os.environ.items() if k not in ("CI", REQUIRE_ALL)} | environment | {"PYTHONPATH": str(REPO)}
    )
    command = [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider", "-rA", *options]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, check=False)


def test_in_a_users_clone_a_test_that_cannot_run_is_skipped_with_its_reason(tmp_path: Path) -> None:
    result = run_suite(tmp_path, {"test_cases.py": CASES, "test_module_skip.py": MODULE_SKIP})

    assert result.returncode == 0, result.stdout
    assert "1 passed, 2 skipped, 1 xfailed" in result.stdout
    assert "needs the thing (apt-get install thing)" in result.stdout


def test_a_skip_for_want_of_shared_or_openssl_says_how_to_get_it(tmp_path: Path) -> None:
    cases = (
        "import pytest\n\n"
        "@pytest.mark.skip(reason='MetalLB manifests not found at /x/shared/reference/metallb')\n"
        "def test_reference():\n    pass\n\n"
        "def test_openssl():\n    pytest.skip('needs openssl to make a test certificate')\n"
    )
    result = run_suite(tmp_path, {"test_cases.py": cases})

    assert result.returncode == 0, result.stdout
    assert (
        "MetalLB manifests not found at /x/shared/reference/metallb; ../shared sits beside the clone in the "
        "project's own CI only; elsewhere these tests skip"
    ) in result.stdout
    assert "needs openssl to make a test certificate; apt-get install openssl" in result.stdout


@pytest.mark.parametrize("environment", [{"CI": "true"}, {REQUIRE_ALL: "1"}], ids=["CI", REQUIRE_ALL])
def test_under_ci_every_skip_and_xfail_fails_the_run(tmp_path: Path, environment: dict[str, str]) -> None:
    result = run_suite(tmp_path, {"test_cases.py": CASES}, **environment)

    assert result.returncode == 1, result.stdout
    # A skip marker acts in setup, so that skip shows as an error; the xfail, in the call, as a failure.
    assert "= 1 failed, 1 passed, 1 error in" in result.stdout.splitlines()[-1]
    errors, failures = result.stdout.split("= ERRORS =")[1].split("= FAILURES =")
    assert "ERROR at setup of test_skipped" in errors and "Skipped: needs the thing (apt-get install thing)" in errors
    assert "_ test_expected_to_fail _" in failures and "xfail: known to fail" in failures
    assert "every test must run: a skip or xfail is a failure" in errors


def test_under_ci_a_module_that_skips_itself_fails_the_run(tmp_path: Path) -> None:
    result = run_suite(tmp_path, {"test_module_skip.py": MODULE_SKIP}, CI="true")

    assert result.returncode == 2, result.stdout
    assert "ERROR collecting test_module_skip.py" in result.stdout
    assert "could not import 'no_such_module_for_this_test'" in result.stdout


def test_quick_leaves_out_the_slow_modules_and_is_refused_under_ci(tmp_path: Path) -> None:
    files = {
        "tests/test_determinism.py": "def test_slow():\n    pass\n",
        "tests/test_fast.py": "def test_fast():\n    pass\n",
    }

    quick = run_suite(tmp_path, files, "--quick")
    under_ci = run_suite(tmp_path, files, "--quick", CI="true")

    assert quick.returncode == 0, quick.stdout
    assert "PASSED tests/test_fast.py::test_fast" in quick.stdout
    assert "= 1 passed, 1 deselected in" in quick.stdout.splitlines()[-1]
    assert under_ci.returncode == 4  # a usage error
    assert "--quick leaves tests out: not under CI or METALLB_UNIFI_REQUIRE_ALL=1" in under_ci.stderr
