"""discover(): which Services get host names, which names, and every warning's exact text."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, ip_address

from components.discovery.rules import DiscoveredName, DiscoveryResult, discover
from tests.discovery.labs import dual_lab, lab, named, service

HOST, ALIASES, EXTERNAL = (
    "metallb-unifi.io/hostname",
    "metallb-unifi.io/aliases",
    "external-dns.alpha.kubernetes.io/hostname",
)


def entry(
    name: str, host: str, aliases: tuple[str, ...], ip: str | tuple[str, ...] = "10.20.10.50", **kw: str | None
) -> DiscoveredName:
    url = kw.get("url", f"http://{host}/")
    ips = (ip,) if isinstance(ip, str) else ip
    return DiscoveredName(kw.get("namespace") or "apps", name, tuple(map(ip_address, ips)), host, aliases, url)


def test_without_the_discovery_key_nothing_is_discovered() -> None:
    assert discover(replace(lab(), discovery=None), [named("grafana", "grafana")]) == DiscoveryResult()


def test_a_hostname_label_gives_the_name_in_the_domain_with_the_label_as_alias() -> None:
    result = discover(lab(), [named("grafana", "grafana", ports=[(3000, "TCP")])])
    assert result == DiscoveryResult(
        (entry("grafana", "grafana.lab.example", ("grafana",), url="http://grafana.lab.example:3000/"),), ()
    )


def test_a_full_hostname_is_lowercased_and_loses_its_trailing_dot_and_deeper_names_get_no_short_alias() -> None:
    result = discover(
        lab(),
        [
            named("a", " Grafana.Lab.Example. ", ports=[(443, "TCP")]),
            named("b", "prom.apps.lab.example", ip="10.20.10.51", annotations={ALIASES: "prometheus, ,metrics.lab."}),
        ],
    )
    assert result.entries == (
        entry("a", "grafana.lab.example", ("grafana",), url="https://grafana.lab.example/"),
        entry("b", "prom.apps.lab.example", ("prometheus", "metrics.lab"), "10.20.10.51"),
    )
    assert result.warnings == ()


def test_invalid_hostname_and_alias_annotations_are_skipped_with_warnings() -> None:
    result = discover(
        lab(),
        [
            named("bad", "grafana.other.example"),
            named("worse", "under_score", ip="10.20.10.51"),
            named("ok", "ok", ip="10.20.10.52", annotations={ALIASES: "fine,no_way,-dash"}),
            service("lonely", ip="10.20.10.53", annotations={ALIASES: "x"}),
        ],
    )
    assert [e.hostname for e in result.entries] == ["ok.lab.example"]
    assert result.entries[0].aliases == ("ok", "fine")
    assert result.warnings == (
        "Service apps/bad: metallb-unifi.io/hostname 'grafana.other.example' is neither a DNS label nor a DNS name "
        "below lab.example; it gets no host name",
        "Service apps/lonely: metallb-unifi.io/aliases is set but the Service has no host name; "
        "set metallb-unifi.io/hostname",
        "Service apps/ok: metallb-unifi.io/aliases '-dash' is not a valid DNS name; skipped",
        "Service apps/ok: metallb-unifi.io/aliases 'no_way' is not a valid DNS name; skipped",
        "Service apps/worse: metallb-unifi.io/hostname 'under_score' is neither a DNS label nor a DNS name "
        "below lab.example; it gets no host name",
    )


def test_external_dns_names_inside_the_domain_count_the_rest_are_ignored_and_wildcards_warned() -> None:
    annotations = {EXTERNAL: "grafana.example.com,*.lab.example, Grafana.lab.example.,a_b.lab.example,g2.lab.example"}
    result = discover(lab(), [service("grafana", annotations=annotations)])
    assert result.entries == (entry("grafana", "grafana.lab.example", ("grafana", "g2.lab.example", "g2")),)
    assert result.warnings == (
        "Service apps/grafana: external-dns.alpha.kubernetes.io/hostname '*.lab.example' is a wildcard; "
        "a gateway's static host names are exact names, so it is skipped",
        "Service apps/grafana: external-dns.alpha.kubernetes.io/hostname 'a_b.lab.example' is not a valid DNS name; "
        "skipped",
    )


def test_our_hostname_annotation_takes_precedence_over_external_dns() -> None:
    result = discover(lab(), [named("g", "mine", annotations={EXTERNAL: "theirs.lab.example"})])
    assert result.entries == (entry("g", "mine.lab.example", ("mine",)),)


def test_only_external_dns_names_elsewhere_means_not_annotated_for_us() -> None:
    services = [service("web", annotations={EXTERNAL: "web.example.com"})]
    assert discover(lab(), services) == DiscoveryResult()
    assert discover(lab(mode="all"), services).entries == (entry("web", "web.lab.example", ("web",)),)


def test_mode_all_names_unannotated_services_by_their_name_annotated_mode_does_not() -> None:
    services = [service("jellyfin", "media"), named("grafana", "grafana", ip="10.20.10.51")]
    assert [e.hostname for e in discover(lab(), services).entries] == ["grafana.lab.example"]
    assert discover(lab(mode="all"), services).entries == (
        entry("grafana", "grafana.lab.example", ("grafana",), "10.20.10.51"),
        entry("jellyfin", "jellyfin.lab.example", ("jellyfin",), namespace="media"),
    )


def test_mode_all_warns_about_a_service_name_that_is_not_a_dns_label() -> None:
    result = discover(lab(mode="all"), [service("Not_A_Label")])
    assert result == DiscoveryResult(
        (), ("Service apps/Not_A_Label: its name is not a DNS label; set metallb-unifi.io/hostname to name it",)
    )


def test_only_load_balancers_in_the_namespaces_and_not_the_declared_ones() -> None:
    services = [
        service("cluster-ip", type_="ClusterIP", ip=None),
        service("node-port", type_="NodePort", ip=None),
        service("elsewhere", "other"),
        service("kubernetes-dashboard", "kubernetes-dashboard", ip="10.20.10.10"),  # declared by the stack
        service("kept", ip="10.20.10.60"),
    ]
    result = discover(lab(mode="all", namespaces=["apps", "kubernetes-dashboard"]), services)
    assert result == DiscoveryResult((entry("kept", "kept.lab.example", ("kept",), "10.20.10.60"),), ())


def test_a_service_without_an_address_waits_for_the_next_up() -> None:
    # An ingress entry without an IP (a cloud balancer's host name) is no address either.
    hostname_only = service("p2", annotations={HOST: "p2"})
    hostname_only["status"]["loadBalancer"]["ingress"] = [{"hostname": "lb.example.com"}]
    result = discover(lab(mode="all"), [service("pending", ip=None), hostname_only])
    assert result == DiscoveryResult(
        (),
        (
            "Service apps/p2: no address from MetalLB yet; it gets its host name at the next `pulumi up`",
            "Service apps/pending: no address from MetalLB yet; it gets its host name at the next `pulumi up`",
        ),
    )


def test_an_address_outside_the_pools_warns_only_when_the_service_asked_for_a_name() -> None:
    services = [named("asked", "asked", ip="192.168.50.5"), service("unasked", ip="192.168.50.6")]
    result = discover(lab(mode="all"), services)
    assert result == DiscoveryResult(
        (), ("Service apps/asked: its address 192.168.50.5 is in none of this stack's pools; no host name",)
    )


def test_the_lowest_ipv4_ingress_address_in_a_pool_is_used() -> None:
    # fd00::1 is in none of this (IPv4-only) stack's pools: it is left out as 192.168.9.9 is.
    result = discover(lab(), [named("two", "two", ip=["fd00::1", "192.168.9.9", "10.20.10.90", "10.20.0.201"])])
    assert [e.addresses for e in result.entries] == [(IPv4Address("10.20.0.201"),)]


# --- dual-stack: the stack's pools hold 10.20.10.0/24 and fd00:20:10::/120 ------------------


def test_a_dual_stack_services_two_addresses_give_one_name_with_both_ipv4_first() -> None:
    services = [
        named("web", "web", ip=["fd00:20:10::7", "10.20.10.7"]),
        named("v6", "v6", ip=["fd00:20:10::8"]),  # an IPv6-only Service: an AAAA or inet name
        named("v4", "v4", ip=["10.20.10.9", "fd00:99::9"]),  # its IPv6 address is no pool's
    ]
    result = discover(dual_lab(), services)
    assert result == DiscoveryResult(
        (
            entry("v4", "v4.lab.example", ("v4",), "10.20.10.9"),
            entry("v6", "v6.lab.example", ("v6",), "fd00:20:10::8"),
            entry("web", "web.lab.example", ("web",), ("10.20.10.7", "fd00:20:10::7")),
        ),
        (),
    )


def test_an_ipv6_address_outside_the_pools_is_named_in_the_warning() -> None:
    result = discover(dual_lab(), [named("far", "far", ip=["fd00:99::5", "192.168.50.5"])])
    assert result == DiscoveryResult(
        (), ("Service apps/far: its address fd00:99::5, 192.168.50.5 is in none of this stack's pools; no host name",)
    )


def test_one_name_on_different_address_sets_goes_to_neither_even_when_one_address_is_shared() -> None:
    # pihole-udp is single-stack: the name's AAAA record would send its DNS clients where it does
    # not answer, so sharing the IPv4 address is not enough.
    services = [
        named("pihole-udp", "pihole", ip="10.20.10.53", ports=[(53, "UDP")]),
        named("pihole-tcp", "pihole", ip=["10.20.10.53", "fd00:20:10::53"], ports=[(53, "TCP")]),
        named("web-udp", "web", ip=["fd00:20:10::80", "10.20.10.80"], ports=[(443, "UDP")]),
        named("web-tcp", "web", ip=["10.20.10.80", "fd00:20:10::80"], ports=[(443, "TCP")]),
    ]
    result = discover(dual_lab(), services)
    assert result.entries == (
        entry(
            "web-tcp", "web.lab.example", ("web",), ("10.20.10.80", "fd00:20:10::80"), url="https://web.lab.example/"
        ),
    )
    assert result.warnings == (
        "the name 'pihole' is wanted by Services on different addresses: apps/pihole-tcp (10.20.10.53, "
        "fd00:20:10::53), apps/pihole-udp (10.20.10.53); none of them gets it",
        "the name 'pihole.lab.example' is wanted by Services on different addresses: apps/pihole-tcp (10.20.10.53, "
        "fd00:20:10::53), apps/pihole-udp (10.20.10.53); none of them gets it (apps/pihole-tcp, apps/pihole-udp "
        "thus get no host name)",
    )


def test_urls_follow_the_first_tcp_port_and_udp_only_has_none() -> None:
    result = discover(
        lab(),
        [
            named("dns", "dns", ports=[(53, "UDP")]),
            named("web", "web", ip="10.20.10.51", ports=[(53, "UDP"), (8443, "TCP"), (80, "TCP")]),
        ],
    )
    assert [(e.hostname, e.url) for e in result.entries] == [
        ("dns.lab.example", None),
        ("web.lab.example", "http://web.lab.example:8443/"),
    ]


def test_a_declared_host_name_wins_and_a_declared_alias_drops_only_that_alias() -> None:
    services = [
        named("fake-dash", "dashboard", ip="10.20.10.70"),
        named("tools", "tools", ip="10.20.10.71", annotations={ALIASES: "dash,t"}),
    ]
    result = discover(lab(), services)
    assert result.entries == (entry("tools", "tools.lab.example", ("tools", "t"), "10.20.10.71"),)
    assert result.warnings == (
        "Service apps/fake-dash: its host name 'dashboard.lab.example' belongs to metallb-unifi:services[0], "
        "which wins; the Service gets no host name",
        "Service apps/tools: its alias 'dash' belongs to metallb-unifi:services[0], which wins; the alias is skipped",
    )


def test_names_in_the_usg_base_file_win_too() -> None:
    result = discover(
        lab(base=True), [named("nas", "nas", ip="10.20.10.72"), named("x", "x", annotations={ALIASES: "nas"})]
    )
    assert result.entries == (entry("x", "x.lab.example", ("x",)),)
    assert result.warnings == (
        "Service apps/nas: its host name 'nas.lab.example' belongs to metallb-unifi:gateway.baseConfigFile, "
        "which wins; the Service gets no host name",
        "Service apps/x: its alias 'nas' belongs to metallb-unifi:gateway.baseConfigFile, which wins; "
        "the alias is skipped",
    )


def test_one_name_on_two_addresses_goes_to_neither_service() -> None:
    services = [
        service("grafana", "team-a", ip="10.20.10.80"),
        service("grafana", "team-b", ip="10.20.10.81"),
        named("other", "other", ip="10.20.10.82", annotations={ALIASES: "shared"}),
        named("more", "more", ip="10.20.10.83", annotations={ALIASES: "shared"}),
    ]
    result = discover(lab(mode="all"), services)
    assert result.entries == (
        entry("more", "more.lab.example", ("more",), "10.20.10.83"),
        entry("other", "other.lab.example", ("other",), "10.20.10.82"),
    )
    assert result.warnings == (
        "the name 'grafana' is wanted by Services on different addresses: team-a/grafana (10.20.10.80), "
        "team-b/grafana (10.20.10.81); none of them gets it",
        "the name 'grafana.lab.example' is wanted by Services on different addresses: team-a/grafana (10.20.10.80), "
        "team-b/grafana (10.20.10.81); none of them gets it (team-a/grafana, team-b/grafana thus get no host name)",
        "the name 'shared' is wanted by Services on different addresses: apps/more (10.20.10.83), "
        "apps/other (10.20.10.82); none of them gets it",
    )


def test_a_tcp_and_a_udp_service_on_one_address_are_one_host_name() -> None:
    services = [
        named("pihole-udp", "pihole", ports=[(53, "UDP")], annotations={ALIASES: "dns"}),
        named("pihole-tcp", "pihole", ports=[(80, "TCP"), (53, "TCP")], annotations={ALIASES: "ads"}),
    ]
    result = discover(lab(), services)
    assert result == DiscoveryResult((entry("pihole-tcp", "pihole.lab.example", ("pihole", "ads", "dns")),), ())


def test_a_host_name_is_never_also_another_entrys_alias() -> None:
    services = [named("a", "a", annotations={ALIASES: "b.lab.example,b"}), named("b", "b")]
    result = discover(lab(), services)
    assert result == DiscoveryResult((entry("a", "a.lab.example", ("a",)), entry("b", "b.lab.example", ("b",))), ())


def test_input_order_does_not_matter() -> None:
    services = [
        named("z", "zeta", ip="10.20.10.91"),
        service("grafana", "team-a", ip="10.20.10.80"),
        service("grafana", "team-b", ip="10.20.10.81"),
        named("a", "alpha", ip=None),
        named("pihole-udp", "pihole", ports=[(53, "UDP")]),
        named("pihole-tcp", "pihole"),
    ]
    forward, backward = discover(lab(mode="all"), services), discover(lab(mode="all"), services[::-1])
    assert forward == backward
    assert [(e.service, e.hostname) for e in forward.entries] == [
        ("apps/pihole-tcp", "pihole.lab.example"),
        ("apps/z", "zeta.lab.example"),
    ]
    assert len(forward.warnings) == 3
