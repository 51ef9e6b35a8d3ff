import json
import shutil
import subprocess
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any

import jsonschema
import pytest
import yaml

from simulator.configs import usg_router_bgpd_conf
from simulator.errors import GatewayRefuses, UnmodeledField
from simulator.model import HostEntry, PolicyAction, PrefixList, PrefixListRule, RouteMap, RouteMapRule
from simulator.translate.dns_records import read_dns_records
from simulator.translate.usg import read_config_gateway
from tests.simulator.conftest import REPO, rendered_files


def _usg_with(change) -> str:
    document = json.loads(rendered_files("Pulumi.crds.yaml")["config.gateway.json"])
    change(document)
    return json.dumps(document)


def test_the_usgs_bgp_tree_and_host_names():
    bgp, hosts = read_config_gateway(rendered_files("Pulumi.crds.yaml")["config.gateway.json"])
    assert bgp is not None
    assert (bgp.asn, bgp.router_id) == (64512, IPv4Address("192.168.1.1"))
    assert [(n.address, n.remote_asn, n.timers) for n in bgp.neighbors] == [
        (IPv4Address("10.20.0.11"), 64513, (10, 30)),
        (IPv4Address("10.20.0.12"), 64513, (10, 30)),
    ]
    assert HostEntry("dashboards", IPv4Address("10.20.10.10")) in hosts
    assert HostEntry("grafana.lab.home", IPv4Address("10.20.10.10")) in hosts


def test_the_password_is_read():
    bgp, _ = read_config_gateway(rendered_files("password")["config.gateway.json"])
    assert bgp is not None and {n.password for n in bgp.neighbors} == {"lab-simulator-md5-secret"}


def _instance(document: dict[str, Any]) -> dict[str, Any]:
    instance: dict[str, Any] = document["protocols"]["bgp"]["64512"]
    return instance


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: _instance(d).update({"maximum-paths": {"ibgp": "2"}}), r"protocols\.bgp\.64512\.maximum-paths"),
        (
            lambda d: _instance(d)["neighbor"]["10.20.0.11"].update({"prefix-list": {"import": "x"}}),
            r"neighbor\.10\.20\.0\.11\.prefix-list",
        ),
        (lambda d: _instance(d)["parameters"].update({"cluster-id": "1.1.1.1"}), r"parameters\.cluster-id"),
        (lambda d: d["protocols"].update({"static": {}}), r"protocols\.static"),
        (lambda d: d.update({"firewall": {}}), r"config\.gateway\.json: firewall"),
        (
            lambda d: d["system"]["static-host-mapping"]["host-name"]["dns.lab.home"].update(
                {"inet": ["1.1.1.1", "2.2.2.2"]}
            ),
            r"2 addresses",
        ),
        (lambda d: d["system"].update({"name-server": ["1.1.1.1"]}), r"system\.name-server"),
    ],
)
def test_usg_fields_not_modeled_are_refused(change, path):
    with pytest.raises(UnmodeledField, match=path):
        read_config_gateway(_usg_with(change))


def test_dns_records_with_a_ttl():
    records = read_dns_records(rendered_files("ebgp-unifi-os")["dns-records.json"])
    assert HostEntry("ha", IPv4Address("10.40.10.10"), 60) in records
    assert len(records) == 3


def test_disabled_records_are_not_served():
    records = json.loads(rendered_files("Pulumi.udm.yaml")["dns-records.json"])
    records[0]["enabled"] = False
    assert len(read_dns_records(json.dumps(records))) == 2


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda r: r.update({"record_type": "CNAME"}), r"\[0\]\.record_type: value 'CNAME'"),
        (lambda r: r.update({"port": 8123}), r"\[0\]\.port: not modeled"),
    ],
)
def test_dns_record_fields_not_modeled_are_refused(change, path):
    records = json.loads(rendered_files("Pulumi.udm.yaml")["dns-records.json"])
    change(records[0])
    with pytest.raises(UnmodeledField, match=path):
        read_dns_records(json.dumps(records))


# --- policies: the shape the renderer emits (hand-written here, one stack "lab") ---------------

POOLS = "metallb-lab-pools"
IMPORT, EXPORT = "metallb-lab-in", "metallb-lab-out"
USG_SCHEMA = REPO.parent / "shared" / "reference" / "usg" / "schema.usg-3p.4.4.56.yaml"


def _with_policies() -> dict[str, Any]:
    """A USG file with import and export policies: a BGP pool 192.168.1.240/28, a range
    192.168.2.10-192.168.2.11 and one more address, two neighbours."""
    neighbor = {"remote-as": "64513", "route-map": {"import": IMPORT, "export": EXPORT}}
    return {
        "policy": {
            "prefix-list": {
                POOLS: {
                    "description": "MetalLB address pools of stack lab",
                    "rule": {
                        "10": {"action": "permit", "prefix": "192.168.1.240/28", "le": "32"},
                        "20": {"action": "permit", "prefix": "192.168.2.10/31", "le": "32"},
                        "30": {"action": "permit", "prefix": "192.168.2.20/32", "description": "one address"},
                    },
                }
            },
            "route-map": {
                IMPORT: {
                    "description": "accept the pools' addresses from the nodes",
                    "rule": {"10": {"action": "permit", "match": {"ip": {"address": {"prefix-list": POOLS}}}}},
                },
                EXPORT: {"description": "announce nothing to the nodes", "rule": {"10": {"action": "deny"}}},
            },
        },
        "protocols": {
            "bgp": {
                "64512": {
                    "neighbor": {"10.10.0.101": dict(neighbor), "10.10.0.102": dict(neighbor)},
                    "parameters": {"router-id": "192.168.1.1"},
                }
            }
        },
    }


def _policies_with(change) -> str:
    document = _with_policies()
    change(document)
    return json.dumps(document)


def _rule(document: dict[str, Any], number: str = "10") -> dict[str, Any]:
    rule: dict[str, Any] = document["policy"]["prefix-list"][POOLS]["rule"][number]
    return rule


def _map_rule(document: dict[str, Any], name: str = IMPORT) -> dict[str, Any]:
    rule: dict[str, Any] = document["policy"]["route-map"][name]["rule"]["10"]
    return rule


def _neighbor(document: dict[str, Any]) -> dict[str, Any]:
    neighbor: dict[str, Any] = document["protocols"]["bgp"]["64512"]["neighbor"]["10.10.0.101"]
    return neighbor


def test_policies_are_read_in_rule_order():
    document = _with_policies()
    rules = document["policy"]["prefix-list"][POOLS]["rule"]
    document["policy"]["prefix-list"][POOLS]["rule"] = dict(reversed(rules.items()))
    bgp, _ = read_config_gateway(json.dumps(document))
    assert bgp is not None
    assert bgp.prefix_lists == (
        PrefixList(
            POOLS,
            (
                PrefixListRule(10, PolicyAction.PERMIT, IPv4Network("192.168.1.240/28"), None, 32),
                PrefixListRule(20, PolicyAction.PERMIT, IPv4Network("192.168.2.10/31"), None, 32),
                PrefixListRule(30, PolicyAction.PERMIT, IPv4Network("192.168.2.20/32"), None, None),
            ),
        ),
    )
    assert bgp.route_maps == (
        RouteMap(IMPORT, (RouteMapRule(10, PolicyAction.PERMIT, POOLS),)),
        RouteMap(EXPORT, (RouteMapRule(10, PolicyAction.DENY, None),)),
    )
    assert {(n.route_map_in, n.route_map_out) for n in bgp.neighbors} == {(IMPORT, EXPORT)}


def test_policies_become_frr_prefix_lists_route_maps_and_neighbour_filters():
    bgp, _ = read_config_gateway(json.dumps(_with_policies()))
    assert bgp is not None
    text = usg_router_bgpd_conf(bgp)
    family = text.split(" address-family ipv4 unicast\n", 1)[1].split(" exit-address-family\n", 1)[0]
    assert family.splitlines()[:4] == [
        f"  neighbor 10.10.0.101 route-map {IMPORT} in",
        f"  neighbor 10.10.0.101 route-map {EXPORT} out",
        f"  neighbor 10.10.0.102 route-map {IMPORT} in",
        f"  neighbor 10.10.0.102 route-map {EXPORT} out",
    ]
    policy = text.split("exit-address-family\nexit\n", 1)[1]
    assert [line for line in policy.splitlines() if line != "!"] == [
        f"ip prefix-list {POOLS} seq 10 permit 192.168.1.240/28 le 32",
        f"ip prefix-list {POOLS} seq 20 permit 192.168.2.10/31 le 32",
        f"ip prefix-list {POOLS} seq 30 permit 192.168.2.20/32",
        f"route-map {IMPORT} permit 10",
        f" match ip address prefix-list {POOLS}",
        "exit",
        f"route-map {EXPORT} deny 10",
        "exit",
    ]


def test_ge_and_le_within_quaggas_rules_are_kept():
    def ranges(document: dict[str, Any]) -> None:
        _rule(document, "10").update({"ge": "29", "le": "32"})
        _rule(document, "20").update({"ge": "32"})
        del _rule(document, "20")["le"]

    bgp, _ = read_config_gateway(_policies_with(ranges))
    assert bgp is not None
    assert [(r.ge, r.le) for r in bgp.prefix_lists[0].rules] == [(29, 32), (32, None), (None, None)]
    assert f"ip prefix-list {POOLS} seq 10 permit 192.168.1.240/28 ge 29 le 32\n" in usg_router_bgpd_conf(bgp)


def test_neighbours_without_route_maps_have_no_filters():
    bgp, _ = read_config_gateway(_policies_with(lambda d: _neighbor(d).pop("route-map")))
    assert bgp is not None
    assert " neighbor 10.10.0.101 route-map" not in usg_router_bgpd_conf(bgp)


@pytest.mark.parametrize(
    ("change", "path", "why"),
    [
        # Vyatta's templates (vyos/vyatta-cfg-quagga@vyatta/VC6.3-2011.10.04/amd64):
        (
            lambda d: _map_rule(d)["match"]["ip"]["address"].update({"prefix-list": "nope"}),
            rf"route-map\.{IMPORT}\.rule\.10\.match\.ip\.address\.prefix-list",
            "prefix-list nope does not exist",
        ),
        (
            lambda d: _neighbor(d)["route-map"].update({"import": "nope"}),
            r"neighbor\.10\.10\.0\.101\.route-map\.import",
            "route-map nope doesn't exist",
        ),
        (
            lambda d: _neighbor(d)["route-map"].update({"export": "nope"}),
            r"route-map\.export",
            "route-map nope doesn't exist",
        ),
        (lambda d: _rule(d).update({"ge": "28"}), r"rule\.10\.ge", "ge must be greater than prefix length"),
        (lambda d: _rule(d).update({"ge": "24"}), r"rule\.10\.ge", "ge must be greater than prefix length"),
        (lambda d: _rule(d).update({"ge": "0"}), r"rule\.10\.ge", "ge must be greater than prefix length"),
        (lambda d: _rule(d).update({"ge": "30", "le": "29"}), r"rule\.10\.le", "le must be greater than or equal"),
        (lambda d: _rule(d).update({"ge": "30", "le": "30"}), r"rule\.10\.le", "le must be greater than or equal"),
        (lambda d: _rule(d).update({"ge": "33"}), r"rule\.10\.ge", "ge must be between 0 and 32"),
        (lambda d: _rule(d).update({"le": "33"}), r"rule\.10\.le", "le must be between 0 and 32"),
        (lambda d: _rule(d).update({"action": "accept"}), r"rule\.10\.action", "action must be permit or deny"),
        (lambda d: _rule(d).pop("prefix"), r"rule\.10\.prefix", "You must specify a prefix"),
        (lambda d: _rule(d).pop("action"), r"rule\.10\.action", "You must specify an action"),
        (lambda d: _rule(d).update({"prefix": "192.168.1.240"}), r"rule\.10\.prefix", "not a valid IPv4 network"),
        (lambda d: _map_rule(d).pop("action"), rf"{IMPORT}\.rule\.10\.action", "you must specify an action"),
        (
            lambda d: d["policy"]["prefix-list"][POOLS]["rule"].update({"0": _rule(d, "30")}),
            r"rule\.0",
            "rule number must be between 1 and 65535",
        ),
        (
            lambda d: d["policy"]["route-map"][EXPORT]["rule"].update({"65536": {"action": "deny"}}),
            r"rule\.65536",
            "rule number must be between 1 and 65535",
        ),
        (
            lambda d: d["policy"]["prefix-list"].update({"metallb_lab": d["policy"]["prefix-list"][POOLS]}),
            r"prefix-list\.metallb_lab",
            "prefix-list name must be alpha-numeric",
        ),
        (
            lambda d: d["policy"]["route-map"].update({"in map": d["policy"]["route-map"][EXPORT]}),
            r"route-map\.in map",
            "route-map name must be alpha-numeric",
        ),
        # Quagga (Quagga/quagga@quagga-1.2.3 lib/plist.c):
        (lambda d: _rule(d).update({"le": "28"}), r"rule\.10\.le", "Invalid prefix range for 192.168.1.240/28"),
        (lambda d: _rule(d).update({"le": "20"}), r"rule\.10\.le", "Invalid prefix range"),
        (lambda d: _rule(d, "30").update({"le": "32"}), r"rule\.30\.le", "Invalid prefix range for 192.168.2.20/32"),
        (
            lambda d: d["policy"]["prefix-list"][POOLS]["rule"].update({"40": dict(_rule(d, "20"))}),
            r"rule\.40",
            r"prefix-list entry exists \(as rule 20\)",
        ),
        (
            # ``le 32`` after a ``ge`` is no ``le`` to Quagga: rule 40 is rule 10 again.
            lambda d: (
                _rule(d, "10").update({"ge": "29"}),
                _rule(d, "10").pop("le"),
                d["policy"]["prefix-list"][POOLS]["rule"].update(
                    {"40": {"action": "permit", "prefix": "192.168.1.240/28", "ge": "29", "le": "32"}}
                ),
            ),
            r"rule\.40",
            r"entry exists \(as rule 10\)",
        ),
    ],
)
def test_what_the_usg_refuses_is_refused(change, path, why):
    with pytest.raises(GatewayRefuses, match=rf"{path}: .*{why}") as refusal:
        read_config_gateway(_policies_with(change))
    assert "the gateway would refuse this" in str(refusal.value)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: _map_rule(d).update({"set": {"local-preference": "200"}}), rf"{IMPORT}\.rule\.10\.set"),
        (lambda d: _map_rule(d).update({"continue": "20"}), r"rule\.10\.continue"),
        (lambda d: _map_rule(d)["match"].update({"as-path": "x"}), r"match\.as-path"),
        (lambda d: _map_rule(d)["match"]["ip"].update({"nexthop": {"prefix-list": POOLS}}), r"match\.ip\.nexthop"),
        (
            lambda d: _map_rule(d)["match"]["ip"]["address"].update({"access-list": "1"}),
            r"match\.ip\.address\.access-list",
        ),
        (
            lambda d: _map_rule(d)["match"]["ip"]["address"].update({"prefix-list": None, "access-list": "1"}),
            r"match\.ip\.address: only match ip address prefix-list",
        ),
        (lambda d: d["policy"].update({"access-list6": {}}), r"policy\.access-list6"),
        (lambda d: d["policy"].update({"community-list": {}}), r"policy\.community-list"),
        (lambda d: _rule(d).update({"le": "0"}), r"rule\.10\.le: le 0"),
        (lambda d: _rule(d).update({"prefix": "192.168.1.241/28"}), r"rule\.10\.prefix: host bits set"),
        (lambda d: d["policy"]["prefix-list"][POOLS].pop("rule"), rf"{POOLS}\.rule: a policy without rules"),
        (lambda d: d["policy"]["route-map"][EXPORT].update({"rule": {}}), rf"{EXPORT}\.rule: a policy without"),
        (lambda d: _map_rule(d, EXPORT).pop("action"), rf"{EXPORT}\.rule\.10\.action: missing"),
        (lambda d: _neighbor(d)["route-map"].update({"default": "x"}), r"route-map\.default"),
    ],
)
def test_policy_fields_not_modeled_are_refused(change, path):
    with pytest.raises(UnmodeledField, match=path):
        read_config_gateway(_policies_with(change))


def test_the_hand_written_policies_fit_the_usg_schema():
    """The documents above are in a shape the USG's own configuration tree has."""
    if not USG_SCHEMA.exists():
        pytest.skip(f"USG schema not available at {USG_SCHEMA} (reference data lives outside the repo)")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    validator = jsonschema.Draft7Validator(yaml.load(USG_SCHEMA.read_text(encoding="utf-8"), Loader=loader))
    assert [e.message for e in validator.iter_errors(_with_policies())] == []
    broken = _with_policies()
    _rule(broken)["prefix"] = {"address": "192.168.1.240/28"}
    assert list(validator.iter_errors(broken)) != [], "negative control: the schema can fail"


def test_the_rendered_filters_of_the_posts_lab_are_translated():
    """What the renderer writes for Pulumi.lab.yaml (pool 10.10.10.10-10.10.10.250) is the
    shape above: 11 blocks, the last a /32 without ``le``."""
    bgp, _ = read_config_gateway(rendered_files("Pulumi.lab.yaml")["config.gateway.json"])
    assert bgp is not None
    (pools,) = bgp.prefix_lists
    assert pools.name == POOLS
    assert [(r.number, str(r.prefix), r.le) for r in pools.rules][::5] == [
        (10, "10.10.10.10/31", 32),
        (60, "10.10.10.128/26", 32),
        (110, "10.10.10.250/32", None),
    ]
    assert [m.name for m in bgp.route_maps] == [IMPORT, EXPORT]
    assert {(n.route_map_in, n.route_map_out) for n in bgp.neighbors} == {(IMPORT, EXPORT)}
    assert len(bgp.neighbors) == 4


# --- dual-stack (issue 19): the contract's shapes, hand-written in tests/simulator/rendered ---

DUAL = "metallb-dual-stack-usg"
needs_vtysh = pytest.mark.skipif(shutil.which("vtysh") is None, reason="vtysh not installed (apt-get install frr)")
V6_NEIGHBOR = "fd00:60::11"


def _dual() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(rendered_files("dual-stack-usg")["config.gateway.json"])
    return document


def _dual_with(change) -> str:
    document = _dual()
    change(document)
    return json.dumps(document)


def _rule6(document: dict[str, Any]) -> dict[str, Any]:
    rule: dict[str, Any] = document["policy"]["prefix-list6"][f"{DUAL}-pools6"]["rule"]["10"]
    return rule


def _v6_neighbor(document: dict[str, Any]) -> dict[str, Any]:
    neighbor: dict[str, Any] = document["protocols"]["bgp"]["64512"]["neighbor"][V6_NEIGHBOR]
    return neighbor


def test_ipv6_neighbours_lists_and_maps_are_read():
    bgp, hosts = read_config_gateway(json.dumps(_dual()))
    assert bgp is not None
    neighbors = {n.address: n for n in bgp.neighbors}
    v6 = neighbors[IPv6Address(V6_NEIGHBOR)]
    assert (v6.route_map_in, v6.route_map_out) == (f"{DUAL}-in", f"{DUAL}-out"), "IPv4 unicast's, as on Vyatta"
    assert (v6.ipv6_unicast, v6.route_map_in6, v6.route_map_out6) == (True, f"{DUAL}-in6", f"{DUAL}-out")
    assert not neighbors[IPv4Address("10.60.0.11")].ipv6_unicast
    lists = {p.name: p for p in bgp.prefix_lists}
    assert lists[f"{DUAL}-pools6"] == PrefixList(
        f"{DUAL}-pools6", (PrefixListRule(10, PolicyAction.PERMIT, IPv6Network("2001:db8:60::/120"), None, 128),), 6
    )
    maps = {m.name: m for m in bgp.route_maps}
    assert maps[f"{DUAL}-in6"].rules == (RouteMapRule(10, PolicyAction.PERMIT, f"{DUAL}-pools6", 6),)
    assert HostEntry("web", IPv6Address("2001:db8:60::10")) in hosts
    assert HostEntry("web.lab.home", IPv4Address("10.60.10.10")) in hosts
    assert [h.address for h in hosts if h.name == "legacy"] == [IPv4Address("10.60.10.11")]


def test_the_usgs_ipv6_is_frr_with_vyattas_semantics():
    """A v6 neighbour stays active for IPv4 unicast with its top-level maps (vyatta-bgp.pl runs
    ``neighbor X activate`` with ``remote-as``), and is activated for IPv6 unicast with its
    ipv6-unicast maps; one path per prefix in both families."""
    bgp, _ = read_config_gateway(json.dumps(_dual()))
    assert bgp is not None
    text = usg_router_bgpd_conf(bgp)
    assert "no bgp default ipv4-unicast" not in text and text.startswith("frr defaults traditional\n")
    ipv4 = text.split(" address-family ipv4 unicast\n", 1)[1].split(" exit-address-family\n", 1)[0]
    assert f"  neighbor {V6_NEIGHBOR} route-map {DUAL}-in in\n" in ipv4
    assert f"neighbor {V6_NEIGHBOR} activate" not in ipv4, "active there by FRR's traditional default"
    ipv6 = text.split(" address-family ipv6 unicast\n", 1)[1].split(" exit-address-family\n", 1)[0]
    assert ipv6.splitlines() == [
        "  neighbor fd00:60::11 activate",
        f"  neighbor fd00:60::11 route-map {DUAL}-in6 in",
        f"  neighbor fd00:60::11 route-map {DUAL}-out out",
        "  neighbor fd00:60::12 activate",
        f"  neighbor fd00:60::12 route-map {DUAL}-in6 in",
        f"  neighbor fd00:60::12 route-map {DUAL}-out out",
        "  maximum-paths 1",
        "  maximum-paths ibgp 1",
    ]
    assert f"\nipv6 prefix-list {DUAL}-pools6 seq 10 permit 2001:db8:60::/120 le 128\n" in text
    assert f"\nroute-map {DUAL}-in6 permit 10\n match ipv6 address prefix-list {DUAL}-pools6\nexit\n" in text


def test_an_ipv4_only_usg_gets_no_ipv6_family():
    bgp, _ = read_config_gateway(rendered_files("Pulumi.lab.yaml")["config.gateway.json"])
    assert bgp is not None and "ipv6" not in usg_router_bgpd_conf(bgp)


@needs_vtysh
def test_frr_accepts_the_dual_stack_translation(tmp_path):
    bgp, _ = read_config_gateway(json.dumps(_dual()))
    assert bgp is not None
    conf = tmp_path / "bgpd.conf"
    conf.write_text(usg_router_bgpd_conf(bgp))
    result = subprocess.run(["vtysh", "-C", "-f", str(conf)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("change", "path", "why"),
    [
        # Vyatta's prefix-list6 templates (vyos/vyatta-cfg-quagga@vyatta/VC6.3-2011.10.04/amd64):
        (lambda d: _rule6(d).update({"le": "129"}), r"rule\.10\.le", "le must be between 0 and 128"),
        (lambda d: _rule6(d).update({"ge": "120"}), r"rule\.10\.ge", "ge must be greater than prefix length"),
        (lambda d: _rule6(d).update({"ge": "124", "le": "122"}), r"rule\.10\.le", "le must be greater than or equal"),
        (lambda d: _rule6(d).update({"prefix": "10.60.10.0/26"}), r"rule\.10\.prefix", "not a valid IPv6 network"),
        (
            lambda d: d["policy"]["prefix-list6"].update({"pools_6": {"rule": {"1": dict(_rule6(d))}}}),
            r"prefix-list6\.pools_6",
            "prefix-list6 name must be alpha-numeric",
        ),
        (
            lambda d: d["policy"]["route-map"][f"{DUAL}-in6"]["rule"]["10"]["match"]["ipv6"]["address"].update(
                {"prefix-list": f"{DUAL}-pools"}
            ),
            r"match\.ipv6\.address\.prefix-list",
            f"prefix-list6 {DUAL}-pools does not exist",
        ),
        (
            lambda d: _v6_neighbor(d)["address-family"]["ipv6-unicast"]["route-map"].update({"import": "nope"}),
            r"ipv6-unicast\.route-map\.import",
            "route-map nope doesn't exist",
        ),
        # Quagga's lib/plist.c: le must exceed the prefix length in both families.
        (
            lambda d: _rule6(d).update({"prefix": "2001:db8:60::10/128"}),
            r"rule\.10\.le",
            "Invalid prefix range for 2001:db8:60::10/128",
        ),
        (lambda d: _rule6(d).update({"le": "120"}), r"rule\.10\.le", "Invalid prefix range for 2001:db8:60::/120"),
        (
            lambda d: d["protocols"]["bgp"]["64512"]["neighbor"].update({"fd00::60::1": {"remote-as": "64512"}}),
            r"neighbor\.fd00::60::1",
            "a neighbour is an IPv4 or an IPv6 address",
        ),
    ],
)
def test_what_the_usg_refuses_in_ipv6_is_refused(change, path, why):
    with pytest.raises(GatewayRefuses, match=rf"{path}: .*{why}"):
        read_config_gateway(_dual_with(change))


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: _v6_neighbor(d)["address-family"].update({"ipv4-unicast": {}}), r"address-family\.ipv4-unicast"),
        (
            lambda d: _v6_neighbor(d)["address-family"]["ipv6-unicast"].update({"nexthop-self": "''"}),
            r"ipv6-unicast\.nexthop-self",
        ),
        (
            lambda d: d["policy"]["route-map"][f"{DUAL}-in6"]["rule"]["10"]["match"].update(
                {"ip": {"address": {"prefix-list": f"{DUAL}-pools"}}}
            ),
            r"match\.ip: exactly one of match ip and match ipv6",
        ),
        (
            lambda d: d["system"]["static-host-mapping"]["host-name"]["web.lab.home"].update(
                {"inet": ["2001:db8:60::10", "10.60.10.10"]}
            ),
            r"inet: 2 addresses \(1 IPv4, 1 IPv6\): one per family, the IPv4 first",
        ),
        (
            lambda d: d["system"]["static-host-mapping"]["host-name"]["web.lab.home"].update(
                {"inet": ["2001:db8:60::10", "2001:db8:60::11"]}
            ),
            r"inet: 2 addresses \(0 IPv4, 2 IPv6\)",
        ),
    ],
)
def test_ipv6_fields_not_modeled_are_refused(change, path):
    with pytest.raises(UnmodeledField, match=path):
        read_config_gateway(_dual_with(change))


def test_the_dual_stack_file_fits_the_usg_schema():
    if not USG_SCHEMA.exists():
        pytest.skip(f"USG schema not available at {USG_SCHEMA} (reference data lives outside the repo)")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    validator = jsonschema.Draft7Validator(yaml.load(USG_SCHEMA.read_text(encoding="utf-8"), Loader=loader))
    assert [e.message for e in validator.iter_errors(_dual())] == []


def test_aaaa_records_beside_a_records():
    records = read_dns_records(rendered_files("dual-stack-unifi-os")["dns-records.json"])
    assert HostEntry("ha", IPv6Address("2001:db8:70::10"), 60) in records
    assert HostEntry("ha", IPv4Address("10.70.10.10"), 60) in records
    assert len(records) == 6


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda r: r.update({"record_type": "AAAA"}), r"\[0\]\.value: not an AAAA value"),
        (lambda r: r.update({"value": "2001:db8:70::10"}), r"\[0\]\.value: not an A value"),
    ],
)
def test_a_record_of_the_other_family_is_refused(change, path):
    records = json.loads(rendered_files("dual-stack-unifi-os")["dns-records.json"])
    change(records[0])
    with pytest.raises(UnmodeledField, match=path):
        read_dns_records(json.dumps(records))
