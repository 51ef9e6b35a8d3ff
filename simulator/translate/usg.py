"""config.gateway.json (USG) → the router's BGP, its policies and its host names.

Modeled: ``protocols.bgp.<asn>`` with ``parameters.router-id`` and per neighbour (an IPv4 or
an IPv6 address) ``remote-as``, ``password``, ``timers`` (keepalive, holdtime), ``ebgp-multihop``,
``route-map`` (``import``, ``export``) and ``address-family.ipv6-unicast`` with its ``route-map``
(``import``, ``export``); ``policy.prefix-list.<name>`` and ``policy.prefix-list6.<name>``
(``description``, ``rule.<n>`` with ``action``, ``prefix``, ``ge``, ``le``, ``description``);
``policy.route-map.<name>`` (``description``, ``rule.<n>`` with ``action``,
``match.ip.address.prefix-list`` or ``match.ipv6.address.prefix-list``, ``description``);
``system.static-host-mapping.host-name.<name>`` with ``inet`` (one address per family) and
``alias``. Anything else in the file (including a base file's other settings) is refused,
naming its path.

IPv6, as Vyatta's ``scripts/bgp/vyatta-bgp.pl`` runs it: ``remote-as`` is ``neighbor X remote-as
N ; neighbor X activate`` in the default (IPv4 unicast) context, for an IPv6 neighbour too (line
434), and its top-level ``route-map`` filters IPv4 unicast (line 449); the existence of
``address-family ipv6-unicast`` is ``address-family ipv6 ; neighbor X activate`` (lines 135-137)
and its ``route-map import``/``export`` the neighbour's maps in that family (lines 256-263).
``policy.prefix-list6`` is ``ipv6 prefix-list`` (``…/prefix-list6/node.tag/rule/node.def`` line
40) with the same checks as ``prefix-list`` but lengths 0-128 (``…/ge/node.def``, ``…/le/node.def``
line 5; ``le`` may stay at or below ``ge`` only when 128, line 31; Quagga's ``lib/plist.c``
applies the same ``len < ge <= le`` rule to both families, lines 754-761), and a route-map's
``match ipv6 address prefix-list`` must name an existing ``prefix-list6``
(``…/match/ipv6/address/prefix-list/node.def`` line 8).

What EdgeOS itself refuses is refused too (:class:`GatewayRefuses`). EdgeOS's own templates are
not public; the rules below are those of the code its configuration system descends from:
Vyatta's templates (vyos/vyatta-cfg-quagga at tag ``vyatta/VC6.3-2011.10.04/amd64``, Vyatta
Core 6.3, the line EdgeOS was forked from) and the Quagga underneath (Quagga/quagga at tag
``quagga-1.2.3``). Paths below are in that template tree, ``…`` for ``templates/policy``:

- names of prefix-lists and route-maps match ``^[-a-zA-Z0-9.]+$`` (``…/prefix-list/node.def``
  and ``…/route-map/node.def``, line 6);
- rule numbers are 1-65535 (``…/prefix-list/node.tag/rule/node.def`` and
  ``…/route-map/node.tag/rule/node.def``, line 6); a prefix-list rule needs a ``prefix`` and an
  ``action`` (the first, lines 8-9), and a route-map rule that matches needs an ``action``
  (``…/route-map/node.tag/rule/node.tag/match/ip/address/prefix-list/node.def`` line 11);
  actions are ``permit`` or ``deny`` (``…/rule/node.tag/action/node.def`` line 6);
- ``ge`` and ``le`` are 0-32 (``…/prefix-list/node.tag/rule/node.tag/ge/node.def`` and
  ``…/le/node.def``, line 5); ``ge`` must exceed the prefix length
  (``…/prefix-list/node.tag/rule/node.def`` lines 23-27; Quagga's ``lib/plist.c`` lines
  754-755); ``le`` must exceed ``ge`` unless it is 32 (the template, lines 30-34; Quagga
  refuses only ``ge`` > ``le``, lines 760-761); ``le`` must exceed the prefix length
  (``lib/plist.c`` lines 757-758: "% Invalid prefix range for …, make sure: len < ge-value
  <= le-value". The template ignores the exit status of the ``vtysh`` that says so, lines
  40-43, so the commit may go through without the rule: either way the USG does not run it);
- two rules of one prefix-list with the same action, prefix, ``ge`` and ``le`` (``le 32`` after
  a ``ge`` counting as none, ``lib/plist.c`` lines 763-764): Quagga refuses the second
  ("% Insertion failed - prefix-list entry exists": ``prefix_entry_dup_check``, lines 631-653,
  called at lines 772-787);
- a route-map's ``match ip address prefix-list`` must name an existing prefix-list
  (``…/route-map/node.tag/rule/node.tag/match/ip/address/prefix-list/node.def`` line 9), and a
  neighbour's ``route-map import``/``export`` an existing route-map
  (``templates/protocols/bgp/node.tag/neighbor/node.tag/route-map/import/node.def`` and
  ``…/export/node.def``, line 6).

FRR 8.4's ``vtysh -C`` accepts each of these ranges, duplicates and names of lists and maps that
do not exist, so the simulator checks them itself.

Not modeled, so refused too: ``le 0`` (Quagga reads it as no ``le`` at all), a prefix with host
bits set, a prefix-list or route-map without rules, a route-map rule without an action.
"""

from __future__ import annotations

import json
import re
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from simulator.errors import GatewayRefuses, UnmodeledField
from simulator.model import (
    HostEntry,
    IPAddress,
    IPNetwork,
    PolicyAction,
    PrefixList,
    PrefixListRule,
    RouteMap,
    RouteMapRule,
    RouterBgp,
    RouterNeighbor,
)
from simulator.strict import Fields

FILE = "config.gateway.json"
_POLICY_NAME = re.compile(r"^[-a-zA-Z0-9.]+$")
_MAX_RULE = 65535
_MAX_LENGTH = {4: 32, 6: 128}
_NETWORK: dict[int, type[IPv4Network] | type[IPv6Network]] = {4: IPv4Network, 6: IPv6Network}
_LIST_KIND = {4: "prefix-list", 6: "prefix-list6"}  # the policy tree (and Quagga's word) per family
_MATCH = {"ip": 4, "ipv6": 6}  # route-map ``match.<key>.address.prefix-list``


def read_config_gateway(text: str) -> tuple[RouterBgp | None, tuple[HostEntry, ...]]:
    top = Fields(json.loads(text), FILE, "")
    prefix_lists: tuple[PrefixList, ...] = ()
    route_maps: tuple[RouteMap, ...] = ()
    policy = top.optional_nested("policy")
    if policy is not None:
        prefix_lists, route_maps = _policy(policy)
        policy.finish()
    bgp = None
    protocols = top.optional_nested("protocols")
    if protocols is not None:
        bgp = _bgp(protocols.nested("bgp"), prefix_lists, route_maps)
        protocols.finish()
    hosts: tuple[HostEntry, ...] = ()
    system = top.optional_nested("system")
    if system is not None:
        hosts = _hosts(system.nested("static-host-mapping").nested("host-name"))
        system.finish()
    top.finish()
    return bgp, hosts


# --- protocols.bgp ----------------------------------------------------------------------------


def _bgp(bgp: Fields, prefix_lists: tuple[PrefixList, ...], route_maps: tuple[RouteMap, ...]) -> RouterBgp:
    entries = bgp.items()
    if len(entries) != 1:
        raise UnmodeledField(FILE, bgp.path, f"{len(entries)} BGP instances: exactly one is modeled")
    asn_text, body = entries[0]
    instance = Fields(body, FILE, bgp.where(asn_text))
    router_id = None
    parameters = instance.optional_nested("parameters")
    if parameters is not None:
        router_id_text = parameters.string("router-id")
        router_id = IPv4Address(router_id_text) if router_id_text else None
        parameters.finish()
    route_map_names = {route_map.name for route_map in route_maps}
    neighbor_fields = instance.nested("neighbor")
    neighbors = tuple(
        _neighbor(address, Fields(settings, FILE, neighbor_fields.where(address)), route_map_names)
        for address, settings in neighbor_fields.items()
    )
    instance.finish()
    if not asn_text.isdigit():
        raise UnmodeledField(FILE, bgp.where(asn_text), "the AS must be a number")
    return RouterBgp(int(asn_text), router_id, neighbors, prefix_lists, route_maps)


def _neighbor(address: str, neighbor: Fields, route_maps: set[str]) -> RouterNeighbor:
    timers = None
    timer_fields = neighbor.optional_nested("timers")
    if timer_fields is not None:
        timers = (timer_fields.require_integer("keepalive"), timer_fields.require_integer("holdtime"))
        timer_fields.finish()
    route_map_in, route_map_out = _route_maps(neighbor, route_maps)
    ipv6_unicast = False
    route_map_in6 = route_map_out6 = None
    families = neighbor.optional_nested("address-family")
    if families is not None:
        ipv6 = families.optional_nested("ipv6-unicast")
        if ipv6 is not None:
            ipv6_unicast = True
            route_map_in6, route_map_out6 = _route_maps(ipv6, route_maps)
            ipv6.finish()
        families.finish()
    try:
        parsed = ip_address(address)
    except ValueError:
        raise GatewayRefuses(FILE, neighbor.path, "a neighbour is an IPv4 or an IPv6 address") from None
    result = RouterNeighbor(
        address=parsed,
        remote_asn=neighbor.require_integer("remote-as"),
        password=neighbor.string("password"),
        timers=timers,
        ebgp_multihop_ttl=neighbor.integer("ebgp-multihop"),
        route_map_in=route_map_in,
        route_map_out=route_map_out,
        ipv6_unicast=ipv6_unicast,
        route_map_in6=route_map_in6,
        route_map_out6=route_map_out6,
    )
    neighbor.finish()
    return result


def _route_maps(owner: Fields, route_maps: set[str]) -> tuple[str | None, str | None]:
    """``route-map.import`` and ``route-map.export`` under ``owner``, if any."""
    route_map = owner.optional_nested("route-map")
    if route_map is None:
        return None, None
    result = (
        _existing(route_map, "import", route_maps, "route-map {} doesn't exist"),
        _existing(route_map, "export", route_maps, "route-map {} doesn't exist"),
    )
    route_map.finish()
    return result


def _existing(fields: Fields, key: str, names: set[str], refusal: str) -> str | None:
    """The name under ``key``, which must be one of ``names`` (EdgeOS's commit check)."""
    name = fields.string(key)
    if name is not None and name not in names:
        raise GatewayRefuses(FILE, fields.where(key), refusal.format(name))
    return name


# --- policy -----------------------------------------------------------------------------------


def _policy(policy: Fields) -> tuple[tuple[PrefixList, ...], tuple[RouteMap, ...]]:
    prefix_lists: tuple[PrefixList, ...] = ()
    for version, kind in _LIST_KIND.items():
        lists = policy.optional_nested(kind)
        if lists is not None:
            prefix_lists += tuple(
                _prefix_list(name, Fields(body, FILE, lists.where(name)), version) for name, body in lists.items()
            )
    route_maps: tuple[RouteMap, ...] = ()
    maps = policy.optional_nested("route-map")
    if maps is not None:
        list_names = {
            version: {prefix_list.name for prefix_list in prefix_lists if prefix_list.version == version}
            for version in _LIST_KIND
        }
        route_maps = tuple(
            _route_map(name, Fields(body, FILE, maps.where(name)), list_names) for name, body in maps.items()
        )
    return prefix_lists, route_maps


def _policy_name(name: str, fields: Fields, kind: str) -> None:
    if not _POLICY_NAME.match(name):
        raise GatewayRefuses(FILE, fields.path, f"{kind} name must be alpha-numeric")


def _rules(owner: Fields) -> list[tuple[int, Fields]]:
    """``rule.<n>`` by number; EdgeOS numbers rules 1-65535."""
    rules = owner.optional_nested("rule")
    entries = rules.items() if rules is not None else []
    if rules is None or not entries:
        raise UnmodeledField(FILE, owner.where("rule"), "a policy without rules is not modeled")
    numbered = []
    for key, body in entries:
        fields = Fields(body, FILE, rules.where(key))
        if not key.isdigit() or not 1 <= int(key) <= _MAX_RULE:
            raise GatewayRefuses(FILE, fields.path, f"rule number must be between 1 and {_MAX_RULE}")
        numbered.append((int(key), fields))
    return sorted(numbered, key=lambda rule: rule[0])


def _action(rule: Fields, missing: str) -> PolicyAction:
    text = rule.string("action")
    if text is None:
        raise GatewayRefuses(FILE, rule.where("action"), missing)
    try:
        return PolicyAction(text)
    except ValueError:
        raise GatewayRefuses(FILE, rule.where("action"), "action must be permit or deny") from None


def _prefix_list(name: str, prefix_list: Fields, version: int) -> PrefixList:
    _policy_name(name, prefix_list, _LIST_KIND[version])
    prefix_list.string("description")
    rules = []
    seen: dict[tuple[PolicyAction, IPNetwork, int, int], int] = {}
    for number, fields in _rules(prefix_list):
        rule = _prefix_list_rule(number, fields, version)
        fields.finish()
        # Quagga compares entries after dropping an ``le 32`` (``le 128``) that follows a ``ge``.
        ge, le = rule.ge or 0, rule.le or 0
        key = (rule.action, rule.prefix, ge, 0 if ge and le == _MAX_LENGTH[version] else le)
        if key in seen:
            raise GatewayRefuses(
                FILE, fields.path, f"Quagga refuses it: prefix-list entry exists (as rule {seen[key]})"
            )
        seen[key] = number
        rules.append(rule)
    prefix_list.finish()
    return PrefixList(name, tuple(rules), version)


def _prefix_list_rule(number: int, rule: Fields, version: int) -> PrefixListRule:
    text = rule.string("prefix")
    if text is None:
        raise GatewayRefuses(FILE, rule.where("prefix"), "You must specify a prefix")
    action = _action(rule, "You must specify an action")
    rule.string("description")
    try:
        if "/" not in text:
            raise ValueError(text)
        prefix = _NETWORK[version](text, strict=False)
    except ValueError:
        family = f"IPv{version}"
        raise GatewayRefuses(FILE, rule.where("prefix"), f"{text} is not a valid {family} network prefix") from None
    if str(prefix) != text:
        raise UnmodeledField(FILE, rule.where("prefix"), f"host bits set (the network is {prefix}): not modeled")
    ge = _length(rule, "ge", version)
    le = _length(rule, "le", version)
    length = prefix.prefixlen
    invalid = f"Quagga refuses the rule: Invalid prefix range for {text}, make sure: len < ge-value <= le-value"
    if ge is not None and ge <= length:
        raise GatewayRefuses(FILE, rule.where("ge"), "ge must be greater than prefix length")
    if le == 0:
        raise UnmodeledField(FILE, rule.where("le"), "le 0 (Quagga's 'no le') is not modeled")
    if le is not None and ge is not None and le != _MAX_LENGTH[version] and le <= ge:
        raise GatewayRefuses(FILE, rule.where("le"), "le must be greater than or equal to ge")
    if le is not None and le <= length:
        raise GatewayRefuses(FILE, rule.where("le"), invalid)
    return PrefixListRule(number, action, prefix, ge, le)


def _length(rule: Fields, key: str, version: int) -> int | None:
    value = rule.integer(key)
    if value is not None and value > _MAX_LENGTH[version]:
        raise GatewayRefuses(FILE, rule.where(key), f"{key} must be between 0 and {_MAX_LENGTH[version]}")
    return value


def _route_map(name: str, route_map: Fields, prefix_lists: dict[int, set[str]]) -> RouteMap:
    _policy_name(name, route_map, "route-map")
    route_map.string("description")
    rules = []
    for number, rule in _rules(route_map):
        if rule.get("action") is None and rule.get("match") is None:
            # The action is what creates the entry in Quagga (…/rule/node.tag/action/node.def).
            raise UnmodeledField(FILE, rule.where("action"), "missing: a route-map rule without an action")
        action = _action(rule, "you must specify an action")
        rule.string("description")
        match_prefix_list, match_version = None, 4
        match = rule.optional_nested("match")
        if match is not None:
            present = [key for key in _MATCH if match.get(key) is not None]
            if len(present) != 1:
                raise UnmodeledField(FILE, match.where("ip"), "exactly one of match ip and match ipv6 is modeled")
            key = present[0]
            match_version = _MATCH[key]
            family = match.nested(key)
            address = family.nested("address")
            match_prefix_list = address.string("prefix-list")
            if match_prefix_list is None:
                raise UnmodeledField(FILE, address.path, f"only match {key} address prefix-list is modeled")
            kind = _LIST_KIND[match_version]
            _existing(address, "prefix-list", prefix_lists[match_version], f"{kind} {{}} does not exist")
            address.finish()
            family.finish()
            match.finish()
        rule.finish()
        rules.append(RouteMapRule(number, action, match_prefix_list, match_version))
    route_map.finish()
    return RouteMap(name, tuple(rules))


# --- system.static-host-mapping ---------------------------------------------------------------


def _hosts(host_names: Fields) -> tuple[HostEntry, ...]:
    """Each name and alias gets each address (``inet``: one per family, the IPv4 first, as the
    USG's schema allows several; how EdgeOS writes them to /etc/hosts is not in any source,
    issue 19 research §3: the simulator assumes one line per address, as VyOS does)."""
    hosts = []
    for name, body in host_names.items():
        entry = Fields(body, FILE, host_names.where(name))
        addresses = _inet(entry)
        aliases = [str(alias) for alias in entry.sequence("alias")]
        entry.finish()
        hosts += [HostEntry(host, address) for address in addresses for host in (name, *aliases)]
    return tuple(hosts)


def _inet(entry: Fields) -> list[IPAddress]:
    try:
        addresses = [ip_address(str(a)) for a in entry.sequence("inet")]
    except ValueError as exc:
        raise GatewayRefuses(FILE, entry.where("inet"), f"not an IPv4 or IPv6 address: {exc}") from None
    v4 = [a for a in addresses if isinstance(a, IPv4Address)]
    v6 = [a for a in addresses if isinstance(a, IPv6Address)]
    if not addresses or len(v4) > 1 or len(v6) > 1 or addresses != [*v4, *v6]:
        why = f"{len(addresses)} addresses ({len(v4)} IPv4, {len(v6)} IPv6)"
        raise UnmodeledField(FILE, entry.where("inet"), f"{why}: one per family, the IPv4 first, is modeled")
    return addresses
