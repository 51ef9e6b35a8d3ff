"""The `render` command end to end, as a user runs it: files written, secrets, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.render import main
from tests.blog_post import POST_CONFIG_GATEWAY, POST_METALLB_CONFIG

REPO = Path(__file__).resolve().parents[1]


def run_render(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "components.render", *args],
        cwd=cwd,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )


def write_stack(tmp_path: Path, config: dict[str, object]) -> Path:
    (tmp_path / "Pulumi.yaml").write_text("name: metallb-unifi\nruntime: python\n")
    stack = tmp_path / "Pulumi.test.yaml"
    stack.write_text(yaml.safe_dump({"config": {f"metallb-unifi:{k}": v for k, v in config.items()}}))
    return stack


def lab_config(**overrides: object) -> dict[str, object]:
    document = yaml.safe_load((REPO / "Pulumi.lab.yaml").read_text())["config"]
    config: dict[str, object] = {key.split(":", 1)[1]: value for key, value in document.items()}
    config.update(overrides)
    return config


def test_lab_stack_renders_the_posts_configmap_and_gateway_file(tmp_path: Path) -> None:
    result = run_render("--stack-file", "Pulumi.lab.yaml", "--out", str(tmp_path))

    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "config.gateway.json",
        "metallb.yaml",
        "outputs.json",
        "services.yaml",
    ]
    assert json.loads((tmp_path / "config.gateway.json").read_text()) == POST_CONFIG_GATEWAY
    (configmap,) = list(yaml.safe_load_all((tmp_path / "metallb.yaml").read_text()))
    assert (configmap["kind"], configmap["metadata"]["namespace"], configmap["metadata"]["name"]) == (
        "ConfigMap",
        "metallb-system",
        "config",
    )
    assert yaml.safe_load(configmap["data"]["config"]) == POST_METALLB_CONFIG
    outputs = json.loads((tmp_path / "outputs.json").read_text())
    assert outputs["services"]["k8s-dashboard"] == {
        "namespace": "kubernetes-dashboard",
        "serviceName": "kubernetes-dashboard",
        "ip": "10.10.10.10",
        "hostname": "k8s-dashboard.service",
        "alias": "k8s-dashboard",
        "aliases": ["k8s-dashboard"],
        "url": "http://k8s-dashboard.service/",
        "address": "pinned",
    }


def test_unifi_os_stack_writes_frr_config_and_dns_records_instead(tmp_path: Path) -> None:
    (tmp_path / "config.gateway.json").write_text("{}")  # left over from a USG render
    result = run_render("--stack-file", "Pulumi.udm.yaml", "--out", str(tmp_path))

    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bgpd.conf",
        "dns-records.json",
        "metallb.yaml",
        "outputs.json",
        "services.yaml",
    ]
    outputs = json.loads((tmp_path / "outputs.json").read_text())
    jellyfin = outputs["services"]["jellyfin"]
    assert (jellyfin["ip"], jellyfin["hostname"], jellyfin["url"]) == (None, None, None)
    assert jellyfin["address"].startswith("not yet known")
    assert "jellyfin" in result.stderr  # the user is told which names are not known yet
    records = json.loads((tmp_path / "dns-records.json").read_text())
    assert {r["key"] for r in records} == {"home-assistant.k8s.home", "home-assistant", "ha"}


def test_invalid_config_exits_2_reports_every_problem_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "config.gateway.json").write_text("previous\n")
    config = lab_config(
        metallb={"version": "v0.12.9", "asn": 0, "pools": [{"name": "bgp", "protocol": "bgp", "addresses": ["x"]}]},
        services=[{"name": "Bad_Name", "adress": "10.10.10.10"}],
    )
    stack = write_stack(tmp_path, config)

    result = run_render("--stack-file", str(stack), "--out", str(out))

    assert result.returncode == 2
    for key in (
        "metallb-unifi:metallb.version",
        "metallb-unifi:metallb.asn",
        "metallb-unifi:metallb.pools[0].addresses[0]",
        "metallb-unifi:services[0].name",
        "metallb-unifi:services[0].adress",
    ):
        assert key in result.stderr
    assert "did you mean 'address'" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["config.gateway.json"]
    assert (out / "config.gateway.json").read_text() == "previous\n"
    assert result.stdout == ""


def test_password_is_a_placeholder_unless_show_secrets(tmp_path: Path) -> None:
    stack = write_stack(tmp_path, lab_config(bgp={"password": "s3cret-Pass"}))

    hidden = run_render("--stack-file", str(stack), "--out", str(tmp_path / "hidden"))
    shown = run_render("--stack-file", str(stack), "--out", str(tmp_path / "shown"), "--show-secrets")

    assert hidden.returncode == shown.returncode == 0, hidden.stderr + shown.stderr
    hidden_text = "".join(p.read_text() for p in sorted((tmp_path / "hidden").iterdir()))
    shown_text = "".join(p.read_text() for p in sorted((tmp_path / "shown").iterdir()))
    assert "s3cret-Pass" not in hidden_text + hidden.stdout + hidden.stderr
    assert "<secret: metallb-unifi:bgp.password>" in hidden_text
    gateway = json.loads((tmp_path / "shown" / "config.gateway.json").read_text())
    neighbors = gateway["protocols"]["bgp"]["64512"]["neighbor"]
    assert {n["password"] for n in neighbors.values()} == {"s3cret-Pass"}
    assert "s3cret-Pass" in shown_text
    assert oct((tmp_path / "shown" / "config.gateway.json").stat().st_mode & 0o777) == "0o600"


def test_encrypted_password_stays_a_placeholder_even_with_show_secrets(tmp_path: Path) -> None:
    stack = write_stack(tmp_path, lab_config(bgp={"password": {"secure": "v1:AAAABBBB"}}))

    result = run_render("--stack-file", str(stack), "--out", str(tmp_path / "out"), "--show-secrets")

    assert result.returncode == 0, result.stderr
    text = (tmp_path / "out" / "config.gateway.json").read_text()
    assert "<encrypted: metallb-unifi:bgp.password>" in text
    assert "v1:AAAABBBB" not in text


def test_project_defaults_from_pulumi_yaml_apply_and_stack_values_replace_them(tmp_path: Path) -> None:
    config = lab_config()
    services = config.pop("services")
    (tmp_path / "Pulumi.yaml").write_text(
        yaml.safe_dump(
            {
                "name": "metallb-unifi",
                "runtime": "python",
                "config": {"metallb-unifi:services": {"default": services}, "nodeSubnet": {"value": "10.10.0.0/23"}},
            }
        )
    )
    stack = tmp_path / "Pulumi.test.yaml"
    stack.write_text(yaml.safe_dump({"config": {f"metallb-unifi:{k}": v for k, v in config.items()}}))

    assert main(["--stack-file", str(stack), "--out", str(tmp_path / "out")]) == 0
    outputs = json.loads((tmp_path / "out" / "outputs.json").read_text())
    assert list(outputs["services"]) == ["k8s-dashboard"]


@pytest.mark.parametrize("stack", sorted(p.name for p in REPO.glob("Pulumi.*.yaml")))
def test_every_shipped_stack_renders(stack: str, tmp_path: Path) -> None:
    assert main(["--stack-file", str(REPO / stack), "--out", str(tmp_path)]) == 0
