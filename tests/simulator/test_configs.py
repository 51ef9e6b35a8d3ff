import shutil
import subprocess
import tomllib
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

import pytest

from simulator.configs import (
    FRR_HEADER,
    dnsmasq_host_records,
    frr_speaker_bgpd_conf,
    gobgp_speaker_conf,
    hosts_file,
    speaker_zebra_conf,
    usg_router_bgpd_conf,
)
from simulator.model import (
    HostEntry,
    IPAddress,
    IPNetwork,
    PolicyAction,
    PrefixList,
    PrefixListRule,
    RouteMap,
    RouteMapRule,
    RouterBgp,
    RouterNeighbor,
    SpeakerPeer,
)

PEER = SpeakerPeer(IPv4Address("192.168.1.1"), 64513, 64512, "s3cret", 9, 3, False, ())
ROUTER = RouterBgp(
    64512,
    IPv4Address("192.168.1.1"),
    (RouterNeighbor(IPv4Address("10.0.0.11"), 64513, "s3cret", (3, 9), 255),),
)
# The same router importing only its pools' addresses and exporting nothing.
FILTERED_ROUTER = replace(
    ROUTER,
    neighbors=(replace(ROUTER.neighbors[0], route_map_in="pools-in", route_map_out="nothing-out"),),
    prefix_lists=(
        PrefixList(
            "pools",
            (
                PrefixListRule(10, PolicyAction.PERMIT, IPv4Network("10.9.0.0/28"), None, 32),
                PrefixListRule(20, PolicyAction.DENY, IPv4Network("10.8.0.0/16"), 24, 32),
                PrefixListRule(30, PolicyAction.PERMIT, IPv4Network("10.9.1.1/32"), None, None),
            ),
        ),
    ),
    route_maps=(
        RouteMap("pools-in", (RouteMapRule(10, PolicyAction.PERMIT, "pools"),)),
        RouteMap("nothing-out", (RouteMapRule(10, PolicyAction.DENY, None),)),
    ),
)
needs_vtysh = pytest.mark.skipif(shutil.which("vtysh") is None, reason="vtysh not installed (apt-get install frr)")


def test_the_usg_router_keeps_one_path_and_accepts_ebgp_without_policy():
    text = usg_router_bgpd_conf(ROUTER)
    assert "  maximum-paths 1\n  maximum-paths ibgp 1\n" in text
    assert " no bgp ebgp-requires-policy\n" in text
    for line in ("remote-as 64513", "password s3cret", "timers 3 9", "ebgp-multihop 255"):
        assert f" neighbor 10.0.0.11 {line}\n" in text


def test_the_usg_routers_filters_are_frr_prefix_lists_and_route_maps():
    text = usg_router_bgpd_conf(FILTERED_ROUTER)
    assert "  neighbor 10.0.0.11 route-map pools-in in\n  neighbor 10.0.0.11 route-map nothing-out out\n" in text
    for line in (
        "ip prefix-list pools seq 10 permit 10.9.0.0/28 le 32",
        "ip prefix-list pools seq 20 deny 10.8.0.0/16 ge 24 le 32",
        "ip prefix-list pools seq 30 permit 10.9.1.1/32",
        "route-map pools-in permit 10\n match ip address prefix-list pools\nexit",
        "route-map nothing-out deny 10\nexit",
    ):
        assert f"\n{line}\n" in text
    assert "route-map" not in usg_router_bgpd_conf(ROUTER)


def test_an_ebgp_speaker_announces_host_routes_and_skips_the_connected_check():
    text = frr_speaker_bgpd_conf("k1", IPv4Address("10.0.0.11"), PEER, "s3cret", [IPv4Address("10.9.0.1")])
    assert "  network 10.9.0.1/32\n" in text
    assert " neighbor 192.168.1.1 disable-connected-check\n" in text
    assert " neighbor 192.168.1.1 timers 3 9\n" in text
    assert "ip nht resolve-via-default" in speaker_zebra_conf()


def test_a_rogue_speaker_announces_its_prefixes_besides_the_services():
    rogue = [IPv4Network("0.0.0.0/0"), IPv4Network("192.168.1.0/24")]
    text = frr_speaker_bgpd_conf("k1", IPv4Address("10.0.0.11"), PEER, None, [IPv4Address("10.9.0.1")], rogue)
    assert "  network 10.9.0.1/32\n  network 0.0.0.0/0\n  network 192.168.1.0/24\n" in text


def test_an_ibgp_speaker_needs_no_connected_check_exception():
    ibgp = SpeakerPeer(IPv4Address("192.168.1.1"), 64512, 64512, None, 90, 30, False, ())
    text = frr_speaker_bgpd_conf("k1", IPv4Address("10.0.0.11"), ibgp, None, [])
    assert "disable-connected-check" not in text and "password" not in text


def test_gobgp_dials_out_only():
    config = tomllib.loads(gobgp_speaker_conf(IPv4Address("10.0.0.11"), PEER, "s3cret"))
    assert config["global"]["config"] == {"as": 64513, "router-id": "10.0.0.11", "port": -1}
    (neighbor,) = config["neighbors"]
    assert neighbor["config"] == {"neighbor-address": "192.168.1.1", "peer-as": 64512, "auth-password": "s3cret"}
    assert neighbor["timers"]["config"]["hold-time"] == 9
    assert neighbor["ebgp-multihop"]["config"]["enabled"] is True


def test_dns_entries_go_to_a_hosts_file_or_to_host_records_with_their_ttl():
    entries = [HostEntry("a.lab", IPv4Address("10.0.0.1")), HostEntry("b", IPv4Address("10.0.0.2"), 60)]
    assert hosts_file(entries) == "10.0.0.1 a.lab\n"
    assert dnsmasq_host_records(entries) == ["--host-record=b,10.0.0.2,60"]


@needs_vtysh
@pytest.mark.parametrize(
    "text",
    [
        usg_router_bgpd_conf(ROUTER),
        usg_router_bgpd_conf(FILTERED_ROUTER),
        frr_speaker_bgpd_conf("k1", IPv4Address("10.0.0.11"), PEER, "s3cret", [IPv4Address("10.9.0.1")]),
        frr_speaker_bgpd_conf("k1", IPv4Address("10.0.0.11"), PEER, None, [], [IPv4Network("0.0.0.0/0")]),
        speaker_zebra_conf(),
    ],
    ids=["usg-router", "usg-router-filtered", "speaker", "rogue-speaker", "speaker-zebra"],
)
def test_frr_accepts_the_generated_configs(tmp_path, text):
    conf = tmp_path / "frr.conf"
    conf.write_text(text)
    result = subprocess.run(["vtysh", "-C", "-f", str(conf)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


# --- dual-stack (issue 19) ---------------------------------------------------------------------

PEER6 = replace(PEER, address6=IPv6Address("fd00:60::1"))
NODE6 = IPv6Address("fd00:60::11")
ANNOUNCED: list[IPAddress] = [IPv4Address("10.9.0.1"), IPv6Address("2001:db8:60::10")]


def _family(text: str, family: str) -> list[str]:
    return text.split(f" address-family {family} unicast\n", 1)[1].split(" exit-address-family\n", 1)[0].splitlines()


def test_a_dual_stack_speaker_has_a_session_per_family_each_carrying_its_own():
    """As MetalLB's FRR modes from v0.15: the IPv6 session is not activated for IPv4."""
    rogue: list[IPNetwork] = [IPv4Network("0.0.0.0/0"), IPv6Network("::/0")]
    text = frr_speaker_bgpd_conf("k1", IPv4Address("10.0.0.11"), PEER6, "s3cret", ANNOUNCED, rogue, NODE6)
    for line in ("remote-as 64512", "update-source fd00:60::11", "password s3cret", "disable-connected-check"):
        assert f" neighbor fd00:60::1 {line}\n" in text
    assert _family(text, "ipv4") == [
        "  no neighbor fd00:60::1 activate",
        "  network 10.9.0.1/32",
        "  network 0.0.0.0/0",
    ]
    assert _family(text, "ipv6") == [
        "  neighbor fd00:60::1 activate",
        "  network 2001:db8:60::10/128",
        "  network ::/0",
    ]
    assert "ipv6 nht resolve-via-default" in speaker_zebra_conf(ipv6=True)


def test_without_an_ipv6_address_a_speaker_is_as_before():
    before = frr_speaker_bgpd_conf("k1", IPv4Address("10.0.0.11"), PEER, "s3cret", [IPv4Address("10.9.0.1")])
    assert frr_speaker_bgpd_conf("k1", IPv4Address("10.0.0.11"), PEER6, "s3cret", ANNOUNCED) == before
    assert speaker_zebra_conf() == f"{FRR_HEADER}\nip nht resolve-via-default\n"
    assert gobgp_speaker_conf(IPv4Address("10.0.0.11"), PEER6, None) == gobgp_speaker_conf(
        IPv4Address("10.0.0.11"), PEER, None
    )


def test_gobgp_dials_the_gateways_ipv6_address_from_the_nodes():
    config = tomllib.loads(gobgp_speaker_conf(IPv4Address("10.0.0.11"), PEER6, "s3cret", NODE6))
    v4, v6 = config["neighbors"]
    assert v6["config"] == {"neighbor-address": "fd00:60::1", "peer-as": 64512, "auth-password": "s3cret"}
    assert v6["transport"]["config"]["local-address"] == "fd00:60::11"
    assert "afi-safis" not in v6, "gobgpd's default: the neighbour's own family"
    assert v4["timers"] == v6["timers"]


def test_aaaa_entries_are_ipv6_hosts_lines_or_host_records():
    entries = [
        HostEntry("web", IPv4Address("10.0.0.1")),
        HostEntry("web", IPv6Address("2001:db8::1")),
        HostEntry("ha", IPv6Address("2001:db8::2"), 60),
    ]
    assert hosts_file(entries) == "10.0.0.1 web\n2001:db8::1 web\n"
    assert dnsmasq_host_records(entries) == ["--host-record=ha,2001:db8::2,60"]


@needs_vtysh
@pytest.mark.parametrize(
    "text",
    [
        frr_speaker_bgpd_conf("k1", IPv4Address("10.0.0.11"), PEER6, "s3cret", ANNOUNCED, [IPv6Network("::/0")], NODE6),
        speaker_zebra_conf(ipv6=True),
    ],
    ids=["dual-stack-speaker", "dual-stack-speaker-zebra"],
)
def test_frr_accepts_the_dual_stack_configs(tmp_path, text):
    conf = tmp_path / "frr.conf"
    conf.write_text(text)
    result = subprocess.run(["vtysh", "-C", "-f", str(conf)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
