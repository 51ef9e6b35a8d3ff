"""Two stacks (two clusters, two Pulumi stacks) share one USG's config.gateway.json, for real: each
program under mocks, its command resources carried out by tests/command_engine against one real
``sshd`` on loopback, one controller data directory and one controller stand-in that counts
provisions. After every ``up`` and ``destroy``: the live file holds exactly the expected parts,
the other stack's part is untouched, and the expected number of provisions happened."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from components.artifacts.usg_gateway import merge_base
from tests.program_harness import REPO
from tests.resources.usg_lab import BACKUP, PARTS, POSTS_FILE, SITE, STATE, Lab, lab
from tests.unifi.conftest import Certs, CliResult, run_cli
from tests.unifi.sshd import SshServer

__all__ = ["lab"]  # fixture

GRAFANA = {
    "name": "grafana",
    "namespace": "monitoring",
    "address": "10.10.10.20",
    "ports": [{"port": 3000}],
    "selector": {"app": "grafana"},
}


def composed(*contents: bytes) -> Any:
    document: dict[str, Any] = {}
    for content in contents:
        document = merge_base(document, json.loads(content))
    return document


def beside(first: Lab, tmp_path: Path, sshd: SshServer) -> Lab:
    """The test cluster's stack, on the same controller (data directory, sshd, stand-in)."""
    own = tmp_path / "lab-test"
    own.mkdir()
    other = Lab(
        first.monkeypatch,
        first.small_mirror,
        own,
        first.fake,
        first.controller["fingerprint"],
        sshd,
        stack_file=REPO / "Pulumi.lab-test.yaml",
        stack="lab-test",
    )
    other.use_sshd(sshd, first.data_dir)
    other.controller["provisionTimeout"] = first.controller["provisionTimeout"]
    return other


@pytest.fixture
def two(lab: Callable[..., Lab], tmp_path: Path, sshd: SshServer) -> tuple[Lab, Lab]:
    a = lab()
    a.put_original(POSTS_FILE)  # the post's own file: the lab adopts it, the test cluster joins
    return a, beside(a, tmp_path, sshd)


def parts(env: Lab) -> dict[str, bytes]:
    return {name: data for name, data in env.site_files().items() if name.startswith(f"{PARTS}/")}


def test_two_stacks_through_their_lifecycle_each_changing_only_its_part(two: tuple[Lab, Lab]) -> None:
    a, b = two
    fake = a.fake

    # A up: alone, its part is the live file; one provision.
    _, a1 = a.up()
    assert a.live.read_bytes() == a1 and fake.stats.provisioned_configs == [a1]
    assert set(parts(a)) == {f"{PARTS}/test.json", f"{PARTS}/test.claims.json"}

    # B up: the live file holds both parts; A's part byte for byte as it was; one more provision.
    a_part = parts(a)
    _, b1 = b.up()
    live = a.live.read_bytes()
    assert json.loads(live) == composed(a1, b1)
    assert fake.stats.provisioned_configs == [a1, live]
    assert {n: d for n, d in parts(a).items() if n.startswith(f"{PARTS}/test.")} == a_part
    assert parts(a)[f"{PARTS}/lab-test.json"] == b1
    assert "10.10.1.11" in json.loads(live)["protocols"]["bgp"]["64512"]["neighbor"]
    assert a.site_files()[BACKUP] == POSTS_FILE  # the user's original, kept once
    # Each stack's next up with no change runs nothing.
    assert a.up()[0] == [] and b.up()[0] == [] and fake.provisions == 2

    # A up with a new service: only A's part changes; B's stays; one provision.
    b_part = {n: d for n, d in parts(a).items() if n.startswith(f"{PARTS}/lab-test.")}
    a.overrides["services"] = [*json.loads(a.config()["metallb-unifi:services"]), GRAFANA]
    _, a2 = a.up()
    live = a.live.read_bytes()
    assert a2 != a1 and "grafana.service" in json.loads(live)["system"]["static-host-mapping"]["host-name"]
    assert json.loads(live) == composed(a2, b1)
    assert {n: d for n, d in parts(a).items() if n.startswith(f"{PARTS}/lab-test.")} == b_part
    assert fake.provisions == 3 and fake.stats.provisioned_configs[-1] == live

    # A destroy: B's part alone is the live file, byte for byte; provisioned once (after the removal).
    a.engine.destroy()
    assert a.live.read_bytes() == b1
    assert set(parts(a)) == {f"{PARTS}/lab-test.json", f"{PARTS}/lab-test.claims.json"}
    assert fake.provisions == 4 and fake.stats.provisioned_configs[-1] == b1
    assert "stack=lab-test\n" in a.site_files()[STATE].decode()

    # B destroy: the user's original is back, and nothing of the program's is left.
    b.engine.destroy()
    assert a.site_files() == {"config.gateway.json": POSTS_FILE}
    assert fake.provisions == 5 and fake.stats.provisioned_configs[-1] == POSTS_FILE


def test_two_ups_at_the_same_time_keep_both_parts(two: tuple[Lab, Lab]) -> None:
    a, b = two
    # No file of the user's: the post's would be refused to the test cluster until the lab's part,
    # which keeps its host name, is on the controller (the order of two parallel ups is not known).
    a.live.unlink()
    a_regs, a1 = a.registrations()
    b_regs, b1 = b.registrations()
    failures: list[BaseException] = []

    def up(env: Lab, registrations: list[Any]) -> None:
        try:
            env.engine.up(registrations)
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=up, args=args) for args in ((a, a_regs), (b, b_regs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    live = a.live.read_bytes()
    assert json.loads(live) == composed(a1, b1)
    assert parts(a)[f"{PARTS}/test.json"] == a1 and parts(a)[f"{PARTS}/lab-test.json"] == b1
    assert a.fake.stats.provisioned_configs[-1] == live  # the last provision was of the file with both parts
    assert a.fake.provisions == 2

    a.engine.destroy()
    b.engine.destroy()
    assert a.site_files() == {}


def test_a_stack_that_conflicts_with_the_other_is_refused_before_anything_is_written(two: tuple[Lab, Lab]) -> None:
    from tests.command_engine import StepFailed

    a, b = two
    a.up()
    before = a.site_files()
    b.overrides["services"] = [{**GRAFANA, "name": "k8s-dashboard", "address": "10.10.11.20"}]
    with pytest.raises(StepFailed) as refused:
        b.up()
    assert (refused.value.name, refused.value.code) == ("usg-provision", 24)
    (line,) = refused.value.stderr.splitlines()
    assert "the name 'k8s-dashboard'" in line and "stack 'test'" in line and "stack 'lab-test'" in line
    assert a.site_files() == before and a.fake.provisions == 1


def test_a_gone_stacks_part_is_taken_out_with_one_command(two: tuple[Lab, Lab], certs: Certs) -> None:
    a, b = two
    _, a1 = a.up()
    b.up()
    assert a.fake.provisions == 2
    ssh = b.controller["ssh"]
    site_dir = f"{ssh['dataDir']}/sites/{SITE}"

    def remove_part() -> CliResult:
        return run_cli(
            "remove-part",
            a.fake.url,
            *("--fingerprint", certs.server.fingerprint),
            *("--ssh-host", ssh["host"], "--ssh-port", str(ssh["port"]), "--ssh-user", ssh["user"]),
            *("--ssh-host-key", ssh["hostKey"], "--site-dir", site_dir, "--stack", "lab-test"),
            env={"UNIFI_SSH_PRIVATE_KEY": ssh["privateKey"]},
            scenario=a.fake.scenario,
        )

    # The test cluster's Pulumi stack is gone (`pulumi stack rm --force`): its part stays until this.
    result = remove_part()
    assert result.returncode == 0, result.stderr
    assert "took stack 'lab-test''s part out of config.gateway.json" in result.stdout
    assert a.live.read_bytes() == a1 and set(parts(a)) == {f"{PARTS}/test.json", f"{PARTS}/test.claims.json"}
    assert a.fake.provisions == 3 and a.fake.stats.provisioned_configs[-1] == a1

    again = remove_part()
    assert again.returncode == 0 and "nothing of stack 'lab-test'" in again.stdout
    assert a.fake.provisions == 3  # nothing changed, nothing provisioned
