"""``python -m simulator --stack-file Pulumi.lab.yaml``: render the stack, build its lab in
network namespaces, run the checks, take the lab down. Linux, as root (``make simulate``).

``--with-stack Pulumi.lab-test.yaml`` (repeatable) puts other stacks' clusters behind the same
router, which runs the gateway's files composed with every stack installed."""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from components.config.model import GatewayKind, Lab
from components.discovery.dump import read_service_dump
from components.discovery.rules import DiscoveredName, discover
from components.verify.report import Report

from .checks import Deadlines, run_checks
from .errors import CheckFailed, SimulationError
from .gateway_shell import USG_WRAPPER
from .lab import LabOptions, RunningLab, SpeakerKind, running_lab
from .plan import LabPlan, plan_stacks
from .rendering import render_stacks, stack_facts
from .verification import run_verify, verify_job

# What the router answers over SSH, one of each kind's commands (simulator.gateway_shell), as
# a shell argument.
GATEWAY_COMMANDS = {
    GatewayKind.USG: f"'{USG_WRAPPER} show ip bgp summary'",
    GatewayKind.UNIFI_OS: "\"vtysh -c 'show ip bgp summary json'\"",
}


def describe(plan: LabPlan, lab: RunningLab) -> str:
    topology = plan.topology
    segments = ", ".join(f"{segment.router_address} (nodes {segment.subnet})" for segment in topology.segments)
    ipv6 = ""
    if topology.ipv6:
        segments6 = ", ".join(
            f"{segment.router_address6} (nodes {segment.subnet6})"
            for segment in topology.segments
            if segment.subnet6 is not None
        )
        ipv6 = f"; IPv6 {topology.router_lan_address6} (LAN {topology.lan6}), {segments6}"
    lines = [
        f"router {lab.router_ns}: {topology.router_lan_address} (LAN {topology.lan}), "
        f"{segments}{ipv6}; BGP from {plan.router_config_source}",
        f"workstation {lab.workstation_ns}: {topology.workstation_address}"
        + (f" and {topology.workstation_address6}" if topology.workstation_address6 is not None else "")
        + f", DNS and gateway {topology.router_lan_address}",
    ]
    several = len(plan.stacks) > 1
    for stack in plan.stacks:
        if several:
            lines.append(f"stack {stack.name}:")
        for node in stack.nodes:
            role = "peers" if node.peers else "does not peer"
            role += " (IPv4 and IPv6)" if node.peers6 else ""
            addresses = f"{node.address}" + (f" and {node.address6}" if node.address6 is not None else "")
            lines.append(f"{'  ' if several else ''}node {node.label} {lab.node_ns[node.key]}: {addresses}, {role}")
            if node.rogue_routes:
                rogue = ", ".join(f"{route.prefix} ({route.what})" for route in node.rogue_routes)
                lines.append(f"{'  ' if several else ''}  rogue: also announces {rogue}")
    return "\n".join(lines)


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through running_lab's teardown


def _wait_for_user(plan: LabPlan, lab: RunningLab) -> None:
    example = plan.http_checks[0].url if plan.http_checks else "http://<name>/"
    print(f"explore, e.g.: ip netns exec {lab.workstation_ns} curl {example}")
    print(f"              vtysh --vty_socket {lab.workdir / 'router'} -c 'show ip bgp'")
    ssh, gateway = lab.workdir / "ssh", lab.gateway_ssh
    command = GATEWAY_COMMANDS[plan.kind]
    print(
        f"              ip netns exec {lab.workstation_ns} ssh -i {ssh / 'client_ed25519'} "
        f"-o UserKnownHostsFile={ssh / 'known_hosts'} {gateway.user}@{gateway.host} {command}"
    )
    with contextlib.suppress(KeyboardInterrupt, EOFError):
        input("press Enter to take the lab down ")


def _verify(lab: RunningLab, stacks: Sequence[Lab], discovered: Sequence[DiscoveredName]) -> dict[str, Report]:
    """``python -m components.verify`` for each stack, its lines printed as it prints them."""
    reports = {}
    for index, stack in enumerate(stacks):
        job = verify_job(stack, lab.gateway_ssh, discovered if index == 0 else ())
        print(f"verify{f' (stack {stack.stack})' if len(stacks) > 1 else ''}, as python -m components.verify says it:")
        report = run_verify(lab, job)
        for line in report.lines():
            print(f"  {line}")
        reports[stack.stack] = report
    return reports


def _write_json(path: Path, reports: dict[str, Report]) -> None:
    if len(reports) == 1:
        document = next(iter(reports.values())).to_json()
    else:
        document = {"stacks": {name: report.to_json() for name, report in reports.items()}}
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack-file", type=Path, required=True, help="e.g. Pulumi.lab.yaml")
    parser.add_argument(
        "--with-stack",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="another stack on the same gateway (repeatable): its cluster joins the lab, and the router "
        "runs the gateway's files composed with every stack installed (render --with-stack)",
    )
    parser.add_argument("--speaker", choices=[k.value for k in SpeakerKind], default=SpeakerKind.FRR.value)
    parser.add_argument(
        "--services-from",
        type=Path,
        default=None,
        help="`kubectl get services -A -o json` output: the cluster's Services for metallb-unifi:discovery",
    )
    parser.add_argument(
        "--rogue-node",
        action="append",
        default=[],
        metavar="NODE",
        help="this node's speaker also announces routes the gateway must refuse (a default route, the LAN, "
        "addresses outside the pools, another stack's addresses); a node of any stack, as STACK/NAME or a name "
        "only one stack's nodes have; the `filters` check then proves it does (repeatable)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the lab up until Enter or Ctrl-C, to explore it")
    parser.add_argument(
        "--verify-json",
        type=Path,
        metavar="FILE",
        help='write verify\'s --json object there (several stacks: {"stacks": {STACK: object}})',
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        stack_files = [args.stack_file, *args.with_stack]
        with tempfile.TemporaryDirectory(prefix="mlu-render-") as rendered:
            outs = [Path(rendered) / str(index) for index in range(len(stack_files))]
            for out in outs:
                out.mkdir()
            render_stacks(stack_files, outs, args.services_from)
            stacks = [(out, stack_facts(stack_file)) for out, stack_file in zip(outs, stack_files, strict=True)]
            plan = plan_stacks(stacks, args.rogue_node)
        for note in plan.notes:
            print(f"note: {note}")
        discovered = discover(stacks[0][1], read_service_dump(args.services_from)).entries if args.services_from else ()
        with running_lab(plan, LabOptions(speaker=SpeakerKind(args.speaker))) as lab:
            print(describe(plan, lab))
            deadlines = Deadlines(sessions_s=30.0) if args.speaker == SpeakerKind.GOBGP.value else Deadlines()
            failed: CheckFailed | None = None
            try:
                for name, outcome in run_checks(lab, deadlines):
                    print(f"ok   {name}: {outcome.detail}")
            except CheckFailed as error:
                failed = error
            # The product's own checks, as a user runs them against the real lab: once the lab's
            # own checks have passed (or failed: then verify says what a user would see).
            reports = _verify(lab, [lab_ for _, lab_ in stacks], discovered)
            if args.verify_json is not None:
                _write_json(args.verify_json, reports)
            if failed is not None:
                raise failed
            if any(report.failed for report in reports.values()):
                print("FAIL verify: see its lines above", file=sys.stderr)
                return 1
            print(f"all checks passed in {time.monotonic() - started:.1f}s")
            if args.keep:
                _wait_for_user(plan, lab)
    except SimulationError as error:
        print(f"FAIL {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    sys.exit(main())
