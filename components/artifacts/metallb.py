"""MetalLB's configuration for a lab: the legacy ``config`` ConfigMap (≤ v0.12) or the CRs.

Only options the user set are written: MetalLB applies its own defaults, and an object that
says no more than needed is easier to compare with MetalLB's documentation. Objects are
returned in a fixed order so that rendered files and Pulumi previews are stable:

- ConfigMap era: the one ``metallb-system/config`` ConfigMap.
- CRD era: the password Secret, the BFDProfile, the IPAddressPools (config order), the
  BGPPeer, then the advertisements (config order of their pools). Referenced objects come
  before the objects that reference them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml

from components.config.model import BfdProfile, Lab, LabelSelector, Pool, Protocol
from components.config.secrets import secret_text

NAMESPACE = "metallb-system"
CONFIGMAP_NAME = "config"
PEER_NAME = "gateway"  # the BGPPeer; BGPAdvertisements name it in ``peers``
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
        "peers": [_legacy_peer(lab)],
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


def _legacy_peer(lab: Lab) -> dict[str, Any]:
    bgp = lab.bgp
    peer: dict[str, Any] = {
        "peer-address": str(lab.gateway.peer_address),
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
    objects.append(_bgp_peer(lab))
    objects.extend(_advertisement(pool) for pool in lab.metallb.pools)
    return objects


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


def _bgp_peer(lab: Lab) -> dict[str, Any]:
    bgp = lab.bgp
    spec: dict[str, Any] = {
        "myASN": lab.metallb.asn,
        "peerASN": lab.gateway.asn,
        "peerAddress": str(lab.gateway.peer_address),
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
    return _resource("BGPPeer", "v1beta2", PEER_NAME, spec)


def _advertisement(pool: Pool) -> dict[str, Any]:
    # A pool is announced only when an advertisement selects it; one per pool, same name.
    if pool.protocol is Protocol.LAYER2:
        return _resource("L2Advertisement", "v1beta1", pool.name, {"ipAddressPools": [pool.name]})
    spec: dict[str, Any] = {"ipAddressPools": [pool.name], "peers": [PEER_NAME]}
    if pool.aggregation_length is not None:
        spec["aggregationLength"] = pool.aggregation_length
    if pool.local_pref is not None:
        spec["localPref"] = pool.local_pref
    if pool.communities:
        spec["communities"] = list(pool.communities)
    return _resource("BGPAdvertisement", "v1beta1", pool.name, spec)
