from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address
from typing import Any

import pytest
import yaml

from components.artifacts.metallb import render_metallb_yaml
from components.config.model import BfdProfile
from components.render import load_lab
from simulator.errors import UnmodeledField
from simulator.model import PoolProtocol
from simulator.translate.metallb import read_metallb
from tests.simulator.conftest import REPO, rendered_files, stack_path


def _configmap_with(change) -> str:
    document = yaml.safe_load(rendered_files("Pulumi.lab.yaml")["metallb.yaml"])
    config = yaml.safe_load(document["data"]["config"])
    change(config)
    document["data"]["config"] = yaml.safe_dump(config)
    return yaml.safe_dump(document)


def _crs_with(kind: str, change) -> str:
    documents = list(yaml.safe_load_all(rendered_files("Pulumi.crds.yaml")["metallb.yaml"]))
    change(next(d for d in documents if d["kind"] == kind))
    return yaml.safe_dump_all(documents)


def test_the_posts_configmap():
    settings = read_metallb(rendered_files("Pulumi.lab.yaml")["metallb.yaml"])
    peer = settings.peer
    assert (peer.address, peer.my_asn, peer.peer_asn, peer.password) == (IPv4Address("192.168.1.1"), 64512, 64512, None)
    assert (peer.hold_time_s, peer.keepalive_time_s) == (90, 30)  # MetalLB's defaults
    assert [(p.name, p.protocol, p.advertised) for p in settings.pools] == [("bgp", PoolProtocol.BGP, True)]


def test_crs_with_selectors_timers_and_a_layer2_pool():
    settings = read_metallb(rendered_files("Pulumi.crds.yaml")["metallb.yaml"])
    assert (settings.peer.my_asn, settings.peer.peer_asn, settings.peer.hold_time_s) == (64513, 64512, 30)
    assert not settings.peer.selects({"node-role.kubernetes.io/control-plane": ""})
    assert settings.peer.selects({"kubernetes.io/hostname": "node1"})
    assert {p.name: p.protocol for p in settings.pools} == {"routed": PoolProtocol.BGP, "lan": PoolProtocol.LAYER2}


def test_the_password_comes_from_the_referenced_secret():
    settings = read_metallb(rendered_files("password")["metallb.yaml"])
    assert settings.peer.password == "lab-simulator-md5-secret"


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda c: c["peers"][0].update({"source-address": "10.0.0.1"}), r"data\.config\.peers\[0\]\.source-address"),
        (lambda c: c["peers"][0].update({"peer-port": 1179}), r"peers\[0\]\.peer-port"),
        (lambda c: c.update({"bfd-profiles": [{"name": "x"}]}), r"data\.config\.bfd-profiles: BFD"),
        (
            lambda c: c["address-pools"][0].update({"bgp-advertisements": [{"communities": ["64512:1"]}]}),
            r"bgp-advertisements\[0\]\.communities",
        ),
        (
            lambda c: c["address-pools"][0].update({"bgp-advertisements": [{"aggregation-length": 24}]}),
            r"aggregation-length: aggregation other than /32",
        ),
        (lambda c: c["peers"].append(dict(c["peers"][0])), r"2 peers"),
    ],
)
def test_configmap_fields_not_modeled_are_refused(change, path):
    with pytest.raises(UnmodeledField, match=path):
        read_metallb(_configmap_with(change))


@pytest.mark.parametrize(
    ("kind", "change", "path"),
    [
        ("BGPPeer", lambda d: d["spec"].update({"routerID": "1.2.3.4"}), r"BGPPeer gateway\.spec\.routerID"),
        ("BGPPeer", lambda d: d["spec"].update({"bfdProfile": "fast"}), r"spec\.bfdProfile: BFD"),
        ("BGPPeer", lambda d: d["metadata"].update({"annotations": {}}), r"metadata\.annotations"),
        ("BGPAdvertisement", lambda d: d["spec"].update({"localPref": 100}), r"spec\.localPref"),
        ("BGPAdvertisement", lambda d: d["spec"].update({"peers": ["other"]}), r"does not name BGPPeer 'gateway'"),
        ("IPAddressPool", lambda d: d["spec"].update({"serviceAllocation": {}}), r"spec\.serviceAllocation"),
        ("L2Advertisement", lambda d: d.update({"kind": "BFDProfile"}), r"kind 'BFDProfile' is not modeled"),
    ],
)
def test_cr_fields_not_modeled_are_refused(kind, change, path):
    with pytest.raises(UnmodeledField, match=path):
        read_metallb(_crs_with(kind, change))


def test_every_renderer_option_is_modeled_or_refused():
    """Options the renderer can write today: the modeled ones translate, the others are refused
    by name, so none can vanish from a simulation."""
    lab = load_lab(stack_path("Pulumi.crds.yaml"), REPO / "Pulumi.yaml")
    pool = replace(lab.metallb.pools[0], aggregation_length=32, communities=(), local_pref=None)
    modeled = replace(
        lab,
        bgp=replace(lab.bgp, keepalive_time_s=5, ebgp_multihop=True),
        metallb=replace(lab.metallb, pools=(pool, *lab.metallb.pools[1:])),
    )
    settings = read_metallb(render_metallb_yaml(modeled))
    assert (settings.peer.keepalive_time_s, settings.peer.ebgp_multihop) == (5, True)
    refused = {
        "BFDProfile": replace(lab, bgp=replace(lab.bgp, bfd=BfdProfile("fast", 300, 300, 3))),
        "communities": replace(lab, metallb=replace(lab.metallb, pools=(replace(pool, communities=("64513:1",)),))),
        "localPref": replace(lab, metallb=replace(lab.metallb, pools=(replace(pool, local_pref=50),))),
        "aggregationLength": replace(lab, metallb=replace(lab.metallb, pools=(replace(pool, aggregation_length=24),))),
    }
    for field, variant in refused.items():
        with pytest.raises(UnmodeledField, match=field):
            read_metallb(render_metallb_yaml(variant))


# --- dual-stack (issue 19): the contract's shapes, hand-written in tests/simulator/rendered ---


def _dual_crs() -> list[dict[str, Any]]:
    return list(yaml.safe_load_all(rendered_files("dual-stack-usg")["metallb.yaml"]))


def _dual_with(change) -> str:
    documents = _dual_crs()
    change({(d["kind"], d["metadata"]["name"]): d for d in documents})
    return yaml.safe_dump_all(documents)


def test_one_peer_per_family_and_a_pool_of_both_families():
    settings = read_metallb(yaml.safe_dump_all(_dual_crs()))
    assert (settings.peer.address, settings.peer.address6) == (IPv4Address("192.168.60.1"), IPv6Address("fd00:60::1"))
    (pool,) = settings.pools
    assert IPv4Address("10.60.10.63") in pool and IPv6Address("2001:db8:60::ff") in pool
    assert IPv6Address("2001:db8:60::100") not in pool and IPv4Address("10.60.10.64") not in pool
    assert settings.pool_of(IPv6Address("2001:db8:60::10")) is pool


def test_an_ipv4_only_pool_beside_a_dual_stack_one_names_only_the_ipv4_peer():
    # As the renderer writes it: an IPv4 prefix never goes on an IPv6 session (v0.15+), and up to
    # v0.14.9 naming gateway-v6 would put IPv4 routes on the IPv6 sessions too.
    lab = load_lab(stack_path("dual-stack-usg"), REPO / "Pulumi.yaml")
    pools = (*lab.metallb.pools, replace(lab.metallb.pools[0], name="v4only", ranges=(lab.metallb.pools[0].ranges[0],)))
    lab = replace(lab, metallb=replace(lab.metallb, pools=pools))
    documents = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(render_metallb_yaml(lab))}
    assert documents["BGPAdvertisement", "v4only"]["spec"]["peers"] == ["gateway"]
    documents["IPAddressPool", "v4only"]["spec"]["addresses"] = ["10.60.11.0/26"]  # no overlap with services
    settings = read_metallb(yaml.safe_dump_all(list(documents.values())))
    pool = settings.pool_of(IPv4Address("10.60.11.1"))
    assert pool is not None and pool.name == "v4only"


def test_the_legacy_configmap_takes_a_second_peer_at_the_gateways_ipv6_address():
    def add_v6(config: dict[str, Any]) -> None:
        config["peers"].append(dict(config["peers"][0], **{"peer-address": "fd00:10::1"}))
        config["address-pools"][0]["addresses"].append("2001:db8:10::/124")

    settings = read_metallb(_configmap_with(add_v6))
    assert settings.peer.address6 == IPv6Address("fd00:10::1")
    assert settings.pool_of(IPv6Address("2001:db8:10::f")) is settings.pools[0]


def test_aggregation_is_modeled_only_as_host_routes_in_both_families():
    def v6_length(length: int):
        return lambda d: d["BGPAdvertisement", "services"]["spec"].update({"aggregationLengthV6": length})

    assert read_metallb(_dual_with(v6_length(128))).peer.address6 is not None
    with pytest.raises(UnmodeledField, match=r"aggregationLengthV6: aggregation other than /128"):
        read_metallb(_dual_with(v6_length(64)))


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (
            lambda d: d["BGPPeer", "gateway-v6"]["spec"].update({"holdTime": "9s"}),
            r"BGPPeer gateway-v6: an IPv6 peer whose settings differ from the IPv4 peer BGPPeer gateway's",
        ),
        (
            lambda d: d["BGPPeer", "gateway"]["spec"].update({"peerAddress": "fd00:60::2"}),
            r"2 peers \(0 IPv4, 2 IPv6\)",
        ),
        (
            lambda d: d["BGPAdvertisement", "services"]["spec"].update({"peers": ["gateway"]}),
            r"does not name BGPPeer 'gateway-v6'",
        ),
        (
            lambda d: d["IPAddressPool", "services"]["spec"].update({"addresses": ["10.60.10.1-2001:db8:60::1"]}),
            r"addresses\[0\]: a range from one family to the other",
        ),
    ],
)
def test_what_the_dual_stack_translation_does_not_model_is_refused(change, why):
    with pytest.raises(UnmodeledField, match=why):
        read_metallb(_dual_with(change))
