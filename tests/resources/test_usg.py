"""The USG upload under Pulumi mocks: what ``__main__.py`` registers once a controller is
configured: order, update-not-replace, secrets and command lines."""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

import pulumi
import pytest

from components.artifacts.stack_claims import StackClaims
from components.unifi.scripts import verify_script
from tests.blog_post import POST_CONFIG_GATEWAY
from tests.gateway_filter import LAB_POOL_BLOCKS, with_filter
from tests.program_harness import REPO, Registration, Run, resolve, run_program, stack_config
from tests.pulumi_values import is_secret, unwrap, without_secrets
from tests.resources.conftest import with_small_manifest

BGP_PASSWORD = "bgp-pw-4711"
CONTROLLER_PASSWORD = "ctl-pw-0815"
PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nprivate-key-material-1234\n-----END OPENSSH PRIVATE KEY-----\n"
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKeyOfTheControllerForTests0000000000"
CA = "-----BEGIN CERTIFICATE-----\nMIIBcontrollerCA\n-----END CERTIFICATE-----\n"
SECRETS = (BGP_PASSWORD, CONTROLLER_PASSWORD, "private-key-material-1234")
COMPONENT = "metallb-unifi:gateway:UsgGatewayConfig"
ORDER = [
    "usg-reprovision-after-restore",
    "usg-original",
    "usg-provision",
    "usg-install",
]


def controller(**changes: Any) -> dict[str, Any]:
    ssh = {"user": "admin", "privateKey": PRIVATE_KEY, "hostKey": HOST_KEY, "dataDir": "cloudkey"}
    return {
        "url": "https://unifi.lan:8443",
        "username": "pulumi",
        "password": CONTROLLER_PASSWORD,
        "caCertificate": CA,
        "ssh": ssh,
        **changes,
    }


def lab_config(small_mirror: str, **overrides: Any) -> dict[str, str]:
    settings: dict[str, Any] = {"bgp": {"password": BGP_PASSWORD}, "controller": controller()}
    return with_small_manifest(stack_config(REPO / "Pulumi.lab.yaml", small_mirror, **(settings | overrides)))


def post_gateway_file_with_password(password: str) -> dict[str, Any]:
    """The blog post's config.gateway.json with the filter of the stack the mocks run ("test"),
    every neighbour with ``password``."""
    document = with_filter(POST_CONFIG_GATEWAY, "test", LAB_POOL_BLOCKS)
    for neighbor in document["protocols"]["bgp"]["64512"]["neighbor"].values():
        neighbor["password"] = password
    return document


def upload_resources(run: Run) -> dict[str, Registration]:
    (component,) = run.of_type(COMPONENT)
    return {r.name: r for r in run.registrations if r.parent == component.urn}


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "up"])
def test_upload_steps_run_in_order_under_one_component(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str, preview: bool
) -> None:
    run = run_program(monkeypatch, lab_config(small_mirror), preview=preview)

    resources = upload_resources(run)
    assert list(resources) == ORDER
    for before, after in itertools.pairwise(ORDER):
        assert resources[after].dependencies == [resources[before].urn], after
    types = [resources[name].type for name in ORDER]
    assert types == [
        "command:local:Command",
        "command:local:Command",
        "command:local:Command",
        "command:remote:Command",
    ]


def test_the_read_back_shows_the_redacted_part_and_the_provision_carries_the_claims(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str
) -> None:
    run = run_program(monkeypatch, lab_config(small_mirror), preview=False)
    resources = upload_resources(run)
    install = resources["usg-install"].inputs
    content, _, content_secret = resolve(run.exports["configGatewayJson"])
    sha = hashlib.sha256(content.encode()).hexdigest()

    # No triggers and no delete: always an update (a stored delete of an older release is dropped).
    assert "triggers" not in install and "delete" not in install
    assert not resources["usg-install"].delete_before_replace
    assert install["create"] == install["update"] == "sudo -n sh -s"
    assert install["addPreviousOutputInEnv"] is False  # no SSH Setenv warning on every run
    # The stdin is plain text: the diff shows the stack's part line by line, the password redacted.
    stdin = install["stdin"]
    assert isinstance(stdin, str)
    delimiter = "METALLB_UNIFI_DESIRED_CONFIG_GATEWAY_JSON"
    shown = stdin.split(f"<<'{delimiter}'\n", 1)[1].split(f"\n{delimiter}\n", 1)[0]
    assert json.loads(shown) == post_gateway_file_with_password("<secret: metallb-unifi:bgp.password>")
    assert len(shown.splitlines()) > 20  # pretty-printed: one line per key
    assert json.loads(content) == post_gateway_file_with_password(BGP_PASSWORD)
    assert stdin.endswith(verify_script(site_dir="/srv/unifi/data/sites/default"))  # reads the live sha256 back
    assert content_secret and BGP_PASSWORD in content

    provision = resources["usg-provision"].inputs
    assert provision["create"] == provision["update"]
    assert f"--expect-sha256 {sha}" in provision["create"]
    assert unwrap(provision["environment"])["UNIFI_CONFIG_GATEWAY_JSON"] == content
    # The claims, in the clear (nothing secret in them): what the controller checks other stacks against.
    claims = json.loads(provision["stdin"])["claims"]
    assert StackClaims.from_json(claims).stack == "test"
    assert claims["nodes"][0] == {"address": "10.10.0.200", "name": "master"}
    assert claims["hostNames"] == {
        "k8s-dashboard": "metallb-unifi:services[0].name (its alias)",
        "k8s-dashboard.service": "metallb-unifi:services[0].name (its host name)",
    }
    assert BGP_PASSWORD not in provision["stdin"]

    original = resources["usg-original"]
    assert original.inputs["create"] == original.inputs["update"]
    assert original.inputs["create"].startswith(
        "venv/bin/python -m components.unifi check-original --ssh-host unifi.lan "
    )
    assert original.inputs["delete"].startswith("venv/bin/python -m components.unifi restore --ssh-host unifi.lan ")
    assert original.inputs["triggers"] == ["unifi.lan", "22", "/srv/unifi/data/sites/default"]
    assert original.delete_before_replace  # a new host: the old host's original back first
    assert "triggers[*]" in original.replace_on_changes
    # The post's lab owns its filter, its BGP instance and the dashboard's host name, nothing else.
    assert json.loads(original.inputs["stdin"])["owned"] == [
        ["policy", "prefix-list", "metallb-test-pools"],
        ["policy", "route-map", "metallb-test-in"],
        ["policy", "route-map", "metallb-test-out"],
        ["protocols", "bgp", "64512"],
        ["system", "static-host-mapping", "host-name", "k8s-dashboard.service"],
    ]


def test_a_content_change_updates_the_read_back_and_the_provision_only(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str
) -> None:
    first = upload_resources(run_program(monkeypatch, lab_config(small_mirror), preview=False))
    again = upload_resources(run_program(monkeypatch, lab_config(small_mirror), preview=False))
    changed_bgp = {"password": BGP_PASSWORD, "holdTime": "30s"}
    second = upload_resources(run_program(monkeypatch, lab_config(small_mirror, bgp=changed_bgp), preview=False))

    assert unwrap({n: r.inputs for n, r in first.items()}) == unwrap({n: r.inputs for n, r in again.items()})

    def changed(name: str) -> set[str]:
        a, b = unwrap(first[name].inputs), unwrap(second[name].inputs)
        return {key for key in a.keys() | b.keys() if a.get(key) != b.get(key)}

    assert changed("usg-install") == {"stdin"}  # an update: create/update as before
    assert changed("usg-provision") == {"create", "update", "environment"}  # the claims are the same
    assert changed("usg-reprovision-after-restore") == set()
    assert changed("usg-original") == {"environment"}  # checked again against the new content
    assert "holdtime" in second["usg-install"].inputs["stdin"]


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "up"])
def test_no_secret_in_clear_in_any_input_output_or_command_line(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str, preview: bool
) -> None:
    run = run_program(monkeypatch, lab_config(small_mirror), preview=preview)

    for registration in run.registrations:
        clear = json.dumps(without_secrets(registration.inputs), default=str)
        for secret in SECRETS:
            assert secret not in clear, (registration.name, secret)
        for key in ("create", "update", "delete"):
            if key in registration.inputs:
                line = registration.inputs[key]
                assert isinstance(line, str), (registration.name, key)  # never hidden, never secret
                # No path of this machine: the client is addressed relative to the project.
                assert str(REPO) not in line and "/tmp" not in line and "/root" not in line
    for exported, value in run.exports.items():
        plain, _, marked_secret = resolve(value)
        if not marked_secret:
            for leaked in SECRETS:
                assert leaked not in json.dumps(plain, default=str), exported
    uploads = upload_resources(run)
    for name in ("usg-original", "usg-provision"):
        environment = uploads[name].inputs["environment"]
        assert is_secret(environment) or is_secret(environment["UNIFI_SSH_PRIVATE_KEY"])
        assert unwrap(environment)["UNIFI_SSH_PRIVATE_KEY"] == PRIVATE_KEY
    for name in ("usg-provision", "usg-reprovision-after-restore"):
        environment = uploads[name].inputs["environment"]
        assert is_secret(environment)
        assert unwrap(environment)["UNIFI_PASSWORD"] == CONTROLLER_PASSWORD
        assert unwrap(environment)["UNIFI_CA_CERT"].strip() == CA.strip()  # the certificate itself, not a path
        assert "--ca-file" not in uploads[name].inputs["delete" if "reprovision" in name else "create"]


def test_connection_checks_the_configured_host_key(monkeypatch: pytest.MonkeyPatch, small_mirror: str) -> None:
    run = run_program(monkeypatch, lab_config(small_mirror), preview=False)

    for name, registration in upload_resources(run).items():
        if registration.type.startswith("command:remote:"):
            connection = unwrap(registration.inputs["connection"])
            assert connection["hostKey"] == HOST_KEY, name
            assert (connection["host"], connection["port"], connection["user"]) == ("unifi.lan", 22.0, "admin")
            assert unwrap(connection["privateKey"]) == PRIVATE_KEY


def test_provision_command_carries_trust_and_ssh_options(monkeypatch: pytest.MonkeyPatch, small_mirror: str) -> None:
    fingerprint = "ab" * 32
    config = lab_config(
        small_mirror, controller={k: v for k, v in controller(fingerprint=fingerprint).items() if k != "caCertificate"}
    )
    resources = upload_resources(run_program(monkeypatch, config, preview=False))

    create = resources["usg-provision"].inputs["create"]
    assert create.startswith("venv/bin/python -m components.unifi provision --url https://unifi.lan:8443 ")
    for option in (
        f"--fingerprint {fingerprint}",
        "--site default",
        "--timeout 600",
        "--ssh-host unifi.lan",
        "--ssh-user admin",
        f"--ssh-host-key '{HOST_KEY}'",
        "--sudo",
        "--site-dir /srv/unifi/data/sites/default",
        "--owner unifi",
        "--stack test",
    ):
        assert option in create
    reprovision = resources["usg-reprovision-after-restore"].inputs
    assert reprovision["create"].startswith("echo ") and "update" not in reprovision  # provisions nothing
    assert reprovision["delete"].startswith("venv/bin/python -m components.unifi provision ")
    assert "--ssh-host" not in reprovision["delete"]


def test_a_stack_without_controller_uploads_nothing(monkeypatch: pytest.MonkeyPatch, small_mirror: str) -> None:
    config = with_small_manifest(stack_config(REPO / "Pulumi.lab.yaml", small_mirror))
    run = run_program(monkeypatch, config, preview=False)
    assert run.of_type(COMPONENT) == []
    assert not [r for r in run.registrations if r.type.startswith("command:remote:")]
    assert "configGatewayJsonUpload" not in run.exports


def test_an_invalid_controller_config_registers_nothing(monkeypatch: pytest.MonkeyPatch, small_mirror: str) -> None:
    bad = controller(ssh={"user": "admin", "privateKey": PRIVATE_KEY, "hostKey": "nope", "dataDir": "cloudkey"})
    with pytest.raises(pulumi.RunError, match=r"metallb-unifi:controller\.ssh\.hostKey"):
        run_program(monkeypatch, lab_config(small_mirror, controller=bad), preview=True)


def test_the_provision_command_line_is_the_previous_releases(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str
) -> None:
    """A deployed stack's provision must not change on upgrade: any change of its command line is
    an update, and the previous release's stdout has no record of what it provisioned."""
    fingerprint = "ab" * 32
    config = lab_config(
        small_mirror, controller={k: v for k, v in controller(fingerprint=fingerprint).items() if k != "caCertificate"}
    )
    create = upload_resources(run_program(monkeypatch, config, preview=False))["usg-provision"].inputs["create"]
    ssh_part = create[create.index(" --ssh-host ") :]
    assert ssh_part.rsplit(" --expect-sha256 ", 1)[0] == (
        f" --ssh-host unifi.lan --ssh-port 22 --ssh-user admin --ssh-host-key '{HOST_KEY}' --sudo"
        " --site-dir /srv/unifi/data/sites/default --owner unifi --stack test"
    )
