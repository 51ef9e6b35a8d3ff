"""The cluster-side keys: how the program reaches the cluster, how long it waits, and where
MetalLB's install manifests come from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.config import ConfigError, parse_lab
from components.config.model import KubernetesAccess
from components.config.stack_files import read_stack_config

REPO = Path(__file__).resolve().parents[2]
SHA = "ab" * 32


def lab_raw(**overrides: Any) -> dict[str, Any]:
    raw = read_stack_config(REPO / "Pulumi.crds.yaml")
    raw.update(overrides)
    return raw


def problems(raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        parse_lab(raw, stack="lab")
    return {p.key: p.message for p in caught.value.problems}


def test_without_a_kubernetes_key_the_ambient_kubeconfig_and_default_timeouts_apply() -> None:
    assert parse_lab(lab_raw(), stack="lab").kubernetes == KubernetesAccess(None, None, 600, 300)


def test_kubeconfig_context_and_timeouts_are_read() -> None:
    lab = parse_lab(
        lab_raw(
            kubernetes={"kubeconfig": "~/.kube/lab", "context": "lab", "serviceTimeout": "5m", "webhookTimeout": 90}
        ),
        stack="lab",
    )
    assert lab.kubernetes == KubernetesAccess("~/.kube/lab", "lab", 300, 90)


@pytest.mark.parametrize(
    ("kubernetes", "key", "fragment"),
    [
        ({"serviceTimeout": "5s"}, "kubernetes.serviceTimeout", "5s is out of range: allowed 10s..1h"),
        ({"webhookTimeout": "2h"}, "kubernetes.webhookTimeout", "7200s is out of range"),
        ({"webhookTimeout": "soon"}, "kubernetes.webhookTimeout", "must be a duration"),
        ({"kubeconfg": "x"}, "kubernetes.kubeconfg", "did you mean 'kubeconfig'"),
        ({"context": ""}, "kubernetes.context", "must be a non-empty string"),
        ("lab", "kubernetes", "must be an object"),
    ],
)
def test_bad_kubernetes_settings_name_their_key(kubernetes: Any, key: str, fragment: str) -> None:
    found = problems(lab_raw(kubernetes=kubernetes))
    assert fragment in found[f"metallb-unifi:{key}"]


def test_manifest_mirror_and_checksum_are_read_and_the_checksum_normalised() -> None:
    raw = lab_raw()
    raw["metallb"] = {**raw["metallb"], "manifestMirror": "https://mirror.lan/metallb", "manifestSha256": SHA.upper()}
    metallb = parse_lab(raw, stack="lab").metallb
    assert (metallb.manifest_mirror, metallb.manifest_sha256) == ("https://mirror.lan/metallb", SHA)


@pytest.mark.parametrize("checksum", ["abc", "g" * 64, 12345, SHA + "0"])
def test_a_malformed_manifest_checksum_is_an_error_alongside_other_problems(checksum: Any) -> None:
    raw = lab_raw()
    raw["metallb"] = {**raw["metallb"], "manifestSha256": checksum, "asn": 0}
    found = problems(raw)
    assert "64 hex digits" in found["metallb-unifi:metallb.manifestSha256"]
    assert "out of range" in found["metallb-unifi:metallb.asn"]
