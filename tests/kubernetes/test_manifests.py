"""MetalLB install manifests: pinned checksums, mirrors, refusal of changed files, and the
objects applied, checked against MetalLB's own release files (shared/reference) served over a
loopback HTTP server."""

from __future__ import annotations

import functools
import hashlib
import json
import re
import shutil
import socket
from collections import Counter
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config.versions import MetalLBVersion, parse_version
from components.kubernetes.manifests import (
    NAMESPACE_LABELS,
    PINNED_SHA256,
    SHA256_CONFIG_KEY,
    ManifestError,
    ManifestSource,
    fetch_manifest,
    install_objects,
    manifest_source,
    release_url,
)
from tests.loopback_http import serving

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "metallb"
REFERENCE_FILES = {
    "v0.12.1": "metallb.yaml",
    "v0.15.3": "metallb-native.yaml",
    "v0.16.1": "metallb-native.yaml",
}
UNPINNED = "v0.15.2"  # served with v0.15.3's bytes: only the user's checksum vouches for it


def version(text: str) -> MetalLBVersion:
    parsed = parse_version(text)
    assert parsed is not None
    return parsed


@pytest.fixture(scope="module")
def reference() -> Path:
    if not all((REFERENCE / v / f).is_file() for v, f in REFERENCE_FILES.items()):
        pytest.skip(f"MetalLB reference manifests not found under {REFERENCE} (shared/reference is absent)")
    return REFERENCE


@pytest.fixture(scope="module")
def mirror_dir(reference: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``<root>/good/<version>/<file>``: the upstream files; ``<root>/tampered/...``: v0.15.3 with one
    byte changed; ``good/v0.15.2``: v0.15.3's bytes under a release the program does not pin."""
    root = tmp_path_factory.mktemp("mirror")
    for release, name in REFERENCE_FILES.items():
        (root / "good" / release).mkdir(parents=True)
        shutil.copyfile(reference / release / name, root / "good" / release / name)
    (root / "good" / UNPINNED).mkdir()
    shutil.copyfile(reference / "v0.15.3" / "metallb-native.yaml", root / "good" / UNPINNED / "metallb-native.yaml")
    data = bytearray((reference / "v0.15.3" / "metallb-native.yaml").read_bytes())
    position = data.index(b"name: controller")
    data[position + 6] = ord("C")  # "controller" → "Controller": one byte
    (root / "tampered" / "v0.15.3").mkdir(parents=True)
    (root / "tampered" / "v0.15.3" / "metallb-native.yaml").write_bytes(bytes(data))
    return root


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server(mirror_dir: Path) -> Iterator[str]:
    """The mirror over HTTP on loopback; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(mirror_dir))
    with serving(handler) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(autouse=True)
def _no_proxy_for_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def fetch_objects(base: str, release: str, *, sha256: str | None = None) -> list[dict[str, Any]]:
    v = version(release)
    source = manifest_source(v, "native", mirror=base, sha256=sha256)
    return install_objects(fetch_manifest(source, timeout=10), v)


def kinds(objects: list[dict[str, Any]]) -> Counter[str]:
    return Counter(o["kind"] for o in objects)


def names(objects: list[dict[str, Any]], kind: str) -> list[str]:
    return [o["metadata"]["name"] for o in objects if o["kind"] == kind]


# --- URLs and pins (no reference data needed) ---------------------------------------------


def test_release_urls() -> None:
    base = "https://raw.githubusercontent.com/metallb/metallb"
    assert release_url(version("v0.12.1"), "native") == f"{base}/v0.12.1/manifests/metallb.yaml"
    assert release_url(version("v0.15.3"), "native") == f"{base}/v0.15.3/config/manifests/metallb-native.yaml"
    assert release_url(version("v0.15.3"), "frr") == f"{base}/v0.15.3/config/manifests/metallb-frr.yaml"
    assert release_url(version("v0.16.1"), "frr-k8s") == f"{base}/v0.16.1/config/manifests/metallb-frr-k8s.yaml"


def test_default_source_is_the_release_url_with_the_pin() -> None:
    source = manifest_source(version("v0.16.1"), "native")
    assert source == ManifestSource(
        url="https://raw.githubusercontent.com/metallb/metallb/v0.16.1/config/manifests/metallb-native.yaml",
        sha256=PINNED_SHA256[("v0.16.1", "metallb-native.yaml")],
    )


def test_mirror_layout() -> None:
    v = version("v0.15.3")
    assert manifest_source(v, "native", mirror="https://m.lab/metallb/").url == (
        "https://m.lab/metallb/v0.15.3/metallb-native.yaml"
    )
    assert manifest_source(v, "native", mirror="/srv/mirror").url == "/srv/mirror/v0.15.3/metallb-native.yaml"
    assert manifest_source(v, "native", mirror="file:///srv/m").url == "file:///srv/m/v0.15.3/metallb-native.yaml"


def test_unpinned_release_names_the_config_key_and_how_to_compute() -> None:
    with pytest.raises(ManifestError) as caught:
        manifest_source(version("v0.14.9"), "native")
    message = str(caught.value)
    assert SHA256_CONFIG_KEY == "metallb-unifi:metallb.manifestSha256"
    assert SHA256_CONFIG_KEY in message
    assert "curl -sL https://raw.githubusercontent.com/metallb/metallb/v0.14.9/config/manifests/" in message
    assert "| sha256sum" in message
    # Pinned native does not pin frr.
    with pytest.raises(ManifestError, match="manifestSha256"):
        manifest_source(version("v0.15.3"), "frr")


def test_user_sha256_overrides_and_is_normalised() -> None:
    digest = "AB" * 32
    source = manifest_source(version("v0.15.3"), "native", sha256=f" {digest} ")
    assert source.sha256 == digest.lower()
    with pytest.raises(ManifestError, match="64 hex digits"):
        manifest_source(version("v0.15.3"), "native", sha256="1234")


def test_frr_k8s_needs_0_14() -> None:
    with pytest.raises(ManifestError, match="frr-k8s"):
        manifest_source(version("v0.13.12"), "frr-k8s", sha256="0" * 64)


def test_pins_match_the_reference_files(reference: Path) -> None:
    for release, name in REFERENCE_FILES.items():
        digest = hashlib.sha256((reference / release / name).read_bytes()).hexdigest()
        assert PINNED_SHA256[(release, name)] == digest


def test_namespace_labels_are_upstreams(reference: Path) -> None:
    for release in ("v0.15.3", "v0.16.1"):
        documents = list(yaml.safe_load_all((reference / release / "metallb-native.yaml").read_bytes()))
        namespaces = [d for d in documents if d and d["kind"] == "Namespace"]
        assert [n["metadata"]["name"] for n in namespaces] == ["metallb-system"]
        assert namespaces[0]["metadata"]["labels"] == NAMESPACE_LABELS


# --- fetched through the loopback mirror --------------------------------------------------


def test_v0_12_1_objects(server: str) -> None:
    objects = fetch_objects(f"{server}/good", "v0.12.1")
    assert kinds(objects) == {
        "ServiceAccount": 2,
        "ClusterRole": 2,
        "Role": 3,
        "ClusterRoleBinding": 2,
        "RoleBinding": 3,
        "DaemonSet": 1,
        "Deployment": 1,
    }
    assert "Namespace" not in kinds(objects) and "PodSecurityPolicy" not in kinds(objects)
    assert names(objects, "Deployment") == ["controller"]
    assert names(objects, "DaemonSet") == ["speaker"]
    assert names(objects, "Role") == ["config-watcher", "pod-lister", "controller"]
    assert {o["metadata"].get("namespace") for o in objects if o["kind"] in ("Deployment", "DaemonSet", "Role")} == {
        "metallb-system"
    }
    # The PSP `use` rules stay in the ClusterRoles (RBAC may name resources the server lacks).
    psp_rules = [
        rule
        for o in objects
        if o["kind"] == "ClusterRole"
        for rule in o["rules"]
        if "podsecuritypolicies" in rule.get("resources", [])
    ]
    assert [r["resourceNames"] for r in psp_rules] == [["controller"], ["speaker"]]
    assert not [o for o in objects if o["apiVersion"].endswith("v1beta1")]


def test_v0_12_1_speaker_also_runs_on_current_control_plane_nodes(server: str) -> None:
    (speaker,) = [o for o in fetch_objects(f"{server}/good", "v0.12.1") if o["kind"] == "DaemonSet"]
    tolerations = speaker["spec"]["template"]["spec"]["tolerations"]
    assert {(t["key"], t["effect"], t["operator"]) for t in tolerations} == {
        ("node-role.kubernetes.io/master", "NoSchedule", "Exists"),
        ("node-role.kubernetes.io/control-plane", "NoSchedule", "Exists"),
    }


@pytest.mark.parametrize("release", ["v0.15.3", "v0.16.1"])
def test_current_releases_are_applied_as_published(reference: Path, release: str) -> None:
    text = (reference / release / "metallb-native.yaml").read_bytes()
    published = [d for d in yaml.safe_load_all(text) if d and d["kind"] != "Namespace"]
    applied = install_objects(text, parse_version(release) or pytest.fail(release))
    assert json.dumps(applied, sort_keys=True, default=str) == json.dumps(published, sort_keys=True, default=str)


@pytest.mark.parametrize("release", ["v0.15.3", "v0.16.1"])
def test_crd_era_objects(server: str, release: str) -> None:
    objects = fetch_objects(f"{server}/good", release)
    assert kinds(objects) == {
        "CustomResourceDefinition": 9,
        "ServiceAccount": 2,
        "Role": 2,
        "ClusterRole": 2,
        "RoleBinding": 2,
        "ClusterRoleBinding": 2,
        "ConfigMap": 1,
        "Secret": 1,
        "Service": 1,
        "Deployment": 1,
        "DaemonSet": 1,
        "ValidatingWebhookConfiguration": 1,
    }
    assert "Namespace" not in kinds(objects)
    assert names(objects, "Deployment") == ["controller"]
    assert names(objects, "DaemonSet") == ["speaker"]
    assert names(objects, "ValidatingWebhookConfiguration") == ["metallb-webhook-configuration"]
    assert names(objects, "Service") == ["metallb-webhook-service"]
    assert {
        "bgppeers.metallb.io",
        "ipaddresspools.metallb.io",
        "bgpadvertisements.metallb.io",
        "l2advertisements.metallb.io",
        "communities.metallb.io",
        "bfdprofiles.metallb.io",
    } <= set(names(objects, "CustomResourceDefinition"))
    # File order: CRDs first, the webhook configuration last.
    assert objects[0]["kind"] == "CustomResourceDefinition"
    assert objects[-1]["kind"] == "ValidatingWebhookConfiguration"
    json.dumps(objects)  # plain JSON values only (no datetimes from YAML timestamps)


def test_tampered_file_is_refused(server: str) -> None:
    source = manifest_source(version("v0.15.3"), "native", mirror=f"{server}/tampered")
    with pytest.raises(ManifestError) as caught:
        fetch_manifest(source, timeout=10)
    message = str(caught.value)
    assert PINNED_SHA256[("v0.15.3", "metallb-native.yaml")] in message
    assert source.url in message
    assert "refusing to apply a changed upstream file" in message


def test_unpinned_release_with_user_sha256_works(server: str, reference: Path) -> None:
    with pytest.raises(ManifestError, match=re.escape(SHA256_CONFIG_KEY)):
        fetch_objects(f"{server}/good", UNPINNED)
    digest = hashlib.sha256((reference / "v0.15.3" / "metallb-native.yaml").read_bytes()).hexdigest()
    objects = fetch_objects(f"{server}/good", UNPINNED, sha256=digest)
    assert names(objects, "Deployment") == ["controller"]
    # A wrong user checksum is refused like a wrong pin.
    with pytest.raises(ManifestError, match="sha256 mismatch"):
        fetch_objects(f"{server}/good", UNPINNED, sha256="0" * 64)


def test_local_directory_and_file_url_mirrors(mirror_dir: Path, server: str) -> None:
    over_http = fetch_objects(f"{server}/good", "v0.16.1")
    assert fetch_objects(str(mirror_dir / "good"), "v0.16.1") == over_http
    assert fetch_objects((mirror_dir / "good").as_uri(), "v0.16.1") == over_http


def test_missing_file_in_mirror(server: str, mirror_dir: Path) -> None:
    with pytest.raises(ManifestError, match="HTTP 404"):
        fetch_objects(f"{server}/tampered", "v0.16.1")
    with pytest.raises(ManifestError, match="cannot read"):
        fetch_objects(str(mirror_dir / "tampered"), "v0.16.1")


def test_connection_refused_is_a_manifest_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    source = manifest_source(version("v0.15.3"), "native", mirror=f"http://127.0.0.1:{port}")
    with pytest.raises(ManifestError, match=r"cannot fetch http://127\.0\.0\.1:.*refused") as caught:
        fetch_manifest(source, timeout=5)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_no_sha256_is_never_fetched() -> None:
    with pytest.raises(ManifestError, match="no sha256"):
        fetch_manifest(ManifestSource(url="http://127.0.0.1:1/x.yaml", sha256=None))


def test_same_bytes_same_objects(reference: Path) -> None:
    for release, name in REFERENCE_FILES.items():
        data = (reference / release / name).read_bytes()
        v = version(release)
        first = install_objects(data, v)
        assert install_objects(data, v) == first
        assert install_objects(data.decode(), v) == first
        assert json.dumps(first, sort_keys=True) == json.dumps(install_objects(data, v), sort_keys=True)


def test_not_kubernetes_objects_are_refused() -> None:
    with pytest.raises(ManifestError, match="not a Kubernetes object"):
        install_objects(b"---\n- a\n- b\n", version("v0.15.3"))
    with pytest.raises(ManifestError, match="not valid YAML"):
        install_objects(b"a: [", version("v0.15.3"))
    assert install_objects(b"---\n---\n", version("v0.15.3")) == []


def test_psp_dropped_for_the_configmap_era_only() -> None:
    text = (
        "apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {name: x}\n---\n"
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: metallb-system}\n"
    )
    assert install_objects(text, version("v0.12.1")) == []
    assert [o["kind"] for o in install_objects(text, version("v0.15.3"))] == ["PodSecurityPolicy"]
