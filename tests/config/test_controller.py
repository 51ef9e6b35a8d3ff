"""`metallb-unifi:controller`: the controller connection and the SSH upload target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.config import ConfigError, parse_lab
from components.config.model import ControllerFlavor
from components.config.stack_files import read_stack_config

REPO = Path(__file__).resolve().parents[2]
KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def ssh(**overrides: Any) -> dict[str, Any]:
    return {"user": "root", "privateKey": KEY, "hostKey": HOST_KEY, "dataDir": "cloudkey"} | overrides


def controller(**overrides: Any) -> dict[str, Any]:
    return {"url": "https://unifi.lan:8443", "username": "admin", "password": "pw", "ssh": ssh()} | overrides


def lab(stack: str = "lab", **controller_overrides: Any) -> dict[str, Any]:
    raw = read_stack_config(REPO / f"Pulumi.{stack}.yaml")
    raw["controller"] = controller(**controller_overrides)
    return raw


def problems(raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        parse_lab(raw, stack="lab")
    return {p.key.removeprefix("metallb-unifi:"): p.message for p in caught.value.problems}


def test_shipped_stacks_have_no_controller_and_need_no_secret() -> None:
    for stack in ("lab", "crds", "udm"):
        assert parse_lab(read_stack_config(REPO / f"Pulumi.{stack}.yaml"), stack="lab").controller is None


def test_a_cloudkey_controller_with_defaults() -> None:
    access = parse_lab(lab(), stack="lab").controller
    assert access is not None and access.ssh is not None
    assert (access.url, access.site, access.flavor, access.provision_timeout_s) == (
        "https://unifi.lan:8443",
        "default",
        ControllerFlavor.AUTO,
        600,
    )
    assert (access.ssh.host, access.ssh.port, access.ssh.sudo) == ("unifi.lan", 22, False)
    assert (access.ssh.data_dir, access.ssh.owner) == ("/srv/unifi/data", "unifi")
    assert "pw" not in repr(access) and "OPENSSH" not in repr(access)


def test_a_docker_preset_lands_on_the_host_side_of_the_bind_mount() -> None:
    raw = lab(ssh=ssh(user="pi", dataDir="linuxserver", hostDataDir="/srv/unifi-config/", owner="1000:1000"))
    access = parse_lab(raw, stack="lab").controller
    assert access is not None and access.ssh is not None
    assert (access.ssh.data_dir, access.ssh.owner, access.ssh.sudo) == ("/srv/unifi-config/data", "1000:1000", True)
    jacob = parse_lab(lab(ssh=ssh(dataDir="jacobalberty", hostDataDir="/opt/unifi")), stack="lab").controller
    assert (
        jacob is not None
        and jacob.ssh is not None
        and (jacob.ssh.data_dir, jacob.ssh.owner)
        == (
            "/opt/unifi/data",
            "999",
        )
    )


def test_fingerprint_is_normalised_and_insecure_is_warned() -> None:
    fingerprint = ":".join(["AB"] * 32)
    access = parse_lab(lab(fingerprint=fingerprint), stack="lab").controller
    assert access is not None and access.fingerprint == "ab" * 32
    warned = parse_lab(lab(insecure=True), stack="lab")
    assert any("TLS verification is off" in w for w in warned.warnings)


def test_encrypted_secrets_are_accepted_as_unknown() -> None:
    access = parse_lab(lab(password={"secure": "v1:x"}, ssh=ssh(privateKey={"secure": "v1:y"})), stack="lab").controller
    assert access is not None and access.password is not None and access.password.value is None


def test_unifi_os_takes_an_api_key_and_no_ssh() -> None:
    raw = lab("udm", username=None, password=None, apiKey="k3y", ssh=None)
    for name in ("username", "password", "ssh"):
        del raw["controller"][name]
    access = parse_lab(raw, stack="lab").controller
    assert access is not None and access.ssh is None and access.api_key is not None


@pytest.mark.parametrize(
    ("raw", "key", "fragment"),
    [
        (lab(url="unifi.lan"), "controller.url", "is not a controller URL"),
        (lab(url="https://unifi.lan/manage"), "controller.url", "is not a controller URL"),
        (lab(site="my site"), "controller.site", "is not a site short name"),
        (lab(apiKey="k"), "controller.apiKey", "not both"),
        (lab(flavor="classic", apiKey="k", username=None), "controller.apiKey", "UniFi OS consoles only"),
        (lab(caCertificate=CA, fingerprint="ab" * 32), "controller.fingerprint", "choose one way to trust"),
        (lab(caCertificate="/etc/ssl/ca.pem"), "controller.caCertificate", "PEM text"),
        (lab(fingerprint="abc"), "controller.fingerprint", "64 hex digits"),
        (lab(gatewayMac="zz"), "controller.gatewayMac", "is not a MAC address"),
        (lab(provisionTimeout="5s"), "controller.provisionTimeout", "out of range"),
        (lab(ssh=ssh(hostKey="AAAA")), "controller.ssh.hostKey", "ssh-keyscan"),
        (lab(ssh=ssh(privateKey="hunter2")), "controller.ssh.privateKey", "PRIVATE KEY"),
        # Present but empty: refused, not taken as "no SSH" (which would drop the upload silently).
        (lab(ssh=ssh(privateKey="")), "controller.ssh.privateKey", "got an empty string"),
        (lab(ssh=ssh(privateKey=" \n")), "controller.ssh.privateKey", "got an empty string"),
        (lab(ssh=ssh(privateKey=0)), "controller.ssh.privateKey", "must be a string"),
        (lab(ssh=ssh(privateKey=False)), "controller.ssh.privateKey", "must be a string"),
        (lab(ssh=ssh(privateKey=[])), "controller.ssh.privateKey", "must be a string"),
        (lab(ssh=ssh(privateKey={})), "controller.ssh.privateKey", "must be a string"),
        (lab(ssh=ssh(dataDir="unifi")), "controller.ssh.dataDir", "neither a preset"),
        (lab(ssh=ssh(dataDir="/var/lib/unifi")), "controller.ssh.owner", "is required with a custom dataDir"),
        (lab(ssh=ssh(dataDir="linuxserver")), "controller.ssh.hostDataDir", "is required with dataDir linuxserver"),
        (lab(ssh=ssh(hostDataDir="/x")), "controller.ssh.hostDataDir", "only applies to Docker presets"),
        (lab(ssh=ssh(prot=2222)), "controller.ssh.prot", "did you mean 'port'"),
    ],
)
def test_bad_controller_settings_name_their_key(raw: dict[str, Any], key: str, fragment: str) -> None:
    if raw["controller"].get("username") is None:
        raw["controller"].pop("username", None)
        raw["controller"].pop("password", None)
    found = problems(raw)
    assert key in found, found
    assert fragment in found[key]


def test_a_usg_needs_ssh_and_a_unifi_os_gateway_refuses_it() -> None:
    usg = lab()
    del usg["controller"]["ssh"]
    assert "uploaded over SSH" in problems(usg)["controller.ssh"]
    assert "API only" in problems(lab("udm"))["controller.ssh"]


def test_missing_credentials_are_reported() -> None:
    raw = lab()
    del raw["controller"]["password"]
    assert "give username and password, or apiKey" in problems(raw)["controller.password"]


def test_an_ssh_rsa_host_key_is_refused_with_the_way_to_get_another() -> None:
    rsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7ExampleOfAnRsaHostKey0000000000000000000000"
    with pytest.raises(ConfigError) as caught:
        parse_lab(lab(ssh=ssh(hostKey=rsa)), stack="lab")
    (problem,) = [p for p in caught.value.problems if p.key == "metallb-unifi:controller.ssh.hostKey"]
    assert "ssh-rsa" in problem.message and "OpenSSH 8.8" in problem.message
    assert "ssh-keyscan -t ed25519 HOST" in problem.message

    ecdsa = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBExample="
    parsed = parse_lab(lab(ssh=ssh(hostKey=ecdsa)), stack="lab")
    assert parsed.controller is not None and parsed.controller.ssh is not None
    assert parsed.controller.ssh.host_key == ecdsa
