"""The release before the gateway's BGP filter (main at e94f921), for the tests of upgrading a
deployed stack: :func:`as_previous_release` makes the program render and own what that release
did, so a test deploys it, lifts the patch and runs the next ``pulumi up`` as today's program.

* config.gateway.json: today's document without the filter (``policy`` and each neighbour's
  ``route-map``), which is exactly what that release rendered (the lifecycle test checks it
  against the post's file).
* the owned paths: its BGP instance and host names, without the policy paths.
* bgpd.conf: that release's renderer, as it was (one neighbour block per node, no filter, and
  ``no bgp ebgp-requires-policy``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import pytest

from components.artifacts import gateway, usg_gateway
from components.artifacts.frr import HEADER, maximum_paths, session_timers
from components.config.model import Lab
from components.config.secrets import secret_text
from components.config.stack_names import FilterNames
from components.unifi import kept_settings


def without_filter(document: dict[str, Any]) -> dict[str, Any]:
    bare = copy.deepcopy(document)
    bare.pop("policy", None)
    for instance in bare.get("protocols", {}).get("bgp", {}).values():
        for neighbor in instance.get("neighbor", {}).values():
            neighbor.pop("route-map", None)
    return bare


def bgpd_conf_before_the_filter(lab: Lab) -> str:
    """components/artifacts/frr.py render_bgpd_conf at e94f921: its code, without its comments."""
    gateway_, bgp = lab.gateway, lab.bgp
    peers = [str(node.address) for node in lab.peering_nodes]
    timers = session_timers(bgp)
    lines = [
        HEADER,
        "!",
        f"router bgp {gateway_.asn}",
        f" bgp router-id {gateway_.router_id}",
        " no bgp ebgp-requires-policy",
        " no bgp default ipv4-unicast",
    ]
    for peer in peers:
        lines.append(f" neighbor {peer} remote-as {lab.metallb.asn}")
        if bgp.password is not None:
            lines.append(f" neighbor {peer} password {secret_text(bgp.password)}")
        if timers is not None:
            lines.append(f" neighbor {peer} timers {timers[0]} {timers[1]}")
        if bgp.ebgp_multihop and lab.ebgp:
            lines.append(f" neighbor {peer} ebgp-multihop")
        if bgp.bfd is not None:
            lines.append(f" neighbor {peer} bfd")
    lines += [" !", " address-family ipv4 unicast"]
    lines += [f"  neighbor {peer} activate" for peer in peers]
    lines.append(f"  maximum-paths {'' if lab.ebgp else 'ibgp '}{maximum_paths(lab)}")
    lines += [" exit-address-family", "exit", ""]
    return "\n".join(lines)


def as_previous_release(monkeypatch: pytest.MonkeyPatch) -> None:
    render = usg_gateway.render_config_gateway
    owned = kept_settings.owned_paths

    def owned_before(
        asn: int, host_names: Iterable[str], names: FilterNames, *, ipv6: bool = False
    ) -> list[tuple[str, ...]]:
        # The release before the filter had no IPv6 either: ``ipv6`` is what this one passes.
        return [path for path in owned(asn, host_names, names, ipv6=ipv6) if path[0] != "policy"]

    monkeypatch.setattr(usg_gateway, "render_config_gateway", lambda *a, **k: without_filter(render(*a, **k)))
    monkeypatch.setattr(kept_settings, "owned_paths", owned_before)
    monkeypatch.setattr(gateway, "render_bgpd_conf", bgpd_conf_before_the_filter)
