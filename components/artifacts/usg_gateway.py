"""config.gateway.json for a USG: the BGP neighbours (one per peering node), the filter they import
and export through, and static host names of the services, merged into the user's own base file.

EdgeOS wants every leaf as a string and multi-values as lists of strings. ``maximum-paths`` is
never written: a USG is reported to reject it and loop in provisioning.

The filter (components/artifacts/bgp_filter.py) is EdgeOS's ``policy prefix-list`` and two
``policy route-map``s, in the tree of Vyatta's templates (vyos/vyatta-cfg-quagga@vyatta/
VC6.3-2011.10.04/amd64: templates/policy/prefix-list/node.tag/rule/node.tag/{action,prefix,le},
templates/policy/route-map/node.tag/rule/node.tag/{action,match/ip/address/prefix-list}), each
neighbour naming them under ``route-map`` ``import``/``export``
(templates/protocols/bgp/node.tag/neighbor/node.tag/route-map/{import,export}). A rule with an
``action`` and no ``match`` matches every route.

IPv6 (when a BGP pool holds IPv6 addresses, ``Lab.bgp_v6``), from the same repository and tag:
each peering node's ``address6`` is a neighbour too (the neighbour tag is of type ``ipv4, ipv6``:
templates/protocols/bgp/node.tag/neighbor/node.def lines 1-2). Its ``remote-as`` runs ``neighbor X
remote-as N ; neighbor X activate`` outside any address family, so the session is active for IPv4
unicast as well (scripts/bgp/vyatta-bgp.pl lines 433-435), where the neighbour's top-level
``route-map`` ``import``/``export`` apply (lines 445-452): it carries the IPv4 filter as every
neighbour does. ``address-family ipv6-unicast`` activates it for IPv6 (the node's existence runs
``address-family ipv6 ; neighbor X activate``, lines 135-137; there is no ``activate`` key) with
its own ``route-map`` ``import``/``export`` (lines 256-263; templates/protocols/bgp/node.tag/
neighbor/node.tag/address-family/ipv6-unicast/route-map/{import,export}/node.def refuse a
route-map that does not exist). The IPv6 import map is a ``policy route-map`` of its own whose
rule matches ``ipv6 address prefix-list`` (templates/policy/route-map/node.tag/rule/node.tag/
match/ipv6/address/prefix-list/node.def: the list must be a ``prefix-list6``, the rule must have
an action), over ``policy prefix-list6``, a tree apart from ``prefix-list``
(templates/policy/prefix-list6/node.tag/rule/node.tag/{action,prefix,le}: ``action`` permit|deny,
``prefix`` ipv6net, ``le`` 0-128); the export map denies both families alike. The instance's own
``address-family ipv6-unicast`` holds only ``aggregate-address``, ``network`` and
``redistribute`` (lines 58-111; the same in the USG 4.4.56 schema): nothing is written there.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from components.config.base_config import base_document, base_hosts
from components.config.errors import Problems, key_path
from components.config.model import IPFamily, Lab, Service, ServiceAddresses, by_family
from components.config.secrets import secret_text
from components.config.stack_names import FilterNames

from .bgp_filter import prefix_rules
from .frr import EBGP_MULTIHOP_TTL, session_timers

if TYPE_CHECKING:
    from components.discovery.rules import DiscoveredName

JsonObject = dict[str, Any]


class MergeConflict(ValueError):
    """The base file and this stack set the same path to different values."""

    def __init__(self, conflicts: list[str]) -> None:
        self.conflicts = list(conflicts)
        super().__init__("config.gateway.json: the base file conflicts with this stack:\n" + "\n".join(conflicts))


def render_config_gateway(
    lab: Lab, addresses: ServiceAddresses, discovered: Sequence[DiscoveredName] = ()
) -> JsonObject:
    """This stack's part of config.gateway.json. ``addresses`` maps service names to their IPs
    (pinned and allocated); services without one get no host name yet. ``discovered`` are the
    cluster's other Services' names (components.discovery), which never clash with these."""
    document: JsonObject = {"policy": _policy(lab)}
    neighbors = {str(node.address): _neighbor(lab) for node in lab.peering_nodes}
    # Empty unless a BGP pool holds IPv6 addresses (Lab.peering_nodes6).
    neighbors.update({str(node.address6): _neighbor6(lab) for node in lab.peering_nodes6})
    if neighbors:
        document["protocols"] = {
            "bgp": {
                str(lab.gateway.asn): {
                    "neighbor": neighbors,
                    "parameters": {"router-id": str(lab.gateway.router_id)},
                }
            }
        }
    domain = lab.gateway.dns_domain
    # ``inet`` takes IPv4 and IPv6 addresses, several of them (the USG 4.4.56 schema: an array of
    # ipv4|ipv6), IPv4 first; docs/usg.md "IPv6" says what is and is not known of how EdgeOS writes
    # several to /etc/hosts.
    hosts = {
        service.hostname(domain): {"alias": list(service.all_aliases), "inet": [str(a) for a in by_family(known)]}
        for service in lab.services
        if (known := addresses.get(service.name))
    }
    for entry in discovered:
        # EdgeOS takes a host name without aliases; an empty list is left out rather than written.
        hosts[entry.hostname] = {
            "inet": [str(a) for a in entry.addresses],
            **({"alias": list(entry.aliases)} if entry.aliases else {}),
        }
    if hosts:
        document["system"] = {"static-host-mapping": {"host-name": hosts}}
    return document


def _neighbor(lab: Lab) -> JsonObject:
    bgp = lab.bgp
    neighbor: JsonObject = {"remote-as": str(lab.metallb.asn)}
    if bgp.password is not None:
        neighbor["password"] = secret_text(bgp.password)
    timers = session_timers(bgp)
    if timers is not None:
        # EdgeOS writes "neighbor X timers <keepalive> <holdtime>": it needs both.
        neighbor["timers"] = {"keepalive": str(timers[0]), "holdtime": str(timers[1])}
    if bgp.ebgp_multihop and lab.ebgp:
        neighbor["ebgp-multihop"] = str(EBGP_MULTIHOP_TTL)  # EdgeOS requires a TTL, 1-255
    names = lab.filter_names
    neighbor["route-map"] = {"import": names.route_map_in, "export": names.route_map_out}
    return neighbor


def _neighbor6(lab: Lab) -> JsonObject:
    """A node's IPv6 neighbour: the IPv4 neighbour's settings (its session is active for IPv4
    unicast too, see the module docstring) and the IPv6 filter in ``address-family ipv6-unicast``."""
    names = lab.filter_names
    # vyatta-bgp.pl lines 135-137 (the node activates IPv6), 256-263 (its route-maps); the
    # top-level route-map of _neighbor filters the IPv4 unicast that remote-as activates (433-452).
    return {
        **_neighbor(lab),
        "address-family": {
            "ipv6-unicast": {"route-map": {"import": names.route_map_in6, "export": names.route_map_out}}
        },
    }


def _prefix_list_rules(lab: Lab, family: IPFamily) -> JsonObject:
    """``rule.<seq>`` of a prefix-list (``family`` IPv4) or prefix-list6 (IPv6): every leaf a string."""
    rules: JsonObject = {}
    for rule in prefix_rules(lab, family):
        entry = {"action": rule.action, "prefix": str(rule.prefix)}
        rules[str(rule.seq)] = entry if rule.le is None else {**entry, "le": str(rule.le)}
    return rules


def _policy(lab: Lab) -> JsonObject:
    """The prefix-list of the BGP pools and the two route-maps (components/artifacts/bgp_filter.py),
    and with IPv6 BGP pools the prefix-list6 of their IPv6 blocks and its import route-map."""
    names = lab.filter_names
    policy: JsonObject = {
        "prefix-list": {
            names.prefix_list: {
                "description": "metallb-unifi: the addresses of the BGP pools",
                "rule": _prefix_list_rules(lab, IPFamily.IPV4),
            }
        },
        "route-map": {
            names.route_map_in: {
                "description": "metallb-unifi: accept only BGP pool prefixes from the nodes",
                "rule": {"10": {"action": "permit", "match": {"ip": {"address": {"prefix-list": names.prefix_list}}}}},
            },
            names.route_map_out: {
                "description": "metallb-unifi: send the nodes nothing",
                "rule": {"10": {"action": "deny"}},
            },
        },
    }
    if lab.bgp_v6:
        # templates/policy/prefix-list6/node.tag/rule/node.tag/{action,prefix,le} and
        # templates/policy/route-map/node.tag/rule/node.tag/match/ipv6/address/prefix-list.
        policy["prefix-list6"] = {
            names.prefix_list6: {
                "description": "metallb-unifi: the IPv6 addresses of the BGP pools",
                "rule": _prefix_list_rules(lab, IPFamily.IPV6),
            }
        }
        policy["route-map"][names.route_map_in6] = {
            "description": "metallb-unifi: accept only BGP pool IPv6 prefixes from the nodes",
            "rule": {"10": {"action": "permit", "match": {"ipv6": {"address": {"prefix-list": names.prefix_list6}}}}},
        }
    return policy


def policy_paths(names: FilterNames, *, ipv6: bool = False) -> list[tuple[str, ...]]:
    """Where a stack's filter lives in config.gateway.json: the stack owns these (kept_settings).
    ``ipv6``: with the IPv6 prefix-list6 and import route-map, which a stack renders only while a
    BGP pool holds IPv6 addresses (an IPv4-only stack's list is the one it always had)."""
    paths: list[tuple[str, ...]] = [
        ("policy", "prefix-list", names.prefix_list),
        ("policy", "route-map", names.route_map_in),
        ("policy", "route-map", names.route_map_out),
    ]
    if ipv6:
        paths += [("policy", "prefix-list6", names.prefix_list6), ("policy", "route-map", names.route_map_in6)]
    return paths


# --- merging into the base file -----------------------------------------------------------


def merge_base(base: Mapping[str, Any], ours: Mapping[str, Any]) -> JsonObject:
    """``ours`` deep-merged into a copy of ``base``. Raises :class:`MergeConflict` listing every
    path both set to different values (equal values are fine)."""
    conflicts: list[str] = []
    merged = _merge(base, ours, (), conflicts)
    if conflicts:
        raise MergeConflict(conflicts)
    return merged


def _merge(base: Mapping[str, Any], ours: Mapping[str, Any], path: tuple[str, ...], conflicts: list[str]) -> JsonObject:
    result = copy.deepcopy(dict(base))
    for key in sorted(ours):
        value = ours[key]
        if key not in base:
            result[key] = copy.deepcopy(value)
        elif isinstance(base[key], Mapping) and isinstance(value, Mapping):
            result[key] = _merge(base[key], value, (*path, key), conflicts)
        elif base[key] != value:
            # The controller would let one side silently win (lists replace, not extend).
            secret = key == "password"
            conflicts.append(
                f"{format_path((*path, key))}: base has {_describe(base[key], secret)}, "
                f"this stack sets {_describe(value, secret)}"
            )
    return result


def format_path(path: tuple[str, ...]) -> str:
    """A dotted path; keys that hold dots (node IPs, host names) are quoted so it stays readable."""
    return ".".join(json.dumps(key) if not key or any(c in key for c in '. "') else key for key in path)


def _describe(value: Any, secret: bool) -> str:
    if isinstance(value, Mapping):
        return "an object" + (f" (keys: {', '.join(sorted(map(str, value)))})" if value else " ({})")
    if secret:
        return "a password (not shown)" if isinstance(value, str) else "a non-string value"
    return json.dumps(value)


def base_config_conflicts(lab: Lab) -> list[str]:
    """Every clash between the base file and what this stack will ever write into it, as
    messages for ``gateway.baseConfigFile``. Empty without a base file."""
    if lab.gateway.base_config_json is None:
        return []
    file = repr(lab.gateway.base_config_file or "the base file")
    base = base_document(lab)
    messages = _policy_name_clashes(lab, base, file)
    try:
        ours = render_config_gateway(lab, lab.pinned_addresses)
        merge_base(_without_paths(base, policy_paths(lab.filter_names, ipv6=True)), ours)
    except MergeConflict as exc:
        messages += [f"{file} conflicts with this stack at {c}; change or remove it there" for c in exc.conflicts]
    messages += _host_name_clashes(lab, base, file)
    return messages


def check_base_config(lab: Lab, problems: Problems) -> None:
    """The parser's check that the base file and this stack never clash, on ``gateway.baseConfigFile``."""
    for conflict in base_config_conflicts(lab):
        problems.error(key_path("gateway", "baseConfigFile"), conflict)


def _policy_name_clashes(lab: Lab, base: JsonObject, file: str) -> list[str]:
    """The base file's own prefix-list or route-map of a name this stack's filter uses, even with
    the same content: the stack owns those names (kept_settings) and rewrites them. The IPv6 names
    too, whether the stack announces IPv6 yet or not: gaining an IPv6 pool must not clash."""
    messages = []
    for path in policy_paths(lab.filter_names, ipv6=True):
        node: Any = base
        for key in path:
            node = node.get(key) if isinstance(node, Mapping) else None
        if node is not None:
            kind, name = path[1], path[2]
            messages.append(
                f"{file} defines policy {kind} {name!r} at {format_path(path)}, a name of this stack's BGP "
                f"filter (what the gateway accepts from the nodes); rename or remove it in {file}"
            )
    return messages


def _without_paths(document: JsonObject, paths: Sequence[tuple[str, ...]]) -> JsonObject:
    """A copy of ``document`` without the given paths (empty parents stay)."""
    result = copy.deepcopy(document)
    for path in paths:
        node: Any = result
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return result


def _host_name_clashes(lab: Lab, base: JsonObject, file: str) -> list[str]:
    """Names this stack owns (host names and aliases of every service, pinned or not) that the
    base file uses. Pinned services' own entries are compared by :func:`merge_base` instead."""
    domain = lab.gateway.dns_domain
    owners: dict[str, Service] = {}
    for service in lab.services:
        for name in (service.hostname(domain), *service.all_aliases):
            owners[name] = service
    messages = []
    for host, entry in sorted(base_hosts(base).items()):
        where = format_path(("system", "static-host-mapping", "host-name", host))
        owner = owners.get(host)
        if owner is not None and host == owner.hostname(domain):
            if not owner.addresses:
                messages.append(
                    f"{file} defines host name {host!r} at {where}, but this stack maps it to the address "
                    f"MetalLB allocates to service {owner.name!r}; remove that entry from {file}"
                )
            continue
        aliases = entry.get("alias", []) if isinstance(entry, Mapping) else []
        for name in [host, *(a for a in aliases if isinstance(a, str))]:
            if name in owners:
                messages.append(
                    f"{file} uses the name {name!r} at {where}, but this stack gives it to service "
                    f"{owners[name].name!r} (as {owners[name].hostname(domain)!r}); rename or remove it in {file}"
                )
    return messages


def config_gateway_document(
    lab: Lab, addresses: ServiceAddresses, discovered: Sequence[DiscoveredName] = ()
) -> JsonObject:
    """The whole file: the base file with this stack's part merged in."""
    return merge_base(base_document(lab), render_config_gateway(lab, addresses, discovered))


def config_gateway_json(lab: Lab, addresses: ServiceAddresses, discovered: Sequence[DiscoveredName] = ()) -> str:
    """The file's text, byte-for-byte the same for the same lab, addresses and discovered names."""
    return json.dumps(config_gateway_document(lab, addresses, discovered), indent=4, sort_keys=True) + "\n"
