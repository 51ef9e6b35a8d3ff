import json
from ipaddress import IPv4Address
from typing import Any

import pytest

from simulator.errors import UnmodeledField
from simulator.model import HostEntry
from simulator.translate.dns_records import read_dns_records
from simulator.translate.usg import read_config_gateway
from tests.simulator.conftest import rendered_files


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
            lambda d: _instance(d)["neighbor"]["10.20.0.11"].update({"route-map": {"import": "x"}}),
            r"neighbor\.10\.20\.0\.11\.route-map",
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
