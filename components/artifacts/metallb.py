"""MetalLB's configuration for a lab: the legacy ``config`` ConfigMap (≤ v0.12) or the CRs.

Only options the user set are written: MetalLB applies its own defaults, and an object that
says no more than needed is easier to compare with MetalLB's documentation. Objects are
returned in a fixed order so that rendered files and Pulumi previews are stable:

- ConfigMap era: the one ``metallb-system/config`` ConfigMap.
- CRD era: the password Secret, the BFDProfile, the IPAddressPools (config order), the
  BGPPeers (``gateway``, then ``gateway-v6`` when a BGP pool holds IPv6 addresses), then the
  advertisements (config order of their pools). Referenced objects come before the objects
  that reference them.

IPv6 (issue 19): one BGP session per family, as MetalLB's own dual-stack sample declares it
(metallb/metallb@v0.15.3:configsamples/deployment_bgp.yaml, peers ``peer`` and ``peerv6``). The
IPv6 peer says everything the IPv4 one says but its address, so both sessions behave alike. An
IPv4-only lab renders exactly as before the IPv6 work.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from components.config.model import BfdProfile, IPAddress, IPFamily, Lab, LabelSelector, Pool, Protocol
from components.config.secrets import secret_text

NAMESPACE = "metallb-system"
CONFIGMAP_NAME = "config"
PEER_NAME = "gateway"  # the BGPPeer; BGPAdvertisements name it in ``peers``
PEER_NAME6 = "gateway-v6"  # the IPv6 BGPPeer, when a BGP pool holds IPv6 addresses
PASSWORD_SECRET_NAME = "gateway-bgp-password"
MANAGED_BY = {"app.kubernetes.io/managed-by": "metallb-unifi"}

_GROUP = "metallb.io"


def render_metallb(lab: Lab) -> list[dict[str, Any]]:
    """The objects that configure MetalLB for ``lab``, in apply order."""
    if lab.metallb.version.uses_configmap:
        return [_configmap(lab)]
    return _custom_resources(lab)


def render_metallb_yaml(lab: Lab) -> str:
    """:func:`render_metallb` as one multi-document YAML file."""
    return dump_yaml_documents((obj, None) for obj in render_metallb(lab))


def dump_yaml_documents(documents: Iterable[tuple[dict[str, Any], str | None]]) -> str:
    """Multi-document YAML with sorted keys, each document optionally headed by a comment.

    Multi-line strings (the legacy ConfigMap's ``config``) are written as literal blocks so
    that they read like the YAML they hold; their own key order is untouched by sorting.
    """
    parts = []
    for document, comment in documents:
        header = f"# {comment}\n" if comment else ""
        body = yaml.dump(document, Dumper=_BlockDumper, sort_keys=True, default_flow_style=False)
        parts.append(f"---\n{header}{body}")
    return "".join(parts)


class _BlockDumper(yaml.SafeDumper):
    pass


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _represent_str)


def _metadata(name: str) -> dict[str, Any]:
    return {"name": name, "namespace": NAMESPACE, "labels": dict(MANAGED_BY)}


def _seconds(value: int) -> str:
    # Both MetalLB eras parse Go durations; whole seconds are what the model holds.
    return f"{value}s"


def _selector(selector: LabelSelector, labels_key: str, expressions_key: str) -> dict[str, Any]:
    """A label selector; the ConfigMap spells its keys in kebab case, the CRs in camel case."""
    result: dict[str, Any] = {}
    if selector.match_labels:
        result[labels_key] = dict(selector.match_labels)
    if selector.match_expressions:
        result[expressions_key] = [
            # Exists/DoesNotExist take no values: leave the key out rather than write [].
            {"key": r.key, "operator": r.operator, **({"values": list(r.values)} if r.values else {})}
            for r in selector.match_expressions
        ]
    return result


# --- ConfigMap era (≤ v0.12) ----------------------------------------------------------------
# Keys are written in the order of MetalLB's own example, so the blog post's config comes
# out exactly as the post wrote it. MetalLB parses this document strictly: no unknown keys.


def _configmap(lab: Lab) -> dict[str, Any]:
    config: dict[str, Any] = {
        # v0.12.1 takes an IPv6 peer-address (net.ParseIP: metallb/metallb@v0.12.1:internal/config/
        # config.go:344); only its FRR mode announces IPv6, which the parser requires for IPv6 BGP.
        "peers": [_legacy_peer(lab, address) for address in _peer_addresses(lab).values()],
        "address-pools": [_legacy_pool(pool) for pool in lab.metallb.pools],
    }
    if lab.bgp.bfd is not None:
        config["bfd-profiles"] = [_legacy_bfd(lab.bgp.bfd)]
    text = yaml.safe_dump(config, sort_keys=False, default_flow_style=False)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(CONFIGMAP_NAME),
        "data": {"config": text},
    }


def _legacy_peer(lab: Lab, address: IPAddress) -> dict[str, Any]:
    bgp = lab.bgp
    peer: dict[str, Any] = {
        "peer-address": str(address),
        "peer-asn": lab.gateway.asn,
        "my-asn": lab.metallb.asn,
    }
    if bgp.hold_time_s is not None:
        peer["hold-time"] = _seconds(bgp.hold_time_s)
    if bgp.keepalive_time_s is not None:
        peer["keepalive-time"] = _seconds(bgp.keepalive_time_s)
    if bgp.password is not None:
        peer["password"] = secret_text(bgp.password)
    if bgp.node_selectors:
        peer["node-selectors"] = [_selector(s, "match-labels", "match-expressions") for s in bgp.node_selectors]
    if bgp.ebgp_multihop:
        peer["ebgp-multihop"] = True
    if bgp.bfd is not None:
        # MetalLB's example-config.yaml spells this ``bfdProfile``, but v0.12's parser reads
        # ``bfd-profile`` (and rejects unknown keys).
        peer["bfd-profile"] = bgp.bfd.name
    return peer


def _legacy_pool(pool: Pool) -> dict[str, Any]:
    result: dict[str, Any] = {
        "name": pool.name,
        "protocol": pool.protocol.value,
        "addresses": [r.text for r in pool.ranges],
    }
    if not pool.auto_assign:
        result["auto-assign"] = False
    if pool.avoid_buggy_ips:
        result["avoid-buggy-ips"] = True
    advertisement: dict[str, Any] = {}
    if pool.aggregation_length is not None:
        advertisement["aggregation-length"] = pool.aggregation_length
    if pool.aggregation_length_v6 is not None:
        # v0.12.1:internal/config/config.go:79 (key), :534-538 (at most 128; default 128).
        advertisement["aggregation-length-v6"] = pool.aggregation_length_v6
    if pool.local_pref is not None:
        advertisement["localpref"] = pool.local_pref
    if pool.communities:
        advertisement["communities"] = list(pool.communities)
    if advertisement:
        # Without this list MetalLB makes one default advertisement; with it, only these.
        result["bgp-advertisements"] = [advertisement]
    return result


def _legacy_bfd(profile: BfdProfile) -> dict[str, Any]:
    result: dict[str, Any] = {"name": profile.name}
    if profile.receive_interval_ms is not None:
        result["receive-interval"] = profile.receive_interval_ms
    if profile.transmit_interval_ms is not None:
        result["transmit-interval"] = profile.transmit_interval_ms
    if profile.detect_multiplier is not None:
        result["detect-multiplier"] = profile.detect_multiplier
    return result


# --- CRD era (≥ v0.13) --------------------------------------------------------------------


def _custom_resources(lab: Lab) -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    if lab.bgp.password is not None and lab.metallb.version.supports_password_secret:
        objects.append(_password_secret(lab))
    if lab.bgp.bfd is not None:
        objects.append(_bfd_profile(lab.bgp.bfd))
    objects.extend(_ip_address_pool(pool) for pool in lab.metallb.pools)
    objects.extend(_bgp_peer(lab, name, address) for name, address in _peer_addresses(lab).items())
    objects.extend(_advertisement(pool) for pool in lab.metallb.pools)
    return objects


def _peer_addresses(lab: Lab) -> dict[str, IPAddress]:
    """Peer name (the BGPPeer's, in the CRD era) → the gateway address its sessions dial: the IPv4
    one always, the IPv6 one when a BGP pool holds IPv6 addresses (the parser then requires
    ``gateway.peerAddress6``).

    Neither peer sets ``disableMP`` or ``dualStackAddressFamily``, so each family's prefixes go
    over the session the gateway activates for that family:

    - v0.15.0 and later (both FRR modes) activate a session for its own address family only and
      put on it only prefixes of that family, unless ``dualStackAddressFamily`` says otherwise
      (metallb/metallb@v0.15.3:internal/bgp/frr/frr.go:253-256, :306-310; internal/bgp/frr/
      config.go:190-192; internal/bgp/frrk8s/frrk8s.go:290-306). ``disableMP`` is then the
      default: the webhook answers a new peer that sets it with a deprecation warning, returning
      before its other checks (internal/k8s/webhooks/webhookv1beta2/bgppeer_webhook.go:101-103).
    - v0.12.1 to v0.14.9 FRR modes offer both families on every session (v0.12.1:internal/bgp/
      frr/config.go:133-153; v0.14.9:internal/bgp/frr/templates/neighboripfamily.tmpl). A gateway
      exchanges only the families it activates for the neighbour: UniFi OS activates the IPv4
      group in ipv4 unicast and the IPv6 group in ipv6 unicast only (components/artifacts/frr.py,
      ``no bgp default ipv4-unicast``); a USG never activates an IPv4 neighbour for IPv6, and
      filters the IPv4 routes its IPv6 neighbours bring with the IPv4 import map
      (components/artifacts/usg_gateway.py). ``disableMP`` would split the families on MetalLB's
      side from v0.14.4 (frr) / v0.14.5 (frr-k8s) only (v0.14.9:internal/bgp/frr/config.go:
      150-152), is unknown to earlier releases' CRDs and refused in native mode
      (v0.15.3:internal/config/validation.go:50-51): setting it for that window alone would make
      the output differ by patch release for nothing the gateway keeps.
    """
    peers: dict[str, IPAddress] = {PEER_NAME: lab.gateway.peer_address}
    if lab.bgp_v6:
        assert lab.gateway.peer_address6 is not None  # the parser requires it with IPv6 BGP pools
        peers[PEER_NAME6] = lab.gateway.peer_address6
    return peers


def _resource(kind: str, version: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": f"{_GROUP}/{version}", "kind": kind, "metadata": _metadata(name), "spec": spec}


def _password_secret(lab: Lab) -> dict[str, Any]:
    assert lab.bgp.password is not None
    # BGPPeer.passwordSecret requires this Secret type and the key ``password``.
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata(PASSWORD_SECRET_NAME),
        "type": "kubernetes.io/basic-auth",
        "stringData": {"password": secret_text(lab.bgp.password)},
    }


def _bfd_profile(profile: BfdProfile) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if profile.receive_interval_ms is not None:
        spec["receiveInterval"] = profile.receive_interval_ms
    if profile.transmit_interval_ms is not None:
        spec["transmitInterval"] = profile.transmit_interval_ms
    if profile.detect_multiplier is not None:
        spec["detectMultiplier"] = profile.detect_multiplier
    return _resource("BFDProfile", "v1beta1", profile.name, spec)


def _ip_address_pool(pool: Pool) -> dict[str, Any]:
    # Both flags are written even at their defaults: the API server would add them anyway,
    # and writing them keeps the live object equal to the rendered one.
    spec = {
        "addresses": [r.text for r in pool.ranges],
        "autoAssign": pool.auto_assign,
        "avoidBuggyIPs": pool.avoid_buggy_ips,
    }
    return _resource("IPAddressPool", "v1beta1", pool.name, spec)


def _bgp_peer(lab: Lab, name: str, address: IPAddress) -> dict[str, Any]:
    bgp = lab.bgp
    spec: dict[str, Any] = {
        "myASN": lab.metallb.asn,
        "peerASN": lab.gateway.asn,
        "peerAddress": str(address),
    }
    if bgp.hold_time_s is not None:
        spec["holdTime"] = _seconds(bgp.hold_time_s)
    if bgp.keepalive_time_s is not None:
        spec["keepaliveTime"] = _seconds(bgp.keepalive_time_s)
    if bgp.node_selectors:
        spec["nodeSelectors"] = [_selector(s, "matchLabels", "matchExpressions") for s in bgp.node_selectors]
    if bgp.ebgp_multihop:
        spec["ebgpMultiHop"] = True
    if bgp.bfd is not None:
        spec["bfdProfile"] = bgp.bfd.name
    if bgp.password is not None:
        if lab.metallb.version.supports_password_secret:
            spec["passwordSecret"] = {"name": PASSWORD_SECRET_NAME, "namespace": NAMESPACE}
        else:
            spec["password"] = secret_text(bgp.password)
    return _resource("BGPPeer", "v1beta2", name, spec)


def _advertisement(pool: Pool) -> dict[str, Any]:
    # A pool is announced only when an advertisement selects it; one per pool, same name.
    if pool.protocol is Protocol.LAYER2:
        return _resource("L2Advertisement", "v1beta1", pool.name, {"ipAddressPools": [pool.name]})
    spec: dict[str, Any] = {"ipAddressPools": [pool.name], "peers": _advertised_to(pool)}
    if pool.aggregation_length is not None:
        spec["aggregationLength"] = pool.aggregation_length
    if pool.aggregation_length_v6 is not None:
        spec["aggregationLengthV6"] = pool.aggregation_length_v6
    if pool.local_pref is not None:
        spec["localPref"] = pool.local_pref
    if pool.communities:
        spec["communities"] = list(pool.communities)
    return _resource("BGPAdvertisement", "v1beta1", pool.name, spec)


def _advertised_to(pool: Pool) -> list[str]:
    """The BGPPeers a BGP pool's advertisement names: ``gateway`` always, ``gateway-v6`` too when
    the pool holds IPv6 addresses.

    From v0.15.0 a peer gets only prefixes of its own family (metallb/metallb@v0.15.3:internal/
    bgp/frrk8s/frrk8s.go:304; internal/bgp/frr/frr.go:308), so naming both peers is exact there.
    Up to v0.14.9 the FRR modes put every prefix of an advertisement on every session it names,
    both families being activated on each (v0.14.9:internal/bgp/frr/templates/filters.tmpl:66-82
    and neighboripfamily.tmpl; internal/bgp/frrk8s/frrk8s.go:295, with no family test). Naming
    ``gateway-v6`` for an IPv4-only pool would there add its IPv4 routes to the IPv6 sessions,
    which a USG accepts (Vyatta activates an IPv6 neighbour for IPv4 unicast too:
    vyos/vyatta-cfg-quagga@vyatta/VC6.3-2011.10.04/amd64:scripts/bgp/vyatta-bgp.pl:434): a
    second copy of each route, for nothing. So an IPv4-only pool names ``gateway`` alone, and its
    advertisement stays what it was before the lab gained IPv6. An IPv6-only pool still names
    ``gateway``: its prefixes reach the IPv4 sessions' offer only up to v0.14.9, and no gateway
    activates IPv6 for an IPv4 neighbour, so nothing is sent."""
    return [PEER_NAME, PEER_NAME6] if IPFamily.IPV6 in pool.families else [PEER_NAME]
