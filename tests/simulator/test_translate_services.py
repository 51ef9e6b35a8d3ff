from ipaddress import IPv4Address, IPv6Address

import pytest
import yaml

from simulator.errors import UnmodeledField
from simulator.model import TrafficPolicy
from simulator.translate.outputs import read_expected_services
from simulator.translate.services import read_services
from tests.simulator.conftest import rendered_files


def test_the_posts_patch_of_an_existing_service():
    (service,) = read_services(rendered_files("Pulumi.lab.yaml")["services.yaml"])
    assert (service.namespace, service.name) == ("kubernetes-dashboard", "kubernetes-dashboard")
    assert service.addresses == (IPv4Address("10.10.10.10"),)
    assert (service.tcp_ports, service.traffic_policy) == ((), TrafficPolicy.CLUSTER)


def test_annotations_ports_and_policies():
    services = {s.name: s for s in read_services(rendered_files("Pulumi.crds.yaml")["services.yaml"])}
    assert services["grafana"].addresses == (IPv4Address("10.20.10.10"),)
    assert services["registry"].addresses == ()
    assert services["registry"].traffic_policy is TrafficPolicy.LOCAL
    assert (services["dns"].pool, services["dns"].udp_ports, services["dns"].tcp_ports) == ("lan", (53,), ())


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda s: s["spec"].update({"sessionAffinity": "ClientIP"}), r"spec\.sessionAffinity"),
        (lambda s: s["metadata"]["annotations"].update({"metallb.io/ip-family": "x"}), r"metallb\.io/ip-family"),
        (lambda s: s["spec"]["ports"][0].update({"protocol": "SCTP"}), r"protocol 'SCTP'"),
        (lambda s: s["spec"]["ports"][0].update({"nodePort": 30080}), r"ports\[0\]\.nodePort"),
        (lambda s: s["spec"].update({"type": "NodePort"}), r"spec\.type: value 'NodePort'"),
    ],
)
def test_service_fields_not_modeled_are_refused(change, path):
    documents = list(yaml.safe_load_all(rendered_files("Pulumi.crds.yaml")["services.yaml"]))
    change(documents[0])
    with pytest.raises(UnmodeledField, match=path):
        read_services(yaml.safe_dump_all(documents))


def test_expected_services_skip_those_without_an_address():
    expected = read_expected_services(rendered_files("Pulumi.udm.yaml")["outputs.json"])
    assert [(e.name, e.names, e.url) for e in expected] == [
        ("home-assistant", ("home-assistant.k8s.home", "home-assistant", "ha"), "http://home-assistant.k8s.home:8123/")
    ]


DUAL_SERVICES = rendered_files("dual-stack-usg")["services.yaml"]


def test_a_dual_stack_pin_is_both_addresses_in_the_annotations_order():
    services = {s.name: s for s in read_services(DUAL_SERVICES)}
    assert services["web"].addresses == (IPv4Address("10.60.10.10"), IPv6Address("2001:db8:60::10"))
    assert services["web"].ip_families == ("IPv4", "IPv6")
    assert (services["v6only"].addresses, services["v6only"].ip_families) == (
        (IPv6Address("2001:db8:60::20"),),
        ("IPv6",),
    )
    assert services["legacy"].ip_families == ()


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda s: s["spec"].update({"ipFamilies": ["IPv6", "IPv6"]}), r"spec\.ipFamilies: \['IPv6', 'IPv6'\]"),
        (lambda s: s["spec"].update({"ipFamilies": ["inet6"]}), r"spec\.ipFamilies"),
        (lambda s: s["spec"].update({"ipFamilyPolicy": "DualStack"}), r"spec\.ipFamilyPolicy: value 'DualStack'"),
    ],
)
def test_family_fields_kubernetes_refuses_are_refused(change, path):
    documents = list(yaml.safe_load_all(DUAL_SERVICES))
    change(documents[0])
    with pytest.raises(UnmodeledField, match=path):
        read_services(yaml.safe_dump_all(documents))


def test_outputs_name_one_address_per_service_of_either_family():
    expected = {e.name: e for e in read_expected_services(rendered_files("dual-stack-usg")["outputs.json"])}
    assert expected["v6only"].addresses == (IPv6Address("2001:db8:60::20"),)
    assert expected["web"].addresses == (IPv4Address("10.60.10.10"),)  # the plan adds the Service's IPv6 pin
