import shutil
import subprocess
import tomllib
from ipaddress import IPv4Address

import pytest

from simulator.configs import (
    dnsmasq_host_records,
    frr_speaker_bgpd_conf,
    gobgp_speaker_conf,
    hosts_file,
    speaker_zebra_conf,
    usg_router_bgpd_conf,
)
from simulator.model import HostEntry, RouterBgp, RouterNeighbor, SpeakerPeer

PEER = SpeakerPeer(IPv4Address("192.168.1.1"), 64513, 64512, "s3cret", 9, 3, False, ())
ROUTER = RouterBgp(
    64512,
    IPv4Address("192.168.1.1"),
    (RouterNeighbor(IPv4Address("10.0.0.11"), 64513, "s3cret", (3, 9), 255),),
)
needs_vtysh = pytest.mark.skipif(shutil.which("vtysh") is None, reason="vtysh not installed (apt-get install frr)")


def test_the_usg_router_keeps_one_path_and_accepts_ebgp_without_policy():
    text = usg_router_bgpd_conf(ROUTER)
    assert "  maximum-paths 1\n  maximum-paths ibgp 1\n" in text
    assert " no bgp ebgp-requires-policy\n" in text
    for line in ("remote-as 64513", "password s3cret", "timers 3 9", "ebgp-multihop 255"):
        assert f" neighbor 10.0.0.11 {line}\n" in text


def test_an_ebgp_speaker_announces_host_routes_and_skips_the_connected_check():
    text = frr_speaker_bgpd_conf("k1", IPv4Address("10.0.0.11"), PEER, "s3cret", [IPv4Address("10.9.0.1")])
    assert "  network 10.9.0.1/32\n" in text
    assert " neighbor 192.168.1.1 disable-connected-check\n" in text
    assert " neighbor 192.168.1.1 timers 3 9\n" in text
    assert "ip nht resolve-via-default" in speaker_zebra_conf()


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
        frr_speaker_bgpd_conf("k1", IPv4Address("10.0.0.11"), PEER, "s3cret", [IPv4Address("10.9.0.1")]),
        speaker_zebra_conf(),
    ],
    ids=["usg-router", "speaker", "speaker-zebra"],
)
def test_frr_accepts_the_generated_configs(tmp_path, text):
    conf = tmp_path / "frr.conf"
    conf.write_text(text)
    result = subprocess.run(["vtysh", "-C", "-f", str(conf)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
