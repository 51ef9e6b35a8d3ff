"""``python -m components.verify --stack-file Pulumi.<stack>.yaml [--json] [--services-from FILE]``:
the blog post's last checks, made from this machine against the real lab.

- ``sessions``: every peering node's BGP session is Established on the gateway;
- ``routes``: every BGP service address is in the gateway's routing table via a node;
- ``dns``: every host name and alias resolves through the gateway to its address;
- ``reach``: every service answers on its first port (HTTP for its http/https URL).

``sessions`` and ``routes`` read the gateway over SSH (``metallb-unifi:gatewaySsh``); without it
they are skipped. Exit 0 when nothing failed, 1 when a check failed, 2 for a usage or config error.
An encrypted key or password is read from the environment (``UNIFI_GATEWAY_SSH_KEY``,
``UNIFI_GATEWAY_SSH_PASSWORD``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from components.config import ConfigError, Lab
from components.config.model import GatewayKind
from components.contract import GATEWAY_KEY_ENV, GATEWAY_PASSWORD_ENV

from .expectations import Expectations, allocated_addresses, expect
from .gateway import GatewayAccess
from .job import GatewaySshSettings, VerifyJob
from .report import EXIT_USAGE, Report
from .run import Gateway, Timeouts, verify_until


class UsageError(Exception):
    pass


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    parser = argparse.ArgumentParser(prog="python -m components.verify", description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack-file", type=Path, help="e.g. Pulumi.lab.yaml")
    source.add_argument(
        "--job", help="a verify job as JSON (FILE, or - for stdin): what pulumi up and the simulator run"
    )
    parser.add_argument("--project-file", type=Path, help="Pulumi.yaml with project defaults (default: beside it)")
    parser.add_argument(
        "--services-from",
        type=Path,
        help="`kubectl get services -A -o json` output: the addresses MetalLB allocated, and the discovered names",
    )
    parser.add_argument("--json", action="store_true", help='print {"checks": [...]} instead of lines')
    parser.add_argument("--retry-for", type=_seconds, help="retry failed checks for this many seconds (default 0)")
    parser.add_argument("--ssh-timeout", type=_seconds, default=Timeouts.ssh_s, help=argparse.SUPPRESS)
    parser.add_argument("--dns-timeout", type=_seconds, default=Timeouts.dns_s, help="seconds per name (default 2)")
    parser.add_argument("--reach-timeout", type=_seconds, default=Timeouts.reach_s, help="seconds per service (3)")
    args = parser.parse_args(argv)
    if args.job is not None and (args.services_from is not None or args.project_file is not None):
        parser.error("--services-from and --project-file go with --stack-file; a job holds what they would give")
    timeouts = Timeouts(args.ssh_timeout, args.dns_timeout, args.reach_timeout)
    required, retry_for = True, 0.0
    try:
        if args.job is not None:
            job = _read_job(args.job)
            expectations, required, retry_for = job.expectations, job.required, job.retry_for_s
            gateway = gateway_from_job(job, env, timeouts.ssh_s)
        else:
            lab = _load(args.stack_file, args.project_file)
            expectations = _expectations(lab, args.services_from)
            gateway = gateway_from_config(lab, env, timeouts.ssh_s)
    except ConfigError as error:
        print(error.report(), file=sys.stderr)
        return EXIT_USAGE
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    for service in expectations.not_known:
        print(f"not checked: {service} (its address is not known: give --services-from)", file=sys.stderr)
    report = verify_until(
        expectations,
        gateway,
        retry_for if args.retry_for is None else args.retry_for,
        timeouts=timeouts,
        say=lambda line: print(line, file=sys.stderr),
    )
    _print(report, as_json=args.json)
    if args.json and report.failed:
        # For a person reading a failed `pulumi up`: the lines, beside the JSON the program reads.
        for line in report.lines():
            print(line, file=sys.stderr)
    return report.exit_code if required else 0


def _read_job(where: str) -> VerifyJob:
    try:
        text = sys.stdin.read() if where == "-" else Path(where).read_text(encoding="utf-8")
        return VerifyJob.from_json(json.loads(text))
    except OSError as error:
        raise UsageError(f"--job {where}: {error.strerror or error}") from None
    except ValueError as error:
        raise UsageError(f"--job {where}: {error}") from None


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a number of seconds") from None
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError("must be 0–3600 seconds")
    return value


def _load(stack_file: Path, project_file: Path | None) -> Lab:
    from components.render import load_lab

    if not stack_file.is_file():
        raise UsageError(f"--stack-file {stack_file}: no such file")
    return load_lab(stack_file, project_file)


def _expectations(lab: Lab, services_from: Path | None) -> Expectations:
    if services_from is None:
        return expect(lab, lab.pinned_addresses)
    from components.discovery.dump import ServiceDumpError, read_service_dump
    from components.discovery.rules import discover

    try:
        services = read_service_dump(services_from)
    except ServiceDumpError as error:
        raise UsageError(f"--services-from {error}") from None
    return expect(lab, allocated_addresses(lab, services), discover(lab, services).entries)


def gateway_from_config(lab: Lab, env: Mapping[str, str], timeout_s: float) -> Gateway:
    """``metallb-unifi:gatewaySsh`` as SSH access; an encrypted secret comes from ``env``."""
    access = lab.gateway_ssh
    if access is None:
        return Gateway(lab.gateway.kind, None)
    secret = access.private_key or access.password
    value = secret.value if secret is not None else None
    return Gateway(lab.gateway.kind, _access(GatewaySshSettings.of(access), value, env, timeout_s))


def gateway_from_job(job: VerifyJob, env: Mapping[str, str], timeout_s: float) -> Gateway:
    """The job's gateway; its key or password always comes from ``env``."""
    kind = GatewayKind(job.expectations.gateway_kind)
    if job.gateway_ssh is None:
        return Gateway(kind, None)
    return Gateway(kind, _access(job.gateway_ssh, None, env, timeout_s))


_KEY = "metallb-unifi:gatewaySsh"


def _access(settings: GatewaySshSettings, value: str | None, env: Mapping[str, str], timeout_s: float) -> GatewayAccess:
    from components.unifi.errors import UnifiError
    from components.unifi.ssh import HostKey, Password, SshTarget, load_private_key

    key = _KEY
    try:
        host_key = HostKey.parse(settings.host_key, f"{key}.hostKey")
        target = SshTarget(settings.host, settings.port, settings.user, host_key, timeout_s)
        if settings.auth == "privateKey":
            text, source = _secret(value, env, GATEWAY_KEY_ENV, f"{key}.privateKey")
            return GatewayAccess(target, load_private_key(text, source), source)
        text, source = _secret(value, env, GATEWAY_PASSWORD_ENV, f"{key}.password")
        return GatewayAccess(target, Password(text), source)
    except UnifiError as error:
        raise UsageError(str(error)) from None


def _secret(value: str | None, env: Mapping[str, str], name: str, key: str) -> tuple[str, str]:
    """The secret and where it came from: the stack file when it is there in plain text, else ``name``."""
    if value is not None:
        return value, key
    if env.get(name):
        return env[name], name
    raise UsageError(
        f"{key} is not readable here (encrypted in the stack file, or not passed on): set {name} to it, e.g. "
        f"{name}=\"$(pulumi config get --path '{key}')\""
    )


def _print(report: Report, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.to_json(), indent=2, sort_keys=True))
    else:
        for line in report.lines():
            print(line)


if __name__ == "__main__":
    sys.exit(main())
