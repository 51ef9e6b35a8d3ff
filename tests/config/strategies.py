"""Hypothesis strategies for raw stack configs (the ``metallb-unifi:`` keys without the prefix).

* :func:`valid_configs` draws configs the parser must accept: 1–8 nodes in one /24, 1–4
  non-overlapping pools (bgp pools outside the nodes' subnet, layer2 pools inside it), either
  gateway kind, every supported config era and speaker mode, session options valid for the
  gateway kind and mode, 0–10 services with unique names, aliases and pinned addresses, and
  sometimes a ``discovery``, a ``gatewaySsh`` (every host key type, a key or a password, plain or
  encrypted) and a ``verify`` section.
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
from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Network, summarize_address_range
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import strategies as st

from components.config.errors import key_path

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


def _modes(version: str) -> tuple[str, ...]:
    return ("native", "frr", "frr-k8s") if version >= "v0.14" else ("native", "frr")


def _duration(seconds: int) -> st.SearchStrategy[Any]:
    forms: list[Any] = [seconds, f"{seconds}s"]
    if seconds >= 60:
        minutes, rest = divmod(seconds, 60)
        forms.append(f"{minutes}m{rest}s" if rest else f"{minutes}m")
    return st.sampled_from(forms)


@st.composite
def _layer2_ranges(draw: st.DrawFn, network: IPv4Network, blocks: list[int]) -> list[str]:
    base = int(network.network_address)
    ranges = []
    for block in blocks:
        if draw(st.booleans()):
            ranges.append(f"{IPv4Address(base + block)}/28")
        else:
            first = draw(st.integers(block, block + 15))
            last = draw(st.integers(first, block + 15))
            ranges.append(f"{IPv4Address(base + first)}-{IPv4Address(base + last)}")
    return ranges


@st.composite
def _bgp_ranges(draw: st.DrawFn, index: int) -> tuple[list[str], int]:
    """Ranges in 172.(16+index).0.0/16, never near the nodes (10.x / 192.168.x) or the gateway.
    Returns the ranges and the longest prefix of their CIDR blocks (the shortest aggregation
    length that keeps every announcement inside the pool)."""
    thirds = draw(st.lists(st.integers(0, 255), min_size=1, max_size=2, unique=True))
    ranges = []
    longest = 0
    for third in thirds:
        if draw(st.booleans()):
            prefix = draw(st.integers(24, 30))
            fourth = draw(st.integers(0, 255)) & ~((1 << (32 - prefix)) - 1)
            ranges.append(f"172.{16 + index}.{third}.{fourth}/{prefix}")
            longest = max(longest, prefix)
        else:
            first = draw(st.integers(0, 255))
            last = draw(st.integers(first, 255))
            ranges.append(f"172.{16 + index}.{third}.{first}-172.{16 + index}.{third}.{last}")
            blocks = summarize_address_range(
                IPv4Address(f"172.{16 + index}.{third}.{first}"), IPv4Address(f"172.{16 + index}.{third}.{last}")
            )
            longest = max(longest, *(block.prefixlen for block in blocks))
    return ranges, longest


def _addresses_of(ranges: list[str]) -> list[tuple[int, int]]:
    """Inclusive (first, last) integer bounds of each range text."""
    bounds = []
    for text in ranges:
        if "-" in text:
            first, last = text.split("-")
            bounds.append((int(IPv4Address(first)), int(IPv4Address(last))))
        else:
            network = IPv4Network(text)
            bounds.append((int(network.network_address), int(network.broadcast_address)))
    return bounds


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
def _valid_config(draw: st.DrawFn) -> dict[str, Any]:
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
    pools = []
    pool_bounds: dict[str, list[tuple[int, int]]] = {}
    for index, name in enumerate(pool_names):
        protocol = draw(st.sampled_from(("bgp", "layer2")))
        pool: dict[str, Any] = {"name": name, "protocol": protocol}
        if protocol == "layer2":
            mine = [blocks.pop() for _ in range(draw(st.integers(1, 2)))]
            pool["addresses"] = draw(_layer2_ranges(network, mine))
        else:
            pool["addresses"], longest = draw(_bgp_ranges(index))
            if draw(st.booleans()):
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
        used: set[int] = set()
        # Shared addresses: key → (address, pool name, taken port/protocol pairs).
        groups: dict[str, tuple[int, str, set[tuple[int, str]]]] = {}
        services = []
        for index, name in enumerate(names):
            service: dict[str, Any] = {"name": name}
            if draw(st.booleans()):
                service["namespace"] = draw(_label)
            if draw(st.booleans()):
                service["serviceName"] = f"{name}--svc"
            taken: set[tuple[int, str]] = set()
            pinning = draw(st.sampled_from(("none", "pin", "join") if groups else ("none", "pin")))
            if pinning == "join":
                share_key = draw(st.sampled_from(sorted(groups)))
                address, pool_name, taken = groups[share_key]
                service["address"] = str(IPv4Address(address))
                service["sharedIP"] = share_key
                if draw(st.booleans()):
                    service["pool"] = pool_name
            elif pinning == "pin":
                pool_name = draw(st.sampled_from(sorted(pool_bounds)))
                first, last = draw(st.sampled_from(pool_bounds[pool_name]))
                address = draw(st.integers(first, last))
                # MetalLB never assigns .0/.255 from a pool that avoids buggy IPs.
                if address % 256 in (0, 255) and any(
                    p.get("avoidBuggyIPs") for p in raw["metallb"]["pools"] if p["name"] == pool_name
                ):
                    address = -1
                if address >= 0 and address not in used:
                    used.add(address)
                    service["address"] = str(IPv4Address(address))
                    if draw(st.booleans()):
                        service["pool"] = pool_name
                    if draw(st.booleans()):
                        share_key = f"share-{index}"
                        service["sharedIP"] = share_key
                        groups[share_key] = (address, pool_name, taken)
            elif draw(st.booleans()):
                service["pool"] = draw(st.sampled_from(pool_names))
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


def valid_configs() -> st.SearchStrategy[dict[str, Any]]:
    """Raw configs the parser must accept."""
    return _valid_config()


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
    paths = [path for path, _ in walk(raw) if _shape(path) in _IP_SHAPES]
    path = draw(st.sampled_from(paths))
    replace_at(raw, path, draw(st.sampled_from(_BAD_IPS)))
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
