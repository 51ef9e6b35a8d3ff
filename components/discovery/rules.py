"""Which of the cluster's Services get a host name on the gateway, and which names.

Pure: the Services come in as the Kubernetes API returns them (dicts), names and warnings go
out. Cluster data never makes this fail: whatever is wrong with a Service costs that Service
(or one of its names) its host name, with a warning, and nothing else. The rules:

* Candidates: Services of ``spec.type`` LoadBalancer, in ``discovery.namespaces`` when set,
  that the stack does not declare itself (same namespace and ``serviceName``).
* The host name is ``metallb-unifi.io/hostname`` (a DNS label, which becomes
  ``<label>.<dnsDomain>``, or a name below ``dnsDomain``); without it, the
  ``external-dns.alpha.kubernetes.io/hostname`` names below ``dnsDomain`` (the first is the
  host name, the others aliases; names elsewhere are other DNS servers' and are ignored); with
  neither and ``mode: all``, ``<Service name>.<dnsDomain>``.
* A host name one label below ``dnsDomain`` brings that label as an alias (as a declared
  service's ``name`` does); ``metallb-unifi.io/aliases`` adds more.
* Annotation text: comma lists, spaces around items and empty items ignored, lowercased, one
  trailing dot dropped (``grafana.lab.example.`` is ``grafana.lab.example``). A wildcard is
  skipped: a static host name on a USG (a hosts-file line) or UniFi OS (an A record) is one
  exact name.
* The addresses are, per family, the lowest ingress address inside one of this stack's pools:
  an IPv4 one (an A record, an ``inet`` line), an IPv6 one (AAAA, ``inet``), or both for a
  dual-stack Service (MetalLB gives it one of each: metallb/metallb@v0.15.3:controller/service.go
  convergeBalancer), which then has one name with both, IPv4 first.
* Conflicts: a name the stack owns (a declared service's host name or alias, or a host name in
  the USG base file) stays the stack's; a name discovered Services want on different addresses
  goes to none of them; the same name on the same addresses (a TCP and a UDP Service of one app)
  is one name, held by the first Service by ``namespace/name``. Addresses are compared whole: a
  single-stack and a dual-stack Service sharing their IPv4 address are on different addresses,
  since the name's AAAA record would send the first one's clients where it does not answer. A
  host name, and the label it brings, are never another entry's alias. A Service that loses its
  host name gets no name; a lost alias is lost alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any

from components.config.base_config import base_host_names
from components.config.errors import key_path
from components.config.model import DiscoveryMode, IPAddress, Lab, by_family
from components.config.values import is_dns_label, is_dns_name

HOSTNAME = "metallb-unifi.io/hostname"
ALIASES = "metallb-unifi.io/aliases"
EXTERNAL_DNS = "external-dns.alpha.kubernetes.io/hostname"


@dataclass(frozen=True)
class DiscoveredName:
    """One discovered host name: the Service holding it, its addresses, aliases and URL."""

    namespace: str
    name: str  # the Kubernetes Service's
    addresses: tuple[IPAddress, ...]  # one or one per family, IPv4 first
    hostname: str
    aliases: tuple[str, ...]
    url: str | None  # None: the Service has no TCP port to point a URL at

    @property
    def service(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def names(self) -> tuple[str, ...]:
        return (self.hostname, *self.aliases)


@dataclass(frozen=True)
class DiscoveryResult:
    entries: tuple[DiscoveredName, ...] = ()  # sorted by host name
    warnings: tuple[str, ...] = ()  # sorted


@dataclass(frozen=True)
class _Candidate:
    namespace: str
    name: str
    addresses: tuple[IPAddress, ...]  # one or one per family, IPv4 first
    names: tuple[str, ...]  # the host name first
    url: str | None

    @property
    def service(self) -> str:
        return f"{self.namespace}/{self.name}"


def discover(lab: Lab, services: Sequence[Mapping[str, Any]]) -> DiscoveryResult:
    """The discovered names of ``services`` (any type, as the API lists them) for ``lab``."""
    if lab.discovery is None:
        return DiscoveryResult()
    warnings: list[str] = []
    candidates: dict[tuple[str, str], _Candidate] = {}
    for raw in services:
        candidate = _candidate(lab, raw, warnings)
        if candidate is not None:
            candidates.setdefault((candidate.namespace, candidate.name), candidate)
    ordered = [candidates[key] for key in sorted(candidates)]
    entries = _resolve(lab, ordered, warnings)
    return DiscoveryResult(entries=entries, warnings=tuple(sorted(set(warnings))))


# --- one Service -------------------------------------------------------------------------


def _candidate(lab: Lab, raw: Mapping[str, Any], warnings: list[str]) -> _Candidate | None:
    assert lab.discovery is not None
    metadata, spec = _object(raw, "metadata"), _object(raw, "spec")
    namespace, name = metadata.get("namespace"), metadata.get("name")
    if spec.get("type") != "LoadBalancer" or not isinstance(namespace, str) or not isinstance(name, str):
        return None
    if lab.discovery.namespaces and namespace not in lab.discovery.namespaces:
        return None
    if any((s.namespace, s.service_name) == (namespace, name) for s in lab.services):
        return None  # declared: the stack names it already
    service = f"{namespace}/{name}"
    raw_annotations = _object(metadata, "annotations")
    annotations = {k: v for k, v in raw_annotations.items() if isinstance(k, str) and isinstance(v, str)}
    names, annotated = _names(lab, service, name, annotations, warnings)
    if not names:
        return None
    ingress = ingress_addresses(raw)
    if not ingress:
        warnings.append(
            f"Service {service}: no address from MetalLB yet; it gets its host name at the next `pulumi up`"
        )
        return None
    ours = _lowest_per_family(a for a in ingress if any(a in pool for pool in lab.metallb.pools))
    if not ours:
        if annotated:  # asked for by name: say why it gets none; `mode: all` stays quiet about others' Services
            shown = ", ".join(str(a) for a in ingress)
            warnings.append(f"Service {service}: its address {shown} is in none of this stack's pools; no host name")
        return None
    return _Candidate(namespace, name, ours, names, _url(spec, names[0]))


def _names(
    lab: Lab, service: str, name: str, annotations: Mapping[str, str], warnings: list[str]
) -> tuple[tuple[str, ...], bool]:
    """The Service's names, its host name first, and whether an annotation asked for them."""
    assert lab.discovery is not None
    domain = lab.gateway.dns_domain
    hosts: list[str] = []
    if HOSTNAME in annotations:
        host = _own_hostname(annotations[HOSTNAME], domain)
        if host is None:
            warnings.append(
                f"Service {service}: {HOSTNAME} {annotations[HOSTNAME]!r} is neither a DNS label nor a DNS name "
                f"below {domain}; it gets no host name"
            )
            return (), True
        hosts.append(host)
    else:
        for item in _items(annotations.get(EXTERNAL_DNS, "")):
            if not item.endswith(f".{domain}"):
                continue  # a name for another DNS server
            if item.startswith("*"):
                warnings.append(
                    f"Service {service}: {EXTERNAL_DNS} {item!r} is a wildcard; a gateway's static host names "
                    "are exact names, so it is skipped"
                )
            elif not is_dns_name(item):
                warnings.append(f"Service {service}: {EXTERNAL_DNS} {item!r} is not a valid DNS name; skipped")
            else:
                hosts.append(item)
    annotated = bool(hosts)
    if not hosts and HOSTNAME not in annotations and lab.discovery.mode is DiscoveryMode.ALL:
        # The API admits only DNS-1035 labels as Service names; a dump file may hold anything.
        if is_dns_label(name) and is_dns_name(f"{name}.{domain}"):
            hosts.append(f"{name}.{domain}")
        else:
            warnings.append(f"Service {service}: its name is not a DNS label; set {HOSTNAME} to name it")
    if not hosts:
        if ALIASES in annotations:
            warnings.append(f"Service {service}: {ALIASES} is set but the Service has no host name; set {HOSTNAME}")
        return (), annotated
    names: list[str] = []
    for host in hosts:
        names.append(host)
        label = host.removesuffix(f".{domain}")
        if "." not in label:
            names.append(label)
    for alias in _items(annotations.get(ALIASES, "")):
        if is_dns_name(alias):
            names.append(alias)
        else:
            warnings.append(f"Service {service}: {ALIASES} {alias!r} is not a valid DNS name; skipped")
    return tuple(dict.fromkeys(names)), annotated


def _own_hostname(value: str, domain: str) -> str | None:
    text = _clean(value)
    host = f"{text}.{domain}" if is_dns_label(text) else text
    return host if host.endswith(f".{domain}") and is_dns_name(host) else None


def _items(text: str) -> list[str]:
    return [item for item in (_clean(part) for part in text.split(",")) if item]


def _clean(text: str) -> str:
    text = text.strip().lower()
    return text[:-1] if text.endswith(".") else text


def ingress_addresses(service: Mapping[str, Any]) -> list[IPAddress]:
    """A Service's external IP addresses, of either family (``status.loadBalancer.ingress[].ip``),
    as dumped, in that order."""
    addresses = []
    for entry in _object(_object(service, "status"), "loadBalancer").get("ingress") or []:
        ip = entry.get("ip") if isinstance(entry, Mapping) else None
        if not isinstance(ip, str):
            continue  # a host name (a cloud balancer's): not something these gateways map
        try:
            addresses.append(ip_address(ip))
        except ValueError:
            continue
    return addresses


def _lowest_per_family(addresses: Iterable[IPAddress]) -> tuple[IPAddress, ...]:
    """The lowest address of each family, IPv4 first (MetalLB gives one of each; a status written
    by hand may hold more)."""
    lowest: dict[int, IPAddress] = {}
    for address in by_family(addresses):
        lowest.setdefault(address.version, address)
    return tuple(lowest.values())


def _url(spec: Mapping[str, Any], hostname: str) -> str | None:
    """Like a declared service's URL: its first TCP port; https only on 443."""
    for port in spec.get("ports") or []:
        if not isinstance(port, Mapping) or port.get("protocol", "TCP") != "TCP":
            continue
        number = port.get("port")
        if isinstance(number, float) and number.is_integer():
            number = int(number)
        if isinstance(number, int) and not isinstance(number, bool):
            scheme, default = ("https", 443) if number == 443 else ("http", 80)
            return f"{scheme}://{hostname}{'' if number == default else f':{number}'}/"
    return None


def _object(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = parent.get(key) if isinstance(parent, Mapping) else None
    return value if isinstance(value, Mapping) else {}


# --- across Services -----------------------------------------------------------------------


def _stack_names(lab: Lab) -> dict[str, str]:
    """Every name the stack owns → the key that owns it."""
    domain = lab.gateway.dns_domain
    owners: dict[str, str] = {}
    for index, service in enumerate(lab.services):
        for name in (service.hostname(domain), *service.all_aliases):
            owners.setdefault(name, key_path("services", index))
    for name in sorted(base_host_names(lab)):
        owners.setdefault(name, key_path("gateway", "baseConfigFile"))
    return owners


def _resolve(lab: Lab, candidates: list[_Candidate], warnings: list[str]) -> tuple[DiscoveredName, ...]:
    owners = _stack_names(lab)
    survivors: list[tuple[_Candidate, list[str]]] = []
    for candidate in candidates:
        host, *aliases = candidate.names
        if host in owners:
            warnings.append(
                f"Service {candidate.service}: its host name {host!r} belongs to {owners[host]}, "
                "which wins; the Service gets no host name"
            )
            continue
        for alias in aliases:
            if alias in owners:
                warnings.append(
                    f"Service {candidate.service}: its alias {alias!r} belongs to {owners[alias]}, "
                    "which wins; the alias is skipped"
                )
        survivors.append((candidate, [host, *(a for a in aliases if a not in owners)]))

    wanted: dict[str, dict[tuple[IPAddress, ...], list[_Candidate]]] = {}
    for candidate, names in survivors:
        for name in names:
            wanted.setdefault(name, {}).setdefault(candidate.addresses, []).append(candidate)
    contested = {name for name, by_address in wanted.items() if len(by_address) > 1}
    for name in sorted(contested):
        holders = sorted(
            ((c.service, c.addresses, c.names[0] == name) for group in wanted[name].values() for c in group),
            key=lambda holder: holder[0],  # one candidate per Service
        )
        text = ", ".join(f"{service} ({', '.join(map(str, addresses))})" for service, addresses, _ in holders)
        lost = [service for service, _, was_host in holders if was_host]
        warnings.append(
            f"the name {name!r} is wanted by Services on different addresses: {text}; none of them gets it"
            + (f" ({', '.join(lost)} thus get{'s' if len(lost) == 1 else ''} no host name)" if lost else "")
        )

    merged: dict[str, list[tuple[_Candidate, list[str]]]] = {}
    for candidate, names in survivors:
        if names[0] not in contested:
            merged.setdefault(names[0], []).append((candidate, [n for n in names[1:] if n not in contested]))
    # A host name, and the label it brings, stay its own: never another entry's alias.
    own = {host: label for host in merged if "." not in (label := host.removesuffix(f".{lab.gateway.dns_domain}"))}
    taken = set(merged) | set(own.values())
    entries = []
    for host in sorted(merged):
        group = merged[host]  # the same addresses: others would have made the host name contested
        first = group[0][0]
        aliases = [own[host]] if host in own and own[host] in group[0][1] else []
        aliases = list(dict.fromkeys(aliases + [a for _, names in group for a in names if a not in taken]))
        taken.update(aliases)
        url = next((c.url for c, _ in group if c.url is not None), None)
        entries.append(DiscoveredName(first.namespace, first.name, first.addresses, host, tuple(aliases), url))
    return tuple(entries)
