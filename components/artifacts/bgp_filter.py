"""What the gateway accepts from this stack's nodes, for both gateway kinds: the prefix-list of the
BGP pools' addresses that the import route-map matches. (The export route-map denies everything:
the nodes learn nothing from the gateway. Both are named after the stack:
components/config/stack_names.py.)

Every BGP pool's addresses are its CIDR blocks (:attr:`Pool.networks`: its ranges together, a
range split into the fewest blocks, ``10.10.10.10-10.10.10.11`` is ``10.10.10.10/31``), in pool
order, each pool's blocks lowest first; each block is permitted at any length from its own down to
a host route, so MetalLB's /32 announcements and any ``aggregationLength`` the parser accepts
match (components/config/checks.py refuses one that would announce past a block). Anything else
is denied: a route to 0.0.0.0/0, to the LAN, to a layer-2 pool (those addresses are answered by
ARP on the nodes' LAN, never routed), to another stack's pool. With no BGP pool at all, the one
rule denies every IPv4 prefix.

``le`` follows the stricter of the two routing suites. EdgeOS's routing descends from Quagga,
whose prefix-list refuses a ``le`` that does not exceed the prefix length ("% Invalid prefix range
for …, make sure: len < ge-value <= le-value": Quagga/quagga@quagga-1.2.3 lib/plist.c lines
753-761, and @quagga-0.99.22 lines 735-743); the USG's template runs that command and ignores its
failure (vyos/vyatta-cfg-quagga@vyatta/VC6.3-2011.10.04/amd64:
templates/policy/prefix-list/node.tag/rule/node.def lines 30-43), so the rule would silently be
missing. FRR allows ``le`` equal to the length ("Make sure that mask length <= ge <= le":
FRRouting/frr@frr-8.4.4 lib/filter_nb.c lines 51-107, prefix_list_length_validate). So a /32
block gets no ``le`` (without ``ge`` and ``le`` a rule matches its exact length only: Quagga's
lib/plist.c lines 549-554, FRR's lines 721-724) and every shorter block gets ``le 32``
(matching lengths from its own to 32: Quagga lines 555-564, FRR lines 725-733). No ``ge``.

IPv6 follows the same rules with a prefix-list of its own (``prefix-list6`` on a USG, ``ipv6
prefix-list`` in FRR; Quagga/quagga@quagga-0.99.22 lib/plist.c lines 736-746 check an IPv6 ``le``
the same way): the pools' IPv6 blocks, a /128 without ``le``, every shorter one ``le 128``. It is
rendered only when a BGP pool holds IPv6 addresses (``Lab.bgp_v6``); it is never empty then, and
must never be: FRR's prefix-list with no entry permits every prefix (FRRouting/frr@frr-8.4.4
lib/plist.c lines 757-761).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network
from typing import Final

from components.config.model import IPFamily, IPNetwork, Lab

HOST_LENGTH: Final = 32
HOST_LENGTH6: Final = 128
SEQUENCE_STEP: Final = 10  # rules 10, 20, …: room to insert one by hand while debugging
EVERYTHING: Final = IPv4Network("0.0.0.0/0")
EVERYTHING6: Final = IPv6Network("::/0")


@dataclass(frozen=True)
class PrefixRule:
    """One prefix-list entry: ``seq`` ``action`` ``prefix`` [``le``]."""

    seq: int
    action: str  # "permit" or "deny"
    prefix: IPNetwork
    le: int | None


def accepted_prefixes(lab: Lab, family: IPFamily = IPFamily.IPV4) -> tuple[IPNetwork, ...]:
    """The BGP pools' CIDR blocks of ``family``, pool by pool in config order, each pool's lowest
    first."""
    return tuple(block for pool in lab.bgp_pools for block in pool.networks_of(family))


def prefix_rules(lab: Lab, family: IPFamily = IPFamily.IPV4) -> tuple[PrefixRule, ...]:
    """The prefix-list of what the gateway accepts in ``family`` (see the module docstring)."""
    host, everything = (HOST_LENGTH, EVERYTHING) if family is IPFamily.IPV4 else (HOST_LENGTH6, EVERYTHING6)
    blocks = accepted_prefixes(lab, family)
    if not blocks:
        return (PrefixRule(SEQUENCE_STEP, "deny", everything, host),)
    return tuple(
        PrefixRule(SEQUENCE_STEP * number, "permit", block, None if block.prefixlen == host else host)
        for number, block in enumerate(blocks, 1)
    )
