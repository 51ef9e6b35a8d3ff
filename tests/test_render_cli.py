"""The `render` command end to end, as a user runs it: files written, secrets, bad input."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from components.render import main
from tests.blog_post import POST_CONFIG_GATEWAY, POST_METALLB_CONFIG
from tests.gateway_filter import LAB_POOL_BLOCKS, with_filter

REPO = Path(__file__).resolve().parents[1]


def render_env() -> dict[str, str]:
    return {"PYTHONPATH": str(REPO), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}


def run_render(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "components.render", *args],
        cwd=cwd,
        env=render_env(),
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
    # The post's file, and the filter of stack "lab" (the stack file's name).
    gateway = json.loads((tmp_path / "config.gateway.json").read_text())
    assert gateway == with_filter(POST_CONFIG_GATEWAY, "lab", LAB_POOL_BLOCKS)
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


# The stacks this repository ships, by name: a user's own Pulumi.<stack>.yaml is not a test case.
# Per stack: the files written, each service's (ip, hostname) in outputs.json, the Services applied.
SHIPPED = {
    "Pulumi.lab.yaml": (
        ["config.gateway.json", "metallb.yaml", "outputs.json", "services.yaml"],
        {"k8s-dashboard": ("10.10.10.10", "k8s-dashboard.service")},
        [("kubernetes-dashboard", "kubernetes-dashboard")],
    ),
    "Pulumi.crds.yaml": (
        ["config.gateway.json", "metallb.yaml", "outputs.json", "services.yaml"],
        {
            "dns": ("10.20.0.200", "dns.lab.home"),
            "dns-tcp": ("10.20.0.200", "dns-tcp.lab.home"),
            "grafana": ("10.20.10.10", "grafana.lab.home"),
            "registry": (None, None),
        },
        [("monitoring", "grafana"), ("registry", "registry"), ("dns", "dns"), ("dns", "dns-tcp")],
    ),
    "Pulumi.lab-test.yaml": (
        ["config.gateway.json", "metallb.yaml", "outputs.json", "services.yaml"],
        {"whoami": ("10.10.11.10", "whoami.test.service")},
        [("test", "whoami")],
    ),
    "Pulumi.udm.yaml": (
        ["bgpd.conf", "dns-records.json", "metallb.yaml", "outputs.json", "services.yaml"],
        {"home-assistant": ("10.99.0.10", "home-assistant.k8s.home"), "jellyfin": (None, None)},
        [("home", "home-assistant"), ("media", "jellyfin")],
    ),
}


@pytest.mark.parametrize("stack", sorted(SHIPPED))
def test_every_shipped_stack_writes_its_files_and_services(
    stack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files, outputs, applied = SHIPPED[stack]

    assert main(["--stack-file", str(REPO / stack), "--out", str(tmp_path)]) == 0

    assert sorted(p.name for p in tmp_path.iterdir()) == files
    assert capsys.readouterr().out.splitlines() == [str(tmp_path / name) for name in files]
    services = json.loads((tmp_path / "outputs.json").read_text())["services"]
    assert {name: (s["ip"], s["hostname"]) for name, s in services.items()} == outputs
    documents = yaml.safe_load_all((tmp_path / "services.yaml").read_text())
    assert [(d["metadata"]["namespace"], d["metadata"]["name"]) for d in documents if d] == applied


def test_out_naming_a_file_exits_3_and_leaves_the_file_alone(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text("a file\n")

    result = run_render("--stack-file", "Pulumi.lab.yaml", "--out", str(out))

    assert result.returncode == 3
    assert result.stderr == f"error: --out {out}: exists and is not a directory; nothing was written\n"
    assert result.stdout == ""
    assert out.read_text() == "a file\n"


def run_render_into_read_only(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The render command with ``out`` read-only: by its mode, or, for root (whom modes do not
    stop), by a read-only bind mount in a mount namespace of its own."""
    command = [sys.executable, "-m", "components.render", *args, "--out", str(out)]
    if os.geteuid() != 0:
        out.chmod(0o555)
        try:
            return subprocess.run(command, cwd=REPO, env=render_env(), capture_output=True, text=True, check=False)
        finally:
            out.chmod(0o755)
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    wrapped = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(out), *command]
    return subprocess.run(wrapped, cwd=REPO, env=render_env(), capture_output=True, text=True, check=False)


def test_a_read_only_out_exits_3_and_keeps_the_previous_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "metallb.yaml").write_text("previous\n")

    result = run_render_into_read_only(out, "--stack-file", "Pulumi.lab.yaml")

    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith(f"error: --out {out}: cannot write there: ")
    assert result.stderr.endswith("; nothing was written\n") and "Traceback" not in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["metallb.yaml"]
    assert (out / "metallb.yaml").read_text() == "previous\n"


def test_a_file_that_cannot_be_written_leaves_no_file_of_the_set_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "metallb.yaml").write_text("previous\n")
    real_mkstemp = tempfile.mkstemp

    def mkstemp(dir: Path, prefix: str) -> tuple[int, str]:
        if prefix.startswith(".services.yaml"):  # the third of four, after two are staged
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_mkstemp(dir=dir, prefix=prefix)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)

    assert main(["--stack-file", str(REPO / "Pulumi.lab.yaml"), "--out", str(out)]) == 3

    assert (
        capsys.readouterr().err
        == f"error: --out {out}: cannot write there: No space left on device; nothing was written\n"
    )
    assert sorted(p.name for p in out.iterdir()) == ["metallb.yaml"]
    assert (out / "metallb.yaml").read_text() == "previous\n"


def test_a_yaml_syntax_error_names_the_stack_file_and_its_line(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.broken.yaml"
    stack.write_text("config:\n  metallb-unifi:nodes: [a\n  metallb-unifi:bgp: {}\n")

    result = run_render("--stack-file", str(stack), "--out", str(tmp_path / "out"))

    assert result.returncode == 2
    assert f'in "{stack}", line 2, column' in result.stderr
    assert "<unicode string>" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_misspelt_namespace_exits_2_with_did_you_mean_instead_of_dropping_the_services(tmp_path: Path) -> None:
    document = yaml.safe_load((REPO / "Pulumi.lab.yaml").read_text())
    document["config"]["metalb-unifi:services"] = document["config"].pop("metallb-unifi:services")
    (tmp_path / "Pulumi.yaml").write_text("name: metallb-unifi\nruntime: python\n")
    stack = tmp_path / "Pulumi.test.yaml"
    stack.write_text(yaml.safe_dump(document))

    result = run_render("--stack-file", str(stack), "--out", str(tmp_path / "out"))

    assert result.returncode == 2
    assert "metalb-unifi:services: namespace 'metalb-unifi'" in result.stderr
    assert "did you mean metallb-unifi:services?" in result.stderr
    assert not (tmp_path / "out").exists()


# --- --with-stack: several stacks on one gateway ----------------------------------------------


def test_with_stack_writes_this_stacks_files_and_the_gateway_file_with_both_installed(tmp_path: Path) -> None:
    result = run_render(
        "--stack-file", "Pulumi.lab.yaml", "--with-stack", "Pulumi.lab-test.yaml", "--out", str(tmp_path / "both")
    )
    assert result.returncode == 0, result.stderr
    alone = run_render("--stack-file", "Pulumi.lab.yaml", "--out", str(tmp_path / "alone"))
    assert alone.returncode == 0, alone.stderr
    both, lab = tmp_path / "both", tmp_path / "alone"
    assert sorted(p.name for p in both.iterdir()) == sorted(p.name for p in lab.iterdir())
    for name in ("metallb.yaml", "services.yaml", "outputs.json"):  # the cluster side: this stack's only
        assert (both / name).read_text() == (lab / name).read_text()
    document = json.loads((both / "config.gateway.json").read_text())
    assert sorted(document["protocols"]["bgp"]["64512"]["neighbor"]) == sorted(
        ["10.10.0.200", "10.10.0.101", "10.10.0.102", "10.10.0.103", "10.10.1.11", "10.10.1.12"]
    )
    assert sorted(document["system"]["static-host-mapping"]["host-name"]) == [
        "k8s-dashboard.service",
        "whoami.test.service",
    ]
    # The same gateway file, rendered from the other stack's side.
    other = run_render(
        "--stack-file", "Pulumi.lab-test.yaml", "--with-stack", "Pulumi.lab.yaml", "--out", str(tmp_path / "other")
    )
    assert other.returncode == 0, other.stderr
    assert (tmp_path / "other" / "config.gateway.json").read_bytes() == (both / "config.gateway.json").read_bytes()


def udm_test_stack(directory: Path, **gateway: object) -> Path:
    """A second UniFi OS cluster beside Pulumi.udm.yaml, in a project directory of its own."""
    directory.mkdir()
    (directory / "Pulumi.yaml").write_text("name: metallb-unifi\nruntime: python\n")
    config = yaml.safe_load((REPO / "Pulumi.udm.yaml").read_text())["config"]
    config["metallb-unifi:nodes"] = [{"name": "t1", "address": "192.168.40.11"}]
    config["metallb-unifi:metallb"]["pools"] = [{"name": "test", "protocol": "bgp", "addresses": ["10.99.1.0/27"]}]
    config["metallb-unifi:gateway"] |= {"dnsDomain": "test.k8s.home", **gateway}
    config["metallb-unifi:bgp"] = {"password": "pw-of-the-test-cluster"}
    config["metallb-unifi:services"] = [
        {"name": "grafana", "namespace": "monitoring", "address": "10.99.1.10", "ports": [{"port": 3000}]}
        | {"selector": {"app": "grafana"}}
    ]
    stack = directory / "Pulumi.udm-test.yaml"
    stack.write_text(yaml.safe_dump({"config": config}))
    return stack


def test_with_stack_on_unifi_os_composes_bgpd_conf_and_the_dns_records(tmp_path: Path) -> None:
    other = udm_test_stack(tmp_path / "test-project")
    result = run_render("--stack-file", "Pulumi.udm.yaml", "--with-stack", str(other), "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "out" / "bgpd.conf").read_text()
    assert text.count("router bgp 65000\n") == 1
    assert "! metallb-unifi stack udm begin\n" in text and "! metallb-unifi stack udm-test begin\n" in text
    assert " neighbor 192.168.40.11 peer-group metallb-udm-test\n" in text
    # The other stack's secret is a placeholder too.
    assert " neighbor metallb-udm-test password <secret: metallb-unifi:bgp.password>\n" in text
    assert "pw-of-the-test-cluster" not in text
    records = json.loads((tmp_path / "out" / "dns-records.json").read_text())
    assert [r["key"] for r in records] == [
        "grafana",
        "grafana.test.k8s.home",
        "ha",
        "home-assistant",
        "home-assistant.k8s.home",
    ]


def test_conflicting_stacks_exit_2_naming_both_files_and_the_keys_and_write_nothing(tmp_path: Path) -> None:
    other = udm_test_stack(tmp_path / "test-project", asn=65001, maximumPaths=2)
    out = tmp_path / "out"
    result = run_render("--stack-file", "Pulumi.udm.yaml", "--with-stack", str(other), "--out", str(out))
    assert result.returncode == 2
    assert not out.exists()
    lines = result.stderr.splitlines()
    assert lines[0] == "these stacks cannot share one gateway (2 conflicts):"
    assert lines[1].startswith(
        "  - metallb-unifi:gateway.asn: stack 'udm' (Pulumi.udm.yaml) has 65000, "
        f"stack 'udm-test' ({other}) has 65001; "
    )
    assert lines[2].startswith(
        "  - metallb-unifi:gateway.maximumPaths: stack 'udm' (Pulumi.udm.yaml) has 3, "
        f"stack 'udm-test' ({other}) has 2; "
    )
    assert lines[-1] == "nothing was written"


def test_an_invalid_with_stack_exits_2_naming_its_file(tmp_path: Path) -> None:
    other = udm_test_stack(tmp_path / "test-project")
    other.write_text(other.read_text().replace("kind: unifi-os", "kind: udm"))
    out = tmp_path / "out"
    result = run_render("--stack-file", "Pulumi.udm.yaml", "--with-stack", str(other), "--out", str(out))
    assert result.returncode == 2
    assert not out.exists()
    assert result.stderr.startswith(
        f"--with-stack {other}: invalid stack config (1 problem):\n  - metallb-unifi:gateway.kind: "
    )


def test_a_stack_file_given_twice_exits_2(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_render("--stack-file", "Pulumi.lab.yaml", "--with-stack", "./Pulumi.lab.yaml", "--out", str(out))
    assert result.returncode == 2
    assert result.stderr == "error: --with-stack Pulumi.lab.yaml: given already (as --stack-file or --with-stack)\n"
    assert not out.exists()
