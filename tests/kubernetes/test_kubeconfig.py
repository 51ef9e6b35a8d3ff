"""The kubeconfig the provider gets and the gate reads: resolved once, the way client-go does, so
both reach the same cluster as the same user; and what a change of it does to a deployed stack."""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config.model import KubernetesAccess
from components.kubernetes import kubeconfig as kc
from components.kubernetes.kubeconfig import KubeconfigError, provider_kubeconfig, resolve_kubeconfig
from tests.kubernetes.kube_api import fake_api
from tests.kubernetes.test_webhook_gate import POOL_PATH, run_gate
from tests.resources.provider_config import ParseError, diff_config, load_kubeconfig_input

TOKEN = "exec-issued-token-5f1c0a9e77"


def write(path: Path, **config: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", **config}))
    return path


def ctx(name: str, cluster: str, user: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "context": {"cluster": cluster, "user": user, **extra}}


def access(kubeconfig: str | None = None, context: str | None = None) -> KubernetesAccess:
    return KubernetesAccess(kubeconfig, context)


def provider_config(target: kc.ProviderKubeconfig) -> dict[str, Any]:
    return dict(json.loads(target.kubeconfig))


# --- merging and paths, as client-go's loading rules ---------------------------------------------


def two_files(tmp_path: Path, server: str = "https://lab:6443") -> tuple[Path, Path]:
    """a/config holds the lab context and cluster; b/config the user (an exec plugin beside it),
    a decoy "lab" cluster that the first file shadows, and a current-context of its own."""
    first = write(
        tmp_path / "a" / "config",
        contexts=[
            ctx("lab", "lab", "ci", namespace="metallb-system"),
            ctx("home", "home", "ci"),
            ctx("files", "home", "files"),
        ],
        clusters=[
            {"name": "lab", "cluster": {"server": server, "certificate-authority": "pki/ca.crt"}},
            {"name": "home", "cluster": {"server": "https://home:6443"}},
        ],
        **{"current-context": "lab"},
    )
    second = write(
        tmp_path / "b" / "config",
        contexts=[ctx("decoy", "lab", "ci")],
        clusters=[{"name": "lab", "cluster": {"server": "https://decoy:6443"}}],
        users=[
            {
                "name": "ci",
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1",
                        "command": "./bin/token-plugin",
                        "args": ["--cluster", "lab"],
                    }
                },
            },
            {
                "name": "files",
                "user": {"client-certificate": "/etc/ci.crt", "client-key": "keys/ci.key", "tokenFile": "../token"},
            },
        ],
        **{"current-context": "decoy"},
    )
    return first, second


def test_multi_file_kubeconfig_merges_like_client_go_and_resolves_each_entry_against_its_own_file(
    tmp_path: Path,
) -> None:
    first, second = two_files(tmp_path)
    environ = {"KUBECONFIG": os.pathsep.join([str(tmp_path / "missing"), str(first), str(second), str(first)])}
    resolved = resolve_kubeconfig(None, None, environ)
    assert resolved is not None
    # The first current-context wins (the Python client's own merger would take the last: "decoy").
    assert resolved.context == "lab"
    assert resolved.files == (str(first), str(second))
    config = resolved.config
    assert config["current-context"] == "lab"
    assert config["contexts"] == [ctx("lab", "lab", "ci", namespace="metallb-system")]
    cluster = config["clusters"][0]["cluster"]  # the first file's "lab", not the decoy
    assert cluster == {"server": "https://lab:6443", "certificate-authority": str(tmp_path / "a" / "pki" / "ca.crt")}
    user = config["users"][0]["user"]
    assert user["exec"]["command"] == str(tmp_path / "b" / "bin" / "token-plugin")
    assert user["exec"]["args"] == ["--cluster", "lab"]  # client-go resolves the command only
    files = resolve_kubeconfig(None, "files", environ)
    assert files is not None
    assert files.config["users"][0]["user"] == {
        "client-certificate": "/etc/ci.crt",
        "client-key": str(tmp_path / "b" / "keys" / "ci.key"),
        "tokenFile": str(tmp_path / "token"),
    }


def test_a_context_picks_its_own_cluster_and_a_bare_exec_command_stays_a_path_lookup(tmp_path: Path) -> None:
    first, second = two_files(tmp_path)
    raw = yaml.safe_load(second.read_text())
    raw["users"][0]["user"]["exec"]["command"] = "kubelogin"
    second.write_text(yaml.safe_dump(raw))
    resolved = resolve_kubeconfig(None, "home", {"KUBECONFIG": f"{first}{os.pathsep}{second}"})
    assert resolved is not None and resolved.context == "home"
    assert resolved.config["clusters"] == [{"name": "home", "cluster": {"server": "https://home:6443"}}]
    assert resolved.config["users"][0]["user"]["exec"]["command"] == "kubelogin"


def test_an_explicit_file_is_read_alone_and_home_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = two_files(tmp_path)
    with pytest.raises(KubeconfigError, match="names user 'ci'"):  # the user lives in the other file
        resolve_kubeconfig(str(first), None, {"KUBECONFIG": str(second)})
    monkeypatch.setattr(kc, "_home_of_user", lambda: str(tmp_path / "a"))
    assert kc.kubeconfig_files("~/config", {}) == ([str(first)], True)
    home = write(
        tmp_path / "home" / ".kube" / "config",
        contexts=[ctx("k3s", "k3s", "")],
        clusters=[{"name": "k3s", "cluster": {"server": "https://k3s:6443"}}],
        **{"current-context": "k3s"},
    )
    resolved = resolve_kubeconfig(None, None, {"HOME": str(tmp_path / "home")})
    assert resolved is not None and resolved.files == (str(home),) and resolved.config["users"] == []


@pytest.mark.parametrize(
    ("config", "context", "needle"),
    [
        ({"clusters": [{"name": "c", "cluster": {"server": "https://s"}}]}, None, "no current-context"),
        ({"contexts": [ctx("x", "c", "")]}, "other", "'other' is not in"),
        ({"contexts": [ctx("x", "c", "")]}, "x", "names cluster 'c'"),
        ({"contexts": [ctx("x", "c", "u")], "clusters": [{"name": "c", "cluster": {"server": "https://s"}}]}, "x", "u"),
        ({"contexts": [ctx("x", "c", "")], "clusters": [{"name": "c", "cluster": {}}]}, "x", "has no server"),
        ({"contexts": [{"context": {}}]}, "x", "needs a name"),
    ],
)
def test_unusable_kubeconfigs_are_refused_with_the_reason(
    tmp_path: Path, config: dict[str, Any], context: str | None, needle: str
) -> None:
    path = write(tmp_path / "config", **config)
    with pytest.raises(KubeconfigError, match=needle):
        provider_kubeconfig(access(str(path), context), {})


def test_broken_or_missing_files(tmp_path: Path) -> None:
    (tmp_path / "bad").write_text("clusters: [unclosed\n")
    with pytest.raises(KubeconfigError, match="not valid YAML"):
        resolve_kubeconfig(None, None, {"KUBECONFIG": str(tmp_path / "bad")})
    with pytest.raises(KubeconfigError, match="does not exist"):
        resolve_kubeconfig(str(tmp_path / "nope"), None, {})
    (tmp_path / "empty").write_text("")  # client-go: an empty file is an empty config
    assert resolve_kubeconfig(None, None, {"KUBECONFIG": f"{tmp_path / 'empty'}{os.pathsep}{tmp_path / 'x'}"}) is None


# --- what the provider gets --------------------------------------------------------------------


def test_the_provider_gets_one_context_as_deterministic_json_or_client_go_s_own_rules(tmp_path: Path) -> None:
    first, second = two_files(tmp_path)
    environ = {"KUBECONFIG": f"{first}{os.pathsep}{second}"}
    target = provider_kubeconfig(access(context="lab"), environ)
    assert target.context == "lab"
    assert target.kubeconfig == provider_kubeconfig(access(context="lab"), dict(environ)).kubeconfig
    assert target.kubeconfig not in repr(target)
    assert provider_config(target)["clusters"][0]["cluster"]["server"] == "https://lab:6443"
    # No file at all: "" (not None, which the SDK would turn into $KUBECONFIG), the provider's own rules.
    assert provider_kubeconfig(access(context="lab"), {"HOME": str(tmp_path / "nohome")}) == kc.ProviderKubeconfig(
        "", "lab"
    )


def test_edits_outside_the_context_leave_the_provider_input_unchanged(tmp_path: Path) -> None:
    first, second = two_files(tmp_path)
    environ = {"KUBECONFIG": f"{first}{os.pathsep}{second}"}
    before = provider_kubeconfig(access(context="lab"), environ).kubeconfig
    raw = yaml.safe_load(first.read_text())
    raw["current-context"] = "home"  # kubectl config use-context home
    raw["contexts"].append(ctx("staging", "home", "ci"))
    first.write_text(yaml.safe_dump(raw))
    assert provider_kubeconfig(access(context="lab"), environ).kubeconfig == before


# --- the provider's DiffConfig over that input --------------------------------------------------


def single_file(tmp_path: Path, server: str = "https://lab:6443", token: str = "t1") -> Path:
    return write(
        tmp_path / "lab.yaml",
        contexts=[ctx("lab", "lab", "admin")],
        clusters=[{"name": "lab", "cluster": {"server": server, "certificate-authority-data": "Q0E="}}],
        users=[{"name": "admin", "user": {"token": token}}],
        **{"current-context": "lab"},
    )


def test_deployed_stacks_move_to_the_resolved_input_without_a_provider_replacement(tmp_path: Path) -> None:
    path = single_file(tmp_path)
    new = provider_kubeconfig(access(), {"KUBECONFIG": str(path)}).kubeconfig
    # Today the SDK sent $KUBECONFIG (a path), or nothing when it was unset.
    assert diff_config(str(path), new, None, None).replaces == ()
    assert diff_config(str(path), new, None, None).changed == ("kubeconfig",)
    assert diff_config(None, new, None, None).replaces == ()
    configured = provider_kubeconfig(access(str(path), "lab"), {})
    assert diff_config(str(path), configured.kubeconfig, "lab", configured.context).replaces == ()


def test_rotated_credentials_update_the_provider_and_another_cluster_replaces_it(tmp_path: Path) -> None:
    path = single_file(tmp_path)
    old = provider_kubeconfig(access(), {"KUBECONFIG": str(path)}).kubeconfig
    single_file(tmp_path, token="t2")
    rotated = provider_kubeconfig(access(), {"KUBECONFIG": str(path)}).kubeconfig
    assert rotated != old and diff_config(old, rotated, None, None).replaces == ()
    single_file(tmp_path, server="https://other:6443")
    moved = provider_kubeconfig(access(), {"KUBECONFIG": str(path)}).kubeconfig
    assert diff_config(old, moved, None, None).replaces == ("kubeconfig",)  # the one intended replacement


def test_todays_multi_file_value_never_worked_and_fails_the_provider_diff(tmp_path: Path) -> None:
    first, second = two_files(tmp_path)
    listed = f"{first}{os.pathsep}{second}"
    with pytest.raises(ParseError):  # what the provider got until now: it was never reachable
        load_kubeconfig_input(listed)
    new = provider_kubeconfig(access(context="lab"), {"KUBECONFIG": listed}).kubeconfig
    with pytest.raises(ParseError):
        diff_config(listed, new, "lab", "lab")


def test_a_relative_ca_path_read_by_path_differs_until_it_is_made_absolute(tmp_path: Path) -> None:
    first, _ = two_files(tmp_path)
    only_lab = write(
        tmp_path / "a" / "lab",
        contexts=[ctx("lab", "lab", "")],
        clusters=yaml.safe_load(first.read_text())["clusters"][:1],
        **{"current-context": "lab"},
    )
    new = provider_kubeconfig(access(str(only_lab)), {}).kubeconfig
    assert diff_config(str(only_lab), new, None, None).replaces == ("kubeconfig",)
    raw = yaml.safe_load(only_lab.read_text())
    raw["clusters"][0]["cluster"]["certificate-authority"] = str(tmp_path / "a" / "pki" / "ca.crt")
    only_lab.write_text(yaml.safe_dump(raw))  # the remedy the README gives: the provider re-reads the old path
    assert diff_config(str(only_lab), new, None, None).replaces == ()


# --- the gate reads the same cluster as the same user ------------------------------------------


def exec_plugin(directory: Path, token_file: Path) -> Path:
    """A client-go credential plugin: the token comes from a file, so it is in no kubeconfig."""
    plugin = directory / "bin" / "token-plugin"
    plugin.parent.mkdir(parents=True, exist_ok=True)
    plugin.write_text(
        f"#!{sys.executable}\n"
        "import json, os, pathlib, sys\n"
        "info = json.loads(os.environ['KUBERNETES_EXEC_INFO'])\n"
        "assert info['spec']['interactive'] is False and sys.argv[1:] == ['--cluster', 'lab']\n"
        f"token = pathlib.Path({str(token_file)!r}).read_text().strip()\n"
        "print(json.dumps({'apiVersion': info['apiVersion'], 'kind': 'ExecCredential', 'status': {'token': token}}))\n"
    )
    plugin.chmod(plugin.stat().st_mode | stat.S_IXUSR)
    return plugin


def test_provider_input_and_gate_resolve_the_same_server_and_user_through_an_exec_plugin(tmp_path: Path) -> None:
    from kubernetes.client import Configuration
    from kubernetes.config.kube_config import KubeConfigLoader

    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    exec_plugin(tmp_path / "b", token_file)
    with fake_api((500, '{"message":"failed calling webhook"}'), (201, "{}")) as api:
        first, second = two_files(tmp_path, server=api.url)
        environ = {"KUBECONFIG": f"{first}{os.pathsep}{second}"}
        target = provider_kubeconfig(access(context="lab"), environ)
        assert TOKEN not in target.kubeconfig

        # The provider's view: its input, loaded with no file of origin and run from elsewhere.
        seen = Configuration()
        loader = KubeConfigLoader(  # type: ignore[no-untyped-call]
            provider_config(target), active_context=target.context, config_base_path=""
        )
        loader.load_and_set(seen)  # type: ignore[no-untyped-call]
        assert (seen.host, seen.api_key["BearerToken"]) == (api.url, f"Bearer {TOKEN}")

        args = ("--context", "lab", "--interval", "0.05")
        done = run_gate(*args, env=environ)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("webhook ready after 2 attempts")
    assert [(s.method, s.path, s.headers["authorization"]) for s in api.seen] == [
        ("POST", POOL_PATH, f"Bearer {TOKEN}")
    ] * 2
    for text in (done.stdout, done.stderr, " ".join(args)):
        assert TOKEN not in text


def test_the_gate_reports_a_failing_exec_plugin_as_a_kubeconfig_problem(tmp_path: Path) -> None:
    exec_plugin(tmp_path / "b", tmp_path / "no-such-token")
    first, second = two_files(tmp_path, server="http://127.0.0.1:9")
    done = run_gate("--interval", "0.05", env={"KUBECONFIG": f"{first}{os.pathsep}{second}"})
    assert done.returncode == 2, done.stderr
    assert "kubeconfig context 'lab'" in done.stderr and "exec: process returned 1" in done.stderr


def test_the_gate_without_any_kubeconfig_names_where_it_looked(tmp_path: Path) -> None:
    done = run_gate(env={"KUBECONFIG": str(tmp_path / "missing")})
    assert done.returncode == 2
    assert f"no kubeconfig found at {tmp_path / 'missing'}" in done.stderr


def test_key_material_from_the_kubeconfig_lives_in_a_private_directory_removed_afterwards(tmp_path: Path) -> None:
    from components.kubernetes.api_client import kubeconfig_configuration

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    path = write(
        tmp_path / "config",
        contexts=[ctx("lab", "lab", "admin")],
        clusters=[{"name": "lab", "cluster": {"server": "https://lab:6443", "certificate-authority-data": b64(b"CA")}}],
        users=[{"name": "admin", "user": {"client-certificate-data": b64(b"CERT"), "client-key-data": b64(b"KEY")}}],
        **{"current-context": "lab"},
    )
    with kubeconfig_configuration(str(path), None, {}) as configuration:
        files = [
            Path(str(name)) for name in (configuration.ssl_ca_cert, configuration.cert_file, configuration.key_file)
        ]
        assert [f.read_bytes() for f in files] == [b"CA", b"CERT", b"KEY"]
        assert {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o600}
        assert {f.parent for f in files} == {files[0].parent} and stat.S_IMODE(files[0].parent.stat().st_mode) == 0o700
    assert not files[0].parent.exists()
