"""metallb.yaml (the v0.12 ConfigMap or the CRs) → the speakers' settings.

Modeled: one BGP peer (addresses, ASNs, password, hold and keepalive time, node selectors,
eBGP multihop), and with IPv6 pools a second one at the gateway's IPv6 address with the same
settings (MetalLB takes one peer per family: metallb/metallb@v0.15.3:configsamples/deployment_bgp.yaml,
peers ``peer`` and ``peerv6``); pools of either family or both, and which advertisement selects
them. Refused: BFD, communities, local preference, aggregation other than /32 (/128 for IPv6),
a range across families, other peers, and anything else not listed here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from typing import Any

import yaml

from components.config.model import LabelRequirement, LabelSelector
from simulator.errors import UnmodeledField
from simulator.model import (
    METALLB_DEFAULT_HOLD_TIME_S,
    AddressPool,
    IPAddress,
    MetalLBSettings,
    PoolProtocol,
    SpeakerPeer,
)
from simulator.strict import Fields

from .durations import seconds

FILE = "metallb.yaml"
_METADATA_KEYS = ("name", "namespace", "labels")
_UNSET = IPv4Address(0)  # a peer's address while its settings are compared with the other family's


def read_metallb(text: str) -> MetalLBSettings:
    documents = [d for d in yaml.safe_load_all(text) if d is not None]
    if len(documents) == 1 and documents[0].get("kind") == "ConfigMap":
        return _from_configmap(documents[0])
    return _from_custom_resources(documents)


# --- shared -----------------------------------------------------------------------------------


def _metadata(document: Fields) -> str:
    metadata = document.nested("metadata")
    name = metadata.require_string("name")
    for key in _METADATA_KEYS[1:]:
        metadata.get(key)
    metadata.finish()
    return name


def _address_ranges(texts: list[Any], file: str, path: str) -> tuple[tuple[IPAddress, IPAddress], ...]:
    ranges = []
    for index, text in enumerate(texts):
        try:
            if "-" in str(text):
                first, last = (ip_address(part.strip()) for part in str(text).split("-", 1))
            else:
                network = ip_network(str(text))
                first, last = network.network_address, network.broadcast_address
        except ValueError as exc:
            raise UnmodeledField(file, f"{path}[{index}]", f"not a CIDR or range: {exc}") from exc
        if first.version != last.version:
            # MetalLB parses it and finds no addresses in it (ipaddr.Summarize returns nothing:
            # mikioh/ipaddr@d465c8ab6721 Summarize, as metallb/metallb@v0.15.3 pins it).
            raise UnmodeledField(file, f"{path}[{index}]", "a range from one family to the other is not modeled")
        ranges.append((first, last))
    return tuple(ranges)


def _one_peer_per_family(peers: Sequence[tuple[str, IPAddress, SpeakerPeer]], where: str) -> SpeakerPeer:
    """The gateway's IPv4 peer, with the IPv6 one's address when there is one: MetalLB's one
    peer per family (``where`` names them in a refusal). Anything else is refused."""
    v4 = [(name, address, peer) for name, address, peer in peers if isinstance(address, IPv4Address)]
    v6 = [(name, address, peer) for name, address, peer in peers if isinstance(address, IPv6Address)]
    if len(v4) != 1 or len(v6) > 1:
        found = f"{len(peers)} peers ({len(v4)} IPv4, {len(v6)} IPv6)"
        raise UnmodeledField(FILE, where, f"{found}: one per family (the gateway's addresses) is modeled")
    ((_, address, peer),) = v4
    if not v6:
        return replace(peer, address=address)
    name6, address6, peer6 = v6[0]
    if peer6 != peer:
        raise UnmodeledField(
            FILE, name6, f"an IPv6 peer whose settings differ from the IPv4 peer {v4[0][0]}'s is not modeled"
        )
    return replace(peer, address=address, address6=address6)


def _selector(fields: Fields, labels_key: str, expressions_key: str) -> LabelSelector:
    labels = fields.get(labels_key) or {}
    if not isinstance(labels, Mapping):
        raise UnmodeledField(fields.file, fields.where(labels_key), "expected a mapping")
    requirements = []
    for index, raw in enumerate(fields.sequence(expressions_key)):
        expression = Fields(raw, fields.file, f"{fields.where(expressions_key)}[{index}]")
        operator = expression.require_string("operator")
        if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise UnmodeledField(fields.file, expression.where("operator"), f"operator {operator!r} is not modeled")
        values = tuple(str(v) for v in expression.sequence("values"))
        requirements.append(LabelRequirement(expression.require_string("key"), operator, values))
        expression.finish()
    fields.finish()
    return LabelSelector(tuple((str(k), str(v)) for k, v in labels.items()), tuple(requirements))


def _timers(hold: int | None, keepalive: int | None) -> tuple[int, int]:
    hold_time = METALLB_DEFAULT_HOLD_TIME_S if hold is None else hold
    return hold_time, keepalive if keepalive is not None else hold_time // 3


def _advertisement_is_plain(fields: Fields) -> None:
    """A /32 (/128) per address with no attributes is all the speakers announce; refuse the rest."""
    for keys, host in (
        (("aggregationLength", "aggregation-length"), 32),
        (("aggregationLengthV6", "aggregation-length-v6"), 128),
    ):
        for key in keys:
            length = fields.integer(key)
            if length is not None and length != host:
                raise UnmodeledField(fields.file, fields.where(key), f"aggregation other than /{host} is not modeled")
    for key in ("localPref", "localpref", "communities"):
        fields.refuse(key, "BGP attributes are not modeled (the speakers announce plain /32 routes)")


# --- ConfigMap (v0.12) ----------------------------------------------------------------------


def _from_configmap(document: dict[str, Any]) -> MetalLBSettings:
    top = Fields(document, FILE, "")
    top.expect("apiVersion", "v1")
    top.expect("kind", "ConfigMap")
    _metadata(top)
    data = top.nested("data")
    config = Fields(yaml.safe_load(data.require_string("config")), FILE, "data.config")
    data.finish()
    top.finish()
    config.refuse("bfd-profiles", "BFD is not modeled")
    config.refuse("bgp-communities", "BGP communities are not modeled")
    peers = [
        _legacy_peer(Fields(raw, FILE, f"data.config.peers[{i}]")) for i, raw in enumerate(config.sequence("peers"))
    ]
    peer = _one_peer_per_family(peers, "data.config.peers")
    pools = tuple(
        _legacy_pool(Fields(raw, FILE, f"data.config.address-pools[{i}]"))
        for i, raw in enumerate(config.sequence("address-pools"))
    )
    config.finish()
    return MetalLBSettings(peer, pools)


def _legacy_peer(peer: Fields) -> tuple[str, IPAddress, SpeakerPeer]:
    hold = peer.string("hold-time")
    keepalive = peer.string("keepalive-time")
    hold_time, keepalive_time = _timers(
        None if hold is None else seconds(hold, FILE, peer.where("hold-time")),
        None if keepalive is None else seconds(keepalive, FILE, peer.where("keepalive-time")),
    )
    address = _peer_address(peer, "peer-address")
    result = SpeakerPeer(
        address=_UNSET,
        my_asn=peer.require_integer("my-asn"),
        peer_asn=peer.require_integer("peer-asn"),
        password=peer.string("password"),
        hold_time_s=hold_time,
        keepalive_time_s=keepalive_time,
        ebgp_multihop=peer.boolean("ebgp-multihop"),
        node_selectors=tuple(
            _selector(Fields(raw, FILE, f"{peer.where('node-selectors')}[{i}]"), "match-labels", "match-expressions")
            for i, raw in enumerate(peer.sequence("node-selectors"))
        ),
    )
    peer.refuse("bfd-profile", "BFD is not modeled")
    peer.finish()
    return peer.path, address, result


def _peer_address(fields: Fields, key: str) -> IPAddress:
    try:
        return ip_address(fields.require_string(key))
    except ValueError as exc:
        raise UnmodeledField(FILE, fields.where(key), str(exc)) from None


def _legacy_pool(pool: Fields) -> AddressPool:
    protocol = PoolProtocol(pool.require_string("protocol"))
    ranges = _address_ranges(pool.sequence("addresses"), FILE, pool.where("addresses"))
    # Allocation options only matter for addresses MetalLB picks; the simulator uses pinned ones.
    pool.boolean("auto-assign", True)
    pool.boolean("avoid-buggy-ips")
    for index, raw in enumerate(pool.sequence("bgp-advertisements")):
        advertisement = Fields(raw, FILE, f"{pool.where('bgp-advertisements')}[{index}]")
        _advertisement_is_plain(advertisement)
        advertisement.finish()
    name = pool.require_string("name")
    pool.finish()
    # v0.12: a BGP pool without bgp-advertisements gets one default advertisement (a /32).
    return AddressPool(name, protocol, ranges, advertised=True)


# --- CRs (v0.13+) ---------------------------------------------------------------------------


def _from_custom_resources(documents: list[Any]) -> MetalLBSettings:
    secrets: dict[str, str] = {}
    pools: dict[str, tuple[tuple[IPAddress, IPAddress], ...]] = {}
    advertised: dict[str, PoolProtocol] = {}
    peers: list[tuple[str, Fields]] = []
    advertisement_peers: list[tuple[str, list[Any], list[str]]] = []  # checked once the peer's name is known
    for index, raw in enumerate(documents):
        document = Fields(raw, FILE, f"document[{index}]")
        kind = document.require_string("kind")
        name = _metadata(document)
        where = f"{kind} {name}"
        if kind == "Secret":
            document.expect("apiVersion", "v1")
            document.expect("type", "kubernetes.io/basic-auth")
            data = Fields(document.require("stringData"), FILE, f"{where}.stringData")
            secrets[name] = data.require_string("password")
            data.finish()
        elif kind == "IPAddressPool":
            spec = _spec(document, "metallb.io/v1beta1", where)
            pools[name] = _address_ranges(spec.sequence("addresses"), FILE, spec.where("addresses"))
            spec.boolean("autoAssign", True)  # allocation only: the simulator uses pinned addresses
            spec.boolean("avoidBuggyIPs")
            spec.finish()
        elif kind == "BGPPeer":
            peers.append((name, _spec(document, "metallb.io/v1beta2", where)))
        elif kind in ("BGPAdvertisement", "L2Advertisement"):
            spec = _spec(document, "metallb.io/v1beta1", where)
            protocol = PoolProtocol.BGP if kind == "BGPAdvertisement" else PoolProtocol.LAYER2
            pool_names = [str(pool_name) for pool_name in spec.sequence("ipAddressPools")]
            if protocol is PoolProtocol.BGP:
                _advertisement_is_plain(spec)
                if spec.get("peers") is not None:
                    advertisement_peers.append((f"{where}.spec.peers", spec.sequence("peers"), pool_names))
            for pool_name in pool_names:
                advertised[pool_name] = protocol
            spec.finish()
        else:
            raise UnmodeledField(FILE, f"document[{index}] (kind {kind})", f"kind {kind!r} is not modeled")
        document.finish()
    read = [(name, *_crd_peer(spec, secrets)) for name, spec in peers]
    peer = _one_peer_per_family([(f"BGPPeer {name}", address, p) for name, address, p in read], "BGPPeers")
    for where, names, pool_names in advertisement_peers:
        # A prefix goes only on sessions of its family (metallb/metallb@v0.15.3:
        # internal/bgp/frrk8s/frrk8s.go:304), so an IPv4-only pool need not name the IPv6 peer.
        versions = {first.version for pool in pool_names for first, _ in pools.get(pool, ())}
        for peer_name, address, _ in read:
            if address.version in versions and peer_name not in names:
                raise UnmodeledField(
                    FILE, where, f"an advertisement that does not name BGPPeer {peer_name!r} is not modeled"
                )
    return MetalLBSettings(
        peer,
        tuple(
            AddressPool(name, advertised.get(name, PoolProtocol.BGP), ranges, advertised=name in advertised)
            for name, ranges in pools.items()
        ),
    )


def _spec(document: Fields, api_version: str, where: str) -> Fields:
    document.expect("apiVersion", api_version)
    return Fields(document.require("spec"), FILE, f"{where}.spec")


def _crd_peer(spec: Fields, secrets: dict[str, str]) -> tuple[IPAddress, SpeakerPeer]:
    hold = spec.string("holdTime")
    keepalive = spec.string("keepaliveTime")
    hold_time, keepalive_time = _timers(
        None if hold is None else seconds(hold, FILE, spec.where("holdTime")),
        None if keepalive is None else seconds(keepalive, FILE, spec.where("keepaliveTime")),
    )
    password = spec.string("password")
    reference = spec.optional_nested("passwordSecret")
    if reference is not None:
        secret_name = reference.require_string("name")
        reference.get("namespace")
        reference.finish()
        if secret_name not in secrets:
            raise UnmodeledField(FILE, reference.where("name"), f"Secret {secret_name!r} is not in the file")
        password = secrets[secret_name]
    address = _peer_address(spec, "peerAddress")
    result = SpeakerPeer(
        address=_UNSET,
        my_asn=spec.require_integer("myASN"),
        peer_asn=spec.require_integer("peerASN"),
        password=password,
        hold_time_s=hold_time,
        keepalive_time_s=keepalive_time,
        ebgp_multihop=spec.boolean("ebgpMultiHop"),
        node_selectors=tuple(
            _selector(Fields(raw, FILE, f"{spec.where('nodeSelectors')}[{i}]"), "matchLabels", "matchExpressions")
            for i, raw in enumerate(spec.sequence("nodeSelectors"))
        ),
    )
    spec.refuse("bfdProfile", "BFD is not modeled")
    spec.finish()
    return address, result
