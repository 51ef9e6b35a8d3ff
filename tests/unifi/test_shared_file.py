"""Several stacks share one config.gateway.json on the controller (components/unifi/shared_file.py):
the real lock, read and commit scripts (``sh -s``, as over SSH) on a temp site directory, driven
by the pure plans. Over OpenSSH and through the Pulumi program: tests/resources/test_usg_stacks.py."""

from __future__ import annotations

import copy
import getpass
import hashlib
import itertools
import json
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from components.artifacts.shared_gateway import GatewayStack, compose_config_gateway_json
from components.artifacts.stack_claims import lab_claims
from components.artifacts.usg_gateway import config_gateway_json
from components.config import Lab, parse_lab
from components.config.stack_files import read_stack_config
from components.render import load_lab
from components.unifi.drift import Drift
from components.unifi.errors import ControllerLockedError, StacksConflictError
from components.unifi.remote import remove_part
from components.unifi.scripts import lock_script
from components.unifi.shared_file import (
    Part,
    SiteJob,
    SiteRefusedError,
    SiteState,
    acquire_lock,
    commit,
    plan_install,
    read_site,
    release_lock,
    site_drift,
)
from components.unifi.ssh import RemoteResult
from tests.artifacts.test_stack_claims import dual_raw
from tests.artifacts.test_usg_gateway import USG_SCHEMA, schema_errors
from tests.unifi.test_scripts import SHELLS, busybox_tools

ROOT = Path(__file__).resolve().parents[2]
ORIGINAL = b'{"service": {"dns": {"forwarding": {"options": ["host-record=nas.lan,192.168.1.5"]}}}}\n'


@dataclass
class LocalRemote:
    """Runs the scripts with ``SHELL -s`` here, as the controller would over SSH, with only the
    tools busybox has on the PATH (tests/unifi/test_scripts.py); uploads are writes."""

    shell: str
    bin_dir: Path
    user = getpass.getuser()

    def run_script(self, script: str, *, sudo: bool) -> RemoteResult:
        done = subprocess.run(
            [self.shell, "-s"],
            input=script.encode(),
            capture_output=True,
            check=False,
            env={"PATH": str(self.bin_dir), "LC_ALL": "C"},
            executable=shutil.which(self.shell),
        )
        return RemoteResult(done.returncode, done.stdout.decode("utf-8", "replace"), done.stderr.decode())

    def upload(self, data: bytes, path: str) -> None:
        Path(path).write_bytes(data)

    def __enter__(self) -> LocalRemote:
        return self

    def __exit__(self, *_exc: object) -> None:
        pass

    def __str__(self) -> str:
        return "the test controller"


def lab_of(name: str, raw: dict[str, Any] | None = None) -> Lab:
    return load_lab(ROOT / f"Pulumi.{name}.yaml") if raw is None else parse_lab(raw, stack=name)


def part_of(name: str, raw: dict[str, Any] | None = None) -> Part:
    lab = lab_of(name, raw)
    content = config_gateway_json(lab, lab.pinned_addresses).encode()
    return Part(content, lab_claims(lab))


def gateway_stack(name: str) -> GatewayStack:
    lab = load_lab(ROOT / f"Pulumi.{name}.yaml")
    return GatewayStack(lab, lab.pinned_addresses)


@dataclass
class Site:
    path: Path
    shell: LocalRemote

    def job(self, stack: str, **changes: Any) -> SiteJob:
        return SiteJob(site_dir=str(self.path), stack=stack, sudo=False, **{"wait_s": 5.0, "poll_s": 0.05, **changes})

    def install(self, part: Part) -> bool:
        remote, job = self.shell, self.job(part.claims.stack)
        token = acquire_lock(remote, job, print)
        try:
            return commit(remote, job, token, plan_install(read_site(remote, job, token), part))
        finally:
            release_lock(remote, job, token)

    def remove(self, stack: str) -> bool:
        return remove_part(lambda: self.shell, self.job(stack), print)  # type: ignore[arg-type,return-value]

    def files(self) -> dict[str, bytes]:
        found = {}
        for path in sorted(self.path.rglob("*")):
            if path.is_file() or path.is_symlink():
                found[str(path.relative_to(self.path))] = path.read_bytes() if not path.is_symlink() else b"->"
        return found

    @property
    def live(self) -> bytes:
        return (self.path / "config.gateway.json").read_bytes()

    def state(self) -> SiteState:
        return SiteState.parse((self.path / ".metallb-unifi.state").read_text())


@pytest.fixture(params=SHELLS)
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Site:
    path = tmp_path / "data dir 'x'" / "sites" / "default"
    path.mkdir(parents=True)
    (path / "config.gateway.json").write_bytes(ORIGINAL)
    return Site(path, LocalRemote(request.param, busybox_tools(tmp_path)))


def test_two_stacks_each_change_only_their_part_and_the_original_comes_back_with_the_last(site: Site) -> None:
    lab, test = part_of("lab"), part_of("lab-test")

    assert site.install(lab)
    assert site.live == lab.content  # alone: its own file, byte for byte
    assert site.files()["config.gateway.json.metallb-unifi-original"] == ORIGINAL
    assert site.state().stacks == ("lab",)

    assert site.install(test)
    both = compose_config_gateway_json([gateway_stack("lab"), gateway_stack("lab-test")]).encode()
    assert site.live == both  # what `render --with-stack` shows
    assert sorted(p for p in site.files() if p.startswith(".metallb-unifi-parts/")) == [
        ".metallb-unifi-parts/lab-test.claims.json",
        ".metallb-unifi-parts/lab-test.json",
        ".metallb-unifi-parts/lab.claims.json",
        ".metallb-unifi-parts/lab.json",
    ]
    assert site.state().stacks == ("lab", "lab-test")
    assert not site.install(test) and not site.install(lab)  # again: nothing changes

    assert site.remove("lab")
    assert site.live == test.content and site.state().stacks == ("lab-test",)
    assert site.remove("lab-test")
    assert site.files() == {"config.gateway.json": ORIGINAL}  # exactly as found: no state, no parts, no lock


def test_a_stack_that_conflicts_with_a_stored_part_is_refused_before_anything_is_written(site: Site) -> None:
    site.install(part_of("lab"))
    before = site.files()
    raw = read_stack_config(ROOT / "Pulumi.lab-test.yaml")
    raw["metallb"]["pools"][0]["addresses"] = ["10.10.10.0/28"]  # inside the lab's pool
    raw["nodes"][0]["address"] = "10.10.0.101"  # one of the lab's nodes
    raw["nodes"][1]["address"] = "10.10.0.150"
    raw["services"][0]["address"] = "10.10.10.5"
    with pytest.raises(StacksConflictError) as refused:
        site.install(part_of("lab-test", raw))
    message = str(refused.value)
    assert "stack 'lab'" in message and "stack 'lab-test'" in message
    assert "metallb-unifi:metallb.pools[0].addresses[0]" in message or "metallb.pools[0].addresses[0]" in message
    assert "nodes[0].address" in message
    assert site.files() == before


def test_a_removal_that_stopped_after_the_original_was_back_finishes(site: Site) -> None:
    site.install(part_of("lab"))
    # The original moved back, then the run stopped before the state went.
    (site.path / "config.gateway.json.metallb-unifi-original").replace(site.path / "config.gateway.json")
    assert not site.remove("lab")  # the live file is the original already
    assert site.files() == {"config.gateway.json": ORIGINAL}


def test_a_hand_edit_of_the_live_file_is_refused_and_changes_nothing(site: Site) -> None:
    site.install(part_of("lab"))
    (site.path / "config.gateway.json").write_bytes(b'{"edited": "by hand"}\n')
    before = site.files()
    with pytest.raises(SiteRefusedError, match="changed outside metallb-unifi"):
        site.install(part_of("lab-test"))
    with pytest.raises(SiteRefusedError, match="changed outside metallb-unifi"):
        site.remove("lab")
    assert site.files() == before


def test_a_backup_without_a_state_is_refused(site: Site) -> None:
    (site.path / "config.gateway.json.metallb-unifi-original").write_bytes(b"{}\n")
    with pytest.raises(SiteRefusedError, match=r"exists but \.metallb-unifi\.state does not"):
        site.install(part_of("lab"))
    assert set(site.files()) == {"config.gateway.json", "config.gateway.json.metallb-unifi-original"}


def test_an_older_releases_install_is_taken_over_by_its_own_stack_and_refused_to_others(site: Site) -> None:
    lab = part_of("lab")
    (site.path / "config.gateway.json.metallb-unifi-original").write_bytes(ORIGINAL)
    (site.path / "config.gateway.json").write_bytes(lab.content)
    (site.path / ".metallb-unifi.state").write_text(
        f"stack=lab\ninstalled_sha256={hashlib.sha256(lab.content).hexdigest()}\nprevious_sha256=\noriginal=present\n"
        f"original_sha256={hashlib.sha256(ORIGINAL).hexdigest()}\n"
    )
    with pytest.raises(StacksConflictError, match="older release"):
        site.install(part_of("lab-test"))
    assert not site.install(lab)  # the same file: not changed, so not provisioned again
    assert site.state().format == 2 and site.state().stacks == ("lab",)
    assert site.install(part_of("lab-test"))
    assert site.remove("lab-test") and site.remove("lab")
    assert site.files() == {"config.gateway.json": ORIGINAL}


def test_a_held_lock_is_waited_for_and_an_expired_one_taken_over(site: Site) -> None:
    remote, job = site.shell, site.job("lab", wait_s=0.3)
    other = acquire_lock(remote, site.job("lab-test"), print)
    with pytest.raises(ControllerLockedError, match="locked by stack lab-test"):
        acquire_lock(remote, job, print)
    release_lock(remote, site.job("lab-test"), other)
    said: list[str] = []
    token = acquire_lock(remote, job, said.append)
    release_lock(remote, job, token)

    # A run killed while holding it: its time runs out (here: at once).
    script = lock_script(site_dir=job.site_dir, owner=None, upload_user=None, token="a" * 32, hold_s=1, holder="x y")
    assert remote.run_script(script, sudo=False).stdout.strip() == "locked"
    time.sleep(2.1)
    token = acquire_lock(remote, job, said.append)
    assert said == [f"took over {job.site_dir}'s lock from x y: its time ran out"]
    release_lock(remote, job, token)
    assert not (site.path / ".metallb-unifi.lock").is_symlink()


def test_two_installs_at_the_same_time_keep_both_parts(site: Site) -> None:
    lab, test = part_of("lab"), part_of("lab-test")
    errors: list[BaseException] = []

    def install(part: Part) -> None:
        try:
            site.install(part)
        except BaseException as exc:  # reported below
            errors.append(exc)

    for _ in range(3):
        threads = [threading.Thread(target=install, args=(p,)) for p in (lab, test)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert json.loads(site.live) == json.loads(
            compose_config_gateway_json([gateway_stack("lab"), gateway_stack("lab-test")])
        )
        site.remove("lab")
        site.remove("lab-test")
        assert site.files() == {"config.gateway.json": ORIGINAL}


def test_a_damaged_part_is_refused_naming_it(site: Site) -> None:
    site.install(part_of("lab"))
    (site.path / ".metallb-unifi-parts" / "lab.claims.json").write_text('{"format": 1}')
    with pytest.raises(SiteRefusedError, match=r"lab.claims.json is damaged"):
        site.install(part_of("lab-test"))


def test_a_state_of_several_stacks_reads_back() -> None:
    state = SiteState(("a", "b"), "1" * 64, "", None, "2" * 64)
    assert SiteState.parse(state.render()) == state


@dataclass
class Answers:
    """A controller whose lock script prints the given lines in turn (the race the script reports
    as ``retry``: the lock was given back while it looked)."""

    lines: list[str]
    user = "admin"

    def run_script(self, script: str, *, sudo: bool) -> RemoteResult:
        return RemoteResult(0, self.lines.pop(0) + "\n", "")


def test_a_lock_given_back_while_looking_is_tried_again_at_once_but_not_past_the_wait() -> None:
    job = SiteJob(site_dir="/d/sites/x", stack="lab", sudo=False, wait_s=10.0, poll_s=5.0)
    slept: list[float] = []
    remote = Answers(["retry", "retry", "locked"])
    assert acquire_lock(remote, job, print, sleep=slept.append, clock=lambda: 0.0)  # type: ignore[arg-type]
    assert slept == [] and remote.lines == []

    times = itertools.chain([0.0], itertools.repeat(11.0))  # the deadline set, then past it
    with pytest.raises(ControllerLockedError, match="locked by another run"):
        acquire_lock(Answers(["retry"]), job, print, sleep=slept.append, clock=lambda: next(times))  # type: ignore[arg-type]


# --- a dual-stack stack beside an IPv4 one --------------------------------------------------------


def dual_test_raw(pool6: bool = True) -> dict[str, Any]:
    """lab-test made dual-stack (tests/artifacts/test_stack_claims.py), or with its nodes' IPv6
    addresses but no IPv6 pool left."""
    raw = dual_raw("lab-test", "fd00:11", "fd00:11:10::/120")
    if not pool6:
        raw["metallb"]["pools"][0]["addresses"].pop()
    return raw


def look(site: Site, stack: str) -> Drift:
    remote, job = site.shell, site.job(stack)
    token = acquire_lock(remote, job, print)
    try:
        return site_drift(read_site(remote, job, token))
    finally:
        release_lock(remote, job, token)


def test_a_dual_stack_part_keeps_its_ipv6_filter_beside_another_stack_until_its_last_ipv6_pool_goes(
    site: Site,
) -> None:
    dual, lab = part_of("lab-test", dual_test_raw()), part_of("lab")
    names = dual.claims.filter_names
    assert site.install(dual) and site.live == dual.content
    parts = site.path / ".metallb-unifi-parts"
    assert json.loads((parts / "lab-test.claims.json").read_bytes())["format"] == 2

    # The IPv4 stack's install leaves the dual-stack part and its IPv6 filter as they are.
    stored = (parts / "lab-test.json").read_bytes()
    assert site.install(lab)
    assert (parts / "lab-test.json").read_bytes() == stored
    assert json.loads((parts / "lab.claims.json").read_bytes())["format"] == 1
    dual_lab = lab_of("lab-test", dual_test_raw())
    composed = compose_config_gateway_json([GatewayStack(dual_lab, dual_lab.pinned_addresses), gateway_stack("lab")])
    assert site.live == composed.encode()
    live = json.loads(site.live)
    ours = json.loads(dual.content)["policy"]
    assert live["policy"]["prefix-list6"] == ours["prefix-list6"] and list(ours["prefix-list6"]) == [names.prefix_list6]
    assert live["policy"]["route-map"][names.route_map_in6] == ours["route-map"][names.route_map_in6]
    assert "fd00:11::10" in live["protocols"]["bgp"]["64512"]["neighbor"]
    if USG_SCHEMA.exists():
        assert schema_errors(live) == []

    # The IPv6 filter is the dual-stack stack's own: an edit there is put back by the next up, an
    # IPv6 prefix-list of another name is the user's.
    edited = copy.deepcopy(live)
    edited["policy"]["prefix-list6"][names.prefix_list6]["rule"]["10"]["prefix"] = "::/0"
    (site.path / "config.gateway.json").write_text(json.dumps(edited))
    assert look(site, "lab") == Drift("repair", f"edited at policy.prefix-list6.{names.prefix_list6}")
    theirs = copy.deepcopy(live)
    theirs["policy"]["prefix-list6"]["mine"] = {"rule": {"10": {"action": "permit", "prefix": "fd00::/8"}}}
    (site.path / "config.gateway.json").write_text(json.dumps(theirs))
    assert look(site, "lab").kind == "kept"
    (site.path / "config.gateway.json").write_text(json.dumps(edited))

    # Its last IPv6 pool gone: the next install takes the IPv6 filter and neighbours out.
    v4_only = part_of("lab-test", dual_test_raw(pool6=False))
    assert not v4_only.claims.bgp_v6
    assert site.install(v4_only)
    live = json.loads(site.live)
    assert "prefix-list6" not in live["policy"] and names.route_map_in6 not in live["policy"]["route-map"]
    assert not any(":" in neighbor for neighbor in live["protocols"]["bgp"]["64512"]["neighbor"])
    assert look(site, "lab") == Drift("in sync", "as installed")

    assert site.remove("lab-test") and site.remove("lab")
    assert site.files() == {"config.gateway.json": ORIGINAL}
