"""MetalLB's install manifests for a configured release: where they come from, their pinned
checksum, and the objects this program applies from them.

The manifests are fetched from MetalLB's release URL (as the blog post's ``kubectl apply -f``
did) or from a mirror for air-gapped labs, and checked against a sha256 pinned per release. A
file whose checksum differs is refused, never applied: an upstream tag that was moved, a
mirror holding another file or a proxy that rewrote it all end here.

Mirror layout (``metallb.manifestMirror``): a base URL (``https://mirror.lab/metallb``), a
``file://`` URL or a local directory holding the upstream file under its own name, one folder
per release::

    <mirror>/v0.15.3/metallb-native.yaml
    <mirror>/v0.12.1/metallb.yaml

Pure apart from :func:`fetch_manifest` (stdlib ``urllib`` / file reads); no Pulumi import.
"""

from __future__ import annotations

import hashlib
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from components.config.model import MetalLB
from components.config.versions import MetalLBVersion, supported_versions

RELEASE_BASE = "https://raw.githubusercontent.com/metallb/metallb"
SHA256_CONFIG_KEY = "metallb-unifi:metallb.manifestSha256"
MIRROR_CONFIG_KEY = "metallb-unifi:metallb.manifestMirror"

# The ConfigMap era (≤ v0.12) shipped ``manifests/namespace.yaml`` + ``manifests/metallb.yaml``
# (FRR mode, experimental: ``manifests/metallb-frr.yaml``). namespace.yaml is not fetched: the
# program declares the Namespace itself.
_LEGACY_FILES = {"native": "metallb.yaml", "frr": "metallb-frr.yaml"}
# The CRD era (≥ v0.13): ``config/manifests/<file>``, one file per speaker mode.
_CRD_FILES = {"native": "metallb-native.yaml", "frr": "metallb-frr.yaml", "frr-k8s": "metallb-frr-k8s.yaml"}

# sha256 of the raw upstream file, keyed by (release, file name). Each value was computed with
# ``sha256sum`` from the upstream file itself (metallb/metallb at that tag, the path in
# manifest_url), never from a rendered or re-serialised copy. Add a release here only after
# checking its file the same way; for any other release the user supplies the checksum.
PINNED_SHA256: dict[tuple[str, str], str] = {
    ("v0.12.1", "metallb.yaml"): "53b1eec9ce0084df78531b35b212dbb6639cb8182dde351198c0fa50ac39fbd8",
    ("v0.15.3", "metallb-native.yaml"): "84b4e102f2b65f5d69085f5816c29362b74641873d8ac3de996e5f86a8219176",
    ("v0.16.1", "metallb-native.yaml"): "bf25feebb7582ca7df845efd52ffbc2960d6cbf4cfc972f47fded9f788b67f0b",
}

# Pod Security Admission labels of MetalLB's namespace, exactly as the Namespace object of
# upstream's metallb-native.yaml sets them (v0.15.3, v0.16.1): the speaker runs with the host
# network and NET_RAW, which "baseline" and "restricted" refuse.
NAMESPACE_LABELS: dict[str, str] = {
    "pod-security.kubernetes.io/audit": "privileged",
    "pod-security.kubernetes.io/enforce": "privileged",
    "pod-security.kubernetes.io/warn": "privileged",
}

# The ConfigGroup's name and resourcePrefix. The provider names each child
# ``<prefix>:<namespace>/<name>`` (cluster-scoped: ``<prefix>:<name>``;
# pulumi/pulumi-kubernetes@v4.32.0:provider/pkg/provider/yaml/v2/yaml.go, register): a prefix that
# does not change with the release keeps every child's URN across upgrades.
INSTALL_PREFIX = "metallb"

# Deleting a CRD deletes every object of its kind, also ones other tools made: destroy leaves them.
RETAINED_INSTALL_KINDS = frozenset({"CustomResourceDefinition"})


def former_install_prefixes() -> list[str]:
    """The ConfigGroup names of earlier program releases, ``metallb-<version>``, for every
    release this program accepts (the ones it has ever accepted: none was dropped so far)."""
    return [f"metallb-{version}" for version in supported_versions()]


def former_child_names(child_name: str) -> list[str]:
    """What an install object's resource was named under each former prefix (none for a name
    that does not carry :data:`INSTALL_PREFIX`)."""
    head, separator, rest = child_name.partition(":")
    if head != INSTALL_PREFIX or not separator:
        return []
    return [f"{prefix}:{rest}" for prefix in former_install_prefixes()]


_MAX_BYTES = 32 * 1024 * 1024  # the largest upstream file (metallb-frr-k8s.yaml) is far smaller
_SHA256 = re.compile(r"[0-9a-f]{64}")


class ManifestError(Exception):
    """The install manifests cannot be had, or are not the pinned ones. The message says why
    and what to do; it is meant for the user as is."""


@dataclass(frozen=True)
class ManifestSource:
    """Where a release's install manifest is read from and the sha256 its bytes must have.

    ``url`` is MetalLB's release URL unless a mirror was configured; then it is the file in the
    mirror (an http(s) or ``file://`` URL, or a local path)."""

    url: str
    sha256: str | None


def manifest_file(version: MetalLBVersion, mode_value: str) -> str:
    """The upstream file name that installs ``version`` in speaker mode ``mode_value``."""
    files = _LEGACY_FILES if version.uses_configmap else _CRD_FILES
    if mode_value == "frr-k8s" and not version.supports_frr_k8s:
        raise ManifestError(f"MetalLB {version} has no frr-k8s install manifest (frr-k8s needs v0.14.0 or later)")
    if mode_value not in files:
        raise ManifestError(
            f"MetalLB {version} has no install manifest for speaker mode {mode_value!r}; known: {', '.join(files)}"
        )
    return files[mode_value]


def release_url(version: MetalLBVersion, mode_value: str) -> str:
    """MetalLB's own URL of the install manifest (raw.githubusercontent.com at the release tag)."""
    folder = "manifests" if version.uses_configmap else "config/manifests"
    return f"{RELEASE_BASE}/{version}/{folder}/{manifest_file(version, mode_value)}"


def _mirror_location(mirror: str, version: MetalLBVersion, file_name: str) -> str:
    base = mirror.strip()
    if not base:
        raise ManifestError(f"{MIRROR_CONFIG_KEY} is empty; set a base URL or a directory, or remove the key")
    return f"{base.rstrip('/')}/{version}/{file_name}"


def _normalise_sha256(value: str) -> str:
    text = value.strip().lower()
    if not _SHA256.fullmatch(text):
        raise ManifestError(
            f"{SHA256_CONFIG_KEY} must be a sha256 checksum of 64 hex digits (as sha256sum prints it), got {value!r}"
        )
    return text


def manifest_source(
    version: MetalLBVersion, mode_value: str, *, mirror: str | None = None, sha256: str | None = None
) -> ManifestSource:
    """The install manifest of ``version`` in speaker mode ``mode_value`` (a SpeakerMode value).

    ``mirror``: a base URL, ``file://`` URL or directory laid out as ``<mirror>/<version>/<file>``
    (see the module docstring). ``sha256``: the user's checksum of the upstream file; it takes
    precedence over the pinned table, and is required for a release that is not pinned.
    """
    file_name = manifest_file(version, mode_value)
    default_url = release_url(version, mode_value)
    url = default_url if mirror is None else _mirror_location(mirror, version, file_name)
    if sha256 is not None:
        return ManifestSource(url=url, sha256=_normalise_sha256(sha256))
    pinned = PINNED_SHA256.get((str(version), file_name))
    if pinned is None:
        raise ManifestError(
            f"this program pins no sha256 for MetalLB {version}'s {file_name}; check the upstream file and "
            f"set its checksum with `pulumi config set {SHA256_CONFIG_KEY} <sha256>`, computed with "
            f"`curl -sL {default_url} | sha256sum`"
        )
    return ManifestSource(url=url, sha256=pinned)


def _read(url: str, timeout: float) -> bytes:
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):
        request = urllib.request.Request(url, headers={"User-Agent": "metallb-unifi"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                data: bytes = response.read(_MAX_BYTES + 1)
        except urllib.error.HTTPError as error:
            raise ManifestError(f"cannot fetch {url}: HTTP {error.code} {error.reason}") from None
        except urllib.error.URLError as error:
            raise ManifestError(f"cannot fetch {url}: {error.reason}") from None
        except (TimeoutError, OSError) as error:
            raise ManifestError(f"cannot fetch {url}: {error}") from None
    else:
        if scheme == "file":
            path = Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))
        elif len(scheme) > 1:  # a one-letter "scheme" is a Windows drive
            raise ManifestError(f"cannot fetch {url}: only http(s), file:// URLs and local paths are supported")
        else:
            path = Path(url).expanduser()
        try:
            with path.open("rb") as file:
                data = file.read(_MAX_BYTES + 1)
        except OSError as error:
            raise ManifestError(f"cannot read {url}: {error.strerror or error}") from None
    if len(data) > _MAX_BYTES:
        raise ManifestError(f"{url} is larger than {_MAX_BYTES} bytes: not a MetalLB install manifest")
    return data


def fetch_manifest(source: ManifestSource, *, timeout: float = 30) -> bytes:
    """The raw bytes of ``source``, after checking their sha256; a changed file is refused."""
    if source.sha256 is None:
        raise ManifestError(f"no sha256 to check {source.url} against; set {SHA256_CONFIG_KEY}")
    expected = _normalise_sha256(source.sha256)
    data = _read(source.url, timeout)
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise ManifestError(
            f"sha256 mismatch for {source.url}: expected {expected}, got {actual}; refusing to apply a changed "
            f"upstream file (if you checked the new file yourself, set {SHA256_CONFIG_KEY} to {actual})"
        )
    return data


class _Loader(yaml.SafeLoader):
    """Safe YAML with timestamps kept as strings, as Kubernetes reads them: the objects must
    stay JSON (a ``datetime`` would not survive the trip to the API server)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _dropped(obj: dict[str, Any], version: MetalLBVersion) -> bool:
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    if kind == "Namespace":
        # The program declares metallb-system itself (with NAMESPACE_LABELS). Two owners of one
        # Namespace would delete it, and everything in it, when either lets go (a version change).
        return True
    # policy/v1beta1 PodSecurityPolicy was removed in Kubernetes 1.25: the API server has no such
    # kind, so applying it fails. v0.12.1's ClusterRoles metallb-system:controller and
    # metallb-system:speaker also carry a rule {apiGroups: [policy], resources:
    # [podsecuritypolicies], resourceNames: [controller|speaker], verbs: [use]}. Those rules are
    # kept: RBAC may name resources the server does not serve, so they apply and grant nothing.
    return version.uses_configmap and kind == "PodSecurityPolicy" and api_version == "policy/v1beta1"


def install_objects(text: bytes | str, version: MetalLBVersion) -> list[dict[str, Any]]:
    """The Kubernetes objects of a (checked) install manifest that this program applies, in file
    order: every document except Namespaces and, for the ConfigMap era, PodSecurityPolicies."""
    try:
        documents = list(yaml.load_all(text, Loader=_Loader))  # a SafeLoader subclass: safe
    except yaml.YAMLError as error:
        raise ManifestError(f"the install manifest is not valid YAML: {error}") from None
    objects: list[dict[str, Any]] = []
    for index, document in enumerate(documents):
        if document is None:
            continue
        if (
            not isinstance(document, dict)
            or not isinstance(document.get("apiVersion"), str)
            or not isinstance(document.get("kind"), str)
        ):
            raise ManifestError(f"document {index} of the install manifest is not a Kubernetes object")
        if not _dropped(document, version):
            objects.append(_for_current_kubernetes(document, version))
    return objects


_CONTROL_PLANE_TOLERATION = {
    "effect": "NoSchedule",
    "key": "node-role.kubernetes.io/control-plane",
    "operator": "Exists",
}


def _for_current_kubernetes(obj: dict[str, Any], version: MetalLBVersion) -> dict[str, Any]:
    """v0.12.1's speaker tolerates only the ``node-role.kubernetes.io/master`` taint; kubeadm
    taints control-plane nodes ``node-role.kubernetes.io/control-plane`` since Kubernetes 1.25,
    so a control-plane node (the post's ``master``, one of the gateway's neighbours) would run
    no speaker. Add the toleration later MetalLB releases carry themselves."""
    if not (version.uses_configmap and obj["kind"] == "DaemonSet" and obj.get("metadata", {}).get("name") == "speaker"):
        return obj
    pod = obj["spec"]["template"]["spec"]
    tolerations = list(pod.get("tolerations") or [])
    if _CONTROL_PLANE_TOLERATION not in tolerations:
        tolerations.append(dict(_CONTROL_PLANE_TOLERATION))
    return {
        **obj,
        "spec": {**obj["spec"], "template": {**obj["spec"]["template"], "spec": {**pod, "tolerations": tolerations}}},
    }


def load_install_objects(metallb: MetalLB) -> list[dict[str, Any]]:
    """Fetch, check and filter the install manifest a lab's MetalLB section asks for."""
    source = manifest_source(
        metallb.version, metallb.mode.value, mirror=metallb.manifest_mirror, sha256=metallb.manifest_sha256
    )
    return install_objects(fetch_manifest(source), metallb.version)
