"""MetalLB's own configuration rules, ported from its Go source, as an oracle for tests.

Given what the program renders (the CRs as dicts, or the legacy ``config`` ConfigMap of
v0.12.1) this module answers: what would MetalLB say? Every rule is ported from the release
source and cited in :data:`RULES` (``metallb/metallb@<tag>:path:line``); where a release line
behaves differently each variant is cited and applied to the releases that have it. Three more
families of rules live here for the same tests:

* the Kubernetes API server's rules for a Service's dual-stack fields
  (:func:`kubernetes_service_errors`, :func:`service_ip_families`);
* the MetalLB controller's rules for a Service's pinned addresses and for whether it can
  allocate one at all (:func:`metallb_service_errors`);
* a few refusals of the program's own (``Rule.ours``): inputs MetalLB accepts silently although
  they cannot work (a range from an IPv4 to an IPv6 address yields no addresses at all).

Differences from MetalLB worth knowing:

* MetalLB stops at its first error; the oracle reports all of them (in MetalLB's order).
* MetalLB's webhook knows the cluster's Nodes. Without ``nodes`` the oracle assumes every two
  selections share a node (v0.16's ``peersShareNode`` does the same when it knows no nodes), so
  a conflict that depends on nodes is reported rather than missed.
* Addresses are parsed as Go's ``net.ParseIP``/``net.ParseCIDR`` do (no zones, IPv4-mapped IPv6
  counts as IPv4), not as Python's ``ipaddress`` would.

Only the releases :mod:`components.config.versions` supports and the speaker modes the
program allows (``native``, ``frr``, ``frr-k8s`` from v0.14.0) are modelled.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import (
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    ip_address,
    ip_network,
    summarize_address_range,
)
from typing import Any

import yaml

from components.config.versions import MetalLBVersion, parse_version

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

_MM = "metallb/metallb"
_K8S_VALIDATION = "kubernetes/kubernetes@000f2605:pkg/apis/core/validation/validation.go"
_K8S_ALLOC = "kubernetes/kubernetes@03d11c53:pkg/registry/core/service/storage/alloc.go"


@dataclass(frozen=True)
class Rule:
    summary: str
    source: str  # where the rule is written, per release line where it varies
    ours: bool = False  # MetalLB accepts the input; the program must refuse it all the same


RULES: dict[str, Rule] = {
    # --- the legacy ConfigMap's document (v0.12.1) ---------------------------------------------
    "configmap-yaml": Rule(
        "the config text is not a YAML mapping",
        f"{_MM}@v0.12.1:internal/config/config.go:248-252 (yaml.UnmarshalStrict)",
    ),
    "configmap-unknown-field": Rule(
        "a key the strict parser does not know",
        f"{_MM}@v0.12.1:internal/config/config.go:35-93 (struct tags), :250 (UnmarshalStrict)",
    ),
    "configmap-field-type": Rule(
        "a value of the wrong type for its key",
        f"{_MM}@v0.12.1:internal/config/config.go:35-93, :250",
    ),
    # --- peers ----------------------------------------------------------------------------------
    "peer-asn": Rule(
        "myASN and peerASN must be set",
        f"{_MM}@v0.12.1:internal/config/config.go:335-340; @v0.15.3:internal/config/config.go:382-390",
    ),
    "peer-ebgp-multihop-ibgp": Rule(
        "ebgpMultiHop on an iBGP peer",
        f"{_MM}@v0.12.1:internal/config/config.go:341-343; @v0.15.3:internal/config/config.go:394-396",
    ),
    "peer-address": Rule(
        "the peer address must parse (either family)",
        f"{_MM}@v0.12.1:internal/config/config.go:344-347; @v0.15.3:internal/config/config.go:410-416",
    ),
    "peer-router-id": Rule(
        "the router ID must parse",
        f"{_MM}@v0.12.1:internal/config/config.go:367-373; @v0.15.3:internal/config/config.go:421-427",
    ),
    "peer-source-address": Rule(
        "the source address must parse",
        f"{_MM}@v0.12.1:internal/config/config.go:374-377; @v0.15.3:internal/config/config.go:428-431",
    ),
    "peer-timers": Rule(
        "hold time 0 or ≥3s, keepalive not longer than hold time",
        f"{_MM}@v0.12.1:internal/config/config.go:219-245, :356-359; "
        f"@v0.14.8:internal/config/config.go:388-405, :823-829; @v0.15.3:internal/config/config.go:841-871",
    ),
    "peer-password": Rule(
        "password and passwordSecret not both; the Secret exists, is basic-auth and holds password",
        f"{_MM}@v0.15.3:internal/config/config.go:450-460, :493-510",
    ),
    "peer-bfd-profile-missing": Rule(
        "the peer names a BFD profile that does not exist",
        f"{_MM}@v0.12.1:internal/config/config.go:280-284; @v0.15.3:internal/config/config.go:288-292",
    ),
    "peer-duplicate": Rule(
        "two identical peers (in the CRD era the name is part of the comparison)",
        f"{_MM}@v0.12.1:internal/config/config.go:285-293; @v0.15.3:internal/config/config.go:293-300",
    ),
    "frr-peers-router-id": Rule(
        "FRR modes: every peer (v0.16: every peer sharing a node) has the same routerID",
        f"{_MM}@v0.12.1:internal/config/validate.go:53-73; @v0.13.2:internal/config/validation.go:66-86; "
        f"@v0.15.3:internal/config/validation.go:147-173; @v0.16.1:internal/config/validation.go:161-194",
    ),
    "frr-peers-my-asn": Rule(
        "FRR modes: every peer has the same myASN (per VRF from v0.13.8; per shared node from v0.16)",
        f"{_MM}@v0.12.1:internal/config/validate.go:63-65; @v0.13.2:internal/config/validation.go:76-78; "
        f"@v0.15.3:internal/config/validation.go:164-171; @v0.16.1:internal/config/validation.go:190-192",
    ),
    "frr-peers-duplicate-address": Rule(
        "FRR modes: no two peers with the same address (and VRF from v0.13.8)",
        f"{_MM}@v0.12.1:internal/config/validate.go:66-69; @v0.13.2:internal/config/validation.go:79-82; "
        f"@v0.15.3:internal/config/validation.go:157-161, :221-227; @v0.16.1:internal/config/validation.go:187-189",
    ),
    "native-frr-only-option": Rule(
        "native mode: bfdProfile, keepaliveTime, BFD profiles, disableMP (≥v0.14.4), "
        "dualStackAddressFamily (≥v0.15.0) are FRR-only",
        f"{_MM}@v0.12.1:internal/config/validate.go:15-26; @v0.13.2:internal/config/validation.go:25-36; "
        f"@v0.15.3:internal/config/validation.go:33-65",
    ),
    "native-non-legacy-community": Rule(
        "native mode: only legacy (a:b) communities (large ones exist from v0.13.10)",
        f"{_MM}@v0.13.10:internal/config/validation.go:75; @v0.15.3:internal/config/validation.go:106-137",
    ),
    "native-v6-bgp-pool": Rule(
        "native mode: no IPv6 CIDR in a BGP pool (v0.12.1: protocol bgp; v0.13.2–v0.14.8: any pool once "
        "one BGPAdvertisement exists; ≥v0.14.9: pools a BGPAdvertisement selects)",
        f"{_MM}@v0.12.1:internal/config/validate.go:27-41; @v0.13.2:internal/config/validation.go:37-54; "
        f"@v0.14.8:internal/config/validation.go:65-85; @v0.15.3:internal/config/validation.go:76-104, :250-273",
    ),
    # --- BFD profiles ---------------------------------------------------------------------------
    "bfd-profile": Rule(
        "BFD profile: a name, unique, values in range (detectMultiplier 2-255, intervals 10-60000, minimumTtl 1-254)",
        f"{_MM}@v0.12.1:internal/config/config.go:264-273, :464-495; @v0.15.3:internal/config/config.go:266-279, "
        f":625-660",
    ),
    # --- pools ----------------------------------------------------------------------------------
    "pool-name": Rule(
        "a pool needs a name, unique",
        f"{_MM}@v0.12.1:internal/config/config.go:313-316, :417-419; @v0.15.3:internal/config/config.go:320-323, "
        f":513-515",
    ),
    "pool-empty": Rule(
        "a pool needs at least one entry",
        f"{_MM}@v0.12.1:internal/config/config.go:431-433; @v0.15.3:internal/config/config.go:527-529",
    ),
    "pool-entry": Rule(
        "each entry is a CIDR or an a-b range with start ≤ end",
        f"{_MM}@v0.12.1:internal/config/config.go:604-639; @v0.15.3:internal/config/config.go:966-1001",
    ),
    "pool-protocol": Rule(
        "ConfigMap: protocol bgp or layer2; no bgp-advertisements on a layer2 pool",
        f"{_MM}@v0.12.1:internal/config/config.go:444-459",
    ),
    "pool-overlap": Rule(
        "no two CIDRs overlap, within a pool or across pools",
        f"{_MM}@v0.12.1:internal/config/config.go:318-326, :641-655; @v0.15.3:internal/config/config.go:325-333, "
        f":1003-1017",
    ),
    # --- advertisements -------------------------------------------------------------------------
    "advertisement-duplicate": Rule(
        "no duplicate advertisement, pool, peer or community in one list",
        f"{_MM}@v0.12.1:internal/config/config.go:509-518, :681-701; @v0.15.3:internal/config/config.go:755-775, "
        f":1043-1052, :1155-1164",
    ),
    "community": Rule(
        "a community is a:b (16-bit each), large:a:b:c (32-bit each) or a defined alias",
        f"{_MM}@v0.12.1:internal/config/config.go:297-304, :563-602; "
        f"@v0.13.9:internal/config/config.go:944 (ParseCommunity, a:b only); "
        f"@v0.15.3:internal/bgp/community/community.go:34-76, internal/config/config.go:805-839",
    ),
    "aggregation-length-bounds": Rule(
        "aggregationLength ≤ 32, aggregationLengthV6 ≤ 128",
        f"{_MM}@v0.12.1:internal/config/config.go:528-539; @v0.15.3:internal/config/config.go:785-796",
    ),
    "aggregation-length-vs-entry": Rule(
        "the aggregation length of an entry's family is not shorter than the prefix of the entry's widest block "
        "(no aggregating beyond the entry)",
        f"{_MM}@v0.12.1:internal/config/config.go:541-557; @v0.15.3:internal/config/config.go:873-890",
    ),
    "local-pref-conflict": Rule(
        "≥v0.13.10: advertisements of one pool with different localPref must differ in aggregation "
        "(v0.15: per family the pool has), peers or nodes",
        f"{_MM}@v0.13.10:internal/config/config.go:960-1000; @v0.14.8:internal/config/config.go:850-891; "
        f"@v0.15.3:internal/config/config.go:892-964; @v0.16.1:internal/config/config.go:917-1019",
    ),
    "bfd-echo-v6": Rule(
        "≥v0.13.10: a peer with a BFD echo-mode profile may not carry a pool holding IPv6",
        f"{_MM}@v0.13.10:internal/config/validation.go:159-190; @v0.15.3:internal/config/validation.go:175-219",
    ),
    "object-duplicate": Rule(
        "two objects of one kind share a name (Kubernetes names are unique per kind and namespace)",
        "https://kubernetes.io/docs/concepts/overview/working-with-objects/names/",
    ),
    # --- the program's own refusals -------------------------------------------------------------
    "ours-mixed-family-range": Rule(
        "a range from one family to the other: MetalLB accepts it and allocates nothing from it "
        "(ipaddr.Summarize returns nil)",
        f"{_MM}@v0.15.3:internal/config/config.go:988-1000; mikioh/ipaddr@d465c8ab6721 Summarize",
        ours=True,
    ),
    "ours-v4-mapped-entry": Rule(
        "an IPv4-mapped IPv6 address (::ffff:a.b.c.d): Go treats it as IPv4, Python as IPv6; ambiguous",
        f"{_MM}@v0.15.3:internal/ipfamily/ipfamily.go:63-77 (To4)",
        ours=True,
    ),
    "ours-native-v6-peer": Rule(
        "native mode accepts an IPv6 peer but never announces IPv6 over it; the program refuses it",
        f"{_MM}@v0.12.1:internal/bgp/native/native.go:444-450; research brief §1a",
        ours=True,
    ),
    # --- Kubernetes Service ---------------------------------------------------------------------
    "k8s-ip-family-policy": Rule(
        "spec.ipFamilyPolicy is SingleStack, PreferDualStack or RequireDualStack",
        f"{_K8S_VALIDATION}:ValidateServiceClusterIPsRelatedFields",
    ),
    "k8s-ip-families": Rule(
        "spec.ipFamilies items are IPv4 or IPv6, no duplicates",
        f"{_K8S_VALIDATION}:ValidateServiceClusterIPsRelatedFields",
    ),
    "k8s-cluster-ips": Rule(
        "spec.clusterIPs: synced with clusterIP, ≤2, one per family, matching ipFamilies",
        f"{_K8S_VALIDATION}:ValidateServiceClusterIPsRelatedFields",
    ),
    "k8s-single-stack-two-families": Rule(
        "SingleStack with two ipFamilies or clusterIPs",
        f"{_K8S_ALLOC}:initIPFamilyFields",
    ),
    "k8s-require-dual-stack": Rule(
        "RequireDualStack on a cluster that is not dual-stack",
        f"{_K8S_ALLOC}:initIPFamilyFields",
    ),
    "k8s-family-not-configured": Rule(
        "a requested family is not configured on the cluster",
        f"{_K8S_ALLOC}:initIPFamilyFields",
    ),
    # --- MetalLB controller on a Service --------------------------------------------------------
    "lb-annotation-ignored": Rule(
        "a loadBalancerIPs annotation under a prefix this release does not read (metallb.io/ from v0.14.9)",
        f"{_MM}@v0.14.8:controller/service.go:33-36; @v0.15.3:controller/service.go:32-45, :359-368",
        ours=True,
    ),
    "lb-annotation-and-spec": Rule(
        "both the loadBalancerIPs annotation and spec.loadBalancerIP",
        f"{_MM}@v0.12.1:controller/service.go:222-226; @v0.15.3:controller/service.go:309-313",
    ),
    "lb-ip-parse": Rule(
        "every requested address parses",
        f"{_MM}@v0.12.1:controller/service.go:228-236, :244-247; @v0.15.3:controller/service.go:315-334",
    ),
    "lb-ip-families": Rule(
        "one or two requested addresses; two must be of different families",
        f"{_MM}@v0.15.3:internal/ipfamily/ipfamily.go:26-51, internal/allocator/allocator.go:183-191",
    ),
    "lb-ip-family-mismatch": Rule(
        "the requested addresses' family (v4, v6 or dual) equals that of the Service's cluster IPs",
        f"{_MM}@v0.12.1:controller/service.go:184-198; @v0.15.3:controller/service.go:258-274, "
        f"internal/ipfamily/ipfamily.go:79-87",
    ),
    "lb-ip-no-pool": Rule(
        "all requested addresses lie in one pool (avoidBuggyIPs excludes IPv4 .0 and .255)",
        f"{_MM}@v0.12.1:internal/allocator/allocator.go:136-140, :355-373; "
        f"@v0.15.3:internal/allocator/allocator.go:171-175, :662-694",
    ),
    "lb-ip-pool-annotation": Rule(
        "≥v0.13.10: the requested addresses' pool equals the address-pool annotation",
        f"{_MM}@v0.13.10:controller/service.go:212-216; @v0.15.3:controller/service.go:279-283",
    ),
    "lb-unknown-pool": Rule(
        "the address-pool annotation names no pool",
        f"{_MM}@v0.15.3:internal/allocator/allocator.go:445-449",
    ),
    "lb-no-pool-for-family": Rule(
        "no pool the Service may draw from holds its family (dual: both families in one pool, except "
        "PreferDualStack from v0.14.9 which falls back to one)",
        f"{_MM}@v0.14.8:internal/allocator/allocator.go:266-297; @v0.15.3:internal/allocator/allocator.go:356-392, "
        f"internal/allocator/allocation.go:54-90",
    ),
}


@dataclass(frozen=True)
class Violation:
    rule: str  # a key of RULES
    subject: str  # the object or entry at fault
    detail: str

    def __post_init__(self) -> None:
        assert self.rule in RULES, self.rule

    def __str__(self) -> str:
        return f"{self.rule}: {self.subject}: {self.detail}"


def rules_of(violations: Iterable[Violation]) -> set[str]:
    return {v.rule for v in violations}


# --- versions and modes ------------------------------------------------------------------------

MODES = ("native", "frr", "frr-k8s")


def _version(version: MetalLBVersion | str) -> MetalLBVersion:
    if isinstance(version, MetalLBVersion):
        return version
    parsed = parse_version(version)
    if parsed is None:
        raise ValueError(f"{version!r} is not a MetalLB release the program supports")
    return parsed


def _mode(mode: object, version: MetalLBVersion) -> str:
    text = str(getattr(mode, "value", mode))
    if text not in MODES:
        raise ValueError(f"unknown speaker mode {text!r}")
    if text == "frr-k8s" and not version.supports_frr_k8s:
        raise ValueError(f"{version} has no frr-k8s mode")
    return text


def _at_least(version: MetalLBVersion, text: str) -> bool:
    other = parse_version(text)
    assert other is not None, text
    return version >= other


# --- Go's parsers ------------------------------------------------------------------------------


def go_parse_ip(text: str) -> IPAddress | None:
    """``net.ParseIP``: dotted-quad IPv4 (no leading zeros) or IPv6 without a zone. An
    IPv4-mapped IPv6 address is IPv4 to Go (``To4() != nil``), so it comes back as IPv4."""
    if not isinstance(text, str) or "%" in text:
        return None
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _v4_mapped(text: str) -> bool:
    try:
        address = ip_address(text.strip())
    except ValueError:
        return False
    return isinstance(address, IPv6Address) and address.ipv4_mapped is not None


def go_parse_cidr(text: str) -> IPNetwork | None:
    """``net.ParseCIDR``: ``address/bits`` with decimal bits; host bits are masked off."""
    if not isinstance(text, str) or "/" not in text:
        return None
    address_text, bits = text.split("/", 1)
    if go_parse_ip(address_text) is None or not re.fullmatch(r"[0-9]+", bits):
        return None
    try:
        return ip_network(f"{address_text}/{int(bits)}", strict=False)
    except ValueError:
        return None


def _as16(address: IPAddress) -> int:
    # net.ParseIP returns 16 bytes for both families; bytes.Compare orders them like this.
    return (0xFFFF << 32 | int(address)) if isinstance(address, IPv4Address) else int(address)


@dataclass(frozen=True)
class PoolEntry:
    """One ``addresses`` entry as MetalLB's ``ParseCIDR`` reads it."""

    text: str
    blocks: tuple[IPNetwork, ...]  # empty for a mixed-family range (MetalLB: no addresses)
    mixed_families: bool = False
    v4_mapped: bool = False

    @property
    def family(self) -> int | None:
        """4 or 6 as Go decides it (``cidrs[0].IP.To4()``), None without blocks."""
        return self.blocks[0].version if self.blocks else None


def parse_pool_entry(text: str) -> PoolEntry | str:
    """MetalLB's ``ParseCIDR`` (v0.12.1 config.go:604-639, v0.15.3 config.go:966-1001): the entry,
    or the error MetalLB gives."""
    if not isinstance(text, str):
        return f"invalid CIDR {text!r}"
    if "-" not in text:
        network = go_parse_cidr(text)
        if network is None:
            return f"invalid CIDR {text!r}"
        return PoolEntry(text, (network,), v4_mapped=_v4_mapped(text.split("/", 1)[0]))
    first_text, last_text = (part.strip() for part in text.split("-", 1))
    first, last = go_parse_ip(first_text), go_parse_ip(last_text)
    if first is None:
        return f"invalid IP range {text!r}: invalid start IP {first_text!r}"
    if last is None:
        return f"invalid IP range {text!r}: invalid end IP {last_text!r}"
    if _as16(first) > _as16(last):
        return f"invalid IP range {text!r}: start IP {first} is after the end IP {last}"
    mapped = _v4_mapped(first_text) or _v4_mapped(last_text)
    if isinstance(first, IPv4Address) and isinstance(last, IPv4Address):
        return PoolEntry(text, tuple(summarize_address_range(first, last)), v4_mapped=mapped)
    if isinstance(first, IPv6Address) and isinstance(last, IPv6Address):
        return PoolEntry(text, tuple(summarize_address_range(first, last)), v4_mapped=mapped)
    return PoolEntry(text, (), mixed_families=True, v4_mapped=mapped)


_DURATION = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def go_duration_seconds(text: object) -> float | None:
    """``time.ParseDuration`` in seconds, or None when Go would refuse the text."""
    if not isinstance(text, str) or not text:
        return None
    sign, rest = (-1.0, text[1:]) if text[0] == "-" else (1.0, text.removeprefix("+"))
    if rest == "0":
        return 0.0
    total, position = 0.0, 0
    while position < len(rest):
        part = _DURATION.match(rest, position)
        if part is None:
            return None
        total += float(part[1]) * _UNIT_SECONDS[part[2]]
        position = part.end()
    return sign * total if rest else None


def _go_seconds(value: float) -> int:
    """``time.Duration(int(d.Seconds())) * time.Second`` in whole seconds (truncated)."""
    return int(value)


def _uint(value: object, bits: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << bits


def _community_error(text: object, aliases: Mapping[str, object], *, legacy_only: bool) -> str | None:
    """None when ``text`` is a community MetalLB accepts, else why not."""
    if not isinstance(text, str):
        return f"{text!r} is not a string"
    if text in aliases:
        return None
    fields = text.split(":")
    digits = re.compile(r"[0-9]+")
    if len(fields) == 2:
        if all(digits.fullmatch(f) and int(f) < 1 << 16 for f in fields):
            return None
        return f"invalid community value {text!r}"
    if len(fields) == 4 and not legacy_only:
        if fields[0] == "large" and all(digits.fullmatch(f) and int(f) < 1 << 32 for f in fields[1:]):
            return None
        return f"invalid large community {text!r}"
    return f"invalid community format {text!r} (and no alias of that name)"


def _is_large_community(text: object) -> bool:
    return isinstance(text, str) and text.startswith("large:")


# --- label selectors (k8s.io/apimachinery LabelSelectorAsSelector) -----------------------------


def selector_matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A ``metav1.LabelSelector``; an empty one matches everything."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for requirement in selector.get("matchExpressions") or []:
        key, operator = requirement.get("key"), requirement.get("operator")
        values = requirement.get("values") or []
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _selected_nodes(selectors: Sequence[Mapping[str, Any]], nodes: Sequence[Mapping[str, Any]]) -> set[str]:
    """Nodes matching any selector; no selectors: every node (config.go selectedNodes)."""
    names = set()
    for node in nodes:
        labels = {"kubernetes.io/hostname": node["name"], **(node.get("labels") or {})}
        if not selectors or any(selector_matches(s, labels) for s in selectors):
            names.add(node["name"])
    return names


# --- shared pieces of both eras ----------------------------------------------------------------


@dataclass
class _Pool:
    name: str
    subject: str
    entries: list[PoolEntry]
    avoid_buggy_ips: bool = False
    auto_assign: bool = True
    protocol: str | None = None  # ConfigMap era only
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def blocks(self) -> list[IPNetwork]:
        return [block for entry in self.entries for block in entry.blocks]

    @property
    def families(self) -> set[int]:
        return {block.version for block in self.blocks}


@dataclass(frozen=True)
class _Advertisement:
    name: str
    subject: str
    aggregation_length: int
    aggregation_length_v6: int
    local_pref: int
    peers: tuple[str, ...]  # empty: every peer
    node_selectors: tuple[Mapping[str, Any], ...] = ()
    service_selectors: bool = False


def _parse_entries(pool: _Pool, raw_entries: object, out: list[Violation]) -> None:
    if not isinstance(raw_entries, list) or not raw_entries:
        out.append(Violation("pool-empty", pool.subject, "pool has no prefixes defined"))
        return
    for raw in raw_entries:
        parsed = parse_pool_entry(raw)
        if isinstance(parsed, str):
            out.append(Violation("pool-entry", pool.subject, parsed))
            continue
        pool.entries.append(parsed)
        if parsed.mixed_families:
            out.append(Violation("ours-mixed-family-range", pool.subject, f"{raw!r} spans both families: no addresses"))
        if parsed.v4_mapped:
            out.append(Violation("ours-v4-mapped-entry", pool.subject, f"{raw!r} is IPv4-mapped IPv6"))


def _overlaps(pools: Sequence[_Pool], out: list[Violation]) -> None:
    """Every block against every block before it, in pool and entry order (config.go poolsFor)."""
    seen: list[IPNetwork] = []
    for pool in pools:
        for block in pool.blocks:
            for earlier in seen:
                if _overlap(block, earlier):
                    out.append(
                        Violation("pool-overlap", pool.subject, f"CIDR {block} overlaps with already defined {earlier}")
                    )
            seen.append(block)


def _overlap(a: IPNetwork, b: IPNetwork) -> bool:
    """cidrsOverlap: one contains the other; never across families."""
    if isinstance(a, IPv4Network) and isinstance(b, IPv4Network):
        return a.overlaps(b)
    if isinstance(a, IPv6Network) and isinstance(b, IPv6Network):
        return a.overlaps(b)
    return False


def _aggregation_vs_entries(advertisement: _Advertisement, pool: _Pool, out: list[Violation]) -> None:
    for entry in pool.entries:
        if not entry.blocks:
            continue
        maximum = advertisement.aggregation_length_v6 if entry.family == 6 else advertisement.aggregation_length
        lowest = min(block.prefixlen for block in entry.blocks)
        if maximum < lowest:
            # MetalLB's message prints the IPv4 length whatever the family (config.go:887-888).
            out.append(
                Violation(
                    "aggregation-length-vs-entry",
                    advertisement.subject,
                    f"aggregation length {maximum} for {entry.text!r} in pool {pool.name!r}: its widest block is "
                    f"/{lowest}",
                )
            )


def _local_pref_compatible(
    new: _Advertisement,
    old: _Advertisement,
    pool: _Pool,
    version: MetalLBVersion,
    nodes: Sequence[Mapping[str, Any]] | None,
) -> bool:
    if new.local_pref == old.local_pref:
        return True
    if _at_least(version, "v0.15.0"):
        # isAggrLengthDifferent (v0.15.3 config.go:935-964): only the families the pool holds count.
        families = {entry.family for entry in pool.entries if entry.blocks}
        v4_differs = new.aggregation_length != old.aggregation_length
        v6_differs = new.aggregation_length_v6 != old.aggregation_length_v6
        if (
            not families
            or (v4_differs and 6 not in families)
            or (v6_differs and 4 not in families)
            or (v4_differs and v6_differs)
        ):
            return True
    elif new.aggregation_length != old.aggregation_length and new.aggregation_length_v6 != old.aggregation_length_v6:
        return True  # v0.14.8 config.go:864-867: both lengths must differ
    if new.peers and old.peers and not set(new.peers) & set(old.peers):
        return True
    if nodes is None:
        return False  # unknown nodes: assume the advertisements share one
    new_nodes = _selected_nodes(new.node_selectors, nodes)
    return not new_nodes & _selected_nodes(old.node_selectors, nodes)


def _advertise(
    advertisement: _Advertisement,
    pool: _Pool,
    earlier: Sequence[_Advertisement],
    version: MetalLBVersion,
    nodes: Sequence[Mapping[str, Any]] | None,
    out: list[Violation],
) -> None:
    """validateBGPAdvPerPool for one advertisement on one pool it selects."""
    _aggregation_vs_entries(advertisement, pool, out)
    if not _at_least(version, "v0.13.10"):
        return
    if _at_least(version, "v0.16.0") and advertisement.service_selectors:
        return
    for old in earlier:
        if _at_least(version, "v0.16.0") and old.service_selectors:
            continue
        if not _local_pref_compatible(advertisement, old, pool, version, nodes):
            out.append(
                Violation(
                    "local-pref-conflict",
                    advertisement.subject,
                    f"localPref {advertisement.local_pref} on pool {pool.name!r} where {old.subject} already sets "
                    f"{old.local_pref} for the same updates",
                )
            )


def _timers(
    subject: str, hold: object, keepalive: object, version: MetalLBVersion | None, out: list[Violation]
) -> None:
    """The hold/keepalive rules; ``version`` None is the ConfigMap era (v0.12.1)."""

    def seconds(name: str, value: object) -> float | None:
        parsed = go_duration_seconds(value)
        if parsed is None:
            out.append(Violation("peer-timers", subject, f"invalid {name} {value!r}"))
        return parsed

    hold_s = None if hold in (None, "") else seconds("hold time", hold)
    keepalive_s = None if keepalive in (None, "") else seconds("keepalive time", keepalive)
    if (hold not in (None, "") and hold_s is None) or (keepalive not in (None, "") and keepalive_s is None):
        return
    if version is None:  # v0.12.1 config.go:219-245
        hold_v: float = 90.0 if hold_s is None else float(_go_seconds(hold_s))
        keepalive_v = hold_v / 3 if keepalive_s is None else float(_go_seconds(keepalive_s))
    elif not _at_least(version, "v0.14.9"):  # v0.14.8 config.go:388-405: 0 means unset
        hold_v = hold_s or 90.0
        keepalive_v = keepalive_s or hold_v / 3
    else:  # parseTimers, v0.15.3 config.go:841-871
        if hold_s is None and keepalive_s is None:
            return
        hold_v = hold_s if hold_s is not None else (keepalive_s or 0.0) * 3
        keepalive_v = keepalive_s if keepalive_s is not None else hold_v / 3
    rounded = _go_seconds(hold_v)
    if rounded != 0 and rounded < 3:
        out.append(Violation("peer-timers", subject, f"hold time {hold!r}: must be 0 or >=3s"))
    if keepalive_v > hold_v:
        out.append(Violation("peer-timers", subject, f"keepalive {keepalive!r} is longer than hold time {hold!r}"))


def _bfd_profile(subject: str, values: Mapping[str, object], out: list[Violation]) -> None:
    ranges = {
        "detectMultiplier": (2, 255),
        "receiveInterval": (10, 60000),
        "transmitInterval": (10, 60000),
        "minimumTtl": (1, 254),
        "echoInterval": (10, 60000),
    }
    for key, (low, high) in ranges.items():
        value = values.get(key)
        if value is not None and not (isinstance(value, int) and low <= value <= high):
            out.append(Violation("bfd-profile", subject, f"{key} {value!r} not in {low}-{high}"))


# --- CRD era (≥ v0.13) -------------------------------------------------------------------------


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _of_kind(objects: Sequence[Mapping[str, Any]], kind: str) -> list[Mapping[str, Any]]:
    return [o for o in objects if o.get("kind") == kind and str(o.get("apiVersion", "")).startswith("metallb.io/")]


def crd_config_errors(
    objects: Sequence[Mapping[str, Any]],
    *,
    version: MetalLBVersion | str,
    mode: object,
    nodes: Sequence[Mapping[str, Any]] | None = None,
) -> list[Violation]:
    """What MetalLB ≥v0.13 (``config.For`` with ``ValidationFor(mode)``) says of these objects.

    ``nodes``: the cluster's Nodes as ``{"name": ..., "labels": {...}}``; None: unknown.
    """
    release = _version(version)
    assert not release.uses_configmap, f"{release} is configured by the ConfigMap"
    speaker = _mode(mode, release)
    out: list[Violation] = []

    kinds = ("IPAddressPool", "BGPPeer", "BGPAdvertisement", "L2Advertisement", "BFDProfile", "Community")
    for kind in kinds:
        names = [_name(o) for o in _of_kind(objects, kind)]
        for name in sorted({n for n in names if names.count(n) > 1}):
            out.append(Violation("object-duplicate", f"{kind}/{name}", "defined more than once"))

    raw_pools = _of_kind(objects, "IPAddressPool")
    raw_peers = _of_kind(objects, "BGPPeer")
    raw_advs = _of_kind(objects, "BGPAdvertisement")
    raw_profiles = _of_kind(objects, "BFDProfile")
    aliases = {
        alias.get("name"): alias.get("value")
        for community in _of_kind(objects, "Community")
        for alias in _spec(community).get("communities") or []
    }

    # ValidationFor(mode): the webhook's and the controller's first check.
    if speaker == "native":
        _native_crd(raw_pools, raw_peers, raw_advs, raw_profiles, aliases, release, out)
    else:
        _frr_peers_crd(raw_peers, release, nodes, out)

    profiles: dict[str, Mapping[str, Any]] = {}
    for obj in raw_profiles:
        subject = f"BFDProfile/{_name(obj)}"
        if not _name(obj):
            out.append(Violation("bfd-profile", subject, "missing bfd profile name"))
        _bfd_profile(subject, _spec(obj), out)
        profiles[_name(obj)] = _spec(obj)

    peers = _crd_peers(raw_peers, objects, profiles, release, out)
    pools = _crd_pools(raw_pools, out)
    _overlaps(pools, out)
    by_name = {pool.name: pool for pool in pools}

    on_pool: dict[str, list[_Advertisement]] = {pool.name: [] for pool in pools}
    for obj in raw_advs:
        advertisement = _crd_advertisement(obj, aliases, release, out)
        spec = _spec(obj)
        names = list(spec.get("ipAddressPools") or [])
        selectors = spec.get("ipAddressPoolSelectors") or []
        if not names and not selectors:
            selected = [pool.name for pool in pools]
        else:
            selected = names + [p.name for p in pools if any(selector_matches(s, p.labels) for s in selectors)]
        for pool_name in selected:
            if pool_name in by_name:
                _advertise(advertisement, by_name[pool_name], on_pool[pool_name], release, nodes, out)
                on_pool[pool_name].append(advertisement)

    if _at_least(release, "v0.13.10"):
        _bfd_echo(pools, on_pool, peers, profiles, out)
    return out


def _native_crd(
    pools: Sequence[Mapping[str, Any]],
    peers: Sequence[Mapping[str, Any]],
    advertisements: Sequence[Mapping[str, Any]],
    profiles: Sequence[Mapping[str, Any]],
    aliases: Mapping[str, object],
    version: MetalLBVersion,
    out: list[Violation],
) -> None:
    """DiscardFRROnly, v0.13.2 validation.go:25-56 … v0.15.3 validation.go:33-137."""
    for obj in peers:
        spec, subject = _spec(obj), f"BGPPeer/{_name(obj)}"
        options = ["bfdProfile"]
        options += ["disableMP"] if _at_least(version, "v0.14.4") else []
        options += ["dualStackAddressFamily"] if _at_least(version, "v0.15.0") else []
        for option in options:
            if spec.get(option):
                out.append(Violation("native-frr-only-option", subject, f"{option} set on native bgp mode"))
        keepalive = go_duration_seconds(spec.get("keepaliveTime")) if spec.get("keepaliveTime") else None
        if keepalive:
            out.append(Violation("native-frr-only-option", subject, "keepaliveTime set on native bgp mode"))
        address = go_parse_ip(spec.get("peerAddress", ""))
        if isinstance(address, IPv6Address):
            out.append(Violation("ours-native-v6-peer", subject, f"IPv6 peer {address} in native mode"))
    if profiles:
        out.append(Violation("native-frr-only-option", "BFDProfile", "bfd profiles section set"))
    if advertisements:
        if _at_least(version, "v0.14.9"):
            names: set[str] = set()
            selectors: list[Mapping[str, Any]] = []
            everything = False
            for obj in advertisements:
                spec = _spec(obj)
                if not spec.get("ipAddressPools") and not spec.get("ipAddressPoolSelectors"):
                    everything = True
                names.update(spec.get("ipAddressPools") or [])
                selectors.extend(spec.get("ipAddressPoolSelectors") or [])
            checked = [
                p
                for p in pools
                if everything
                or _name(p) in names
                or any(selector_matches(s, (p.get("metadata") or {}).get("labels") or {}) for s in selectors)
            ]
        else:
            checked = list(pools)
        for obj in checked:
            for raw in _spec(obj).get("addresses") or []:
                parsed = parse_pool_entry(raw)
                if isinstance(parsed, PoolEntry) and any(b.version == 6 for b in parsed.blocks):
                    out.append(
                        Violation(
                            "native-v6-bgp-pool",
                            f"IPAddressPool/{_name(obj)}",
                            f"IPv6 {raw!r}: native bgp mode does not support ipv6",
                        )
                    )
    for obj in advertisements if _at_least(version, "v0.13.10") else ():
        for community in _spec(obj).get("communities") or []:
            if _is_large_community(community) and community not in aliases:
                out.append(Violation("native-non-legacy-community", f"BGPAdvertisement/{_name(obj)}", f"{community!r}"))


def _frr_peers_crd(
    peers: Sequence[Mapping[str, Any]],
    version: MetalLBVersion,
    nodes: Sequence[Mapping[str, Any]] | None,
    out: list[Violation],
) -> None:
    """DiscardNativeOnly: three variants (v0.13.2, v0.13.8, v0.16.0)."""
    specs = [(_name(p), _spec(p)) for p in peers]

    def key(spec: Mapping[str, Any]) -> str:
        address = spec.get("peerAddress") or spec.get("interface") or ""
        if _at_least(version, "v0.16.0"):
            return f"{address}-{spec['vrf']}" if spec.get("vrf") else str(address)
        if _at_least(version, "v0.13.8"):
            return f"{address}-{spec.get('vrf', '')}"
        return str(spec.get("peerAddress", ""))

    def pair_errors(name: str, spec: Mapping[str, Any], other: Mapping[str, Any], *, vrf: bool) -> None:
        subject = f"BGPPeer/{name}"
        if spec.get("routerID", "") != other.get("routerID", ""):
            out.append(Violation("frr-peers-router-id", subject, f"routerID {spec.get('routerID', '')!r} differs"))
        if spec.get("myASN") != other.get("myASN") and (not vrf or spec.get("vrf", "") == other.get("vrf", "")):
            out.append(Violation("frr-peers-my-asn", subject, f"myASN {spec.get('myASN')} differs"))

    if _at_least(version, "v0.16.0"):
        for i, (name, spec) in enumerate(specs):
            for _, other in specs[:i]:
                if nodes is not None and not (
                    _selected_nodes(spec.get("nodeSelectors") or [], nodes)
                    & _selected_nodes(other.get("nodeSelectors") or [], nodes)
                ):
                    continue
                pair_errors(name, spec, other, vrf=True)
                if key(spec) == key(other):
                    out.append(Violation("frr-peers-duplicate-address", f"BGPPeer/{name}", f"{key(spec)} again"))
        return
    if len(specs) < 2:
        return
    first = specs[0][1]
    seen = {key(first)}
    for name, spec in specs[1:]:
        if spec.get("routerID", "") != first.get("routerID", ""):
            out.append(Violation("frr-peers-router-id", f"BGPPeer/{name}", "routerID differs from the first peer's"))
        if not _at_least(version, "v0.13.8") and spec.get("myASN") != first.get("myASN"):
            out.append(Violation("frr-peers-my-asn", f"BGPPeer/{name}", "myASN differs from the first peer's"))
        if key(spec) in seen:
            out.append(Violation("frr-peers-duplicate-address", f"BGPPeer/{name}", f"{key(spec)} again"))
        seen.add(key(spec))
    if _at_least(version, "v0.13.8"):
        for name, spec in specs:
            for _, other in specs[1:]:
                if spec.get("myASN") != other.get("myASN") and spec.get("vrf", "") == other.get("vrf", ""):
                    out.append(Violation("frr-peers-my-asn", f"BGPPeer/{name}", f"myASN {spec.get('myASN')} differs"))
                    break


def _crd_peers(
    raw_peers: Sequence[Mapping[str, Any]],
    objects: Sequence[Mapping[str, Any]],
    profiles: Mapping[str, Mapping[str, Any]],
    version: MetalLBVersion,
    out: list[Violation],
) -> dict[str, Mapping[str, Any]]:
    """peersFor/peerFromCR: each peer's own rules. Returns name → spec."""
    secrets = {_name(o): o for o in objects if o.get("kind") == "Secret"}
    peers: dict[str, Mapping[str, Any]] = {}
    seen: list[tuple[str, Mapping[str, Any]]] = []
    for obj in raw_peers:
        spec, name = _spec(obj), _name(obj)
        subject = f"BGPPeer/{name}"
        if not _uint(spec.get("myASN"), 32) or not spec.get("myASN"):
            out.append(Violation("peer-asn", subject, "missing local ASN"))
        if (not _uint(spec.get("peerASN"), 32) or not spec.get("peerASN")) and not spec.get("dynamicASN"):
            out.append(Violation("peer-asn", subject, "missing peer ASN"))
        if spec.get("ebgpMultiHop") and spec.get("peerASN") == spec.get("myASN"):
            out.append(Violation("peer-ebgp-multihop-ibgp", subject, "ebgpMultiHop on an iBGP peer"))
        _timers(subject, spec.get("holdTime"), spec.get("keepaliveTime"), version, out)
        address = spec.get("peerAddress", "")
        if (address or not spec.get("interface")) and go_parse_ip(address) is None:
            out.append(Violation("peer-address", subject, f"invalid BGPPeer address {address!r}"))
        if spec.get("routerID") and go_parse_ip(spec["routerID"]) is None:
            out.append(Violation("peer-router-id", subject, f"invalid router ID {spec['routerID']!r}"))
        if spec.get("sourceAddress") and go_parse_ip(spec["sourceAddress"]) is None:
            out.append(Violation("peer-source-address", subject, f"invalid source IP {spec['sourceAddress']!r}"))
        secret_ref = spec.get("passwordSecret") or {}
        if spec.get("password") and secret_ref.get("name"):
            out.append(Violation("peer-password", subject, "both password and passwordSecret"))
        if secret_ref.get("name"):
            secret = secrets.get(secret_ref["name"])
            if secret is None:
                out.append(Violation("peer-password", subject, f"secret {secret_ref['name']!r} not found"))
            elif secret.get("type") != "kubernetes.io/basic-auth":
                out.append(Violation("peer-password", subject, "secret type is not kubernetes.io/basic-auth"))
            elif "password" not in {**(secret.get("data") or {}), **(secret.get("stringData") or {})}:
                out.append(Violation("peer-password", subject, "no password key in the secret"))
        if spec.get("bfdProfile") and spec["bfdProfile"] not in profiles:
            out.append(Violation("peer-bfd-profile-missing", subject, f"no BFD profile {spec['bfdProfile']!r}"))
        # reflect.DeepEqual of the parsed peers, whose Name is the CR's (config.go:293-300).
        if any(name == other_name and spec == other for other_name, other in seen):
            out.append(Violation("peer-duplicate", subject, "peer already exists"))
        seen.append((name, spec))
        peers[name] = spec
    return peers


def _crd_pools(raw_pools: Sequence[Mapping[str, Any]], out: list[Violation]) -> list[_Pool]:
    pools: list[_Pool] = []
    names: set[str] = set()
    for obj in raw_pools:
        spec, name = _spec(obj), _name(obj)
        pool = _Pool(
            name,
            f"IPAddressPool/{name}",
            [],
            avoid_buggy_ips=bool(spec.get("avoidBuggyIPs", False)),
            auto_assign=bool(spec.get("autoAssign", True)),
            labels=(obj.get("metadata") or {}).get("labels") or {},
        )
        if not name:
            out.append(Violation("pool-name", pool.subject, "missing pool name"))
        _parse_entries(pool, spec.get("addresses"), out)
        if name in names:
            out.append(Violation("pool-name", pool.subject, f"duplicate definition of pool {name!r}"))
        names.add(name)
        pools.append(pool)
    return pools


def _crd_advertisement(
    obj: Mapping[str, Any], aliases: Mapping[str, object], version: MetalLBVersion, out: list[Violation]
) -> _Advertisement:
    spec, name = _spec(obj), _name(obj)
    subject = f"BGPAdvertisement/{name}"
    for key in ("ipAddressPools", "communities", "peers"):
        values = list(spec.get(key) or [])
        for value in sorted({str(v) for v in values if values.count(v) > 1}):
            out.append(Violation("advertisement-duplicate", subject, f"{value!r} twice in {key}"))
    length = spec.get("aggregationLength", 32)
    length_v6 = spec.get("aggregationLengthV6", 128)
    if not isinstance(length, int) or length > 32:
        out.append(Violation("aggregation-length-bounds", subject, f"invalid aggregation length {length!r} for IPv4"))
        length = 32
    if not isinstance(length_v6, int) or length_v6 > 128:
        out.append(
            Violation("aggregation-length-bounds", subject, f"invalid aggregation length {length_v6!r} for IPv6")
        )
        length_v6 = 128
    for community in spec.get("communities") or []:
        # Large communities came with internal/bgp/community in v0.13.10.
        problem = _community_error(community, aliases, legacy_only=not _at_least(version, "v0.13.10"))
        if problem:
            out.append(Violation("community", subject, problem))
    return _Advertisement(
        name,
        subject,
        length,
        length_v6,
        int(spec.get("localPref", 0) or 0),
        tuple(spec.get("peers") or ()),
        tuple(spec.get("nodeSelectors") or ()),
        bool(spec.get("serviceSelectors")),
    )


def _bfd_echo(
    pools: Sequence[_Pool],
    on_pool: Mapping[str, Sequence[_Advertisement]],
    peers: Mapping[str, Mapping[str, Any]],
    profiles: Mapping[str, Mapping[str, Any]],
    out: list[Violation],
) -> None:
    """validateConfig (v0.15.3 validation.go:175-219)."""

    def echo(peer: Mapping[str, Any]) -> bool:
        return bool(profiles.get(peer.get("bfdProfile", ""), {}).get("echoMode"))

    for pool in pools:
        if 6 not in pool.families:
            continue
        for advertisement in on_pool.get(pool.name, ()):
            names = advertisement.peers or tuple(peers)
            for name in names:
                if name in peers and echo(peers[name]):
                    out.append(
                        Violation(
                            "bfd-echo-v6",
                            advertisement.subject,
                            f"pool {pool.name!r} holds IPv6 and peer {name!r} has BFD echo mode",
                        )
                    )


# --- ConfigMap era (v0.12.1) -------------------------------------------------------------------

# The strict parser's document (v0.12.1 config.go:35-93): key → type, or a nested struct.
_U32, _U16, _INT, _STR, _BOOL = "uint32", "uint16", "int", "string", "bool"
_SELECTOR_REQ = {"key": _STR, "operator": _STR, "values": [_STR]}
_NODE_SELECTOR = {"match-labels": {_STR: _STR}, "match-expressions": [_SELECTOR_REQ]}
_PEER = {
    "my-asn": _U32,
    "peer-asn": _U32,
    "peer-address": _STR,
    "source-address": _STR,
    "peer-port": _U16,
    "hold-time": _STR,
    "keepalive-time": _STR,
    "router-id": _STR,
    "node-selectors": [_NODE_SELECTOR],
    "password": _STR,
    "bfd-profile": _STR,
    "ebgp-multihop": _BOOL,
}
_ADVERTISEMENT = {"aggregation-length": _INT, "aggregation-length-v6": _INT, "localpref": _U32, "communities": [_STR]}
_POOL = {
    "protocol": _STR,
    "name": _STR,
    "addresses": [_STR],
    "avoid-buggy-ips": _BOOL,
    "auto-assign": _BOOL,
    "bgp-advertisements": [_ADVERTISEMENT],
}
_BFD = {
    "name": _STR,
    "receive-interval": _U32,
    "transmit-interval": _U32,
    "detect-multiplier": _U32,
    "echo-interval": _U32,
    "echo-mode": _BOOL,
    "passive-mode": _BOOL,
    "minimum-ttl": _U32,
}
_CONFIG_FILE = {"peers": [_PEER], "bgp-communities": {_STR: _STR}, "address-pools": [_POOL], "bfd-profiles": [_BFD]}


def _strict(value: object, shape: object, path: str, out: list[Violation]) -> None:
    """yaml.UnmarshalStrict into the struct ``shape``: unknown keys and wrong types."""
    if value is None:
        return  # a null leaves Go's zero value
    if isinstance(shape, list):
        if not isinstance(value, list):
            out.append(Violation("configmap-field-type", path, f"expected a list, got {value!r}"))
            return
        for index, item in enumerate(value):
            _strict(item, shape[0], f"{path}[{index}]", out)
    elif isinstance(shape, dict) and list(shape) == [_STR]:  # map[string]string
        if not isinstance(value, dict):
            out.append(Violation("configmap-field-type", path, f"expected a mapping, got {value!r}"))
            return
        for key, item in value.items():
            _strict(item, _STR, f"{path}.{key}", out)
    elif isinstance(shape, dict):
        if not isinstance(value, dict):
            out.append(Violation("configmap-field-type", path, f"expected a mapping, got {value!r}"))
            return
        for key, item in value.items():
            if key not in shape:
                out.append(
                    Violation("configmap-unknown-field", f"{path}.{key}".lstrip("."), "not in the parser's struct")
                )
            else:
                _strict(item, shape[key], f"{path}.{key}".lstrip("."), out)
    else:
        ok = {
            _U32: _uint(value, 32),
            _U16: _uint(value, 16),
            _INT: isinstance(value, int) and not isinstance(value, bool),
            # yaml.v2 decodes any scalar into a string field; maps and lists it refuses.
            _STR: not isinstance(value, dict | list),
            _BOOL: isinstance(value, bool),
        }[str(shape)]
        if not ok:
            out.append(Violation("configmap-field-type", path, f"{value!r} is not a {shape}"))


class _GoYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader without YAML 1.1's base-60 numbers: gopkg.in/yaml.v2 has none, so
    ``64512:1`` stays a string there (PyYAML would read 3870721)."""


_GoYamlLoader.yaml_implicit_resolvers = {
    first: [
        (tag, re.compile(r"(?!.*:)" + regexp.pattern, regexp.flags) if tag.endswith(("int", "float")) else regexp)
        for tag, regexp in resolvers
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_config_text(text: str) -> Any:
    """The ConfigMap's config text as yaml.v2 reads it."""
    return yaml.load(text, Loader=_GoYamlLoader)  # a SafeLoader subclass: no arbitrary objects


def configmap_config_errors(config_text: str, *, mode: object) -> list[Violation]:
    """What MetalLB v0.12.1's speaker (``config.Parse`` with the mode's validator) says of the
    ``config`` key of its ConfigMap."""
    speaker = _mode(mode, _version("v0.12.1"))
    out: list[Violation] = []
    try:
        document = load_config_text(config_text)
    except yaml.YAMLError as error:
        return [Violation("configmap-yaml", "config", str(error))]
    if document is None:
        document = {}
    if not isinstance(document, dict):
        return [Violation("configmap-yaml", "config", f"not a mapping: {document!r}")]
    _strict(document, _CONFIG_FILE, "", out)
    if out:
        return out  # UnmarshalStrict failed: nothing else is looked at

    def items(key: str) -> list[dict[str, Any]]:
        return [item if isinstance(item, dict) else {} for item in document.get(key) or []]

    raw_peers, raw_pools, raw_profiles = items("peers"), items("address-pools"), items("bfd-profiles")
    communities = document.get("bgp-communities") or {}

    if speaker == "native":  # DiscardFRROnly, v0.12.1 validate.go:15-43
        for index, peer in enumerate(raw_peers):
            subject = f"peers[{index}]"
            for option in ("bfd-profile", "keepalive-time"):
                if peer.get(option):
                    out.append(Violation("native-frr-only-option", subject, f"{option} set on native bgp mode"))
            if isinstance(go_parse_ip(str(peer.get("peer-address", ""))), IPv6Address):
                out.append(Violation("ours-native-v6-peer", subject, "IPv6 peer in native mode"))
        if raw_profiles:
            out.append(Violation("native-frr-only-option", "bfd-profiles", "bfd profiles section set"))
        for index, raw_pool in enumerate(raw_pools):
            if raw_pool.get("protocol") != "bgp":
                continue
            for raw in raw_pool.get("addresses") or []:
                parsed = parse_pool_entry(raw)
                if isinstance(parsed, PoolEntry) and any(b.version == 6 for b in parsed.blocks):
                    out.append(
                        Violation(
                            "native-v6-bgp-pool",
                            f"address-pools[{index}] ({raw_pool.get('name')})",
                            f"IPv6 {raw!r}: native bgp mode does not support ipv6",
                        )
                    )
    elif len(raw_peers) > 1:  # DiscardNativeOnly, v0.12.1 validate.go:53-73
        first = raw_peers[0]
        seen = {str(first.get("peer-address", ""))}
        for index, peer in enumerate(raw_peers[1:], start=1):
            subject = f"peers[{index}]"
            if str(peer.get("router-id", "")) != str(first.get("router-id", "")):
                out.append(Violation("frr-peers-router-id", subject, "router-id differs from the first peer's"))
            if peer.get("my-asn", 0) != first.get("my-asn", 0):
                out.append(Violation("frr-peers-my-asn", subject, "my-asn differs from the first peer's"))
            if str(peer.get("peer-address", "")) in seen:
                out.append(Violation("frr-peers-duplicate-address", subject, f"{peer.get('peer-address')} again"))
            seen.add(str(peer.get("peer-address", "")))

    profile_names: set[str] = set()
    for index, profile in enumerate(raw_profiles):
        subject = f"bfd-profiles[{index}]"
        if not profile.get("name"):
            out.append(Violation("bfd-profile", subject, "missing bfd profile name"))
        if profile.get("name") in profile_names:
            out.append(Violation("bfd-profile", subject, f"duplicate bfd profile name {profile.get('name')}"))
        profile_names.add(str(profile.get("name")))
        _bfd_profile(subject, {_camel(k): v for k, v in profile.items()}, out)

    parsed_peers: list[tuple[object, ...]] = []
    for index, peer in enumerate(raw_peers):
        subject = f"peers[{index}]"
        if not peer.get("my-asn"):
            out.append(Violation("peer-asn", subject, "missing local ASN"))
        if not peer.get("peer-asn"):
            out.append(Violation("peer-asn", subject, "missing peer ASN"))
        if peer.get("ebgp-multihop") and peer.get("peer-asn") == peer.get("my-asn"):
            out.append(Violation("peer-ebgp-multihop-ibgp", subject, "ebgp-multihop on an iBGP peer"))
        if go_parse_ip(str(peer.get("peer-address", ""))) is None:
            out.append(Violation("peer-address", subject, f"invalid peer IP {peer.get('peer-address')!r}"))
        _timers(subject, peer.get("hold-time"), peer.get("keepalive-time"), None, out)
        if peer.get("router-id") and go_parse_ip(str(peer["router-id"])) is None:
            out.append(Violation("peer-router-id", subject, f"invalid router ID {peer['router-id']!r}"))
        if peer.get("source-address") and go_parse_ip(str(peer["source-address"])) is None:
            out.append(Violation("peer-source-address", subject, f"invalid source IP {peer['source-address']!r}"))
        if peer.get("bfd-profile") and peer["bfd-profile"] not in profile_names:
            out.append(Violation("peer-bfd-profile-missing", subject, f"no BFD profile {peer['bfd-profile']!r}"))
        identity = _legacy_peer_identity(peer)
        if identity in parsed_peers:
            out.append(Violation("peer-duplicate", subject, f"peer #{index + 1} already exists"))
        parsed_peers.append(identity)

    for alias, value in communities.items():
        problem = _community_error(value, {}, legacy_only=True)
        if problem:
            out.append(Violation("community", f"bgp-communities.{alias}", problem))

    pools: list[_Pool] = []
    names: set[str] = set()
    for index, raw_pool in enumerate(raw_pools):
        name = str(raw_pool.get("name") or "")
        pool = _Pool(
            name,
            f"address-pools[{index}] ({name})",
            [],
            avoid_buggy_ips=bool(raw_pool.get("avoid-buggy-ips")),
            auto_assign=raw_pool.get("auto-assign") is not False,
            protocol=raw_pool.get("protocol"),
        )
        if not name:
            out.append(Violation("pool-name", pool.subject, "missing pool name"))
        _parse_entries(pool, raw_pool.get("addresses"), out)
        raw_advertisements = raw_pool.get("bgp-advertisements") or []
        if pool.protocol == "layer2":
            if raw_advertisements:
                out.append(Violation("pool-protocol", pool.subject, "bgp-advertisements in a layer2 address pool"))
        elif pool.protocol == "bgp":
            _legacy_advertisements(pool, raw_advertisements, communities, out)
        else:
            out.append(Violation("pool-protocol", pool.subject, f"unknown or missing protocol {pool.protocol!r}"))
        if name in names:
            out.append(Violation("pool-name", pool.subject, f"duplicate definition of pool {name!r}"))
        names.add(name)
        pools.append(pool)
    _overlaps(pools, out)
    return out


def _camel(key: str) -> str:
    head, *rest = key.split("-")
    return head + "".join(part.title() for part in rest)


def _legacy_peer_identity(peer: Mapping[str, Any]) -> tuple[object, ...]:
    """What reflect.DeepEqual compares of two parsed v0.12.1 peers (config.go:400-413), defaults
    applied: port 179, hold time 90s, keepalive hold/3."""
    hold = go_duration_seconds(peer.get("hold-time") or "90s")
    hold_s = None if hold is None else _go_seconds(hold)
    keepalive = go_duration_seconds(peer["keepalive-time"]) if peer.get("keepalive-time") else None
    keepalive_s = (hold_s or 0) / 3 if not peer.get("keepalive-time") else keepalive and _go_seconds(keepalive)
    return (
        peer.get("my-asn"),
        peer.get("peer-asn"),
        go_parse_ip(str(peer.get("peer-address", ""))),
        go_parse_ip(str(peer.get("source-address", ""))),
        peer.get("peer-port") or 179,
        hold_s,
        keepalive_s,
        go_parse_ip(str(peer.get("router-id", ""))),
        repr(peer.get("node-selectors") or []),
        peer.get("password") or "",
        peer.get("bfd-profile") or "",
        bool(peer.get("ebgp-multihop")),
    )


def _legacy_advertisements(
    pool: _Pool, raw: Sequence[Mapping[str, Any]], aliases: Mapping[str, object], out: list[Violation]
) -> None:
    """parseBGPAdvertisements, v0.12.1 config.go:497-579 (no localPref rule in this release)."""
    for i, first in enumerate(raw):
        for j in range(i + 1, len(raw)):
            if first == raw[j]:
                out.append(Violation("advertisement-duplicate", pool.subject, f"advertisements {i + 1} and {j + 1}"))
    for index, item in enumerate(raw):
        subject = f"{pool.subject}.bgp-advertisements[{index}]"
        communities = list(item.get("communities") or [])
        for value in sorted({str(c) for c in communities if communities.count(c) > 1}):
            out.append(Violation("advertisement-duplicate", subject, f"community {value!r} twice"))
        length = item.get("aggregation-length")
        length = 32 if length is None else length
        length_v6 = item.get("aggregation-length-v6")
        length_v6 = 128 if length_v6 is None else length_v6
        if length > 32:
            out.append(Violation("aggregation-length-bounds", subject, f"invalid aggregation length {length} for IPv4"))
        if length_v6 > 128:
            out.append(
                Violation("aggregation-length-bounds", subject, f"invalid aggregation length {length_v6} for IPv6")
            )
        _aggregation_vs_entries(_Advertisement("", subject, length, length_v6, 0, ()), pool, out)
        for community in communities:
            problem = _community_error(community, aliases, legacy_only=True)
            if problem:
                out.append(Violation("community", subject, problem))


# --- either era --------------------------------------------------------------------------------


def metallb_config_errors(
    objects: Sequence[Mapping[str, Any]],
    *,
    version: MetalLBVersion | str,
    mode: object,
    nodes: Sequence[Mapping[str, Any]] | None = None,
) -> list[Violation]:
    """MetalLB's verdict on rendered objects: the ConfigMap's config text for v0.12.1, the CRs
    (``metallb.io/*`` objects plus the Secrets they name) from v0.13."""
    release = _version(version)
    if release.uses_configmap:
        (configmap,) = [o for o in objects if o.get("kind") == "ConfigMap"]
        return configmap_config_errors(configmap["data"]["config"], mode=mode)
    return crd_config_errors(objects, version=release, mode=mode, nodes=nodes)


# --- pools, as the controller sees them --------------------------------------------------------


def _pools_for_controller(objects: Sequence[Mapping[str, Any]], version: MetalLBVersion) -> list[_Pool]:
    ignored: list[Violation] = []
    if not version.uses_configmap:
        return _crd_pools(_of_kind(objects, "IPAddressPool"), ignored)
    (configmap,) = [o for o in objects if o.get("kind") == "ConfigMap"]
    document = load_config_text(configmap["data"]["config"]) or {}
    pools = []
    for raw in document.get("address-pools") or []:
        pool = _Pool(
            str(raw.get("name")),
            str(raw.get("name")),
            [],
            avoid_buggy_ips=bool(raw.get("avoid-buggy-ips")),
            auto_assign=raw.get("auto-assign") is not False,
            protocol=raw.get("protocol"),
        )
        _parse_entries(pool, raw.get("addresses"), ignored)
        pools.append(pool)
    return pools


# --- Kubernetes: a Service's dual-stack fields (create) ----------------------------------------

FAMILIES = ("IPv4", "IPv6")
POLICIES = ("SingleStack", "PreferDualStack", "RequireDualStack")


def _family_of(address: str) -> str | None:
    parsed = go_parse_ip(address)
    return None if parsed is None else ("IPv4" if parsed.version == 4 else "IPv6")


def _service_subject(service: Mapping[str, Any]) -> str:
    metadata = service.get("metadata") or {}
    return f"Service {metadata.get('namespace', 'default')}/{metadata.get('name', '')}"


def kubernetes_service_errors(service: Mapping[str, Any], *, cluster_families: Sequence[str]) -> list[Violation]:
    """What the API server says when this Service is created on a cluster whose service CIDRs
    have ``cluster_families`` (the first is the default family). Only the dual-stack fields."""
    assert cluster_families and set(cluster_families) <= set(FAMILIES), cluster_families
    return _service_families(service, cluster_families)[1]


def service_ip_families(service: Mapping[str, Any], *, cluster_families: Sequence[str]) -> tuple[str, ...]:
    """``spec.ipFamilies`` after the API server's defaulting on create (one cluster IP each);
    raises ValueError when the API server refuses the Service."""
    families, errors = _service_families(service, cluster_families)
    if errors:
        raise ValueError("; ".join(map(str, errors)))
    return families


def _service_families(
    service: Mapping[str, Any], cluster_families: Sequence[str]
) -> tuple[tuple[str, ...], list[Violation]]:
    spec = service.get("spec") or {}
    subject = _service_subject(service)
    out: list[Violation] = []
    families = list(spec.get("ipFamilies") or [])
    policy = spec.get("ipFamilyPolicy")
    cluster_ip = spec.get("clusterIP") or ""
    cluster_ips = list(spec.get("clusterIPs") or [])
    if spec.get("type") == "ExternalName":
        return (), out

    # ValidateServiceClusterIPsRelatedFields
    if cluster_ip and (not cluster_ips or cluster_ips[0] != cluster_ip):
        out.append(Violation("k8s-cluster-ips", subject, "clusterIPs[0] must match clusterIP"))
    if not cluster_ip and cluster_ips:
        out.append(Violation("k8s-cluster-ips", subject, "clusterIPs must be empty when clusterIP is not set"))
    for index, family in enumerate(families):
        if family not in FAMILIES:
            out.append(Violation("k8s-ip-families", subject, f"ipFamilies[{index}] {family!r} not supported"))
        if family in families[:index]:
            out.append(Violation("k8s-ip-families", subject, f"ipFamilies[{index}] {family!r} duplicated"))
    if policy is not None and policy not in POLICIES:
        out.append(Violation("k8s-ip-family-policy", subject, f"{policy!r} not supported"))
    headless = cluster_ips == ["None"]
    ip_families = [] if headless else [_family_of(ip) for ip in cluster_ips]
    if None in ip_families:
        out.append(Violation("k8s-cluster-ips", subject, f"invalid clusterIPs {cluster_ips!r}"))
    if len(cluster_ips) > 2:
        out.append(Violation("k8s-cluster-ips", subject, "may only hold up to 2 values"))
    if len(ip_families) == 2 and ip_families[0] == ip_families[1]:
        out.append(Violation("k8s-cluster-ips", subject, "one IP per family"))
    for index, family in enumerate(ip_families[: len(families)]):
        if family is not None and family != families[index]:
            out.append(Violation("k8s-cluster-ips", subject, f"clusterIPs[{index}] is not {families[index]}"))
    if out:
        return (), out

    # initIPFamilyFields (create)
    if policy is None:
        policy = "RequireDualStack" if headless and not spec.get("selector") else "SingleStack"
    if policy == "SingleStack" and len(cluster_ips) == 2:
        out.append(Violation("k8s-single-stack-two-families", subject, "two clusterIPs need a dual-stack policy"))
    if policy == "SingleStack" and len(families) == 2:
        out.append(Violation("k8s-single-stack-two-families", subject, "two ipFamilies need a dual-stack policy"))
    for index, family in enumerate(ip_families):
        if index >= len(families):
            if family not in cluster_families:
                out.append(Violation("k8s-family-not-configured", subject, f"clusterIPs[{index}]: {family}"))
            else:
                families.append(str(family))
    if out:
        return (), out
    if policy == "RequireDualStack" and len(cluster_families) < 2:
        out.append(Violation("k8s-require-dual-stack", subject, "this cluster is not configured for dual-stack"))
    for index, family in enumerate(families):
        if family not in cluster_families:
            out.append(Violation("k8s-family-not-configured", subject, f"ipFamilies[{index}]: {family}"))
    if out:
        return (), out
    if not families:
        families = [cluster_families[0]]
    if policy != "SingleStack" and len(families) == 1 and len(cluster_families) == 2:
        families.append("IPv6" if families[0] == "IPv4" else "IPv4")
    return tuple(families), out


# --- MetalLB's controller on a Service ---------------------------------------------------------


def metallb_service_errors(
    service: Mapping[str, Any],
    *,
    version: MetalLBVersion | str,
    objects: Sequence[Mapping[str, Any]],
    cluster_families: Sequence[str],
) -> list[Violation]:
    """What MetalLB's controller says of a LoadBalancer Service (its events), given the pools in
    the rendered MetalLB ``objects`` and the cluster's service families. A Service the API
    server refuses never reaches MetalLB: those errors come from :func:`kubernetes_service_errors`."""
    release = _version(version)
    subject = _service_subject(service)
    spec = service.get("spec") or {}
    annotations = (service.get("metadata") or {}).get("annotations") or {}
    out: list[Violation] = []
    try:
        families = service_ip_families(service, cluster_families=cluster_families)
    except ValueError:
        return out
    if spec.get("type", "ClusterIP") != "LoadBalancer":
        return out
    service_family = {4 if f == "IPv4" else 6 for f in families}  # ipfamily.ForService
    pools = _pools_for_controller(objects, release)
    pool_names = {p.name for p in pools}

    read = ("metallb.io", "metallb.universe.tf") if _at_least(release, "v0.14.9") else ("metallb.universe.tf",)
    for prefix in ("metallb.io", "metallb.universe.tf"):
        for key in ("loadBalancerIPs", "address-pool"):
            if f"{prefix}/{key}" in annotations and prefix not in read:
                out.append(Violation("lb-annotation-ignored", subject, f"{release} does not read {prefix}/{key}"))
    requested = next((annotations[f"{p}/loadBalancerIPs"] for p in read if f"{p}/loadBalancerIPs" in annotations), "")
    wanted_pool = next((annotations[f"{p}/address-pool"] for p in read if f"{p}/address-pool" in annotations), "")
    spec_ip = spec.get("loadBalancerIP") or ""

    if requested and spec_ip:
        out.append(Violation("lb-annotation-and-spec", subject, "loadBalancerIPs annotation and spec.loadBalancerIP"))
        return out
    if requested or spec_ip:
        _pinned(
            subject,
            [t.strip() for t in requested.split(",")] if requested else [spec_ip],
            service_family,
            pools,
            wanted_pool,
            release,
            out,
        )
        return out

    if wanted_pool and wanted_pool not in pool_names:
        out.append(Violation("lb-unknown-pool", subject, f"no pool {wanted_pool!r}"))
        return out
    candidates = [p for p in pools if p.name == wanted_pool] if wanted_pool else [p for p in pools if p.auto_assign]
    policy = spec.get("ipFamilyPolicy") or "SingleStack"
    falls_back = len(service_family) == 2 and policy == "PreferDualStack" and _at_least(release, "v0.14.9")
    if not any(service_family <= p.families or (falls_back and p.families) for p in candidates):
        where = f"pool {wanted_pool!r}" if wanted_pool else "auto-assign pool"
        wanted = " and ".join(f"IPv{n}" for n in sorted(service_family))
        out.append(Violation("lb-no-pool-for-family", subject, f"no {where} holds {wanted}"))
    return out


def _pinned(
    subject: str,
    texts: Sequence[str],
    service_family: set[int],
    pools: Sequence[_Pool],
    wanted_pool: str,
    release: MetalLBVersion,
    out: list[Violation],
) -> None:
    """getDesiredLbIPs, the family check and Assign (v0.15.3 controller/service.go:263-286)."""
    parsed = [go_parse_ip(text) for text in texts]
    addresses = [a for a in parsed if a is not None]
    if len(addresses) != len(parsed):
        out.append(Violation("lb-ip-parse", subject, f"invalid requested addresses {list(texts)}"))
        return
    if len(addresses) > 2 or (len(addresses) == 2 and addresses[0].version == addresses[1].version):
        out.append(Violation("lb-ip-families", subject, f"{list(texts)}: one address, or one of each family"))
        return
    if {a.version for a in addresses} != service_family:
        families = ", ".join(f"IPv{n}" for n in sorted(service_family))
        out.append(
            Violation("lb-ip-family-mismatch", subject, f"{list(texts)} do not match the Service's ({families})")
        )
        return
    owner = next((p for p in pools if all(_pool_holds(p, a) for a in addresses)), None)
    if owner is None:
        out.append(Violation("lb-ip-no-pool", subject, f"{list(texts)} are not all in one pool"))
    elif wanted_pool and owner.name != wanted_pool and _at_least(release, "v0.13.10"):
        out.append(
            Violation("lb-ip-pool-annotation", subject, f"{list(texts)} are in {owner.name!r}, not {wanted_pool!r}")
        )


def _pool_holds(pool: _Pool, address: IPAddress) -> bool:
    if pool.avoid_buggy_ips and isinstance(address, IPv4Address) and int(address) & 0xFF in (0, 255):
        return False
    return any(address in block for block in pool.blocks)
