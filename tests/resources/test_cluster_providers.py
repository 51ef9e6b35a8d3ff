"""Both Kubernetes providers of a deployment get the kubeconfig the program resolved, as a secret
known in preview and in up: unknown in preview, the provider would plan its own replacement."""

from __future__ import annotations

import json
from pathlib import Path

import pulumi
import pytest
import yaml

from tests.program_harness import REPO, Registration, run_program, stack_config
from tests.pulumi_values import is_secret
from tests.resources.conftest import small_mirror, with_small_manifest

__all__ = ["small_mirror"]


def _kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kube" / "config"
    path.parent.mkdir()
    contexts = [
        {"name": "home", "context": {"cluster": "home", "user": "admin"}},
        {"name": "lab", "context": {"cluster": "lab", "user": "admin"}},
    ]
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "home",
        "clusters": [
            {"name": "home", "cluster": {"server": "https://127.0.0.1:6443"}},
            {"name": "lab", "cluster": {"server": "https://127.0.0.2:6443", "certificate-authority": "ca.crt"}},
        ],
        "contexts": contexts,
        "users": [{"name": "admin", "user": {"token": "t0ken-never-in-clear"}}],
    }
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.mark.parametrize("preview", [True, False], ids=["preview", "up"])
def test_both_providers_get_the_same_resolved_kubeconfig_as_a_known_secret(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str, tmp_path: Path, preview: bool
) -> None:
    path = _kubeconfig(tmp_path)
    config = with_small_manifest(
        stack_config(REPO / "Pulumi.lab.yaml", small_mirror, kubernetes={"kubeconfig": str(path), "context": "lab"})
    )
    run = run_program(monkeypatch, config, preview=preview)

    providers: list[Registration] = run.of_type("pulumi:providers:kubernetes")
    assert sorted(p.name for p in providers) == ["cluster", "services"]
    for provider in providers:
        wrapped = provider.inputs["kubeconfig"]
        assert is_secret(wrapped)
        resolved = json.loads(wrapped["value"])  # known, in preview too
        assert [c["name"] for c in resolved["contexts"]] == ["lab"]
        (cluster,) = resolved["clusters"]
        assert cluster["cluster"]["server"] == "https://127.0.0.2:6443"
        # Relative paths are resolved against the file they came from, as kubectl does.
        assert cluster["cluster"]["certificate-authority"] == str(path.parent / "ca.crt")
        assert provider.inputs["context"] == "lab"
    assert providers[0].inputs["kubeconfig"] == providers[1].inputs["kubeconfig"]


def test_a_kubeconfig_that_cannot_be_read_stops_the_program_naming_the_key(
    monkeypatch: pytest.MonkeyPatch, small_mirror: str, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere" / "config"
    config = with_small_manifest(
        stack_config(REPO / "Pulumi.lab.yaml", small_mirror, kubernetes={"kubeconfig": str(missing)})
    )
    with pytest.raises(pulumi.RunError, match=r"^metallb-unifi:kubernetes: .*nowhere/config") as error:
        run_program(monkeypatch, config, preview=True)
    assert "Traceback" not in str(error.value)
