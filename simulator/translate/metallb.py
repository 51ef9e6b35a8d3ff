"""metallb.yaml (the v0.12 ConfigMap or the CRs) → the speakers' settings.

Modeled: one BGP peer (addresses, ASNs, password, hold and keepalive time, node selectors,
eBGP multihop), pools and which advertisement selects them. Refused: BFD, communities, local
preference, aggregation other than /32, a second peer, and anything else not listed here.
"""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import IPv4Address, IPv4Network
from typing import Any

import yaml

from components.config.model import LabelRequirement, LabelSelector
from simulator.errors import UnmodeledField
from simulator.model import (
    METALLB_DEFAULT_HOLD_TIME_S,
    AddressPool,
    MetalLBSettings,
    PoolProtocol,
    SpeakerPeer,
)
from simulator.strict import Fields

from .durations import seconds

FILE = "metallb.yaml"
_METADATA_KEYS = ("name", "namespace", "labels")


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


def _address_ranges(texts: list[Any], file: str, path: str) -> tuple[tuple[IPv4Address, IPv4Address], ...]:
    ranges = []
    for index, text in enumerate(texts):
        try:
            if "-" in str(text):
                first, last = (IPv4Address(part.strip()) for part in str(text).split("-", 1))
            else:
                network = IPv4Network(str(text))
                first, last = network.network_address, network.broadcast_address
        except ValueError as exc:
            raise UnmodeledField(file, f"{path}[{index}]", f"not an IPv4 CIDR or range: {exc}") from exc
        ranges.append((first, last))
    return tuple(ranges)


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
    """A /32 per address with no attributes is all the speakers announce; refuse the rest."""
    for key in ("aggregationLength", "aggregation-length"):
        length = fields.integer(key)
        if length is not None and length != 32:
            raise UnmodeledField(fields.file, fields.where(key), "aggregation other than /32 is not modeled")
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
    peers = config.sequence("peers")
    if len(peers) != 1:
        raise UnmodeledField(FILE, "data.config.peers", f"{len(peers)} peers: exactly one (the gateway) is modeled")
    peer = _legacy_peer(Fields(peers[0], FILE, "data.config.peers[0]"))
    pools = tuple(
        _legacy_pool(Fields(raw, FILE, f"data.config.address-pools[{i}]"))
        for i, raw in enumerate(config.sequence("address-pools"))
    )
    config.finish()
    return MetalLBSettings(peer, pools)


def _legacy_peer(peer: Fields) -> SpeakerPeer:
    hold = peer.string("hold-time")
    keepalive = peer.string("keepalive-time")
    hold_time, keepalive_time = _timers(
        None if hold is None else seconds(hold, FILE, peer.where("hold-time")),
        None if keepalive is None else seconds(keepalive, FILE, peer.where("keepalive-time")),
    )
    result = SpeakerPeer(
        address=IPv4Address(peer.require_string("peer-address")),
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
    return result


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
    pools: dict[str, tuple[tuple[IPv4Address, IPv4Address], ...]] = {}
    advertised: dict[str, PoolProtocol] = {}
    peers: list[tuple[str, Fields]] = []
    advertisement_peers: list[tuple[str, list[Any]]] = []  # checked once the peer's name is known
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
            if protocol is PoolProtocol.BGP:
                _advertisement_is_plain(spec)
                if spec.get("peers") is not None:
                    advertisement_peers.append((f"{where}.spec.peers", spec.sequence("peers")))
            for pool_name in spec.sequence("ipAddressPools"):
                advertised[str(pool_name)] = protocol
            spec.finish()
        else:
            raise UnmodeledField(FILE, f"document[{index}] (kind {kind})", f"kind {kind!r} is not modeled")
        document.finish()
    if len(peers) != 1:
        raise UnmodeledField(FILE, "BGPPeer", f"{len(peers)} BGPPeers: exactly one (the gateway) is modeled")
    peer_name = peers[0][0]
    for where, names in advertisement_peers:
        if peer_name not in names:
            raise UnmodeledField(
                FILE, where, f"an advertisement that does not name BGPPeer {peer_name!r} is not modeled"
            )
    peer = _crd_peer(peers[0][1], secrets)
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


def _crd_peer(spec: Fields, secrets: dict[str, str]) -> SpeakerPeer:
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
    result = SpeakerPeer(
        address=IPv4Address(spec.require_string("peerAddress")),
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
    return result
