"""config.gateway.json (USG) → the router's BGP and its host names.

Modeled: ``protocols.bgp.<asn>`` with ``parameters.router-id`` and per neighbour
``remote-as``, ``password``, ``timers`` (keepalive, holdtime) and ``ebgp-multihop``;
``system.static-host-mapping.host-name.<name>`` with ``inet`` and ``alias``. Anything else in
the file (including a base file's other settings) is refused, naming its path.
"""

from __future__ import annotations

import json
from ipaddress import IPv4Address

from simulator.errors import UnmodeledField
from simulator.model import HostEntry, RouterBgp, RouterNeighbor
from simulator.strict import Fields

FILE = "config.gateway.json"


def read_config_gateway(text: str) -> tuple[RouterBgp | None, tuple[HostEntry, ...]]:
    top = Fields(json.loads(text), FILE, "")
    bgp = None
    protocols = top.optional_nested("protocols")
    if protocols is not None:
        bgp = _bgp(protocols.nested("bgp"))
        protocols.finish()
    hosts: tuple[HostEntry, ...] = ()
    system = top.optional_nested("system")
    if system is not None:
        hosts = _hosts(system.nested("static-host-mapping").nested("host-name"))
        system.finish()
    top.finish()
    return bgp, hosts


def _bgp(bgp: Fields) -> RouterBgp:
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
    neighbors = tuple(
        _neighbor(address, Fields(settings, FILE, instance.nested("neighbor").where(address)))
        for address, settings in instance.nested("neighbor").items()
    )
    instance.finish()
    if not asn_text.isdigit():
        raise UnmodeledField(FILE, bgp.where(asn_text), "the AS must be a number")
    return RouterBgp(int(asn_text), router_id, neighbors)


def _neighbor(address: str, neighbor: Fields) -> RouterNeighbor:
    timers = None
    timer_fields = neighbor.optional_nested("timers")
    if timer_fields is not None:
        timers = (timer_fields.require_integer("keepalive"), timer_fields.require_integer("holdtime"))
        timer_fields.finish()
    result = RouterNeighbor(
        address=IPv4Address(address),
        remote_asn=neighbor.require_integer("remote-as"),
        password=neighbor.string("password"),
        timers=timers,
        ebgp_multihop_ttl=neighbor.integer("ebgp-multihop"),
    )
    neighbor.finish()
    return result


def _hosts(host_names: Fields) -> tuple[HostEntry, ...]:
    hosts = []
    for name, body in host_names.items():
        entry = Fields(body, FILE, host_names.where(name))
        addresses = [IPv4Address(str(a)) for a in entry.sequence("inet")]
        if len(addresses) != 1:
            raise UnmodeledField(FILE, entry.where("inet"), f"{len(addresses)} addresses: exactly one is modeled")
        aliases = [str(alias) for alias in entry.sequence("alias")]
        entry.finish()
        hosts += [HostEntry(host, addresses[0]) for host in (name, *aliases)]
    return tuple(hosts)
