"""Daemon configs from the translated model: pure text, so they can be tested without root."""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Address

from .model import HostEntry, IPAddress, IPNetwork, RouterBgp, SpeakerPeer

FRR_HEADER = "frr defaults traditional"


def usg_router_bgpd_conf(bgp: RouterBgp) -> str:
    """FRR standing in for the USG's Quagga-derived routing stack: its neighbours, the
    route-maps they import and export through, and the prefix-lists those match.

    As on Vyatta, every neighbour is active for IPv4 unicast, an IPv6 one too (FRR's
    ``traditional`` defaults keep ``bgp default ipv4-unicast`` on: FRRouting/frr@frr-8.4.4
    bgpd/bgpd.c:1764-1775 ``peer_create``), filtered there by its top-level route-maps; a
    neighbour with ``address-family ipv6-unicast`` is activated for IPv6 unicast with its
    IPv6 route-maps, one best path there too."""
    lines = [FRR_HEADER, "hostname usg", "!", f"router bgp {bgp.asn}"]
    if bgp.router_id is not None:
        lines.append(f" bgp router-id {bgp.router_id}")
    # Quagga predates RFC 8212: the USG accepts eBGP routes without a policy. FRR needs telling.
    lines.append(" no bgp ebgp-requires-policy")
    for neighbor in bgp.neighbors:
        peer = neighbor.address
        lines.append(f" neighbor {peer} remote-as {neighbor.remote_asn}")
        if neighbor.password is not None:
            lines.append(f" neighbor {peer} password {neighbor.password}")
        if neighbor.timers is not None:
            lines.append(f" neighbor {peer} timers {neighbor.timers[0]} {neighbor.timers[1]}")
        if neighbor.ebgp_multihop_ttl is not None:
            lines.append(f" neighbor {peer} ebgp-multihop {neighbor.ebgp_multihop_ttl}")
    lines += [" !", " address-family ipv4 unicast"]
    for neighbor in bgp.neighbors:
        if neighbor.route_map_in is not None:
            lines.append(f"  neighbor {neighbor.address} route-map {neighbor.route_map_in} in")
        if neighbor.route_map_out is not None:
            lines.append(f"  neighbor {neighbor.address} route-map {neighbor.route_map_out} out")
    # The USG installs one best path per prefix (it is reported to reject maximum-paths).
    one_path = ["  maximum-paths 1", "  maximum-paths ibgp 1", " exit-address-family"]
    lines += one_path
    ipv6 = [neighbor for neighbor in bgp.neighbors if neighbor.ipv6_unicast]
    if ipv6:
        lines += [" !", " address-family ipv6 unicast"]
        for neighbor in ipv6:
            lines.append(f"  neighbor {neighbor.address} activate")
            if neighbor.route_map_in6 is not None:
                lines.append(f"  neighbor {neighbor.address} route-map {neighbor.route_map_in6} in")
            if neighbor.route_map_out6 is not None:
                lines.append(f"  neighbor {neighbor.address} route-map {neighbor.route_map_out6} out")
        # No IPv6 maximum-paths in the USG's schema either; one path (issue 19 research §3).
        lines += one_path
    lines.append("exit")
    lines += _policy_lines(bgp)
    return "\n".join([*lines, ""])


def _policy_lines(bgp: RouterBgp) -> list[str]:
    lines = []
    for prefix_list in bgp.prefix_lists:
        lines.append("!")
        family = "ip" if prefix_list.version == 4 else "ipv6"
        for rule in prefix_list.rules:
            line = f"{family} prefix-list {prefix_list.name} seq {rule.number} {rule.action.value} {rule.prefix}"
            line += "".join(f" {key} {value}" for key, value in (("ge", rule.ge), ("le", rule.le)) if value is not None)
            lines.append(line)
    for route_map in bgp.route_maps:
        for map_rule in route_map.rules:
            lines += ["!", f"route-map {route_map.name} {map_rule.action.value} {map_rule.number}"]
            if map_rule.match_prefix_list is not None:
                family = "ip" if map_rule.match_version == 4 else "ipv6"
                lines.append(f" match {family} address prefix-list {map_rule.match_prefix_list}")
            lines.append("exit")
    return lines


def speaker_zebra_conf(ipv6: bool = False) -> str:
    # The gateway is reached through the node's default route; FRR ignores that route for
    # next-hop tracking unless told, and would never open the session.
    return f"{FRR_HEADER}\nip nht resolve-via-default\n" + ("ipv6 nht resolve-via-default\n" if ipv6 else "")


def router_zebra_conf() -> str:
    return f"{FRR_HEADER}\n"


def frr_speaker_bgpd_conf(
    node: str,
    address: IPv4Address,
    peer: SpeakerPeer,
    password: str | None,
    announced: Iterable[IPAddress],
    rogue: Iterable[IPNetwork] = (),
    address6: IPv6Address | None = None,
) -> str:
    """A node's speaker, behaving like MetalLB's: one session to the gateway, each service
    address announced as a /32 with the node as next hop; a rogue one announces ``rogue`` too.

    With ``address6`` and the peer's IPv6 address, a second session between those, carrying
    the IPv6 addresses (as /128) and prefixes only, as MetalLB's FRR modes do by default from
    v0.15 (one family per session: metallb/metallb@v0.15.3:internal/bgp/frr/config.go:190-192);
    the IPv4 session carries only IPv4."""
    announced, rogue = list(announced), list(rogue)
    gateway = peer.address
    lines = [
        FRR_HEADER,
        f"hostname {node}",
        "!",
        f"router bgp {peer.my_asn}",
        f" bgp router-id {address}",
        # MetalLB sends its announcements without an outbound policy (RFC 8212 would block them).
        " no bgp ebgp-requires-policy",
        # Like MetalLB, announce the service addresses whether or not the kernel routes them.
        " no bgp network import-check",
        *_speaker_neighbor(gateway, address, peer, password),
    ]
    gateway6 = peer.address6 if address6 is not None else None
    if gateway6 is not None and address6 is not None:
        lines += _speaker_neighbor(gateway6, address6, peer, password)
    lines += [" !", " address-family ipv4 unicast"]
    if gateway6 is not None:
        lines.append(f"  no neighbor {gateway6} activate")  # traditional defaults activate it here
    lines += [f"  network {service}/32" for service in announced if service.version == 4]
    lines += [f"  network {prefix}" for prefix in rogue if prefix.version == 4]
    lines.append(" exit-address-family")
    if gateway6 is not None:
        lines += [" !", " address-family ipv6 unicast", f"  neighbor {gateway6} activate"]
        lines += [f"  network {service}/128" for service in announced if service.version == 6]
        lines += [f"  network {prefix}" for prefix in rogue if prefix.version == 6]
        lines.append(" exit-address-family")
    lines += ["exit", ""]
    return "\n".join(lines)


def _speaker_neighbor(gateway: IPAddress, source: IPAddress, peer: SpeakerPeer, password: str | None) -> list[str]:
    lines = [
        f" neighbor {gateway} remote-as {peer.peer_asn}",
        f" neighbor {gateway} timers {peer.keepalive_time_s} {peer.hold_time_s}",
        # MetalLB's speaker redials within seconds; FRR's default is two minutes.
        f" neighbor {gateway} timers connect 1",
        f" neighbor {gateway} update-source {source}",
    ]
    if password is not None:
        lines.append(f" neighbor {gateway} password {password}")
    if peer.ebgp and peer.ebgp_multihop:
        lines.append(f" neighbor {gateway} ebgp-multihop 255")
    elif peer.ebgp:
        # The gateway is one hop away but not on the node's subnet; MetalLB's native speaker
        # does not check that, FRR does (MetalLB's FRR modes add it for single-hop eBGP:
        # metallb/metallb@v0.15.3:internal/bgp/frr/config.go:196-225).
        lines.append(f" neighbor {gateway} disable-connected-check")
    return lines


def gobgp_speaker_conf(
    address: IPv4Address, peer: SpeakerPeer, password: str | None, address6: IPv6Address | None = None
) -> str:
    """gobgpd, TOML: it dials out and never listens, like MetalLB's native speaker. Routes are
    added through its API once it runs (the config file cannot hold them). With ``address6`` and
    the peer's IPv6 address, a second neighbour between those; with no ``afi-safis`` gobgpd
    gives a neighbour its own family only (osrg/gobgp@024b1f85:pkg/config/oc/default.go,
    ``setDefaultNeighborConfigValuesWithViper``)."""
    lines = [
        "[global.config]",
        f"  as = {peer.my_asn}",
        f'  router-id = "{address}"',
        "  port = -1",  # no listening socket
    ]
    lines += _gobgp_neighbor(peer.address, address, peer, password)
    if address6 is not None and peer.address6 is not None:
        lines += _gobgp_neighbor(peer.address6, address6, peer, password)
    return "\n".join(lines) + "\n"


def _gobgp_neighbor(gateway: IPAddress, source: IPAddress, peer: SpeakerPeer, password: str | None) -> list[str]:
    lines = [
        "[[neighbors]]",
        "  [neighbors.config]",
        f'    neighbor-address = "{gateway}"',
        f"    peer-as = {peer.peer_asn}",
    ]
    if password is not None:
        lines.append(f'    auth-password = "{password}"')
    lines += [
        "  [neighbors.timers.config]",
        f"    hold-time = {peer.hold_time_s}",
        f"    keepalive-interval = {peer.keepalive_time_s}",
        "    connect-retry = 1",
        "  [neighbors.transport.config]",
        f'    local-address = "{source}"',
    ]
    if peer.ebgp:
        lines += ["  [neighbors.ebgp-multihop.config]", "    enabled = true", "    multihop-ttl = 255"]
    return lines


def hosts_file(entries: Iterable[HostEntry]) -> str:
    """An /etc/hosts-style file (what the USG makes of static-host-mapping), for dnsmasq: an
    IPv6 line answers AAAA (dnsmasq(8), ``--addn-hosts``)."""
    return "".join(f"{entry.address} {entry.name}\n" for entry in entries if entry.ttl is None)


def dnsmasq_host_records(entries: Iterable[HostEntry]) -> list[str]:
    """``--host-record`` arguments for entries with their own TTL (UniFi OS records); an IPv6
    address gives an AAAA record (dnsmasq(8), ``--host-record=<name>,[IPv4],[IPv6],TTL``)."""
    return [f"--host-record={entry.name},{entry.address},{entry.ttl}" for entry in entries if entry.ttl is not None]
