"""The names a stack gives its BGP filter on the gateway, derived from the Pulumi stack's name.

Two stacks may share one gateway (a lab and a test lab), so every name carries the stack: its
*id* is the stack name when that is made only of ASCII letters, digits and ``-`` and starts with
a letter or digit; otherwise the stack name with every other character replaced by ``-``, then
``-`` and the first 8 hex digits of the sha256 of the stack name (UTF-8), so ``dev_1`` and
``dev.1`` get different ids. From the id:

* the prefix-list ``metallb-<id>-pools`` (the IPv4 addresses of the stack's BGP pools) and, when
  they hold IPv6 addresses, the IPv6 prefix-list ``metallb-<id>-pools6``,
* the route-maps ``metallb-<id>-in`` (what the gateway accepts from the nodes), ``metallb-<id>-in6``
  (the same for IPv6) and ``metallb-<id>-out`` (what it sends them: nothing, in either family),
* on UniFi OS, the FRR peer-groups ``metallb-<id>`` holding the nodes' IPv4 addresses and
  ``metallb-<id>-v6`` holding their IPv6 addresses.

The simulator (``simulator/``) reads the rendered files; it follows the same scheme.

What the gateways accept as names:

* EdgeOS (USG): prefix-list and route-map names match ``^[-a-zA-Z0-9.]+$``
  (vyos/vyatta-cfg-quagga@vyatta/VC6.3-2011.10.04/amd64: templates/policy/prefix-list/node.def
  and templates/policy/route-map/node.def, line 6); no length limit there, nor in Quagga
  (Quagga/quagga@quagga-1.2.3: lib/plist.c, prefix_list_insert, copies the name as it is). An id
  only ever holds ``[A-Za-z0-9-]``, so every name matches.
* FRR (UniFi OS): a prefix-list name is 1-128 characters (FRRouting/frr@frr-8.4.4:
  yang/frr-filter.yang lines 52-57, ``access-list-name``, the type of a prefix-list's ``name``
  at lines 266-268); route-map and peer-group names are plain strings without a limit
  (yang/frr-route-map.yang lines 182-186, yang/frr-bgp-peer-group.yang lines 62-66). The
  IPv6 prefix-list's is the longest name, so :func:`check_stack_name` limits it to 128 (whether the
  stack announces IPv6 or not: a stack gaining an IPv6 pool later must not need a new name). Pulumi
  keeps stack names to 100 characters, which gives at most 124; a longer name can only come from a
  stack file ``render`` is given.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from .errors import Problems

_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
_NOT_PLAIN = re.compile(r"[^A-Za-z0-9-]")

FRR_PREFIX_LIST_NAME_MAX = 128  # FRRouting/frr@frr-8.4.4: yang/frr-filter.yang lines 52-57

STACK_KEY = "stack"  # where a problem with the stack's name is reported


def stack_id(stack: str) -> str:
    """The stack's part of every name (see the module docstring)."""
    if _PLAIN.fullmatch(stack):
        return stack
    digest = hashlib.sha256(stack.encode("utf-8")).hexdigest()[:8]
    return f"{_NOT_PLAIN.sub('-', stack)}-{digest}"


@dataclass(frozen=True)
class FilterNames:
    """The names of one stack's BGP filter on the gateway."""

    id: str

    @property
    def prefix_list(self) -> str:
        return f"metallb-{self.id}-pools"

    @property
    def prefix_list6(self) -> str:
        return f"metallb-{self.id}-pools6"

    @property
    def route_map_in(self) -> str:
        return f"metallb-{self.id}-in"

    @property
    def route_map_in6(self) -> str:
        return f"metallb-{self.id}-in6"

    @property
    def route_map_out(self) -> str:
        return f"metallb-{self.id}-out"

    @property
    def peer_group(self) -> str:
        return f"metallb-{self.id}"

    @property
    def peer_group6(self) -> str:
        return f"metallb-{self.id}-v6"


def filter_names(stack: str) -> FilterNames:
    return FilterNames(stack_id(stack))


def check_stack_name(stack: str, problems: Problems) -> None:
    """Refuse a stack name no gateway could take the filter's names for."""
    if not stack:
        problems.error(STACK_KEY, "the stack has no name; run it as a Pulumi stack or render a Pulumi.<stack>.yaml")
        return
    name = filter_names(stack).prefix_list6  # the longest name
    if len(name) > FRR_PREFIX_LIST_NAME_MAX:
        longest = FRR_PREFIX_LIST_NAME_MAX - len(FilterNames("").prefix_list6)
        problems.error(
            STACK_KEY,
            f"{stack!r} makes the gateway's prefix-list name {len(name)} characters long "
            f"({name[:40]}…), but FRR takes at most {FRR_PREFIX_LIST_NAME_MAX}; use a stack name of at most "
            f"{longest} letters, digits and '-' (Pulumi itself allows 100)",
        )
