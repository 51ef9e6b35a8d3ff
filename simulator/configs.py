"""Daemon configs from the translated model: pure text, so they can be tested without root."""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network

from .model import HostEntry, RouterBgp, SpeakerPeer

FRR_HEADER = "frr defaults traditional"


def usg_router_bgpd_conf(bgp: RouterBgp) -> str:
    """FRR standing in for the USG's Quagga-derived routing stack: its neighbours, the
    route-maps they import and export through, and the prefix-lists those match."""
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
    lines += [
        # The USG installs one best path per prefix (it is reported to reject maximum-paths).
        "  maximum-paths 1",
        "  maximum-paths ibgp 1",
        " exit-address-family",
        "exit",
    ]
    lines += _policy_lines(bgp)
    return "\n".join([*lines, ""])


def _policy_lines(bgp: RouterBgp) -> list[str]:
    lines = []
    for prefix_list in bgp.prefix_lists:
        lines.append("!")
        for rule in prefix_list.rules:
            line = f"ip prefix-list {prefix_list.name} seq {rule.number} {rule.action.value} {rule.prefix}"
            line += "".join(f" {key} {value}" for key, value in (("ge", rule.ge), ("le", rule.le)) if value is not None)
            lines.append(line)
    for route_map in bgp.route_maps:
        for map_rule in route_map.rules:
            lines += ["!", f"route-map {route_map.name} {map_rule.action.value} {map_rule.number}"]
            if map_rule.match_prefix_list is not None:
                lines.append(f" match ip address prefix-list {map_rule.match_prefix_list}")
            lines.append("exit")
    return lines


def speaker_zebra_conf() -> str:
    # The gateway is reached through the node's default route; FRR ignores that route for
    # next-hop tracking unless told, and would never open the session.
    return f"{FRR_HEADER}\nip nht resolve-via-default\n"


def router_zebra_conf() -> str:
    return f"{FRR_HEADER}\n"


def frr_speaker_bgpd_conf(
    node: str,
    address: IPv4Address,
    peer: SpeakerPeer,
    password: str | None,
    announced: Iterable[IPv4Address],
    rogue: Iterable[IPv4Network] = (),
) -> str:
    """A node's speaker, behaving like MetalLB's: one session to the gateway, each service
    address announced as a /32 with the node as next hop; a rogue one announces ``rogue`` too."""
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
        f" neighbor {gateway} remote-as {peer.peer_asn}",
        f" neighbor {gateway} timers {peer.keepalive_time_s} {peer.hold_time_s}",
        # MetalLB's speaker redials within seconds; FRR's default is two minutes.
        f" neighbor {gateway} timers connect 1",
        f" neighbor {gateway} update-source {address}",
    ]
    if password is not None:
        lines.append(f" neighbor {gateway} password {password}")
    if peer.ebgp and peer.ebgp_multihop:
        lines.append(f" neighbor {gateway} ebgp-multihop 255")
    elif peer.ebgp:
        # The gateway is one hop away but not on the node's subnet; MetalLB's native speaker
        # does not check that, FRR does.
        lines.append(f" neighbor {gateway} disable-connected-check")
    lines += [" !", " address-family ipv4 unicast"]
    lines += [f"  network {service}/32" for service in announced]
    lines += [f"  network {prefix}" for prefix in rogue]
    lines += [" exit-address-family", "exit", ""]
    return "\n".join(lines)


def gobgp_speaker_conf(address: IPv4Address, peer: SpeakerPeer, password: str | None) -> str:
    """gobgpd, TOML: it dials out and never listens, like MetalLB's native speaker. Routes are
    added through its API once it runs (the config file cannot hold them)."""
    lines = [
        "[global.config]",
        f"  as = {peer.my_asn}",
        f'  router-id = "{address}"',
        "  port = -1",  # no listening socket
        "[[neighbors]]",
        "  [neighbors.config]",
        f'    neighbor-address = "{peer.address}"',
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
        f'    local-address = "{address}"',
    ]
    if peer.ebgp:
        lines += ["  [neighbors.ebgp-multihop.config]", "    enabled = true", "    multihop-ttl = 255"]
    return "\n".join(lines) + "\n"


def hosts_file(entries: Iterable[HostEntry]) -> str:
    """An /etc/hosts-style file (what the USG makes of static-host-mapping), for dnsmasq."""
    return "".join(f"{entry.address} {entry.name}\n" for entry in entries if entry.ttl is None)


def dnsmasq_host_records(entries: Iterable[HostEntry]) -> list[str]:
    """``--host-record`` arguments for entries with their own TTL (UniFi OS records)."""
    return [f"--host-record={entry.name},{entry.address},{entry.ttl}" for entry in entries if entry.ttl is not None]
