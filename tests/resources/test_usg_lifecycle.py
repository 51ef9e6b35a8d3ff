"""The USG upload's whole lifecycle, for real: the program runs under mocks, and the command
resources it registers are carried out like the Pulumi engine and pulumi-command would
(``tests/command_engine``, which follows their source) against a real ``sshd`` on loopback, a
temp dir standing in for the controller's data directory, and the loopback controller stand-in
that counts provisions. Each test is what one ``pulumi up`` (or destroy) does."""

from __future__ import annotations

import copy
import dataclasses
import json
import shlex
import shutil
import stat
from collections.abc import Callable
from hashlib import sha256

import pytest

from tests.blog_post import POST_CONFIG_GATEWAY
from tests.command_engine import StepFailed
from tests.gateway_filter import LAB_POOL_BLOCKS, with_filter
from tests.program_harness import Registration
from tests.pulumi_values import unwrap
from tests.resources.previous_release import as_previous_release
from tests.resources.usg_lab import (
    BACKUP,
    BGP_PASSWORD,
    ORIGINAL,
    PARTS,
    POSTS_FILE,
    SITE,
    STATE,
    Lab,
    lab,
    second_sshd,
)
from tests.unifi.sshd import SshServer

__all__ = ["lab", "second_sshd"]  # fixtures


def test_a_users_extra_setting_is_refused_until_the_base_file_keeps_it(lab: Callable[..., Lab]) -> None:
    env = lab()
    env.put_original(ORIGINAL)

    with pytest.raises(StepFailed) as refused:
        env.up()
    assert (refused.value.name, refused.value.code) == ("usg-original", 22)
    (line,) = refused.value.stderr.splitlines()
    assert "service.dns.forwarding.options[0]" in line and "metallb-unifi:gateway.baseConfigFile" in line
    assert "nas.lan" not in line  # paths, never values
    assert env.site_files() == {"config.gateway.json": ORIGINAL}  # nothing changed on the controller
    assert env.fake.stats.provisioned_configs == []

    copy = env.tmp_path / "config.gateway.base.json"
    copy.write_bytes(ORIGINAL)
    env.gateway["baseConfigFile"] = str(copy)
    steps, content = env.up()
    assert ("create", "usg-original") in steps and ("create", "usg-install") in steps
    assert env.live.read_bytes() == content and b"host-record=nas.lan" in content
    assert env.site_files()[BACKUP] == ORIGINAL
    assert env.fake.stats.provisioned_configs == [content]


def test_the_posts_own_file_installs_without_a_refusal(lab: Callable[..., Lab]) -> None:
    env = lab()
    env.put_original(POSTS_FILE)

    steps, content = env.up()
    assert ("create", "usg-original") in steps and ("create", "usg-provision") in steps
    assert env.live.read_bytes() == content and env.site_files()[BACKUP] == POSTS_FILE
    assert env.fake.stats.provisioned_configs == [content]
    # Adopted with the filter from the first up: the post's neighbours import through it.
    installed = json.loads(content)
    assert sorted(installed["policy"]["route-map"]) == ["metallb-test-in", "metallb-test-out"]

    env.engine.destroy()
    assert env.site_files() == {"config.gateway.json": POSTS_FILE}


def test_rotations_change_nothing_a_content_change_provisions_once_and_destroy_restores(
    lab: Callable[..., Lab],
) -> None:
    env = lab()
    env.put_original(POSTS_FILE)
    steps, v1 = env.up()
    assert steps == [
        ("create", "usg-reprovision-after-restore"),
        ("create", "usg-original"),
        ("create", "usg-provision"),
        ("create", "usg-install"),
    ]
    assert stat.S_IMODE(env.live.stat().st_mode) == 0o600 and BGP_PASSWORD.encode() in v1
    installed = env.site_files()
    assert installed[f"{PARTS}/test.json"] == v1  # alone, the stack's part is the live file
    assert env.engine.state["usg-install"].stdout.splitlines()[-1] == sha256(v1).hexdigest()  # read back

    # A new SSH key: the commands that use it are updates; the provision finds its part and the
    # live file as they are, and the gateway already provisioned with it.
    env.controller["ssh"]["privateKey"] = env.sshd.clients["ecdsa"].private
    steps, same = env.up()
    assert same == v1
    assert ("update", "usg-install") in steps and ("update", "usg-provision") in steps
    assert "already provisioned with sha256" in env.engine.state["usg-provision"].stdout
    assert env.site_files() == installed and env.fake.provisions == 1

    # A new host key (the controller's ECDSA key): the same.
    env.controller["ssh"]["hostKey"] = env.sshd.host_keys["ecdsa-sha2-nistp256"]
    steps, _ = env.up()
    assert ("update", "usg-install") in steps and ("update", "usg-provision") in steps
    assert env.site_files() == installed and env.fake.provisions == 1

    # A new controller password: the provision's environment is updated (state keeps the new
    # one, for a later destroy), nothing is provisioned.
    env.fake.scenario.password = env.controller["password"] = "rotated-pw-0042"
    steps, _ = env.up()
    assert ("update", "usg-provision") in steps
    assert unwrap(env.engine.state["usg-provision"].inputs["environment"])["UNIFI_PASSWORD"] == "rotated-pw-0042"
    assert unwrap(env.engine.state["usg-reprovision-after-restore"].inputs["environment"])["UNIFI_PASSWORD"] == (
        "rotated-pw-0042"
    )
    assert env.site_files() == installed and env.fake.provisions == 1

    # A content change: one provision.
    steps, v2 = env.up(holdTime="30s")
    assert v2 != v1 and env.live.read_bytes() == v2
    assert ("update", "usg-install") in steps and ("delete", "usg-install") not in steps
    assert env.fake.stats.provisioned_configs == [v1, v2]
    assert env.site_files()[BACKUP] == POSTS_FILE

    # No change: nothing runs.
    steps, _ = env.up(holdTime="30s")
    assert steps == [] and env.fake.provisions == 2

    steps = env.engine.destroy()
    assert steps.index(("delete", "usg-original")) < steps.index(("delete", "usg-reprovision-after-restore"))
    assert steps[-1] == ("delete", "usg-reprovision-after-restore")  # after the restore
    assert env.site_files() == {"config.gateway.json": POSTS_FILE}
    assert env.fake.stats.provisioned_configs[-1] == POSTS_FILE


def test_a_deployed_stack_gets_the_filter_with_one_provision_and_nothing_else(
    lab: Callable[..., Lab], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = lab()
    env.put_original(POSTS_FILE)
    with monkeypatch.context() as previous:
        as_previous_release(previous)
        _, v1 = env.up()
    # What the release before rendered: the post's own file, each neighbour with the BGP password.
    posts = copy.deepcopy(POST_CONFIG_GATEWAY)
    for neighbor in posts["protocols"]["bgp"]["64512"]["neighbor"].values():
        neighbor["password"] = BGP_PASSWORD
    assert json.loads(v1) == posts
    assert env.fake.stats.provisioned_configs == [v1]
    deployed = env.site_files()

    steps, v2 = env.up()
    assert json.loads(v2) == with_filter(json.loads(v1), "test", LAB_POOL_BLOCKS)  # the filter, nothing else
    assert env.fake.stats.provisioned_configs == [v1, v2]  # exactly one provision
    # As any content change: the check of the original (the owned paths grew by the filter's),
    # the provision and the read-back, each an update.
    assert steps == [("update", "usg-original"), ("update", "usg-provision"), ("update", "usg-install")]
    owned = json.loads(env.engine.state["usg-original"].inputs["stdin"])["owned"]
    assert owned[:3] == [
        ["policy", "prefix-list", "metallb-test-pools"],
        ["policy", "route-map", "metallb-test-in"],
        ["policy", "route-map", "metallb-test-out"],
    ]
    files = env.site_files()
    assert set(files) == set(deployed) and files[BACKUP] == POSTS_FILE and files["config.gateway.json"] == v2

    steps, _ = env.up()
    assert steps == [] and env.fake.provisions == 2

    env.engine.destroy()
    assert env.site_files() == {"config.gateway.json": POSTS_FILE}  # the original, byte for byte


def test_a_new_host_gets_the_old_hosts_original_back_first(lab: Callable[..., Lab]) -> None:
    env = lab()
    env.put_original(POSTS_FILE)
    _, v1 = env.up()
    old_dir = env.data_dir

    new_dir = env.tmp_path / "data-new"
    new_dir.mkdir()
    env.use_sshd(env.sshd, new_dir)  # another controller data directory: another host's file
    steps, same = env.up()
    assert same == v1
    assert steps.index(("replaced", "usg-original")) < steps.index(("create", "usg-original"))
    assert steps.index(("create", "usg-original")) < steps.index(("update", "usg-provision"))  # a new site dir
    assert env.site_files(old_dir) == {"config.gateway.json": POSTS_FILE}  # restored, backup and state gone
    assert env.live.read_bytes() == v1
    assert set(env.site_files(new_dir)) == {
        "config.gateway.json",
        STATE,
        f"{PARTS}/test.json",
        f"{PARTS}/test.claims.json",
    }
    assert env.fake.stats.provisioned_configs == [v1, v1]  # one provision, of the new host's file


def test_an_old_host_gone_for_good_is_named_and_skipped_only_when_asked(
    lab: Callable[..., Lab], sshd: SshServer, second_sshd: tuple[SshServer, Callable[[], None]]
) -> None:
    other, stop_other = second_sshd
    env = lab()
    env.use_sshd(other)
    _, v1 = env.up()
    stop_other()  # that controller is gone

    env.use_sshd(sshd, env.tmp_path / "data-new")
    (env.tmp_path / "data-new").mkdir()
    with pytest.raises(StepFailed) as gone:
        env.up()
    assert (gone.value.name, gone.value.operation) == ("usg-original", "delete")
    (line,) = gone.value.stderr.splitlines()
    assert f"METALLB_UNIFI_SKIP_RESTORE_ON={other.host} pulumi up" in line and f"on {other.host}" in line
    assert not env.live.exists()

    steps, _ = env.up(env={"METALLB_UNIFI_SKIP_RESTORE_ON": f"{other.host}:{other.port}"})
    assert ("replaced", "usg-original") in steps
    assert env.live.read_bytes() == v1
    assert env.fake.stats.provisioned_configs == [v1, v1]  # the first host's, then the new one


def test_a_stack_deployed_by_the_release_before_usg_original_keeps_its_file(lab: Callable[..., Lab]) -> None:
    """That release's install restored the original on delete: the install stays registered, so
    an update drops that stored delete instead of running it."""
    env = lab()
    env.put_original(POSTS_FILE)
    registrations, v1 = env.registrations()
    env.engine.up(previous_release(registrations, env))
    assert env.live.read_bytes() == v1 and env.fake.provisions == 1

    steps, same = env.up()
    assert same == v1
    assert not [step for step in steps if step[1] == "usg-install" and step[0] != "update"]
    assert ("create", "usg-original") in steps
    assert env.live.read_bytes() == v1 and env.site_files()[BACKUP] == POSTS_FILE
    assert env.fake.provisions == 1

    env.engine.destroy()
    assert env.site_files() == {"config.gateway.json": POSTS_FILE}


def previous_release(registrations: list[Registration], env: Lab) -> list[Registration]:
    """The USG resources as the release before ``usg-original`` registered them, as far as a
    migration can tell: no ``usg-original``, and an install whose delete takes the file away
    (that release restored the original there)."""
    old: list[Registration] = []
    live = f"{env.controller['ssh']['dataDir']}/sites/{SITE}/config.gateway.json"
    for registration in registrations:
        inputs = dict(registration.inputs)
        inputs.pop("addPreviousOutputInEnv", None)
        if registration.name == "usg-original":
            continue
        if registration.name == "usg-install":
            inputs["delete"] = f"rm -f {shlex.quote(live)}"
        old.append(dataclasses.replace(registration, inputs=inputs))
    return old


def test_a_stack_deployed_by_the_release_before_parts_migrates_without_a_provision(lab: Callable[..., Lab]) -> None:
    """The release before kept one stack's file (state format 1) and staged, uploaded and
    installed it with three remote commands; its next up takes the file over as this stack's
    part, provisions nothing, and drops the stage and the upload (neither has a delete)."""
    env = lab()
    env.put_original(POSTS_FILE)
    _, v1 = env.up()
    provisioned = env.engine.state["usg-provision"].stdout.splitlines()[-1]
    assert provisioned.startswith(f"provisioned: sha256 {sha256(v1).hexdigest()} on ")
    # What that release left: its files, and its resources as the engine stored them.
    site = env.live.parent
    shutil.rmtree(site / PARTS)
    (site / STATE).write_text(
        f"stack=test\ninstalled_sha256={sha256(v1).hexdigest()}\nprevious_sha256=\noriginal=present\n"
        f"original_sha256={sha256(POSTS_FILE).hexdigest()}\n"
    )
    state = env.engine.state
    state["usg-provision"].inputs.pop("stdin")
    state["usg-provision"].stdout = f"installed\n{provisioned}\n"
    install = state["usg-install"]
    for name, kind in (("usg-stage", "command:remote:Command"), ("usg-upload", "command:remote:CopyToRemote")):
        state[name] = dataclasses.replace(
            install, name=name, type=kind, inputs={"connection": install.inputs["connection"]}
        )
    before = env.site_files()

    steps, same = env.up()
    assert same == v1 and env.fake.provisions == 1  # no provision
    assert ("update", "usg-provision") in steps
    assert ("delete", "usg-stage") in steps and ("delete", "usg-upload") in steps
    assert "usg-stage" not in env.engine.state and "usg-upload" not in env.engine.state
    after = env.site_files()
    assert {name: after[name] for name in before if name != STATE} == {n: v for n, v in before.items() if n != STATE}
    assert after[f"{PARTS}/test.json"] == v1 and "format=2\n" in after[STATE].decode()

    steps, _ = env.up()
    assert steps == [] and env.fake.provisions == 1
    env.engine.destroy()
    assert env.site_files() == {"config.gateway.json": POSTS_FILE}


def test_a_gateway_that_does_not_come_back_is_rolled_back_and_the_next_up_retries(lab: Callable[..., Lab]) -> None:
    env = lab()
    env.put_original(POSTS_FILE)
    _, v1 = env.up()
    _, v2 = env.registrations(holdTime="30s")
    env.fake.scenario.bad_config = v2  # provisioning with v2 never finishes

    with pytest.raises(StepFailed) as failure:
        env.up(holdTime="30s")
    assert failure.value.name == "usg-provision"
    assert "restored" in failure.value.stderr
    assert env.live.read_bytes() == POSTS_FILE  # put back, and provisioned again
    assert env.fake.stats.provisioned_configs == [v1, v2, POSTS_FILE]

    env.fake.scenario.bad_config = None  # the gateway is fixed; the same config again
    steps, again = env.up(holdTime="30s")
    assert again == v2
    # The failed update again (it puts the part in again); then the read-back it did not reach.
    assert env.engine.ran == [("update", "usg-provision"), ("update", "usg-install")]
    assert steps == [("update", "usg-provision"), ("update", "usg-install")]
    assert env.live.read_bytes() == v2
    assert env.fake.stats.provisioned_configs[-1] == v2
