"""Hypothesis strategies for raw stack configs (the ``metallb-unifi:`` keys without the prefix).

* :func:`valid_configs` draws configs the parser must accept: 1–8 nodes in one /24, 1–4
  non-overlapping pools (bgp pools outside the nodes' subnet, layer2 pools inside it), either
  gateway kind, every supported config era and speaker mode, session options valid for the
  gateway kind and mode, 0–10 services with unique names, aliases and pinned addresses, and
  sometimes a ``discovery``, a ``gatewaySsh`` (every host key type, a key or a password, plain or
  encrypted) and a ``verify`` section. Half of the labs are dual-stack (``dual_stack`` chooses): the nodes get IPv6
  addresses in one /64 (sometimes a ``nodeSubnet6`` around it), pools IPv6 CIDRs and ranges where
  the release and mode allow them (bgp pools outside the nodes' /64, layer2 pools inside it, some
  pools of IPv6 only, entries of both families in any order), ``aggregationLengthV6``, the gateway
  a ``peerAddress6`` (always when a bgp pool holds IPv6), and services ``address``/``addresses``
  of either or both families with ``ipFamilyPolicy``/``ipFamilies`` the parser accepts.
* :func:`guaranteed_invalid_configs` draws ``(raw, key)``: a valid config with one mistake the
  parser must report under ``key`` (a dropped required key, an unknown key, an ASN out of range,
  a malformed IP address).
* :func:`mutated_configs` draws a valid config with 1–3 arbitrary mutations (junk values at
  random paths, wrong types, wrong nesting, dropped keys): it may or may not be valid.
* :func:`number_like_leaf_configs` draws a valid config with one leaf (mostly one read as a
  number) replaced by number-like text: non-ASCII digits, durations, very long digit strings.

The configs are plain JSON-like data (dicts, lists, str, int, bool), as ``yaml.safe_load``
produces them. No config names ``gateway.baseConfigFile`` (it needs a project directory).
"""

from __future__ import annotations

import copy
import string
from collections.abc import Callable, Iterator
from ipaddress import (
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    ip_address,
    ip_network,
    summarize_address_range,
)
from typing import Any, NamedTuple

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import strategies as st

from components.config.errors import key_path
from components.config.versions import MetalLBVersion, parse_version

Path = tuple[str | int, ...]

VERSIONS = ("v0.12.1", "v0.13.12", "v0.14.9", "v0.15.3", "v0.16.1")
GATEWAY_KINDS = ("usg", "unifi-os")

# Every key the parser knows, at any level; an "unknown key" mutation must avoid all of them.
KNOWN_KEYS = frozenset(
    {
        # top level
        "nodes",
        "nodeSubnet",
        "metallb",
        "bgp",
        "gateway",
        "services",
        # nodes[i]
        "name",
        "address",
        "address6",
        "nodeSubnet6",
        "labels",
        # metallb
        "version",
        "asn",
        "mode",
        "pools",
        # metallb.pools[i]
        "protocol",
        "addresses",
        "autoAssign",
        "avoidBuggyIPs",
        "aggregationLength",
        "aggregationLengthV6",
        "localPref",
        "communities",
        # bgp
        "password",
        "holdTime",
        "keepaliveTime",
        "peerPort",  # no longer accepted; kept so an "unknown key" mutation never relies on it
        "nodeSelectors",
        "ebgpMultiHop",
        "bfd",
        "matchLabels",
        "matchExpressions",
        "key",
        "operator",
        "values",
        "receiveInterval",
        "transmitInterval",
        "detectMultiplier",
        # gateway
        "kind",
        "peerAddress",
        "peerAddress6",
        "routerId",
        "dnsDomain",
        "maximumPaths",
        "baseConfigFile",
        "dnsTtl",
        # services[i]
        "namespace",
        "serviceName",
        "existing",
        "pool",
        "aliases",
        "externalTrafficPolicy",
        "sharedIP",
        "ports",
        "selector",
        "scheme",
        "port",
        "targetPort",
        "ipFamilyPolicy",
        "ipFamilies",
        # discovery
        "discovery",
        "namespaces",
        # gatewaySsh
        "gatewaySsh",
        "host",
        "user",
        "hostKey",
        "privateKey",
        # verify
        "verify",
        "afterUp",
        "timeout",
        "required",
    }
)

# Objects whose keys are data (Kubernetes labels, an encrypted secret), not config keys.
FREE_FORM_KEYS = frozenset({"labels", "selector", "matchLabels", "password", "privateKey"})


def _openssh_public(key: ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey) -> str:
    return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


# A real host key of every type paramiko checks ("TYPE BASE64", as ssh-keyscan prints it after the
# host), made from fixed numbers so that every run draws the same ones.
HOST_KEYS: dict[str, str] = {
    "ssh-ed25519": _openssh_public(ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32))).public_key()),
    **{
        f"ecdsa-sha2-nistp{bits}": _openssh_public(ec.derive_private_key(1234567, curve).public_key())
        for bits, curve in ((256, ec.SECP256R1()), (384, ec.SECP384R1()), (521, ec.SECP521R1()))
    },
    # cryptography does not check that n is a product of two primes: any odd 2048-bit n serves.
    "ssh-rsa": _openssh_public(rsa.RSAPublicNumbers(65537, (1 << 2047) + 12345).public_key()),
}
PRIVATE_KEY_TEXT = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"

_PASSWORD_ALPHABET = string.ascii_letters + string.digits + "!#$%&()*+,-./:;<=>?@[]^_{|}~"

# DNS labels starting with a letter, with at most one single '-': never contains "--", so a
# derived name like ``<name>--svc`` cannot collide with a drawn one.
_label = st.from_regex(r"[a-z][a-z0-9]{0,6}(-[a-z0-9]{1,5})?", fullmatch=True)
_dns_name = st.lists(_label, min_size=1, max_size=3).map(".".join)

_NODE_LABEL_KEYS = ("role", "zone", "example.com/rack", "node-role.kubernetes.io/worker", "topology.kubernetes.io/zone")
_LABEL_VALUES = ("", "a", "b", "rack-1", "Zone_A.1", "true")
_private_asn = st.one_of(st.integers(64512, 65534), st.integers(4200000000, 4294967294))
_any_asn = st.integers(1, 4294967295)

# Layer2 pools take whole or partial /28 blocks of host octets 112..239 of the nodes' /24; the
# nodes use host octets 2..99 and the gateway .1 or .254, so nothing overlaps.
_LAYER2_BLOCKS = tuple(range(112, 240, 16))

# The IPv6 side of a dual-stack lab: the nodes' /64 in fd00::/8, the nodes at hosts 0x66..0xf9f,
# the gateway at host 1 or 0xfffe, layer2 pools in whole or partial /120 blocks at hosts
# 0x1000..0x1fff; bgp pools in 2001:db8:<pool index>::/48, far from all of them.
_LAYER2_BLOCKS6 = tuple(range(0x1000, 0x2000, 0x100))
_GATEWAY_HOSTS6 = (0x1, 0xFFFE)
_FAMILIES = ("IPv4", "IPv6")

# Releases whose native mode refuses any IPv6 pool once a BGP advertisement exists
# (components/config/checks.py _native_refuses_ipv6).
_NATIVE_V6_LAYER2_WITH_BGP_FROM = MetalLBVersion(0, 14, 9)
# From this release an unpinned PreferDualStack Service takes one family when its pool has one.
_PREFER_DUAL_STACK_FALLS_BACK_FROM = MetalLBVersion(0, 14, 9)


def _modes(version: str) -> tuple[str, ...]:
    return ("native", "frr", "frr-k8s") if version >= "v0.14" else ("native", "frr")


def _duration(seconds: int) -> st.SearchStrategy[Any]:
    forms: list[Any] = [seconds, f"{seconds}s"]
    if seconds >= 60:
        minutes, rest = divmod(seconds, 60)
        forms.append(f"{minutes}m{rest}s" if rest else f"{minutes}m")
    return st.sampled_from(forms)


@st.composite
def _layer2_ranges(draw: st.DrawFn, network: IPv4Network | IPv6Network, blocks: list[int]) -> list[str]:
    """Whole or partial blocks of ``network`` at the host offsets ``blocks``: a /28 of IPv4, a
    /120 of IPv6."""
    host_bits = 4 if network.version == 4 else 8
    size = 1 << host_bits
    base = network.network_address
    ranges = []
    for block in blocks:
        if draw(st.booleans()):
            ranges.append(f"{base + block}/{network.max_prefixlen - host_bits}")
        else:
            first = draw(st.integers(block, block + size - 1))
            last = draw(st.integers(first, block + size - 1))
            ranges.append(f"{base + first}-{base + last}")
    return ranges


class _BgpPlan(NamedTuple):
    """Where bgp pool ``index`` draws its entries of one IP version: in one or two of ``subnets``
    subnets (``base(index, n)`` the first address of subnet n), each a CIDR block of a length in
    ``lengths`` starting below host ``starts``, or a range of hosts in 0..``hosts``."""

    base: Callable[[int, int], IPv4Address | IPv6Address]
    subnets: int
    lengths: tuple[int, int]
    starts: int
    hosts: int


_BGP_PLANS = {
    # 172.(16+index).<n>.0/24: never near the nodes (10.x / 192.168.x) or the gateway.
    4: _BgpPlan(lambda index, n: IPv4Address(f"172.{16 + index}.{n}.0"), 256, (24, 30), 0xFF, 0xFF),
    # 2001:db8:<index>:<n>::/64, far from the nodes' fd00::/8.
    6: _BgpPlan(lambda index, n: IPv6Address(f"2001:db8:{index:x}:{n:x}::"), 2**16, (104, 128), 2**24 - 1, 0xFFFF),
}


@st.composite
def _bgp_ranges(draw: st.DrawFn, index: int, version: int = 4) -> tuple[list[str], int]:
    """The entries of bgp pool ``index`` of one IP version, one per drawn subnet (``_BGP_PLANS``),
    and the longest prefix of their CIDR blocks (the shortest aggregation length that keeps every
    announcement inside the pool)."""
    plan = _BGP_PLANS[version]
    ranges = []
    longest = 0
    for subnet in draw(st.lists(st.integers(0, plan.subnets - 1), min_size=1, max_size=2, unique=True)):
        base = plan.base(index, subnet)
        if draw(st.booleans()):
            prefix = draw(st.integers(*plan.lengths))
            host = draw(st.integers(0, plan.starts)) & ~((1 << (base.max_prefixlen - prefix)) - 1)
            ranges.append(f"{base + host}/{prefix}")
            longest = max(longest, prefix)
        else:
            first = draw(st.integers(0, plan.hosts))
            last = draw(st.integers(first, plan.hosts))
            ranges.append(f"{base + first}-{base + last}")
            blocks = summarize_address_range(base + first, base + last)
            longest = max(longest, *(block.prefixlen for block in blocks))
    return ranges, longest


def _addresses_of(ranges: list[str]) -> dict[int, list[tuple[int, int]]]:
    """IP version → inclusive (first, last) integer bounds of each range text of that family."""
    bounds: dict[int, list[tuple[int, int]]] = {}
    for text in ranges:
        if "-" in text:
            first, last = (ip_address(part) for part in text.split("-"))
        else:
            network = ip_network(text)
            first, last = network.network_address, network.broadcast_address
        bounds.setdefault(first.version, []).append((int(first), int(last)))
    return bounds


def _address(version: int, value: int) -> IPv4Address | IPv6Address:
    return IPv4Address(value) if version == 4 else IPv6Address(value)


@st.composite
def _pinned_families(draw: st.DrawFn, pins: list[IPv4Address | IPv6Address]) -> dict[str, Any]:
    """``address``/``addresses`` for these pins (one per family, IPv4 first) with an
    ``ipFamilyPolicy`` and ``ipFamilies`` the parser accepts: two pins need a dual-stack policy,
    listed families hold the pins' (Kubernetes: kubernetes/kubernetes@000f2605:pkg/apis/core/
    validation/validation.go ValidateServiceClusterIPsRelatedFields). One pin keeps SingleStack:
    MetalLB gives a dual-stack Service's one pinned address no partner (research §1c)."""
    texts = [str(a) for a in pins]
    families = [_FAMILIES[a.version // 6] for a in pins]
    form: dict[str, Any] = {}
    if len(pins) == 1:
        if draw(st.booleans()):
            form["address"] = texts[0]
        else:
            form["addresses"] = texts
        if draw(st.booleans()):
            form["ipFamilyPolicy"] = "SingleStack"
        if draw(st.booleans()):
            form["ipFamilies"] = families
        return form
    form["addresses"] = draw(st.permutations(texts))
    form["ipFamilyPolicy"] = draw(st.sampled_from(("PreferDualStack", "RequireDualStack")))
    if draw(st.booleans()):
        form["ipFamilies"] = draw(st.permutations(families))
    return form


@st.composite
def _unpinned_families(draw: st.DrawFn, candidates: list[dict[str, Any]], falls_back: bool) -> dict[str, Any]:
    """``ipFamilyPolicy``/``ipFamilies`` for a service MetalLB gives addresses from one of
    ``candidates`` (its pool, else the pools that assign automatically), on a dual-stack cluster
    whose primary family is IPv4 (what a dual-stack lab's nodes make): the Service's families must
    all be in one candidate (metallb/metallb@v0.15.3:internal/allocator/allocator.go:663-680).
    SingleStack gets the listed family, else IPv4; Prefer- and RequireDualStack get both, except
    that from v0.14.9 (``falls_back``) PreferDualStack takes one family when no pool holds both
    (controller/service.go:159-176). The parser refuses only the RequireDualStack case
    (checks.py _check_services); MetalLB's controller refuses the others (the oracle,
    tests/artifacts/metallb_rules.py ``lb-no-pool-for-family``)."""
    held = [set(_addresses_of(pool["addresses"])) for pool in candidates]
    both = any(len(families) == 2 for families in held)
    single = sorted(set().union(*held))  # a family some candidate holds
    policies: list[str | None] = []
    if 4 in single:
        policies.append(None)  # SingleStack of the cluster's primary family, IPv4
    policies.append("SingleStack")
    if both or falls_back:
        policies.append("PreferDualStack")
    if both:
        policies.append("RequireDualStack")
    policy = draw(st.sampled_from(policies))
    form: dict[str, Any] = {} if policy is None else {"ipFamilyPolicy": policy}
    if policy in ("PreferDualStack", "RequireDualStack"):
        if draw(st.booleans()):
            # Listing one family still gets both on a dual-stack cluster (the API server adds the other).
            families = list(_FAMILIES) if policy == "RequireDualStack" else draw(st.sampled_from([["IPv4"], ["IPv6"]]))
            form["ipFamilies"] = draw(st.permutations(families)) if len(families) == 2 else families
    elif (policy == "SingleStack" and 4 not in single) or draw(st.booleans()):
        form["ipFamilies"] = [_FAMILIES[draw(st.sampled_from(single)) // 6]]
    return form


@st.composite
def _ports(draw: st.DrawFn, taken: set[tuple[int, str]]) -> list[dict[str, Any]]:
    pairs = draw(
        st.lists(
            st.tuples(st.integers(1, 65535), st.sampled_from(("TCP", "UDP", "SCTP"))).filter(lambda p: p not in taken),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    names = draw(st.lists(_label, min_size=len(pairs), max_size=len(pairs), unique=True))
    ports = []
    for (number, protocol), name in zip(pairs, names, strict=True):
        port: dict[str, Any] = {"port": number}
        if len(pairs) > 1 or draw(st.booleans()):
            port["name"] = name
        if protocol != "TCP" or draw(st.booleans()):
            port["protocol"] = protocol
        target = draw(st.one_of(st.none(), st.integers(1, 65535), _label))
        if target is not None:
            port["targetPort"] = target
        ports.append(port)
    return ports


@st.composite
def _valid_config(draw: st.DrawFn, dual_stack: bool | None = None) -> dict[str, Any]:
    raw: dict[str, Any] = {}

    # --- nodes, all in one /24 ------------------------------------------------------------
    if draw(st.booleans()):
        network = IPv4Network(f"192.168.{draw(st.integers(0, 255))}.0/24")
    else:
        network = IPv4Network(f"10.{draw(st.integers(0, 99))}.{draw(st.integers(0, 255))}.0/24")
    base = int(network.network_address)
    count = draw(st.integers(1, 8))
    octets = draw(st.lists(st.integers(2, 99), min_size=count, max_size=count, unique=True))
    node_names = draw(st.lists(_label, min_size=count, max_size=count, unique=True))
    nodes = []
    for name, octet in zip(node_names, octets, strict=True):
        node: dict[str, Any] = {"name": name, "address": str(IPv4Address(base + octet))}
        if draw(st.booleans()):
            node["labels"] = draw(
                st.dictionaries(st.sampled_from(_NODE_LABEL_KEYS), st.sampled_from(_LABEL_VALUES), max_size=3)
            )
        nodes.append(node)
    raw["nodes"] = nodes
    subnet_prefix = draw(st.sampled_from((None, 24, 23, 22)))
    if subnet_prefix is not None:
        raw["nodeSubnet"] = str(network.supernet(new_prefix=subnet_prefix))
    dual = draw(st.booleans()) if dual_stack is None else dual_stack
    network6 = IPv6Network((0xFD << 120 | draw(st.integers(0, 2**56 - 1)) << 64, 64))
    if dual:
        # 100·m + the IPv4 host octet (2..99, unique): unique hosts in 0x66..0xf9f without retries.
        for node, octet in zip(nodes, octets, strict=True):
            node["address6"] = str(network6.network_address + 100 * draw(st.integers(1, 39)) + octet)
        subnet6_prefix = draw(st.sampled_from((None, 64, 56, 48)))
        if subnet6_prefix is not None:
            raw["nodeSubnet6"] = str(network6.supernet(new_prefix=subnet6_prefix))

    # --- gateway --------------------------------------------------------------------------
    kind = draw(st.sampled_from(GATEWAY_KINDS))
    gateway_choices = (str(IPv4Address(base + 1)), str(IPv4Address(base + 254)), "10.255.255.1")
    peer = draw(st.sampled_from(gateway_choices))
    metallb_asn = draw(st.one_of(_private_asn, _any_asn))
    gateway_asn = metallb_asn if draw(st.booleans()) else draw(st.one_of(_private_asn, _any_asn))
    ibgp = metallb_asn == gateway_asn
    gateway: dict[str, Any] = {"kind": kind, "asn": gateway_asn, "peerAddress": peer, "dnsDomain": draw(_dns_name)}
    if draw(st.booleans()):
        gateway["routerId"] = draw(st.sampled_from(gateway_choices))
    if kind == "unifi-os":
        if draw(st.booleans()):
            gateway["maximumPaths"] = draw(st.integers(1, 64))
        if draw(st.booleans()):
            gateway["dnsTtl"] = draw(st.integers(0, 2147483647))
    domain = gateway["dnsDomain"]

    # --- metallb and its pools ------------------------------------------------------------
    version = draw(st.sampled_from(VERSIONS))
    mode = draw(st.sampled_from(_modes(version)))
    metallb: dict[str, Any] = {"version": version, "asn": metallb_asn}
    if mode != "native" or draw(st.booleans()):
        metallb["mode"] = mode
    pool_count = draw(st.integers(1, 4))
    pool_names = draw(st.lists(_label, min_size=pool_count, max_size=pool_count, unique=True))
    blocks = list(draw(st.permutations(_LAYER2_BLOCKS)))
    blocks6 = list(draw(st.permutations(_LAYER2_BLOCKS6)))
    protocols = [draw(st.sampled_from(("bgp", "layer2"))) for _ in pool_names]
    # Where IPv6 may go (components/config/checks.py _check_ipv6_bgp): bgp pools in the FRR modes
    # only; layer2 pools anywhere but in native v0.13.2–v0.14.8 beside a bgp pool.
    release = parse_version(version)
    assert release is not None
    ipv6_bgp = dual and mode != "native"
    ipv6_layer2 = dual and not (
        mode == "native"
        and not release.uses_configmap
        and release < _NATIVE_V6_LAYER2_WITH_BGP_FROM
        and "bgp" in protocols
    )
    pools = []
    pool_bounds: dict[str, dict[int, list[tuple[int, int]]]] = {}
    for index, (name, protocol) in enumerate(zip(pool_names, protocols, strict=True)):
        pool: dict[str, Any] = {"name": name, "protocol": protocol}
        # The first pool keeps IPv4 addresses: an unpinned SingleStack service gets one from it.
        only6 = index > 0 and draw(st.booleans())
        if protocol == "layer2":
            mine = [blocks.pop() for _ in range(draw(st.integers(1, 2)))]
            addresses = draw(_layer2_ranges(network, mine))
            if ipv6_layer2 and draw(st.booleans()):
                mine6 = [blocks6.pop() for _ in range(draw(st.integers(1, 2)))]
                addresses6 = draw(_layer2_ranges(network6, mine6))
                addresses = draw(st.permutations(addresses6 if only6 else addresses + addresses6))
            pool["addresses"] = addresses
        else:
            addresses, longest = draw(_bgp_ranges(index))
            if ipv6_bgp and draw(st.integers(0, 3)):
                addresses6, longest6 = draw(_bgp_ranges(index, 6))
                if only6:
                    addresses = []
                addresses = draw(st.permutations(addresses + addresses6))
                if draw(st.booleans()):
                    pool["aggregationLengthV6"] = draw(st.integers(longest6, 128))
            pool["addresses"] = addresses
            if any("." in a for a in addresses) and draw(st.booleans()):
                pool["aggregationLength"] = draw(st.integers(longest, 32))
            if ibgp and draw(st.booleans()):
                pool["localPref"] = draw(st.integers(0, 2147483647))
            if draw(st.booleans()):
                pool["communities"] = draw(
                    st.lists(
                        st.tuples(st.integers(0, 65535), st.integers(0, 65535)).map(lambda c: f"{c[0]}:{c[1]}"),
                        max_size=3,
                        unique=True,  # MetalLB refuses a duplicate community
                    )
                )
        # The first pool always assigns automatically, so an unpinned service always gets one.
        if index == 0:
            if draw(st.booleans()):
                pool["autoAssign"] = True
        elif draw(st.booleans()):
            pool["autoAssign"] = draw(st.booleans())
        if draw(st.booleans()):
            pool["avoidBuggyIPs"] = draw(st.booleans())
        pools.append(pool)
        pool_bounds[name] = _addresses_of(pool["addresses"])
    metallb["pools"] = pools
    raw["metallb"] = metallb
    raw["gateway"] = gateway
    bgp_v6 = any(p["protocol"] == "bgp" and 6 in pool_bounds[p["name"]] for p in pools)
    # Required with IPv6 in a bgp pool; taken (and unused) without.
    if bgp_v6 or (dual and draw(st.booleans())):
        gateway["peerAddress6"] = str(network6.network_address + draw(st.sampled_from(_GATEWAY_HOSTS6)))

    # --- the BGP session --------------------------------------------------------------------
    if draw(st.booleans()):
        bgp: dict[str, Any] = {}
        if draw(st.booleans()):
            bgp["password"] = draw(
                st.one_of(
                    st.text(alphabet=_PASSWORD_ALPHABET, min_size=1, max_size=80),
                    st.just({"secure": "v1:AAAABBBBCCCC"}),
                )
            )
        if draw(st.booleans()):
            hold = draw(st.one_of(st.just(0), st.integers(4 if kind == "usg" else 3, 65535)))
            bgp["holdTime"] = draw(_duration(hold))
            # Native MetalLB refuses keepalive-time; the FRR modes take it.
            if mode != "native" and draw(st.booleans()):
                keepalive = draw(st.integers(1, hold - 1)) if hold else 0
                bgp["keepaliveTime"] = draw(_duration(keepalive))
        if draw(st.booleans()):
            chosen = draw(st.lists(st.sampled_from(node_names), min_size=1, max_size=count, unique=True))
            selector: dict[str, Any] = (
                {"matchLabels": {"kubernetes.io/hostname": chosen[0]}}
                if draw(st.booleans())
                else {
                    "matchExpressions": [
                        {"key": "kubernetes.io/hostname", "operator": "In", "values": chosen},
                        {"key": "example.invalid/never", "operator": "DoesNotExist"},
                    ]
                }
            )
            bgp["nodeSelectors"] = [selector]
            # A node the selectors leave out needs no IPv6 address (it does not peer).
            peering = {chosen[0]} if "matchLabels" in selector else set(chosen)
            for node in nodes:
                if node["name"] not in peering and "address6" in node and draw(st.booleans()):
                    del node["address6"]
        if mode != "native":
            if draw(st.booleans()):
                bgp["ebgpMultiHop"] = not ibgp and draw(st.booleans())  # eBGP only
            if kind == "unifi-os" and draw(st.booleans()):  # a USG has no BFD
                bfd_options = {
                    "receiveInterval": st.integers(10, 60000),
                    "transmitInterval": st.integers(10, 60000),
                    "detectMultiplier": st.integers(2, 255),
                }
                bgp["bfd"] = draw(st.fixed_dictionaries({}, optional=bfd_options))
        elif draw(st.booleans()):
            bgp["ebgpMultiHop"] = False
        raw["bgp"] = bgp

    # --- services ---------------------------------------------------------------------------
    service_count = draw(st.integers(0, 10))
    if service_count or draw(st.booleans()):
        labels = draw(st.lists(_label, min_size=2 * service_count, max_size=2 * service_count, unique=True))
        names, alias_labels = labels[:service_count], labels[service_count:]
        used: set[IPv4Address | IPv6Address] = set()
        # Shared addresses: key → (the pins' keys, pool name, taken port/protocol pairs).
        groups: dict[str, tuple[dict[str, Any], str, set[tuple[int, str]]]] = {}
        services = []
        for index, name in enumerate(names):
            service: dict[str, Any] = {"name": name}
            if draw(st.booleans()):
                service["namespace"] = draw(_label)
            if draw(st.booleans()):
                service["serviceName"] = f"{name}--svc"
            taken: set[tuple[int, str]] = set()
            pinning = draw(st.sampled_from(("none", "pin", "join") if groups else ("none", "pin")))
            pinned = False
            if pinning == "join":
                share_key = draw(st.sampled_from(sorted(groups)))
                form, pool_name, taken = groups[share_key]
                service.update(copy.deepcopy(form))
                service["sharedIP"] = share_key
                pinned = True
                if draw(st.booleans()):
                    service["pool"] = pool_name
            elif pinning == "pin":
                pool_name = draw(st.sampled_from(sorted(pool_bounds)))
                held = sorted(pool_bounds[pool_name])
                versions = draw(st.sampled_from([(v,) for v in held] + ([(4, 6)] if len(held) == 2 else [])))
                pins = []
                for ip_version in versions:
                    first, last = draw(st.sampled_from(pool_bounds[pool_name][ip_version]))
                    address = _address(ip_version, draw(st.integers(first, last)))
                    # MetalLB never assigns .0/.255 from a pool that avoids buggy IPs.
                    buggy = ip_version == 4 and int(address) % 256 in (0, 255)
                    if buggy and any(p.get("avoidBuggyIPs") for p in pools if p["name"] == pool_name):
                        continue
                    if address not in used:
                        pins.append(address)
                if len(pins) == len(versions):
                    used.update(pins)
                    form = draw(_pinned_families(pins)) if dual else {"address": str(pins[0])}
                    service.update(form)
                    pinned = True
                    if draw(st.booleans()):
                        service["pool"] = pool_name
                    if draw(st.booleans()):
                        share_key = f"share-{index}"
                        service["sharedIP"] = share_key
                        groups[share_key] = (form, pool_name, taken)
            elif draw(st.booleans()):
                service["pool"] = draw(st.sampled_from(pool_names))
            if dual and not pinned:
                candidates = [p for p in pools if p["name"] == service.get("pool", p["name"])]
                if "pool" not in service:
                    candidates = [p for p in candidates if p.get("autoAssign", True)]
                falls_back = not release.uses_configmap and release >= _PREFER_DUAL_STACK_FALLS_BACK_FROM
                service.update(draw(_unpinned_families(candidates, falls_back)))
            if draw(st.booleans()):
                alias = alias_labels[index]
                service["aliases"] = [alias] if draw(st.booleans()) else [alias, f"{alias}.{draw(_dns_name)}"]
            if draw(st.booleans()):
                service["externalTrafficPolicy"] = draw(st.sampled_from(("Cluster", "Local")))
            if draw(st.booleans()):
                service["scheme"] = draw(st.sampled_from(("http", "https")))
            if draw(st.booleans()):
                service["existing"] = True
            else:
                if draw(st.booleans()):
                    service["existing"] = False
                ports = draw(_ports(set(taken)))
                taken.update((p["port"], p.get("protocol", "TCP")) for p in ports)
                service["ports"] = ports
                service["selector"] = draw(
                    st.dictionaries(
                        st.sampled_from(("app", "app.kubernetes.io/name", "tier")),
                        st.sampled_from(_LABEL_VALUES[1:]),
                        min_size=1,
                        max_size=2,
                    )
                )
            services.append(service)
        assert domain  # aliases never equal "<name>.<domain>": alias labels differ from names
        raw["services"] = services
    if draw(st.booleans()):
        discovery: dict[str, Any] = {}
        if draw(st.booleans()):
            discovery["mode"] = draw(st.sampled_from(("annotated", "all")))
        if draw(st.booleans()):
            discovery["namespaces"] = draw(st.lists(_label, min_size=1, max_size=3, unique=True))
        raw["discovery"] = discovery

    # --- verify and the gateway's SSH ------------------------------------------------------------
    if draw(st.booleans()):
        ssh: dict[str, Any] = {"user": draw(st.sampled_from(("root", "admin", "ubnt")))}
        ssh["hostKey"] = draw(st.sampled_from(sorted(HOST_KEYS.values())))
        if draw(st.booleans()):
            ssh["host"] = draw(st.one_of(st.sampled_from(gateway_choices), _dns_name))
        if draw(st.booleans()):
            ssh["port"] = draw(st.integers(1, 65535))
        if draw(st.booleans()):
            ssh["privateKey"] = draw(st.sampled_from((PRIVATE_KEY_TEXT, {"secure": "v1:AAAAKEY"})))
        else:
            password = st.text(min_size=1, max_size=20).filter(str.strip)
            ssh["password"] = draw(st.one_of(password, st.just({"secure": "v1:AAAAPASSWORD"})))
        raw["gatewaySsh"] = ssh
    if draw(st.booleans()):
        raw["verify"] = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "afterUp": st.booleans(),
                    "timeout": st.integers(10, 1800).flatmap(_duration),
                    "required": st.booleans(),
                },
            )
        )
    return raw


def verify_warnings(raw: dict[str, Any]) -> list[str]:
    """The warnings a valid config's ``verify`` draws (components/config/verification.py)."""
    verify = raw.get("verify")
    if verify is None:
        return []
    after_up = verify.get("afterUp", True)
    warnings = []
    if after_up and "gatewaySsh" not in raw:
        warnings.append(f"{key_path('verify')}: sessions and routes will be skipped: set {key_path('gatewaySsh')}")
    if verify.get("required") and not after_up:
        warnings.append(f"{key_path('verify', 'required')}: has no effect with afterUp: false (no checks run after up)")
    return warnings


def valid_configs(*, dual_stack: bool | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Raw configs the parser must accept: dual-stack labs or IPv4-only ones (None: either, half
    of each). A dual-stack lab's nodes have IPv6 addresses; where IPv6 goes beyond them (pools,
    the gateway, services) is drawn too, so it may still announce no IPv6 over BGP."""
    return _valid_config(dual_stack)


# --- mutations ------------------------------------------------------------------------------


def key_of(path: Path) -> str:
    """The parser's key path for ``path`` (e.g. ``("services", 0, "address")``)."""
    return key_path(*path)


def walk(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every (path, value) in the config, containers before their contents (the root is ())."""
    yield path, value
    if isinstance(value, dict):
        for name, child in value.items():
            yield from walk(child, (*path, name))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from walk(child, (*path, index))


def _structural(path: Path, value: Any) -> bool:
    """A config object (not a map of labels or a secret)."""
    return isinstance(value, dict) and not (path and path[-1] in FREE_FORM_KEYS)


def get(raw: Any, path: Path) -> Any:
    for part in path:
        raw = raw[part]
    return raw


def replace_at(raw: Any, path: Path, value: Any) -> None:
    get(raw, path[:-1])[path[-1]] = value


def delete_at(raw: Any, path: Path) -> None:
    del get(raw, path[:-1])[path[-1]]


def _shape(path: Path) -> tuple[str, ...]:
    """The path with list indexes replaced by '*' (``("services", "*", "ports", "*")``)."""
    return tuple("*" if isinstance(part, int) else part for part in path)


# Required keys by the shape of the object that holds them.
_REQUIRED: dict[tuple[str, ...], tuple[str, ...]] = {
    (): ("nodes", "metallb", "gateway"),
    ("nodes", "*"): ("name", "address"),
    ("metallb",): ("version", "asn", "pools"),
    ("metallb", "pools", "*"): ("name", "protocol", "addresses"),
    ("gateway",): ("kind", "asn", "peerAddress", "dnsDomain"),
    ("services", "*"): ("name",),
    ("services", "*", "ports", "*"): ("port",),
    ("bgp", "nodeSelectors", "*", "matchExpressions", "*"): ("key", "operator"),
    ("gatewaySsh",): ("user", "hostKey"),
}

_IP_SHAPES = {
    ("nodeSubnet",),
    ("nodes", "*", "address"),
    ("gateway", "peerAddress"),
    ("gateway", "routerId"),
    ("services", "*", "address"),
    ("metallb", "pools", "*", "addresses", "*"),
}
_BAD_IPS = ("300.1.2.3", "1.2.3", "", " ", "abc", "::1", "1.2.3.4.5", "10.0.0.0/33", "10.0.0.1-", "10.0.0.x/24")
# Where an IPv6 address is taken "::1" is one; these are no address of either family.
_BAD_IPS6 = ("300.1.2.3", "1.2.3", "", " ", "abc", "1.2.3.4.5", "10.0.0.1-", "fd00::g", ":::1", "fd00::/64")
_BAD_SUBNETS6 = ("", " ", "abc", "1.2.3", "fd00::g/64", "fd00::/129", "10.0.0.0/24", "10.0.0.0/33")
_BAD_BY_SHAPE = {
    ("nodes", "*", "address6"): _BAD_IPS6,
    ("gateway", "peerAddress6"): _BAD_IPS6,
    ("services", "*", "addresses", "*"): _BAD_IPS6,
    ("nodeSubnet6",): _BAD_SUBNETS6,
}


@st.composite
def _dropped_required(draw: st.DrawFn, raw: dict[str, Any]) -> tuple[dict[str, Any], str]:
    candidates = [
        (*path, name)
        for path, value in walk(raw)
        if isinstance(value, dict) and _shape(path) in _REQUIRED
        for name in _REQUIRED[_shape(path)]
    ]
    # A Service this program creates (existing is not true) needs ports and a selector too.
    candidates += [
        (*path, name)
        for path, value in walk(raw)
        if _shape(path) == ("services", "*") and value.get("existing") is not True
        for name in ("ports", "selector")
    ]
    target = draw(st.sampled_from(candidates))
    if draw(st.booleans()):
        delete_at(raw, target)
    else:
        replace_at(raw, target, None)
    return raw, key_of(target)


def _typos(name: str) -> list[str]:
    variants = {name.lower(), name.upper(), name + "s", name[:-1], name[1:], name.replace("a", "e"), name + "_"}
    variants.update(name[:i] + name[i] * 2 + name[i + 1 :] for i in range(len(name)))
    return sorted(v for v in variants if v and v not in KNOWN_KEYS)


@st.composite
def _unknown_key(draw: st.DrawFn, raw: dict[str, Any]) -> tuple[dict[str, Any], str]:
    objects = [path for path, value in walk(raw) if _structural(path, value)]
    path = draw(st.sampled_from(objects))
    target = get(raw, path)
    typo_sources = sorted(str(k) for k in target) or ["name"]
    name = draw(
        st.one_of(
            st.sampled_from(typo_sources).flatmap(lambda k: st.sampled_from(_typos(k) or ["zzz"])),
            st.text(min_size=1, max_size=12).filter(lambda t: t not in KNOWN_KEYS),
        )
    )
    target[name] = draw(st.one_of(st.none(), st.integers(), st.text(max_size=5), st.booleans()))
    return raw, key_of((*path, name))


@st.composite
def _asn_out_of_range(draw: st.DrawFn, raw: dict[str, Any]) -> tuple[dict[str, Any], str]:
    path = draw(st.sampled_from((("metallb", "asn"), ("gateway", "asn"))))
    value = draw(st.one_of(st.sampled_from((0, 2**32, -1, "0", "4294967296")), st.integers(2**32, 2**40)))
    replace_at(raw, path, value)
    return raw, key_of(path)


@st.composite
def _corrupt_ip(draw: st.DrawFn, raw: dict[str, Any]) -> tuple[dict[str, Any], str]:
    paths = [path for path, _ in walk(raw) if _shape(path) in _IP_SHAPES or _shape(path) in _BAD_BY_SHAPE]
    path = draw(st.sampled_from(paths))
    replace_at(raw, path, draw(st.sampled_from(_BAD_BY_SHAPE.get(_shape(path), _BAD_IPS))))
    return raw, key_of(path)


@st.composite
def _guaranteed_invalid(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    raw = copy.deepcopy(draw(valid_configs()))
    mutation = draw(st.sampled_from((_dropped_required, _unknown_key, _asn_out_of_range, _corrupt_ip)))
    case: tuple[dict[str, Any], str] = draw(mutation(raw))
    return case


def guaranteed_invalid_configs() -> st.SearchStrategy[tuple[dict[str, Any], str]]:
    """``(raw, key)``: a config the parser must reject with a problem under ``key``."""
    return _guaranteed_invalid()


# --- arbitrary mutations ----------------------------------------------------------------------

# Strings that have tripped parsers before: digits that are not ASCII, numbers in strings,
# whitespace, almost-addresses, a number too long to convert.
_TRICKY_TEXT = (
    "",
    " ",
    "\n",
    "x\n",
    "0",
    "-1",
    "1e3",
    "0x10",
    " 64512 ",
    "64512.5",
    "²",
    "١٢",
    "9" * 5000,
    "10.0.0.1",
    "10.0.0.0/24",
    "10.0.0.1-10.0.0.5",
    "10.0.0.5-10.0.0.1",
    "1:2",
    "a:b",
    "30s",
    "1h1m1s",
    "v0.15.3",
    "v0.15.3\n",
    "TCP",
    "layer2",
    "unifi-os",
    "secure",
    "None",
    "true",
    "🙂",
    "ünïcode",
)

junk_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from((0, -1, 2**31, 2**32, 2**63, 10**400)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(_TRICKY_TEXT),
)

junk_keys = st.one_of(st.sampled_from(sorted(KNOWN_KEYS)), st.text(max_size=8), st.integers(-2, 2), st.booleans())

junk = st.recursive(
    junk_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(junk_keys, children, max_size=4),
    ),
    max_leaves=10,
)


# Text that looks like a number, a duration or a community, with digits of any script
# (str.isdigit() accepts '²' and '٣', int() only some of them) and whitespace.
# Keys whose values the parser reads as numbers (or, for version, as digits in a string).
NUMERIC_KEYS = frozenset(
    {
        "asn",
        "version",
        "holdTime",
        "keepaliveTime",
        "aggregationLength",
        "aggregationLengthV6",
        "localPref",
        "maximumPaths",
        "dnsTtl",
        "port",
        "targetPort",
        "receiveInterval",
        "transmitInterval",
        "detectMultiplier",
        "timeout",
    }
)

_digit = st.characters(categories=["Nd", "No"])  # '7', '٣', '²', '①', '½' (isdigit() differs)

# Text that looks like a number, a duration, a community or a version, with digits of any
# script (str.isdigit() accepts '²' and '①', int() does not) and too many digits for int().
number_like_text = st.one_of(
    st.text(_digit, min_size=1, max_size=4),
    st.tuples(st.text(_digit, min_size=1, max_size=3), st.sampled_from(("h", "m", "s", ":1", "1:"))).map(
        lambda t: t[0] + t[1] if t[1][0] != "1" else t[1] + t[0]
    ),
    st.text(_digit, min_size=1, max_size=3).map(lambda t: f"v0.15.{t}"),
    st.from_regex(r"\A\d{1,6}(h|m|s)?(:\d{1,6})?\Z"),
    st.text(st.sampled_from("0123456789hms:.-v \t\n"), min_size=1, max_size=8),
    st.sampled_from(("9" * 5000, "9" * 5000 + "s", "v0.12." + "1" * 5000, "1:" + "1" * 5000)),
    st.just(10**5000),
)


def scalar_paths(raw: dict[str, Any]) -> list[Path]:
    """Paths of every leaf value (not an object or a list) in the config."""
    return [path for path, value in walk(raw) if path and not isinstance(value, dict | list)]


def _numeric_paths(raw: dict[str, Any]) -> list[Path]:
    return [
        path for path in scalar_paths(raw) if path[-1] in NUMERIC_KEYS or (len(path) > 1 and path[-2] == "communities")
    ]


@st.composite
def _number_like_leaf(draw: st.DrawFn) -> dict[str, Any]:
    raw = copy.deepcopy(draw(valid_configs()))
    # Mostly a leaf read as a number (there is always an asn), sometimes any leaf.
    paths = _numeric_paths(raw) if draw(st.integers(0, 4)) else scalar_paths(raw)
    path = draw(st.sampled_from(paths))
    replace_at(raw, path, draw(number_like_text))
    return raw


def number_like_leaf_configs() -> st.SearchStrategy[dict[str, Any]]:
    """A valid config with one leaf replaced by number-like text; it may or may not be valid."""
    return _number_like_leaf()


@st.composite
def _mutate_once(draw: st.DrawFn, raw: dict[Any, Any]) -> None:
    paths = [path for path, _ in walk(raw) if path]
    if not paths:
        raw[draw(junk_keys)] = draw(junk)
        return
    kind = draw(
        st.sampled_from(
            ("junk", "scalar", "tricky-leaf", "delete", "wrap-list", "wrap-object", "unwrap", "duplicate", "add-key")
        )
    )
    if kind == "tricky-leaf":
        leaves = scalar_paths(raw)
        if leaves:
            replace_at(raw, draw(st.sampled_from(leaves)), draw(st.one_of(st.sampled_from(_TRICKY_TEXT), junk)))
            return
    path = draw(st.sampled_from(paths))
    value = get(raw, path)
    if kind == "junk":
        replace_at(raw, path, draw(junk))
    elif kind == "scalar":
        replace_at(raw, path, draw(junk_scalars))
    elif kind == "delete":
        delete_at(raw, path)
    elif kind == "wrap-list":
        replace_at(raw, path, [value])
    elif kind == "wrap-object":
        replace_at(raw, path, {draw(junk_keys): value})
    elif kind == "unwrap" and isinstance(value, list | dict) and value:
        items = list(value.values()) if isinstance(value, dict) else value
        replace_at(raw, path, draw(st.sampled_from(items)))
    elif kind == "duplicate" and isinstance(value, list) and value:
        value.append(copy.deepcopy(draw(st.sampled_from(value))))
    elif kind == "add-key" and isinstance(value, dict):
        value[draw(junk_keys)] = draw(junk)
    else:
        replace_at(raw, path, draw(junk))


@st.composite
def _mutated(draw: st.DrawFn) -> dict[str, Any]:
    raw: dict[Any, Any] = copy.deepcopy(draw(valid_configs()))
    for _ in range(draw(st.integers(1, 3))):
        draw(_mutate_once(raw))
    if draw(st.integers(0, 9)) == 0:
        raw[draw(junk_keys)] = draw(junk)
    return raw


def mutated_configs() -> st.SearchStrategy[dict[str, Any]]:
    """A valid config with 1–3 arbitrary mutations; it may or may not still be valid."""
    return _mutated()
