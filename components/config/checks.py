"""Checks across sections of a parsed lab: pools against nodes, the session against what
MetalLB and the gateway kind accept, services against pools and each other."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network

from .errors import Problems, key_path
from .model import GatewayKind, Lab, Pool, Protocol, SpeakerMode

# A check that needs more than the config (the renderers' output): parse_lab runs it after its
# own, so its problems are reported with the others, at once.
LabCheck = Callable[[Lab, Problems], None]


def check_lab(lab: Lab, problems: Problems) -> None:
    """Rules that span sections; the lab's parts are each valid on their own."""
    _check_pools(lab, problems)
    _check_session(lab, problems)
    _check_services(lab, problems)


def _check_pools(lab: Lab, problems: Problems) -> None:
    pools = lab.metallb.pools
    subnet = lab.node_subnet
    ranges = [(i, j, r) for i, pool in enumerate(pools) for j, r in enumerate(pool.ranges)]
    for (i, j, a), (k, _, b) in itertools.combinations(ranges, 2):
        if a.overlaps(b):
            where = "within the same pool" if i == k else f"with pool '{pools[k].name}' ({b.text})"
            problems.error(
                key_path("metallb", "pools", i, "addresses", j),
                f"{a.text} overlaps {where}" + ("" if i != k else f" ({b.text})") + "; pools must not share addresses",
            )
    reserved: list[tuple[IPv4Address, str]] = [(n.address, f"node {n.name}'s address") for n in lab.nodes] + [
        (lab.gateway.peer_address, "the gateway's peerAddress")
    ]
    if lab.gateway.router_id != lab.gateway.peer_address:
        reserved.append((lab.gateway.router_id, "the gateway's routerId"))
    for i, pool in enumerate(pools):
        for j, address_range in enumerate(pool.ranges):
            range_key = key_path("metallb", "pools", i, "addresses", j)
            for address, what in reserved:
                if address in address_range:
                    problems.error(range_key, f"{address_range.text} contains {address}, {what}")
            if pool.protocol is Protocol.LAYER2:
                if not address_range.within(subnet):
                    problems.error(
                        range_key,
                        f"layer2 pool range {address_range.text} must lie inside the nodes' subnet "
                        f"{subnet} (layer2 answers ARP on the nodes' LAN)",
                    )
                for edge, what in ((subnet.network_address, "network"), (subnet.broadcast_address, "broadcast")):
                    if edge in address_range and subnet.prefixlen < 31:
                        problems.error(
                            range_key, f"{address_range.text} contains {edge}, the {what} address of {subnet}"
                        )
            elif address_range.touches(subnet):
                problems.error(
                    range_key,
                    f"bgp pool range {address_range.text} must lie outside the nodes' subnet {subnet} "
                    "(routes to it point at the nodes; use a layer2 pool for addresses on their LAN)",
                )
        if pool.aggregation_length is not None:
            _check_aggregation(pool, key_path("metallb", "pools", i, "aggregationLength"), problems)
        if pool.local_pref is not None and lab.ebgp:
            problems.error(
                key_path("metallb", "pools", i, "localPref"),
                f"localPref is only sent to iBGP peers, but metallb.asn {lab.metallb.asn} and "
                f"gateway.asn {lab.gateway.asn} differ (eBGP)",
            )


def _check_aggregation(pool: Pool, key: str, problems: Problems) -> None:
    """``aggregationLength`` N: what MetalLB takes, and what the gateway then accepts.

    For a service address a, MetalLB announces the /N that holds a (metallb/metallb@v0.12.1 and
    @v0.15.3: speaker/bgp_controller.go, SetBalancer, lines 245-251 and 336-342:
    ``lbIP.Mask(net.CIDRMask(AggregationLength, 32))``). It refuses an N shorter than the widest
    CIDR block of one of the pool's addresses entries, a range split into blocks by ParseCIDR
    (v0.12.1: internal/config/config.go lines 541-557, parseBGPAdvertisements, with lowestMask at
    657 and ParseCIDR at 604-639; v0.15.3: lines 873-890, validateBGPAdvPerPool, lowestMask at
    1019, ParseCIDR at 966-1001). That still lets a narrower block of the same range announce a /N
    reaching past the pool: for 10.10.10.10-10.10.10.250 (blocks /31 … /26) it accepts /26 and
    announces 10.10.10.0/26 for 10.10.10.10. The gateway accepts from the nodes only prefixes
    inside the pool's own blocks (components/artifacts/bgp_filter.py), so it would drop that
    route: N must be at least the prefix length of every block of the pool (:attr:`Pool.networks`,
    its ranges together), and then each /N lies inside its address's block."""
    length = pool.aggregation_length
    assert length is not None
    refused_by_metallb = False
    for address_range in pool.ranges:
        widest = min(block.prefixlen for block in address_range.blocks)
        if length < widest:
            refused_by_metallb = True
            problems.error(
                key,
                f"/{length} is shorter than the /{widest} block of "
                f"{address_range.text}; MetalLB requires at least /{widest} for this pool",
            )
    too_narrow = [block for block in pool.networks if block.prefixlen > length]
    if not refused_by_metallb and too_narrow:
        block, address = too_narrow[0], too_narrow[0].network_address
        problems.error(
            key,
            f"/{length} would have MetalLB announce {IPv4Network((address, length), strict=False)} for "
            f"{address}, reaching past the pool's addresses (its block there is {block}); the gateway "
            "accepts from the nodes only prefixes inside a BGP pool, so it would drop that route. Use "
            f"aggregationLength {max(b.prefixlen for b in too_narrow)} or more, or pool addresses in whole "
            f"/{length} blocks",
        )


def _check_session(lab: Lab, problems: Problems) -> None:
    bgp, metallb, gateway = lab.bgp, lab.metallb, lab.gateway
    for index, node in enumerate(lab.nodes):
        if node.address == gateway.peer_address:
            problems.error(key_path("nodes", index, "address"), f"{node.address} is also gateway.peerAddress")
    if lab.has_bgp_pools and not lab.peering_nodes:
        problems.error(
            key_path("bgp", "nodeSelectors"), "selects no configured node: nothing would peer with the gateway"
        )
    if bgp.hold_time_s is not None:
        hold_key = key_path("bgp", "holdTime")
        if 0 < bgp.hold_time_s < 3:
            problems.error(hold_key, f"{bgp.hold_time_s}s: MetalLB accepts 0 (no keepalives) or at least 3s")
        elif gateway.kind is GatewayKind.USG and (0 < bgp.hold_time_s < 4 or bgp.hold_time_s > 65535):
            problems.error(hold_key, f"{bgp.hold_time_s}s: a USG accepts a hold time of 0 or 4-65535 seconds")
        elif bgp.hold_time_s > 65535:
            problems.error(hold_key, f"{bgp.hold_time_s}s: BGP hold time is at most 65535 seconds")
    if bgp.keepalive_time_s is not None:
        keep_key = key_path("bgp", "keepaliveTime")
        if bgp.hold_time_s is None:
            problems.error(keep_key, "needs bgp.holdTime too, so that both sides use the same timers")
        elif bgp.keepalive_time_s > bgp.hold_time_s:
            problems.error(
                keep_key, f"{bgp.keepalive_time_s}s is longer than holdTime ({bgp.hold_time_s}s); MetalLB refuses that"
            )
    native = metallb.mode is SpeakerMode.NATIVE
    if bgp.ebgp_multihop and native:
        problems.error(
            key_path("bgp", "ebgpMultiHop"),
            "is an FRR-mode feature (native MetalLB always allows multihop); set metallb.mode to frr"
            + (" or frr-k8s" if metallb.version.supports_frr_k8s else ""),
        )
    if bgp.keepalive_time_s is not None and native:
        problems.error(
            key_path("bgp", "keepaliveTime"),
            "native MetalLB refuses keepalive-time (FRR modes only); remove it (keepalives follow hold time / 3) "
            "or set metallb.mode to frr" + (" or frr-k8s" if metallb.version.supports_frr_k8s else ""),
        )
    if bgp.ebgp_multihop and not lab.ebgp:
        problems.error(
            key_path("bgp", "ebgpMultiHop"),
            f"only applies to eBGP, but metallb.asn and gateway.asn are both {metallb.asn} (iBGP); MetalLB refuses it",
        )
    if bgp.bfd is not None and native:
        problems.error(key_path("bgp", "bfd"), "BFD needs MetalLB's FRR mode; set metallb.mode to frr or frr-k8s")
    if bgp.bfd is not None and gateway.kind is GatewayKind.USG:
        problems.error(key_path("bgp", "bfd"), "a USG has no BFD for BGP; unifi-os gateways only")


def _check_services(lab: Lab, problems: Problems) -> None:
    pools = {p.name: p for p in lab.metallb.pools}
    domain = lab.gateway.dns_domain
    names: dict[str, str] = {}
    k8s_names: dict[tuple[str, str], str] = {}
    addresses: dict[IPv4Address, list[int]] = {}
    service_names: set[str] = set()
    for index, service in enumerate(lab.services):
        key = key_path("services", index)
        if service.name in service_names:
            problems.error(f"{key}.name", f"duplicate service name '{service.name}'")
        service_names.add(service.name)
        k8s = (service.namespace, service.service_name)
        if k8s in k8s_names:
            problems.error(
                f"{key}.serviceName",
                f"Service {service.namespace}/{service.service_name} is already configured by {k8s_names[k8s]}",
            )
        k8s_names.setdefault(k8s, key)
        for name_key, host in [(f"{key}.name", service.hostname(domain)), (f"{key}.name", service.name)] + [
            (f"{key}.aliases[{i}]", alias) for i, alias in enumerate(service.aliases)
        ]:
            if host in names and names[host] != f"{key}.name":
                problems.error(name_key, f"host name '{host}' is already used by {names[host]}")
            elif host in names and name_key != f"{key}.name":
                problems.error(name_key, f"host name '{host}' is already this service's name")
            names.setdefault(host, name_key)
        if len(service.hostname(domain)) > 253:
            problems.error(f"{key}.name", f"host name {service.hostname(domain)} is longer than 253 characters")
        chosen = None
        if service.pool is not None:
            chosen = pools.get(service.pool)
            if chosen is None:
                problems.error(
                    f"{key}.pool",
                    f"no pool named '{service.pool}'; pools: {', '.join(sorted(pools))}",
                )
        if service.address is not None:
            candidates = [chosen] if chosen else list(pools.values())
            if (service.pool is None or chosen is not None) and not any(service.address in p for p in candidates if p):
                where = f"pool '{chosen.name}'" if chosen else "every pool"
                problems.error(f"{key}.address", f"{service.address} is outside {where}")
            holding = [p for p in candidates if p and service.address in p]
            if any(p.avoid_buggy_ips for p in holding) and service.address.packed[-1] in (0, 255):
                problems.error(
                    f"{key}.address",
                    f"{service.address} ends in .{service.address.packed[-1]}, which its pool avoids "
                    "(avoidBuggyIPs: true); MetalLB would not assign it",
                )
            addresses.setdefault(service.address, []).append(index)
        elif chosen is None and service.pool is None and not any(p.auto_assign for p in pools.values()):
            problems.error(
                f"{key}.address",
                "no pool assigns addresses automatically (autoAssign: false everywhere); "
                "pin an address or choose a pool",
            )
    for address, users in addresses.items():
        if len(users) < 2:
            continue
        keys = {lab.services[i].shared_ip_key for i in users}
        if None in keys or len(keys) > 1:
            for i in users[1:]:
                problems.error(
                    key_path("services", i, "address"),
                    f"{address} is also pinned by {key_path('services', users[0])}; to share one address, "
                    "give every such service the same sharedIP key",
                )
            continue
        seen: dict[tuple[int, str], int] = {}
        for i in users:
            for port in lab.services[i].ports:
                other = seen.setdefault((port.port, port.protocol), i)
                if other != i:
                    problems.error(
                        key_path("services", i, "ports"),
                        f"shares {address} with {key_path('services', other)} but both use {port.port}/{port.protocol}",
                    )
