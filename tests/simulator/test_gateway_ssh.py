"""The simulated gateway answers SSH as the real one does for ``verify``: the router's own sshd
on the gateway's address, whose only commands are the gateway kind's (simulator.gateway_shell).
The lab tests run a client in the workstation's namespace (tests/simulator/gateway_ssh_client.py,
the product's SSH client with the pinned host key); they need root, ``ip netns``, the daemons and
``openssh-server`` (lab_environment skips without them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.verify.gateway_output import (
    parse_bgp6_paths_json,
    parse_bgp6_paths_text,
    parse_bgp6_summary_json,
    parse_bgp6_summary_text,
    parse_routes6_json,
    parse_routes6_text,
)
from simulator import gateway_shell
from simulator.checks import run_checks
from simulator.gateway_shell import FRR_ENTRY, UNIFI_OS_COMMANDS, USG_COMMANDS, vtysh_commands
from simulator.gateway_ssh import PRIVSEP_DIR, GatewaySshEndpoint, PrivsepDir, keygen
from simulator.lab import RunningLab, running_lab
from simulator.plan import LabPlan, plan_lab
from simulator.processes import ProcessId
from simulator.rendering import REPO_ROOT, render_stack, stack_facts
from tests.simulator.conftest import stack_path
from tests.simulator.gateway_ssh_client import KEY_ENV

WRAPPER = "/opt/vyatta/bin/vyatta-op-cmd-wrapper"
USG_SUMMARY = f"{WRAPPER} show ip bgp summary"
USG_ROUTES = f"{WRAPPER} show ip route"
UOS_SUMMARY = "vtysh -c 'show ip bgp summary json'"
UOS_ROUTES = "vtysh -c 'show ip route json'"
UOS_BOTH = "vtysh -c 'show ip bgp summary json' -c 'show ip route json'"
USG_SUMMARY6 = f"{WRAPPER} show ipv6 bgp summary"
USG_ROUTES6 = f"{WRAPPER} show ipv6 route"
UOS_SUMMARY6 = "vtysh -c 'show bgp ipv6 unicast summary json'"
UOS_ROUTES6 = "vtysh -c 'show ipv6 route json'"
UOS_PATHS6 = "vtysh -c 'show bgp ipv6 unicast json'"
NOT_FOUND = 127


# --- the shell's commands, without a lab --------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "line", "expected"),
    [
        ("usg", USG_SUMMARY, ["show ip bgp summary"]),
        ("usg", f"  {WRAPPER}   show ip route ", ["show ip route"]),  # words, as a shell splits them
        ("unifi-os", UOS_SUMMARY, ["show ip bgp summary json"]),
        ("unifi-os", 'vtysh -c "show ip route json"', ["show ip route json"]),
        ("unifi-os", UOS_BOTH, ["show ip bgp summary json", "show ip route json"]),
        (
            "unifi-os",
            "vtysh -c 'show ip route json' -c 'show ip bgp summary json'",
            ["show ip route json", "show ip bgp summary json"],
        ),
        # IPv6: FRR 8.4 answers the USG's show ipv6 forms only as show bgp ipv6 unicast.
        ("usg", f"{WRAPPER} show ipv6 bgp summary", ["show bgp ipv6 unicast summary"]),
        ("usg", f"{WRAPPER} show ipv6 route", ["show ipv6 route"]),
        ("usg", f"{WRAPPER} show ipv6 bgp 2001:db8:100::10", ["show bgp ipv6 unicast 2001:db8:100::10"]),
        ("usg", f"{WRAPPER} show ipv6 bgp 2001:DB8:100:0::10", ["show bgp ipv6 unicast 2001:db8:100::10"]),
        ("unifi-os", UOS_SUMMARY6, ["show bgp ipv6 unicast summary json"]),
        ("unifi-os", UOS_ROUTES6, ["show ipv6 route json"]),
        ("unifi-os", UOS_PATHS6, ["show bgp ipv6 unicast json"]),
        ("usg", f"{WRAPPER} show ipv6 bgp 2001:db8:100::/64", None),  # an address, not a prefix
        ("usg", f"{WRAPPER} show ipv6 bgp fe80::1%eth0", None),
        ("usg", f"{WRAPPER} show ipv6 bgp 10.0.0.1", None),
        ("usg", f"{WRAPPER} show ipv6 bgp neighbors", None),
        ("usg", f"{WRAPPER} show ipv6 bgp 2001:db8::1 json", None),
        ("unifi-os", "vtysh -c 'show bgp ipv6 unicast 2001:db8::1 json'", None),
        ("usg", f"{USG_SUMMARY6} x", None),
        # Each kind answers its own commands only.
        ("usg", UOS_SUMMARY, None),
        ("unifi-os", USG_SUMMARY, None),
        # Other commands, other words, other options, a shell around the command.
        ("usg", f"{WRAPPER} show ip bgp", None),
        ("usg", f"{WRAPPER} show ip bgp summary; id", None),
        ("usg", f"{WRAPPER} 'show ip route'", None),
        ("unifi-os", "vtysh -c 'show running-config'", None),
        ("unifi-os", "vtysh -c 'show ip bgp summary  json'", None),
        ("unifi-os", "vtysh -c 'show ip bgp summary json' -d bgpd", None),
        ("unifi-os", "vtysh -c 'show ip route json' -c 'show ip route json' -c 'show ip route json'", None),
        ("unifi-os", "vtysh -c", None),
        ("unifi-os", "vtysh", None),
        ("unifi-os", "sh -c 'vtysh -c \"show ip route json\"'", None),
        ("unifi-os", "vtysh -c 'show ip route json", None),  # unbalanced quote
        ("usg", "", None),
        ("usg", None, None),  # an interactive login: no command at all
    ],
)
def test_the_shell_answers_exactly_the_gateway_kinds_commands(kind, line, expected):
    assert vtysh_commands(kind, line) == expected


@given(kind=st.sampled_from(gateway_shell.KINDS), line=st.text())
def test_no_command_line_reaches_vtysh_with_another_command(kind, line):
    commands = vtysh_commands(kind, line)
    if kind == "unifi-os":
        assert commands is None or (commands and set(commands) <= UNIFI_OS_COMMANDS)
    else:
        allowed = set(USG_COMMANDS.values())
        assert commands is None or (
            len(commands) == 1
            and (
                commands[0] in allowed
                or (
                    commands[0].startswith(f"{FRR_ENTRY} ")
                    and str(IPv6Address(commands[0].removeprefix(f"{FRR_ENTRY} "))) == commands[0].split()[-1]
                )
            )
        )


@pytest.mark.parametrize("line", ["ls /", None])
def test_the_shell_refuses_with_127_naming_the_command(line):
    env = {key: value for key, value in os.environ.items() if key != "SSH_ORIGINAL_COMMAND"}
    if line is not None:
        env["SSH_ORIGINAL_COMMAND"] = line
    argv = [sys.executable, "-m", "simulator.gateway_shell", "--kind", "usg", "--vty-socket", "/nonexistent"]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=REPO_ROOT, check=False)
    what = line if line is not None else "an interactive login"
    assert (result.returncode, result.stdout, result.stderr) == (
        NOT_FOUND,
        "",
        f"{what}: not available on this simulated gateway\n",
    )


def test_the_privilege_separation_directory_is_removed_only_if_the_lab_made_it(tmp_path):
    made = PrivsepDir(tmp_path / "sshd")
    made.ensure()
    assert (tmp_path / "sshd").is_dir()
    assert made.release() == [] and not (tmp_path / "sshd").exists()

    (tmp_path / "there").mkdir()
    found = PrivsepDir(tmp_path / "there")
    found.ensure()
    assert found.release() == [] and (tmp_path / "there").is_dir()


# --- over SSH, against a running lab -----------------------------------------------------------


def _plan(stack: str, tmp_path: Path) -> LabPlan:
    render_stack(stack_path(stack), tmp_path)
    return plan_lab(tmp_path, stack_facts(stack_path(stack)))


def _request(endpoint: GatewaySshEndpoint, commands: list[str], **extra: Any) -> str:
    fields = {"host": endpoint.host, "port": endpoint.port, "user": endpoint.user, "host_key": endpoint.host_key}
    return json.dumps({**fields, "commands": commands, **extra}) + "\n"


def _client(lab: RunningLab) -> list[str]:
    return ["ip", "netns", "exec", lab.workstation_ns, sys.executable, "-m", "tests.simulator.gateway_ssh_client"]


def _over_ssh(lab: RunningLab, commands: list[str], **extra: Any) -> dict[str, Any]:
    """One connection from the workstation's namespace, each command run on it."""
    result = subprocess.run(
        _client(lab),
        input=_request(lab.gateway_ssh, commands, **extra),
        env={**os.environ, KEY_ENV: lab.gateway_ssh.private_key},
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def _outputs(lab: RunningLab, commands: list[str]) -> dict[str, str]:
    """Each command's stdout; every one must exit 0 with nothing on stderr."""
    results = _over_ssh(lab, commands)["results"]
    assert [(r["exit_code"], r["stderr"]) for r in results] == [(0, "")] * len(commands), results
    return {r["command"]: r["stdout"] for r in results}


def _refusals(lab: RunningLab, commands: list[str]) -> None:
    """Each command, and an interactive login, refused as the shell refuses a missing command."""
    results = _over_ssh(lab, commands, login=True)["results"]
    assert [(r["exit_code"], r["stdout"], r["stderr"]) for r in results] == [
        (NOT_FOUND, "", f"{what}: not available on this simulated gateway\n")
        for what in [*commands, "an interactive login"]
    ]


def _json_documents(text: str) -> list[Any]:
    decoder, documents, index = json.JSONDecoder(), [], 0
    while text[index:].strip():
        index += len(text[index:]) - len(text[index:].lstrip())
        document, index = decoder.raw_decode(text, index)
        documents.append(document)
    return documents


def _run_dir_state() -> tuple[int, int] | None:
    return None if not PRIVSEP_DIR.exists() else (PRIVSEP_DIR.stat().st_ino, PRIVSEP_DIR.stat().st_mode)


@pytest.mark.usefixtures("lab_environment")
def test_a_usg_lab_answers_the_usg_commands_over_ssh(tmp_path):
    plan = _plan("Pulumi.lab.yaml", tmp_path)
    before = _run_dir_state()
    other_key = keygen(tmp_path / "other_host_key").public
    with running_lab(plan) as lab:
        run_checks(lab)
        endpoint = lab.gateway_ssh
        assert (endpoint.host, endpoint.port, endpoint.user) == (str(plan.topology.router_lan_address), 22, "root")
        outputs = _outputs(lab, [USG_SUMMARY, USG_ROUTES])

        # FRR's text: one line per neighbour, an Established session shows its prefix count
        # where another shows its state (Active, Connect, ...).
        summary = outputs[USG_SUMMARY]
        assert f"BGP router identifier {plan.topology.router_lan_address}, local AS number 64512" in summary
        rows = {IPv4Address(line.split()[0]): line.split() for line in summary.splitlines() if line[:1].isdigit()}
        assert set(rows) == {node.address for node in plan.peering_nodes}
        assert all(row[9] == "1" for row in rows.values()), summary  # State/PfxRcd: one prefix each

        # The service's /32, BGP, selected and in the FIB, via one node (the USG keeps one path).
        address = plan.bgp_services[0].address
        routes = [line for line in outputs[USG_ROUTES].splitlines() if line.startswith(f"B>* {address}/32 ")]
        assert len(routes) == 1 and any(f"via {node.address}," in routes[0] for node in plan.nodes), outputs

        # The IPv6 commands are answered too (this lab has no IPv6 neighbour or route: FRR's
        # empty answers, read as none), and a BGP entry asked by address.
        address6 = "2001:db8:100::10"
        usg6 = _outputs(lab, [USG_SUMMARY6, USG_ROUTES6, f"{WRAPPER} show ipv6 bgp {address6}"])
        assert parse_bgp6_summary_text(usg6[USG_SUMMARY6]) == {}
        table6 = parse_routes6_text(usg6[USG_ROUTES6])
        assert IPv6Network("fe80::/64") in table6  # the link-local networks: read, connected
        assert {r.protocol for routes in table6.values() for r in routes} == {"connected"}
        assert usg6[f"{WRAPPER} show ipv6 bgp {address6}"].strip() == "% Network not in table"
        assert parse_bgp6_paths_text(usg6[f"{WRAPPER} show ipv6 bgp {address6}"]) == {}

        _refusals(lab, ["ls /", UOS_SUMMARY, f"{USG_SUMMARY}; id", UOS_SUMMARY6, f"{WRAPPER} show ipv6 bgp ::/0"])
        wrong = _over_ssh(lab, [USG_SUMMARY], host_key=other_key)
        assert wrong["error"] == "HostKeyMismatchError", wrong

        # A connection left open while the lab stops: its sshd processes must end too.
        held = subprocess.Popen(
            _client(lab),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, KEY_ENV: endpoint.private_key},
            text=True,
            cwd=REPO_ROOT,
        )
        try:
            assert held.stdin is not None and held.stdout is not None
            held.stdin.write(_request(endpoint, [USG_SUMMARY], hold=True))
            held.stdin.flush()
            assert json.loads(held.stdout.readline())["results"][0]["exit_code"] == 0
            (sshd,) = [d for d in lab.processes.daemons if d.label == "router sshd"]
            listener = ProcessId.of(sshd.process.pid)
            assert listener is not None
            assert int((lab.workdir / "ssh" / "sshd.pid").read_text()) == listener.pid
            sessions = listener.descendants()
            assert sessions, "the open connection has its own sshd processes"
        except BaseException:
            held.kill()
            held.wait()
            raise
    try:
        assert not [p for p in [listener, *sessions] if p.running()], "sshd processes outlived the lab"
        assert _run_dir_state() == before, f"{PRIVSEP_DIR} was not left as found"
    finally:
        held.kill()
        held.wait()


@pytest.mark.usefixtures("lab_environment")
def test_a_unifi_os_lab_answers_vtysh_json_over_ssh(tmp_path):
    plan = _plan("Pulumi.udm.yaml", tmp_path)
    before = _run_dir_state()
    with running_lab(plan) as lab:
        run_checks(lab)
        outputs = _outputs(lab, [UOS_SUMMARY, UOS_ROUTES, UOS_BOTH])

        summary = json.loads(outputs[UOS_SUMMARY])["ipv4Unicast"]
        assert summary["routerId"] == str(plan.topology.router_lan_address)
        peers = {IPv4Address(address): peer for address, peer in summary["peers"].items()}
        assert set(peers) == {node.address for node in plan.peering_nodes}
        assert {(peer["state"], peer["pfxRcd"]) for peer in peers.values()} == {("Established", 1)}

        routes = json.loads(outputs[UOS_ROUTES])
        address = plan.bgp_services[0].address
        (route,) = [entry for entry in routes[f"{address}/32"] if entry["protocol"] == "bgp"]
        hops = {IPv4Address(hop["ip"]) for hop in route["nexthops"]}
        assert route["selected"] and hops == {node.address for node in plan.nodes}, route  # maximumPaths 3: ECMP

        # Both -c in one command line: both documents, one after the other.
        both = _json_documents(outputs[UOS_BOTH])
        assert len(both) == 2
        assert set(both[0]["ipv4Unicast"]["peers"]) == set(summary["peers"])
        assert set(both[1]) == set(routes)

        # The IPv6 commands: FRR's JSON of no IPv6 neighbour, route or path, read as none.
        uos6 = _outputs(lab, [UOS_SUMMARY6, UOS_ROUTES6, UOS_PATHS6])
        assert parse_bgp6_summary_json(uos6[UOS_SUMMARY6]) == {}
        table6 = parse_routes6_json(uos6[UOS_ROUTES6])
        assert IPv6Network("fe80::/64") in table6
        assert {r.protocol for routes in table6.values() for r in routes} == {"connected"}
        assert parse_bgp6_paths_json(uos6[UOS_PATHS6]) == {}

        _refusals(lab, [USG_SUMMARY, "vtysh -c 'show running-config'", "vtysh", USG_SUMMARY6])
    assert _run_dir_state() == before
