"""`metallb-unifi:services`: each Service's host names, pinned address, ports and selector."""

from __future__ import annotations

from components.config.parse import parse_lab
from tests.config.raw_labs import DROP, LABEL_RULE, REQUIRED, Case, assert_problem, cases, edited, k

HOST_NAMES: dict[str, Case] = {
    "services[0].name": ("usg", [(("services", 0, "name"), DROP)], "services[0].name", REQUIRED),
    "uppercase service name": (
        "usg",
        [(("services", 0, "name"), "Grafana")],
        "services[0].name",
        f"'Grafana' is not a host name label: {LABEL_RULE}",
    ),
    "service name starts with '-'": (
        "usg",
        [(("services", 0, "name"), "-grafana")],
        "services[0].name",
        "'-grafana' is not a host name label",
    ),
    "service name with '_'": (
        "usg",
        [(("services", 0, "name"), "graf_ana")],
        "services[0].name",
        "'graf_ana' is not a host name label",
    ),
    "service name with a dot": (
        "usg",
        [(("services", 0, "name"), "graf.ana")],
        "services[0].name",
        "'graf.ana' is not a host name label",
    ),
    "service name of 64 characters": (
        "usg",
        [(("services", 0, "name"), "a" * 64)],
        "services[0].name",
        "is not a host name label",
    ),
    "service name not a string": (
        "usg",
        [(("services", 0, "name"), 42)],
        "services[0].name",
        "must be a non-empty string, got a number",
    ),
    "alias with '_'": (
        "usg",
        [(("services", 0, "aliases"), ["bad_alias"])],
        "services[0].aliases[0]",
        "'bad_alias' is not a DNS name: dot-separated labels",
    ),
    "alias with an empty label": (
        "usg",
        [(("services", 0, "aliases"), ["ok..double"])],
        "services[0].aliases[0]",
        "'ok..double' is not a DNS name",
    ),
    # Regression: the name patterns ended in '$', which also matches before a trailing newline.
    "alias with a newline": (
        "usg",
        [(("services", 0, "aliases"), ["dash\n.x"])],
        "services[0].aliases[0]",
        "is not a DNS name",
    ),
    "host name longer than 253": (
        "usg",
        [(("services", 0, "name"), "s" * 63), (("gateway", "dnsDomain"), ".".join(["d" * 63] * 3))],
        "services[0].name",
        "is longer than 253 characters",
    ),
}


@cases(HOST_NAMES)
def test_host_names_must_be_dns_names(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


DUPLICATES: dict[str, Case] = {
    "duplicate service name": (
        "usg",
        [(("services", 1, "name"), "grafana")],
        "services[1].name",
        "duplicate service name 'grafana'",
    ),
    "alias is another service's name": (
        "usg",
        [(("services", 1, "aliases"), ["grafana"])],
        "services[1].aliases[0]",
        "host name 'grafana' is already used by metallb-unifi:services[0].name",
    ),
    "alias is another service's name.domain": (
        "usg",
        [(("services", 1, "aliases"), ["grafana.lab.home"])],
        "services[1].aliases[0]",
        "host name 'grafana.lab.home' is already used by metallb-unifi:services[0].name",
    ),
    "alias is another service's alias": (
        "usg",
        [(("services", 0, "aliases"), ["dash"]), (("services", 1, "aliases"), ["dash"])],
        "services[1].aliases[0]",
        "host name 'dash' is already used by metallb-unifi:services[0].aliases[0]",
    ),
    "alias repeated in one service": (
        "usg",
        [(("services", 0, "aliases"), ["dash", "dash"])],
        "services[0].aliases[1]",
        "host name 'dash' is already used by metallb-unifi:services[0].aliases[0]",
    ),
    "alias is the service's own name": (
        "usg",
        [(("services", 0, "aliases"), ["grafana"])],
        "services[0].aliases[0]",
        "host name 'grafana' is already this service's name",
    ),
    "same Kubernetes Service twice": (
        "usg",
        [(("services", 1, "namespace"), "monitoring"), (("services", 1, "serviceName"), "grafana")],
        "services[1].serviceName",
        "Service monitoring/grafana is already configured by metallb-unifi:services[0]",
    ),
}


@cases(DUPLICATES)
def test_duplicate_names(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


ADDRESSES: dict[str, Case] = {
    "service address": (
        "usg",
        [(("services", 0, "address"), "10.20.10.x")],
        "services[0].address",
        "'10.20.10.x' is not an IPv4 address",
    ),
    "outside every pool": (
        "usg",
        [(("services", 0, "address"), "10.20.11.5")],
        "services[0].address",
        "10.20.11.5 is outside every pool",
    ),
    "outside its chosen pool": (
        "usg",
        [(("services", 0, "pool"), "lan")],
        "services[0].address",
        "10.20.10.10 is outside pool 'lan'",
    ),
    "chosen pool does not exist": (
        "usg",
        [(("services", 0, "pool"), "nope")],
        "services[0].pool",
        "no pool named 'nope'; pools: lan, routed",
    ),
    "pinned twice": (
        "usg",
        [(("services", 1, "address"), "10.20.10.10")],
        "services[1].address",
        "10.20.10.10 is also pinned by metallb-unifi:services[0]; to share one address, "
        "give every such service the same sharedIP key",
    ),
    "pinned twice with different sharedIP keys": (
        "usg",
        [
            (("services", 0, "sharedIP"), "one"),
            (("services", 1, "sharedIP"), "two"),
            (("services", 1, "address"), "10.20.10.10"),
        ],
        "services[1].address",
        "10.20.10.10 is also pinned by metallb-unifi:services[0]",
    ),
    "pinned twice, only one with sharedIP": (
        "usg",
        [(("services", 0, "sharedIP"), "one"), (("services", 1, "address"), "10.20.10.10")],
        "services[1].address",
        "give every such service the same sharedIP key",
    ),
    "shared address, same port": (
        "usg",
        [
            (("services", 0, "sharedIP"), "web"),
            (("services", 1, "sharedIP"), "web"),
            (("services", 1, "address"), "10.20.10.10"),
            (("services", 1, "ports"), [{"port": 80}]),
        ],
        "services[1].ports",
        "shares 10.20.10.10 with metallb-unifi:services[0] but both use 80/TCP",
    ),
    "no pool assigns automatically": (
        "usg",
        [(("metallb", "pools", 0, "autoAssign"), False), (("metallb", "pools", 1, "autoAssign"), False)],
        "services[1].address",
        "no pool assigns addresses automatically (autoAssign: false everywhere)",
    ),
}


@cases(ADDRESSES)
def test_pinned_service_addresses(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


def test_services_may_share_an_address_with_the_same_shared_ip_key_and_distinct_ports() -> None:
    raw = edited(
        "usg",
        (("services", 0, "sharedIP"), "web"),
        (("services", 1, "sharedIP"), "web"),
        (("services", 1, "address"), "10.20.10.10"),
    )
    lab = parse_lab(raw, stack="lab")
    assert lab.services[0].addresses == lab.services[1].addresses
    assert {s.shared_ip_key for s in lab.services} == {"web"}


PORTS: dict[str, Case] = {
    "ports[0].port": ("usg", [(("services", 0, "ports", 0, "port"), DROP)], "services[0].ports[0].port", REQUIRED),
    "second port without a name": (
        "usg",
        [(("services", 0, "ports"), [{"port": 80, "name": "http"}, {"port": 443}])],
        "services[0].ports[1].name",
        "is required when a Service has more than one port",
    ),
    "port twice": (
        "usg",
        [(("services", 0, "ports"), [{"port": 80, "name": "a"}, {"port": 80, "name": "b"}])],
        "services[0].ports[1].port",
        "duplicate port '80/TCP'",
    ),
    # The duplicate is named by its place in the list, even after an invalid item.
    "duplicate port after an invalid port": (
        "usg",
        [
            (("services", 0, "ports"), [{"port": 0}, {"name": "a", "port": 80}, {"name": "b", "port": 80}]),
        ],
        "services[0].ports[2].port",
        "duplicate port '80/TCP' (also at metallb-unifi:services[0].ports[1].port)",
    ),
    "port out of range": (
        "usg",
        [(("services", 0, "ports", 0, "port"), 70000)],
        "services[0].ports[0].port",
        "70000 is out of range: allowed 1..65535",
    ),
    "bad target port name": (
        "usg",
        [(("services", 0, "ports", 0, "targetPort"), "HTTP")],
        "services[0].ports[0].targetPort",
        "'HTTP' is not a port name",
    ),
    # Regression: str.isdigit() accepts '²' and other non-ASCII digits that int() rejects (ValueError).
    "targetPort '²'": (
        "usg",
        [(("services", 0, "ports", 0, "targetPort"), "²")],
        "services[0].ports[0].targetPort",
        "'²' is not a port name",
    ),
    # Regression: targetPort: null made the port invalid without a problem; parse_lab then failed an assert.
    "targetPort null": (
        "usg",
        [(("services", 0, "ports", 0, "targetPort"), None)],
        "services[0].ports[0].targetPort",
        "has no value",
    ),
    "unknown key in a port": (
        "usg",
        [(("services", 0, "ports", 0, "targetport"), 3000)],
        "services[0].ports[0].targetport",
        "did you mean 'targetPort'?",
    ),
}


@cases(PORTS)
def test_ports(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)


SERVICE_KEYS: dict[str, Case] = {
    "services not a list": ("usg", [(("services",), {"grafana": {}})], "services", "must be a list, got an object"),
    "unknown key in a service": (
        "usg",
        [(("services", 0, "aliasses"), ["dash"])],
        "services[0].aliasses",
        "did you mean 'aliases'?",
    ),
    "services[0].ports of a created Service": (
        "usg",
        [(("services", 0, "ports"), DROP)],
        "services[0].ports",
        "is required for a Service this program creates (existing: false)",
    ),
    "services[0].selector of a created Service": (
        "usg",
        [(("services", 0, "selector"), DROP)],
        "services[0].selector",
        "is required for a Service this program creates (existing: false)",
    ),
    "existing Service with ports": (
        "usg",
        [(("services", 0, "existing"), True)],
        "services[0].ports",
        "an existing Service keeps its own ports and selector",
    ),
    # Regression: the name patterns ended in '$', which also matches before a trailing newline.
    "label value with a newline": (
        "usg",
        [(("services", 0, "selector"), {"app": "grafana\n"})],
        "services[0].selector.app",
        "is not a valid Kubernetes label value",
    ),
    "bad traffic policy": (
        "usg",
        [(("services", 0, "externalTrafficPolicy"), "local")],
        "services[0].externalTrafficPolicy",
        "'local' is not allowed; choose one of: Cluster, Local",
    ),
}


@cases(SERVICE_KEYS)
def test_created_and_existing_services_selector_and_traffic_policy(base, edits, key, fragment):
    assert_problem(edited(base, *edits), k(key), fragment)
