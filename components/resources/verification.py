"""``Verification``: the four checks of ``python -m components.verify`` after ``pulumi up`` has
changed the gateway or the services (``metallb-unifi:verify``), as one local command:

* it runs ``verify --job -`` after the gateway's last step and every Service, and retries the
  checks until they pass or ``verify.timeout`` ends (sessions take a few seconds to come up
  after a provision);
* its inputs are what the lab should show (the services' addresses and names, no secret) and
  the gateway's content, so it runs again exactly when one of them changed, or when the gateway
  is repaired (the drift marker of components/resources/drift.py): a no-op ``up`` runs nothing
  and keeps the last report;
* a failed check fails the ``up`` when ``verify.required``; otherwise the command succeeds and
  the program warns with the checks that failed. The stack output ``verification`` holds each
  check's status and detail.

The gateway's SSH key or password travels in the command's environment, marked secret.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import pulumi
import pulumi_command as command

from components.config.model import GatewaySshAccess, VerifySettings
from components.contract import GATEWAY_KEY_ENV, GATEWAY_PASSWORD_ENV, PYTHON
from components.resources import drift, gateway_commands
from components.resources.drift import NOT_CHECKED, Observation
from components.resources.secret_environment import secret_environment
from components.verify.expectations import Expectations
from components.verify.job import GatewaySshSettings, VerifyJob
from components.verify.report import CheckResult, Report, Status

VERIFY: Final = "components.verify"


def verify_command() -> str:
    return shlex.join([PYTHON, "-m", VERIFY, "--job", "-", "--json"])


def job_stdin(settings: VerifySettings, gateway_ssh: GatewaySshAccess | None, expectations: Mapping[str, Any]) -> str:
    job = VerifyJob(
        Expectations.from_json(expectations),
        None if gateway_ssh is None else GatewaySshSettings.of(gateway_ssh),
        retry_for_s=float(settings.timeout_s),
        required=settings.required,
    )
    return json.dumps(job.to_json(), indent=2, sort_keys=True) + "\n"


def job_environment(gateway_ssh: GatewaySshAccess | None) -> dict[str, str]:
    if gateway_ssh is None:
        return {}
    if gateway_ssh.private_key is not None:
        return {GATEWAY_KEY_ENV: gateway_commands.secret_value(gateway_ssh.private_key)}
    assert gateway_ssh.password is not None  # the config holds one or the other
    return {GATEWAY_PASSWORD_ENV: gateway_commands.secret_value(gateway_ssh.password)}


def failure_warning(report: Report) -> str | None:
    """The warning a failed check gives when ``verify.required`` is false."""
    if not report.failed:
        return None
    lines = "\n".join(check.line() for check in report.failed)
    return (
        "metallb-unifi:verify: the checks run when the gateway or the services last changed did not all pass "
        f"within verify.timeout (python -m components.verify runs them again):\n{lines}"
    )


def read_report(stdout: str) -> Report:
    """The command's report; a stdout that holds none (an older or broken run) reads as a failed check."""
    try:
        return Report.from_json(json.loads(stdout))
    except (ValueError, KeyError, TypeError) as exc:
        detail = f"no report in the command's output ({type(exc).__name__}): run python -m components.verify"
        return Report((CheckResult("verify", Status.FAIL, detail),))


@dataclass(frozen=True)
class VerificationArgs:
    settings: VerifySettings
    gateway_ssh: GatewaySshAccess | None
    expectations: pulumi.Output[dict[str, Any]]  # Expectations.to_json(), known once the addresses are
    gateway_content: pulumi.Input[str]  # what the gateway was given (a digest): a change runs the checks again
    after: Sequence[pulumi.Resource]  # the gateway's last step and the Services
    # The program's look for drift: a repair of the gateway runs the checks again, like a change.
    observation: Observation = NOT_CHECKED


class Verification(pulumi.ComponentResource):
    checks: command.local.Command
    summary: pulumi.Output[dict[str, dict[str, str]]]

    def __init__(self, name: str, args: VerificationArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("metallb-unifi:verify:Verification", name, None, opts)
        settings, gateway_ssh = args.settings, args.gateway_ssh
        run = verify_command()
        environment = secret_environment(job_environment(gateway_ssh))
        repair, ignored = drift.command_options(args.observation)
        environment.update(repair)
        self.checks = command.local.Command(
            f"{name}-checks",
            create=run,
            update=run,
            stdin=args.expectations.apply(lambda expected: job_stdin(settings, gateway_ssh, expected)),
            environment=environment,
            triggers=[args.gateway_content],
            # Unused: the report of the run before does not matter to this one.
            add_previous_output_in_env=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.after), ignore_changes=ignored),
        )

        def summarise(stdout: str) -> dict[str, dict[str, str]]:
            report = read_report(stdout)
            warning = failure_warning(report)
            if warning is not None:
                pulumi.log.warn(warning, resource=self)
            return report.summary()

        self.summary = self.checks.stdout.apply(summarise)
        self.register_outputs({"summary": self.summary})
