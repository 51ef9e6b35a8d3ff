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
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from components.config.base_config import base_document, base_hosts
from components.config.errors import Problems, key_path
from components.config.model import Lab, Service, ServiceAddresses
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
    # ipv4|ipv6; see docs/ipv6.md for what is known of how EdgeOS writes them to /etc/hosts).
    hosts = {
        service.hostname(domain): {"alias": list(service.all_aliases), "inet": [str(a) for a in known]}
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


def _policy(lab: Lab) -> JsonObject:
    """The prefix-list of the BGP pools and the two route-maps (components/artifacts/bgp_filter.py)."""
    names = lab.filter_names
    rules: JsonObject = {}
    for rule in prefix_rules(lab):
        entry = {"action": rule.action, "prefix": str(rule.prefix)}
        rules[str(rule.seq)] = entry if rule.le is None else {**entry, "le": str(rule.le)}
    return {
        "prefix-list": {
            names.prefix_list: {"description": "metallb-unifi: the addresses of the BGP pools", "rule": rules}
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


def policy_paths(names: FilterNames) -> list[tuple[str, ...]]:
    """Where a stack's filter lives in config.gateway.json: the stack owns these (kept_settings)."""
    return [
        ("policy", "prefix-list", names.prefix_list),
        ("policy", "route-map", names.route_map_in),
        ("policy", "route-map", names.route_map_out),
    ]


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
        merge_base(_without_paths(base, policy_paths(lab.filter_names)), ours)
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
    the same content: the stack owns those names (kept_settings) and rewrites them."""
    messages = []
    for path in policy_paths(lab.filter_names):
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
