"""``python -m components.verify``'s own rules: usage and config errors exit 2 naming what is
wrong, a lab with nothing to check exits 0 with every check skipped and saying why."""

from __future__ import annotations

import json
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from components.verify.__main__ import main
from components.verify.expectations import Expectations
from components.verify.job import VerifyJob

REPO = Path(__file__).resolve().parents[2]


def _empty_job(tmp_path: Path, **changes: object) -> Path:
    expectations = Expectations("lab", "usg", IPv4Address("127.0.0.1"), (), (), (), ())
    document = VerifyJob(expectations, None).to_json() | changes
    path = tmp_path / "job.json"
    path.write_text(json.dumps(document))
    return path


def test_a_lab_with_nothing_to_check_skips_everything_and_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--job", str(_empty_job(tmp_path))], env={}) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["skip sessions", "skip routes", "skip dns", "skip reach"]
    assert "set metallb-unifi:gatewaySsh" in lines[0]


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["--stack-file", "no-such-stack.yaml"], "--stack-file no-such-stack.yaml: no such file"),
        (["--job", "{tmp}/missing.json"], "--job {tmp}/missing.json: No such file or directory"),
        (["--job", "{tmp}/damaged.json"], "not a verify job"),
        (["--job", "{tmp}/old.json"], "format 7 is not 1"),
    ],
)
def test_usage_errors_exit_2_naming_what_is_wrong(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], says: str
) -> None:
    (tmp_path / "damaged.json").write_text('{"format": 1}')
    _empty_job(tmp_path, format=7).rename(tmp_path / "old.json")
    arguments = [a.replace("{tmp}", str(tmp_path)) for a in arguments]
    assert main(arguments, env={}) == 2
    assert says.replace("{tmp}", str(tmp_path)) in capsys.readouterr().err


def test_an_invalid_stack_file_exits_2_with_the_configs_own_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = tmp_path / "Pulumi.lab.yaml"
    stack.write_text((REPO / "Pulumi.lab.yaml").read_text() + "  metallb-unifi:gatewaySsh: {user: admin}\n")
    assert main(["--stack-file", str(stack), "--project-file", str(REPO / "Pulumi.yaml")], env={}) == 2
    assert "metallb-unifi:gatewaySsh.hostKey" in capsys.readouterr().err


def test_a_job_takes_no_stack_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--job", str(_empty_job(tmp_path)), "--services-from", "dump.json"], env={})
    assert exit_.value.code == 2
    assert "--services-from and --project-file go with --stack-file" in capsys.readouterr().err
