"""The MetalLB releases this program knows, and what each can express.

v0.12.1 is the last release configured by the ``config`` ConfigMap; v0.13.2 was the first
release configured by CRDs. Only releases listed here are accepted: a typo in a version must
not silently fall back to another configuration style.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Newest patch release of each supported minor line. v0.13.0/v0.13.1 were never published.
_NEWEST_PATCH = {(0, 12): 1, (0, 13): 12, (0, 14): 9, (0, 15): 3, (0, 16): 1}
_OLDEST_PATCH = {(0, 12): 1, (0, 13): 2, (0, 14): 0, (0, 15): 0, (0, 16): 0}

# Versions whose output was checked against upstream data (shared/reference): the ConfigMap
# against v0.12.1's strict example, the CRs against the CRD schemas of these releases.
TESTED_VERSIONS = ("v0.12.1", "v0.15.3", "v0.16.1")

_VERSION = re.compile(r"v?([0-9]{1,4})\.([0-9]{1,4})\.([0-9]{1,4})")


@dataclass(frozen=True, order=True)
class MetalLBVersion:
    major: int
    minor: int
    patch: int

    def __str__(self) -> str:
        return f"v{self.major}.{self.minor}.{self.patch}"

    @property
    def uses_configmap(self) -> bool:
        """≤ v0.12: the legacy ``metallb-system/config`` ConfigMap; later: CRDs."""
        return (self.major, self.minor) <= (0, 12)

    @property
    def annotation_prefix(self) -> str:
        """Service annotations moved to ``metallb.io/`` in v0.14.9 (the old prefix still works)."""
        return "metallb.io" if self >= MetalLBVersion(0, 14, 9) else "metallb.universe.tf"

    @property
    def pins_with_annotation(self) -> bool:
        """From the CRD era the ``loadBalancerIPs`` annotation pins an address; on v0.12.1 the
        program pins one address with ``spec.loadBalancerIP`` (deprecated by Kubernetes, still
        honoured), as the post did, and two (dual-stack) with the annotation, which v0.12.0
        introduced (components/artifacts/services.py)."""
        return not self.uses_configmap

    @property
    def supports_password_secret(self) -> bool:
        """``BGPPeer.spec.passwordSecret`` (a basic-auth Secret) exists from v0.13.10."""
        return self >= MetalLBVersion(0, 13, 10)

    @property
    def supports_frr_k8s(self) -> bool:
        return self >= MetalLBVersion(0, 14, 0)


def supported_versions() -> list[MetalLBVersion]:
    """Every release this program accepts, oldest first."""
    return [
        MetalLBVersion(major, minor, patch)
        for (major, minor), newest in sorted(_NEWEST_PATCH.items())
        for patch in range(_OLDEST_PATCH[(major, minor)], newest + 1)
    ]


def supported_versions_text() -> str:
    lines = []
    for (major, minor), newest in sorted(_NEWEST_PATCH.items()):
        oldest = _OLDEST_PATCH[(major, minor)]
        if oldest == newest:
            lines.append(f"v{major}.{minor}.{newest}")
        else:
            lines.append(f"v{major}.{minor}.{oldest}–v{major}.{minor}.{newest}")
    return ", ".join(lines)


def parse_version(text: str) -> MetalLBVersion | None:
    """The release named by ``text`` (``v0.13.12``), or None when it is not a supported one."""
    match = _VERSION.fullmatch(text.strip())
    if not match:
        return None
    major, minor, patch = (int(g) for g in match.groups())
    line = (major, minor)
    if line not in _NEWEST_PATCH or not _OLDEST_PATCH[line] <= patch <= _NEWEST_PATCH[line]:
        return None
    return MetalLBVersion(major, minor, patch)
