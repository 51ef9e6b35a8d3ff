"""What one stack claims on a shared gateway, as a JSON-able summary without secrets.

:mod:`components.artifacts.shared_gateway` checks whether several stacks may share one gateway
(the same BGP instance, no shared node, pool address, host name or filter name). It checks
:class:`StackClaims`, not labs, so that a stack can be checked against other stacks whose stack
config is not at hand: each stack stores its claims document (:meth:`StackClaims.to_json`)
beside its part of the gateway's config on the controller, and the next stack's install reads
every stored document back (:meth:`StackClaims.from_json`) and checks them against its own.

A claims document holds exactly what the checks read, and nothing secret: no BGP password, no
controller credentials, and of the USG's base ``config.gateway.json`` (which may hold a VPN key)
only its name and the sha256 of its canonical JSON. Every stored document is read strictly: a
damaged one, or one of a format this program does not know, is refused with the field named,
never half-read.

The document of a stack that claims nothing of IPv6 (``"format": 1``, byte for byte what the
release before wrote), its keys sorted::

    {
      "asn": 64512,                    # gateway.asn
      "baseFile": null,                # gateway.baseConfigFile as written (USG), or null
      "baseFileSha256": null,          # sha256 of the base file's canonical JSON, or null
      "ebgp": true,                    # metallb.asn differs from gateway.asn
      "file": "Pulumi.lab.yaml",       # the stack file, or null
      "filterNames": {"prefixList": "metallb-lab-pools", "routeMapIn": "metallb-lab-in",
                      "routeMapOut": "metallb-lab-out"},
      "format": 1,
      "gatewayKind": "usg",            # gateway.kind
      "hostNames": {"whoami": "metallb-unifi:services[0].name (its alias)", ...},
      "id": "lab",                     # the stack id (components/config/stack_names.py)
      "maximumPaths": null,            # gateway.maximumPaths, or null
      "nodes": [{"address": "10.10.0.101", "name": "worker1"}, ...],      # config order
      "peerAddress": "192.168.1.1",    # gateway.peerAddress
      "pools": [{"name": "bgp", "protocol": "bgp",
                 "ranges": [{"first": "10.10.10.10", "last": "10.10.10.250",
                             "text": "10.10.10.10-10.10.10.250"}]}],      # config order
      "routerId": "192.168.1.1",       # gateway.routerId (defaults to the peer address)
      "stack": "lab"                   # the Pulumi stack's name
    }

A stack with an IPv6 part (a node's ``address6``, ``gateway.peerAddress6``, an IPv6 range in a
pool) writes ``"format": 2``: format 1's fields, pool ranges of either family (``first`` and
``last`` of one family), and::

      "filterNames": {..., "prefixList6": "metallb-lab-pools6", "routeMapIn6": "metallb-lab-in6"},
      "nodes": [{"address": "10.10.0.101", "address6": "fd00:10::101", "name": "worker1"},
                {"address": "10.10.0.102", "address6": null, "name": "worker2"}, ...],
      "peerAddress6": "fd00:10::1",    # gateway.peerAddress6, or null

Every document this program reads is of format 1 or 2, and it writes format 1 whenever it can,
so that a stack without IPv6 stores the same bytes as before and a release that reads only
format 1 still reads it; that release refuses a format 2 document naming the format, where it
would otherwise have named an IPv6 address as a damaged field.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import TYPE_CHECKING, Any, TypeVar

from components.config.errors import key_path
from components.config.model import AddressRange, GatewayKind, IPAddress, IPFamily, Lab, Protocol
from components.config.stack_names import FilterNames, filter_names, stack_id

from .frr import MAX_PATHS

if TYPE_CHECKING:
    from components.discovery.rules import DiscoveredName

FORMAT_V4 = 1  # the document of a stack that claims nothing of IPv6 (the release before's only one)
FORMAT = 2  # the document with the IPv6 fields; a reader refuses every format but these two
FORMATS = (FORMAT_V4, FORMAT)

_MAX_ASN = 2**32 - 1
_A = TypeVar("_A", bound=IPAddress)
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class NodeClaim:
    """A node: the gateway's BGP neighbour at ``address``."""

    name: str
    address: IPv4Address
    address6: IPv6Address | None = None  # its IPv6 neighbour's address, when it has one


@dataclass(frozen=True)
class PoolClaim:
    """A MetalLB pool: the addresses it hands out (its ranges as written, in config order)."""

    name: str
    protocol: str  # a Protocol's value
    ranges: tuple[AddressRange, ...]


@dataclass(frozen=True)
class StackClaims:
    """What one stack holds on its gateway: what the shared-gateway checks read, nothing secret."""

    stack: str
    id: str
    file: str | None
    gateway_kind: str  # a GatewayKind's value
    asn: int
    router_id: str
    ebgp: bool
    maximum_paths: int | None  # gateway.maximumPaths as set
    base_file: str | None  # gateway.baseConfigFile as written
    base_file_sha256: str | None  # of the base file's canonical JSON
    peer_address: IPv4Address
    nodes: tuple[NodeClaim, ...]
    pools: tuple[PoolClaim, ...]
    host_names: tuple[tuple[str, str], ...]  # (name, the key it comes from), by name
    peer_address6: IPv6Address | None = None  # gateway.peerAddress6

    @property
    def filter_names(self) -> FilterNames:
        return FilterNames(self.id)

    @property
    def ipv6(self) -> bool:
        """Whether the stack claims anything of IPv6 (then its document is of :data:`FORMAT`)."""
        return (
            self.peer_address6 is not None
            or any(node.address6 is not None for node in self.nodes)
            or any(r.family is IPFamily.IPV6 for pool in self.pools for r in pool.ranges)
        )

    @property
    def bgp_v6(self) -> bool:
        """Whether a BGP pool holds IPv6 addresses: the stack's part has the IPv6 filter
        (``Lab.bgp_v6``)."""
        return any(
            r.family is IPFamily.IPV6 for pool in self.pools if pool.protocol == Protocol.BGP.value for r in pool.ranges
        )

    @property
    def names(self) -> dict[str, str]:
        """Every host name and alias → the key it comes from."""
        return dict(self.host_names)

    def __str__(self) -> str:
        return f"stack {self.stack!r}" + (f" ({self.file})" if self.file else "")

    def to_json(self) -> dict[str, Any]:
        """The claims document: only str, int, bool, None, lists and dicts, keys sorted; of
        format 1 unless the stack claims something of IPv6."""
        names = self.filter_names
        ipv6 = self.ipv6
        filters = {
            "prefixList": names.prefix_list,
            "routeMapIn": names.route_map_in,
            "routeMapOut": names.route_map_out,
        }
        if ipv6:
            filters = {**filters, "prefixList6": names.prefix_list6, "routeMapIn6": names.route_map_in6}
        document: dict[str, Any] = {
            "asn": self.asn,
            "baseFile": self.base_file,
            "baseFileSha256": self.base_file_sha256,
            "ebgp": self.ebgp,
            "file": self.file,
            "filterNames": dict(sorted(filters.items())),
            "format": FORMAT if ipv6 else FORMAT_V4,
            "gatewayKind": self.gateway_kind,
            "hostNames": dict(sorted(self.host_names)),
            "id": self.id,
            "maximumPaths": self.maximum_paths,
            "nodes": [_node_json(node, ipv6) for node in self.nodes],
            "peerAddress": str(self.peer_address),
            "pools": [
                {
                    "name": pool.name,
                    "protocol": pool.protocol,
                    "ranges": [{"first": str(r.first), "last": str(r.last), "text": r.text} for r in pool.ranges],
                }
                for pool in self.pools
            ],
            "routerId": self.router_id,
            "stack": self.stack,
        }
        if ipv6:
            document["peerAddress6"] = None if self.peer_address6 is None else str(self.peer_address6)
            document = dict(sorted(document.items()))
        assert list(document) == sorted(document)
        return document

    @classmethod
    def from_json(cls, document: object) -> StackClaims:
        """The claims of a document :meth:`to_json` wrote (after a JSON round trip). Raises
        :class:`ValueError` naming the field for a damaged document, a missing or unknown
        field, or a format other than :data:`FORMAT`."""
        return _read(document)


def _node_json(node: NodeClaim, ipv6: bool) -> dict[str, Any]:
    if not ipv6:
        return {"address": str(node.address), "name": node.name}
    return {
        "address": str(node.address),
        "address6": None if node.address6 is None else str(node.address6),
        "name": node.name,
    }


def lab_claims(lab: Lab, discovered: Sequence[DiscoveredName] = (), file: str | None = None) -> StackClaims:
    """The claims of a stack of ``lab`` that discovered ``discovered``, read from ``file``."""
    gateway = lab.gateway
    fingerprint = None
    if gateway.base_config_json is not None:
        # The parser keeps the file as canonical JSON (components/config/base_config.py).
        fingerprint = hashlib.sha256(gateway.base_config_json.encode("utf-8")).hexdigest()
    return StackClaims(
        stack=lab.stack,
        id=lab.filter_names.id,
        file=file,
        gateway_kind=gateway.kind.value,
        asn=gateway.asn,
        router_id=str(gateway.router_id),
        ebgp=lab.ebgp,
        maximum_paths=gateway.maximum_paths,
        base_file=gateway.base_config_file,
        base_file_sha256=fingerprint,
        peer_address=gateway.peer_address,
        nodes=tuple(NodeClaim(node.name, node.address, node.address6) for node in lab.nodes),
        pools=tuple(PoolClaim(pool.name, pool.protocol.value, pool.ranges) for pool in lab.metallb.pools),
        host_names=tuple(sorted(host_names(lab, discovered).items())),
        peer_address6=gateway.peer_address6,
    )


def host_names(lab: Lab, discovered: Iterable[DiscoveredName] = ()) -> dict[str, str]:
    """Every host name and alias the stack gives the gateway → the key it comes from (the first
    key, where one name comes from several)."""
    domain = lab.gateway.dns_domain
    names: dict[str, str] = {}
    for i, service in enumerate(lab.services):
        names.setdefault(service.hostname(domain), f"{key_path('services', i, 'name')} (its host name)")
        names.setdefault(service.name, f"{key_path('services', i, 'name')} (its alias)")
        for j, alias in enumerate(service.aliases):
            names.setdefault(alias, key_path("services", i, "aliases", j))
    for entry in discovered:
        for name in entry.names:
            names.setdefault(name, f"{key_path('discovery')} (Service {entry.service})")
    return names


# --- reading a stored document ------------------------------------------------------------------


def _fail(path: str, problem: str) -> ValueError:
    return ValueError(f"stack claims: {path}: {problem}")


def _show(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    shown = json.dumps(value) if isinstance(value, str | int | float | bool) or value is None else repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _at(path: str, name: str | int) -> str:
    if isinstance(name, int):
        return f"{path}[{name}]"
    return f"{path}.{name}" if path else name


def _object(value: object, path: str, fields: Iterable[str]) -> Mapping[str, Any]:
    where = path or "the document"
    if not isinstance(value, dict):
        raise _fail(where, f"expected an object, got {_show(value)}")
    wanted = set(fields)
    missing = sorted(wanted - value.keys())
    if missing:
        raise _fail(_at(path, missing[0]), "is missing")
    unknown = sorted(str(k) for k in value.keys() - wanted)
    if unknown:
        raise _fail(_at(path, unknown[0]), "is not a field of a claims document")
    return value


def _list(value: object, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(path, f"expected a list, got {_show(value)}")
    return value


def _str(value: object, path: str, *, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise _fail(path, f"expected text, got {_show(value)}")
    if not value and not empty:
        raise _fail(path, "is empty")
    return value


def _optional_str(value: object, path: str) -> str | None:
    return None if value is None else _str(value, path)


def _int(value: object, path: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(path, f"expected a whole number, got {_show(value)}")
    if not low <= value <= high:
        raise _fail(path, f"{value} is not in {low}..{high}")
    return value


def _bool(value: object, path: str) -> bool:
    if not isinstance(value, bool):
        raise _fail(path, f"expected true or false, got {_show(value)}")
    return value


def _ip(value: object, path: str, parse: Callable[[str], _A], what: str) -> _A:
    """``value`` as text ``parse`` reads as an address (``what`` names its kind in the problem)."""
    text = _str(value, path)
    try:
        return parse(text)
    except ValueError:  # AddressValueError is one
        raise _fail(path, f"{_show(text)} is not {what}") from None


def _address(value: object, path: str) -> IPv4Address:
    return _ip(value, path, IPv4Address, "an IPv4 address")


def _address6(value: object, path: str) -> IPv6Address | None:
    """An IPv6 address, or null (none)."""
    return None if value is None else _ip(value, path, IPv6Address, "an IPv6 address")


def _either(value: object, path: str) -> IPAddress:
    return _ip(value, path, ip_address, "an IPv4 or IPv6 address")


def _one_of(value: object, path: str, choices: Iterable[str]) -> str:
    text = _str(value, path)
    known = sorted(choices)
    if text not in known:
        raise _fail(path, f"{_show(text)} is not one of {', '.join(known)}")
    return text


_FIELDS = (
    "asn",
    "baseFile",
    "baseFileSha256",
    "ebgp",
    "file",
    "filterNames",
    "format",
    "gatewayKind",
    "hostNames",
    "id",
    "maximumPaths",
    "nodes",
    "peerAddress",
    "pools",
    "routerId",
    "stack",
)
# Format 2: the same and the IPv6 fields.
_FIELDS_6 = (*_FIELDS, "peerAddress6")
_NODE_FIELDS = ("address", "name")
_NODE_FIELDS_6 = ("address", "address6", "name")
_FILTER_FIELDS = ("prefixList", "routeMapIn", "routeMapOut")
_FILTER_FIELDS_6 = (*_FILTER_FIELDS, "prefixList6", "routeMapIn6")


def _read(document: object) -> StackClaims:
    if not isinstance(document, dict):
        raise _fail("the document", f"expected an object, got {_show(document)}")
    # The format first: a later format may have other fields, and should be named as the reason.
    if "format" not in document:
        raise _fail("format", "is missing")
    version = document["format"]
    if isinstance(version, bool) or not isinstance(version, int) or version not in FORMATS:
        reads = " and ".join(str(f) for f in FORMATS)
        raise _fail("format", f"{_show(version)} is not a format this program reads (it reads {reads})")
    ipv6 = version == FORMAT
    d = _object(document, "", _FIELDS_6 if ipv6 else _FIELDS)

    stack = _str(d["stack"], "stack")
    sid = _str(d["id"], "id")
    if sid != stack_id(stack):
        raise _fail("id", f"{_show(sid)} is not the id of stack {_show(stack)} ({_show(stack_id(stack))})")
    names = _object(d["filterNames"], "filterNames", _FILTER_FIELDS_6 if ipv6 else _FILTER_FIELDS)
    derived = filter_names(stack)
    expected_names = {
        "prefixList": derived.prefix_list,
        "routeMapIn": derived.route_map_in,
        "routeMapOut": derived.route_map_out,
        "prefixList6": derived.prefix_list6,
        "routeMapIn6": derived.route_map_in6,
    }
    for name in sorted(names):
        expected = expected_names[name]
        if _str(names[name], _at("filterNames", name)) != expected:
            raise _fail(_at("filterNames", name), f"{_show(names[name])} is not stack id {sid!r}'s ({expected})")

    fingerprint = _optional_str(d["baseFileSha256"], "baseFileSha256")
    if fingerprint is not None and not _SHA256.fullmatch(fingerprint):
        raise _fail("baseFileSha256", f"{_show(fingerprint)} is not 64 lowercase hex digits")
    maximum = d["maximumPaths"]

    nodes = []
    for i, node in enumerate(_list(d["nodes"], "nodes")):
        path = _at("nodes", i)
        node = _object(node, path, _NODE_FIELDS_6 if ipv6 else _NODE_FIELDS)
        nodes.append(
            NodeClaim(
                _str(node["name"], _at(path, "name")),
                _address(node["address"], _at(path, "address")),
                _address6(node["address6"], _at(path, "address6")) if ipv6 else None,
            )
        )

    pools = []
    for i, pool in enumerate(_list(d["pools"], "pools")):
        path = _at("pools", i)
        pool = _object(pool, path, ("name", "protocol", "ranges"))
        ranges = []
        for j, entry in enumerate(_list(pool["ranges"], _at(path, "ranges"))):
            where = _at(_at(path, "ranges"), j)
            entry = _object(entry, where, ("first", "last", "text"))
            first, last = _range_ends(entry, where, ipv6)
            ranges.append(AddressRange(_str(entry["text"], _at(where, "text")), first, last))
        pools.append(
            PoolClaim(
                _str(pool["name"], _at(path, "name")),
                _one_of(pool["protocol"], _at(path, "protocol"), (p.value for p in Protocol)),
                tuple(ranges),
            )
        )

    hosts = d["hostNames"]
    if not isinstance(hosts, dict):
        raise _fail("hostNames", f"expected an object, got {_show(hosts)}")
    host_names = tuple(
        sorted((_str(name, "hostNames"), _str(key, _at("hostNames", name))) for name, key in hosts.items())
    )

    return StackClaims(
        stack=stack,
        id=sid,
        file=_optional_str(d["file"], "file"),
        gateway_kind=_one_of(d["gatewayKind"], "gatewayKind", (k.value for k in GatewayKind)),
        asn=_int(d["asn"], "asn", 1, _MAX_ASN),
        router_id=str(_address(d["routerId"], "routerId")),
        ebgp=_bool(d["ebgp"], "ebgp"),
        maximum_paths=None if maximum is None else _int(maximum, "maximumPaths", 1, MAX_PATHS),
        base_file=_optional_str(d["baseFile"], "baseFile"),
        base_file_sha256=fingerprint,
        peer_address=_address(d["peerAddress"], "peerAddress"),
        nodes=tuple(nodes),
        pools=tuple(pools),
        host_names=host_names,
        peer_address6=_address6(d["peerAddress6"], "peerAddress6") if ipv6 else None,
    )


def _range_ends(entry: Mapping[str, Any], where: str, ipv6: bool) -> tuple[IPAddress, IPAddress]:
    """A range's first and last address: IPv4 in format 1, of either family (both the same) in 2."""
    read = _either if ipv6 else _address
    first, last = read(entry["first"], _at(where, "first")), read(entry["last"], _at(where, "last"))
    if first.version != last.version:
        raise _fail(_at(where, "last"), f"{last} is not of the family of the first address {first}")
    if first > last:  # type: ignore[operator]  # one family, checked above
        raise _fail(_at(where, "last"), f"{last} comes before the first address {first}")
    return first, last
