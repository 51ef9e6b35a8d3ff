"""Checks across sections of a parsed lab: pools against nodes, the session against what
MetalLB and the gateway kind accept, services against pools and each other."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from ipaddress import IPv4Address, ip_network

from .errors import Problems, key_path
from .model import (
    AddressRange,
    GatewayKind,
    IPAddress,
    IPFamily,
    IPFamilyPolicy,
    Lab,
    Pool,
    Protocol,
    SpeakerMode,
)
from .versions import MetalLBVersion

# A check that needs more than the config (the renderers' output): parse_lab runs it after its
# own, so its problems are reported with the others, at once.
LabCheck = Callable[[Lab, Problems], None]


def check_lab(lab: Lab, problems: Problems) -> None:
    """Rules that span sections; the lab's parts are each valid on their own."""
    _check_pools(lab, problems)
    _check_ipv6_bgp(lab, problems)
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
    reserved: list[tuple[IPAddress, str]] = [(n.address, f"node {n.name}'s address") for n in lab.nodes]
    reserved.append((lab.gateway.peer_address, "the gateway's peerAddress"))
    reserved += [(n.address6, f"node {n.name}'s address6") for n in lab.nodes if n.address6 is not None]
    if lab.gateway.peer_address6 is not None:
        reserved.append((lab.gateway.peer_address6, "the gateway's peerAddress6"))
    if lab.gateway.router_id != lab.gateway.peer_address:
        reserved.append((lab.gateway.router_id, "the gateway's routerId"))
    for i, pool in enumerate(pools):
        for j, address_range in enumerate(pool.ranges):
            range_key = key_path("metallb", "pools", i, "addresses", j)
            for address, what in reserved:
                if address in address_range:
                    problems.error(range_key, f"{address_range.text} contains {address}, {what}")
            if address_range.family is IPFamily.IPV6:
                _check_ipv6_range(lab, pool, address_range, range_key, problems)
            elif pool.protocol is Protocol.LAYER2:
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
        for family, length, name in (
            (IPFamily.IPV4, pool.aggregation_length, "aggregationLength"),
            (IPFamily.IPV6, pool.aggregation_length_v6, "aggregationLengthV6"),
        ):
            if length is not None:
                _check_aggregation(pool, family, length, key_path("metallb", "pools", i, name), problems)
        for j, community in enumerate(pool.communities):
            if community in pool.communities[:j]:
                # MetalLB refuses the whole config over it (metallb/metallb@v0.12.1:internal/config/
                # config.go:692-701; v0.15.3:internal/config/config.go:760-763).
                problems.error(
                    key_path("metallb", "pools", i, "communities", j),
                    f"{community} is listed twice; MetalLB refuses a duplicate community",
                )
        if pool.local_pref is not None and lab.ebgp:
            problems.error(
                key_path("metallb", "pools", i, "localPref"),
                f"localPref is only sent to iBGP peers, but metallb.asn {lab.metallb.asn} and "
                f"gateway.asn {lab.gateway.asn} differ (eBGP)",
            )


def _check_ipv6_range(lab: Lab, pool: Pool, address_range: AddressRange, key: str, problems: Problems) -> None:
    """An IPv6 entry against the nodes' IPv6 network, as an IPv4 one against nodeSubnet."""
    subnet = lab.node_subnet6
    if subnet is None:
        return  # no node has an IPv6 address: nothing to hold the entry against
    text = address_range.text
    if pool.protocol is Protocol.LAYER2 and not address_range.within(subnet):
        problems.error(
            key,
            f"layer2 pool range {text} must lie inside the nodes' IPv6 network {subnet} "
            "(layer2 answers neighbour solicitations on the nodes' LAN)",
        )
    elif pool.protocol is Protocol.BGP and address_range.touches(subnet):
        problems.error(
            key,
            f"bgp pool range {text} must lie outside the nodes' IPv6 network {subnet} "
            "(routes to it point at the nodes; use a layer2 pool for addresses on their LAN)",
        )


def _native_refuses_ipv6(version: MetalLBVersion, pool: Pool, lab: Lab) -> str | None:
    """Why native MetalLB refuses this pool's IPv6 addresses, or None.

    Native BGP never announces IPv6 in any release we support: v0.12.1's speaker drops FRR-only
    settings, an IPv6 CIDR in a bgp pool among them (metallb/metallb@v0.12.1:internal/config/
    validate.go:36 DiscardFRROnly), and later releases refuse an IPv6 pool a BGPAdvertisement
    selects (v0.15.3:internal/config/validation.go:76-101). From v0.13.2 to v0.14.8 that check
    looked at every pool once any BGPAdvertisement existed, a layer2 one too
    (v0.13.12:internal/config/validation.go findIPv6BGPAdvertisement; narrowed in 0.14.9, #2593)."""
    if IPFamily.IPV6 not in pool.families:
        return None
    if pool.protocol is Protocol.BGP:
        return "native MetalLB never announces IPv6 over BGP (its docs: IPv6 BGP only in the FRR modes)"
    if not version.uses_configmap and version < MetalLBVersion(0, 14, 9) and lab.has_bgp_pools:
        return (
            f"MetalLB {version} in native mode refuses any IPv6 pool once a BGP advertisement exists "
            "(this stack has bgp pools); use v0.14.9 or later"
        )
    return None


def _check_ipv6_bgp(lab: Lab, problems: Problems) -> None:
    """What IPv6 over BGP needs: a speaker that announces it, the gateway's and every peering
    node's IPv6 address on the nodes' network."""
    metallb, gateway = lab.metallb, lab.gateway
    native = metallb.mode is SpeakerMode.NATIVE
    modes = "frr" + (" or frr-k8s" if metallb.version.supports_frr_k8s else "")
    for i, pool in enumerate(metallb.pools):
        why = _native_refuses_ipv6(metallb.version, pool, lab) if native else None
        if why is not None:
            first_v6 = next(j for j, r in enumerate(pool.ranges) if r.family is IPFamily.IPV6)
            problems.error(
                key_path("metallb", "pools", i, "addresses", first_v6),
                f"{pool.ranges[first_v6].text}: {why}; set metallb.mode to {modes}",
            )
    if not lab.bgp_v6:
        return
    announcing = ", ".join(p.name for p in lab.bgp_pools if IPFamily.IPV6 in p.families)
    if gateway.peer_address6 is None:
        problems.error(
            key_path("gateway", "peerAddress6"),
            f"is required: bgp pool(s) {announcing} hold IPv6 addresses, which the nodes announce over "
            "IPv6 sessions to the gateway's IPv6 address on their network",
        )
    for index, node in enumerate(lab.nodes):
        if node in lab.peering_nodes and node.address6 is None:
            problems.error(
                key_path("nodes", index, "address6"),
                f"is required: node {node.name} peers with the gateway and bgp pool(s) {announcing} hold "
                "IPv6 addresses, announced over an IPv6 session from this address",
            )
        if node.address6 is not None and node.address6 == gateway.peer_address6:
            problems.error(key_path("nodes", index, "address6"), f"{node.address6} is also gateway.peerAddress6")
    subnet6 = lab.node_subnet6
    multihop = lab.bgp.ebgp_multihop and lab.ebgp
    outside = gateway.peer_address6 is not None and subnet6 is not None and gateway.peer_address6 not in subnet6
    if outside and not multihop:
        problems.error(
            key_path("gateway", "peerAddress6"),
            f"{gateway.peer_address6} is outside the nodes' IPv6 network {subnet6}; the sessions are "
            "single-hop (set bgp.ebgpMultiHop for eBGP across routers)",
        )


def _check_aggregation(pool: Pool, family: IPFamily, length: int, key: str, problems: Problems) -> None:
    """``aggregationLength`` (``aggregationLengthV6`` for ``family`` IPv6) N: what MetalLB takes, and
    what the gateway then accepts.

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
    its ranges together), and then each /N lies inside its address's block. The same holds for
    IPv6 with ``aggregationLengthV6`` (v0.15.3: lines 873-890 check both families; v0.12.1:
    ``aggregation-length-v6``, lines 534-557)."""
    refused_by_metallb = False
    for address_range in pool.ranges:
        if address_range.family is not family:
            continue
        widest = min(block.prefixlen for block in address_range.blocks)
        if length < widest:
            refused_by_metallb = True
            problems.error(
                key,
                f"/{length} is shorter than the /{widest} block of "
                f"{address_range.text}; MetalLB requires at least /{widest} for this pool",
            )
    too_narrow = [block for block in pool.networks_of(family) if block.prefixlen > length]
    if not refused_by_metallb and too_narrow:
        block, address = too_narrow[0], too_narrow[0].network_address
        setting = "aggregationLength" if family is IPFamily.IPV4 else "aggregationLengthV6"
        problems.error(
            key,
            f"/{length} would have MetalLB announce {ip_network((address, length), strict=False)} for "
            f"{address}, reaching past the pool's addresses (its block there is {block}); the gateway "
            "accepts from the nodes only prefixes inside a BGP pool, so it would drop that route. Use "
            f"{setting} {max(b.prefixlen for b in too_narrow)} or more, or pool addresses in whole "
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
    addresses: dict[IPAddress, list[int]] = {}
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
        pin_key = f"{key}.addresses" if len(service.addresses) > 1 else f"{key}.address"
        if service.addresses:
            _check_pins(service.addresses, chosen, service.pool, list(pools.values()), pin_key, problems)
            for address in service.addresses:
                addresses.setdefault(address, []).append(index)
        elif chosen is None and service.pool is None and not any(p.auto_assign for p in pools.values()):
            problems.error(
                f"{key}.address",
                "no pool assigns addresses automatically (autoAssign: false everywhere); "
                "pin an address or choose a pool",
            )
        single_stack = service.ip_family_policy in (None, IPFamilyPolicy.SINGLE_STACK)
        if (
            single_stack
            and chosen is not None
            and not service.addresses
            and not {*service.expected_families} & {*chosen.families}
        ):
            # MetalLB allocates the Service's one family from the pool: none there, no address. (A
            # dual-stack policy may get the pool's family on a dual-stack cluster.)
            wanted = " and ".join(f.value for f in service.expected_families)
            held = " and ".join(f.value for f in chosen.families)
            problems.error(
                f"{key}.pool",
                f"pool '{chosen.name}' holds only {held} addresses, but the Service gets {wanted} ones"
                + ("" if service.ip_families else " (the default); set ipFamilies to the pool's family"),
            )
        if service.ip_family_policy is IPFamilyPolicy.REQUIRE_DUAL_STACK and not service.addresses:
            # MetalLB allocates both addresses from one pool (metallb/metallb@v0.15.3:
            # internal/allocator/allocator.go:663-680 poolFor; usage docs: dual-stack needs a pool
            # holding both families).
            candidates = [chosen] if chosen else [p for p in pools.values() if p.auto_assign]
            if (service.pool is None or chosen is not None) and not any(len(p.families) == 2 for p in candidates):
                where = f"pool '{chosen.name}'" if chosen else "no pool that assigns automatically"
                problems.error(
                    f"{key}.ipFamilyPolicy",
                    f"RequireDualStack needs a pool holding IPv4 and IPv6 addresses; {where} holds both",
                )
    for address, users in addresses.items():
        if len(users) < 2:
            continue
        keys = {lab.services[i].shared_ip_key for i in users}
        if None in keys or len(keys) > 1:
            for i in users[1:]:
                problems.error(
                    key_path("services", i, "addresses" if len(lab.services[i].addresses) > 1 else "address"),
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


def _check_pins(
    pins: tuple[IPAddress, ...],
    chosen: Pool | None,
    pool_name: str | None,
    pools: list[Pool],
    key: str,
    problems: Problems,
) -> None:
    """Pinned addresses: each inside a pool of its family (the chosen one if any), two of them in
    one pool, since MetalLB assigns a Service's addresses from a single pool
    (metallb/metallb@v0.15.3:internal/allocator/allocator.go:663-680 poolFor, Assign :171-191)."""
    if pool_name is not None and chosen is None:
        return  # the unknown pool is reported already
    candidates = [chosen] if chosen else pools
    for address in pins:
        family = IPFamily.of(address)
        if not any(address in p for p in candidates):
            if chosen:
                where = f"pool '{chosen.name}'"
            elif all(p.families == (family,) for p in pools):
                where = "every pool"
            elif any(family in p.families for p in pools):
                where = f"every pool holding {family.value} addresses"
            else:
                where = f"every pool (none holds {family.value} addresses)"
            problems.error(key, f"{address} is outside {where}")
            continue
        holding = [p for p in candidates if address in p]
        if (
            isinstance(address, IPv4Address)
            and any(p.avoid_buggy_ips for p in holding)
            and address.packed[-1] in (0, 255)
        ):
            problems.error(
                key,
                f"{address} ends in .{address.packed[-1]}, which its pool avoids "
                "(avoidBuggyIPs: true); MetalLB would not assign it",
            )
    placed = all(any(a in p for p in candidates) for a in pins)
    if len(pins) == 2 and placed and not any(all(a in p for a in pins) for p in candidates):
        homes = [next(p.name for p in candidates if a in p) for a in pins]
        problems.error(
            key,
            f"{pins[0]} (pool '{homes[0]}') and {pins[1]} (pool '{homes[1]}') must be in one pool: "
            "MetalLB gives a Service its addresses from a single pool",
        )
