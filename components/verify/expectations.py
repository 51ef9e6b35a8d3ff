"""What the lab should show once the stack is up: the gateway's BGP neighbours, the service
addresses it routes, the names it resolves and the services that answer.

Built from the parsed stack config and the addresses the stack knows (pinned, allocated by
MetalLB, discovered), and carried as JSON to the command that ``pulumi up`` runs, so the checks
in ``up`` and on the command line expect the same things. Holds no secret."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any, Final

from components.config.model import IPAddress, Lab, Protocol, Service, ServiceAddresses, by_family
from components.discovery.rules import DiscoveredName

FORMAT: Final = 1


@dataclass(frozen=True)
class ExpectedNode:
    name: str
    address: IPv4Address
    address6: IPv6Address | None = None  # set when the node peers over IPv6 too (Lab.peering_nodes6)

    def __str__(self) -> str:
        return f"{self.name} ({self.address})"


@dataclass(frozen=True)
class ExpectedRoute:
    """A service address announced over BGP: the gateway should route it via a node."""

    address: IPAddress
    services: tuple[str, ...]  # the services holding it (a shared IP has several)


@dataclass(frozen=True)
class ExpectedName:
    name: str
    address: IPAddress
    service: str


@dataclass(frozen=True)
class ExpectedEndpoint:
    """A service's first port: ``subject`` is its URL, or ``address:port`` without one."""

    subject: str
    address: IPAddress
    port: int
    scheme: str  # tcp | http | https
    host: str | None  # the URL's host name: the HTTP Host header and TLS server name
    service: str


@dataclass(frozen=True)
class Expectations:
    stack: str
    gateway_kind: str  # GatewayKind's value: usg | unifi-os
    resolver: IPv4Address  # the gateway's address: its DNS server answers the host names
    nodes: tuple[ExpectedNode, ...]
    routes: tuple[ExpectedRoute, ...]
    names: tuple[ExpectedName, ...]
    endpoints: tuple[ExpectedEndpoint, ...]
    not_known: tuple[str, ...] = ()  # services whose address is not known yet: nothing to check for them

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "stack": self.stack,
            "gatewayKind": self.gateway_kind,
            "resolver": str(self.resolver),
            "nodes": [
                {"name": n.name, "address": str(n.address)}
                | ({} if n.address6 is None else {"address6": str(n.address6)})
                for n in self.nodes
            ],
            "routes": [{"address": str(r.address), "services": list(r.services)} for r in self.routes],
            "names": [{"name": n.name, "address": str(n.address), "service": n.service} for n in self.names],
            "endpoints": [
                {
                    "subject": e.subject,
                    "address": str(e.address),
                    "port": e.port,
                    "scheme": e.scheme,
                    "host": e.host,
                    "service": e.service,
                }
                for e in self.endpoints
            ],
            "notKnown": list(self.not_known),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Expectations:
        """The document ``to_json`` wrote; a ValueError names what is wrong with another."""
        try:
            if raw["format"] != FORMAT:
                raise ValueError(f"format {raw['format']!r} is not {FORMAT}")
            return cls(
                stack=str(raw["stack"]),
                gateway_kind=str(raw["gatewayKind"]),
                resolver=IPv4Address(raw["resolver"]),
                nodes=tuple(
                    ExpectedNode(
                        str(n["name"]),
                        IPv4Address(n["address"]),
                        None if n.get("address6") is None else IPv6Address(n["address6"]),
                    )
                    for n in raw["nodes"]
                ),
                routes=tuple(
                    ExpectedRoute(ip_address(r["address"]), tuple(str(s) for s in r["services"])) for r in raw["routes"]
                ),
                names=tuple(
                    ExpectedName(str(n["name"]), ip_address(n["address"]), str(n["service"])) for n in raw["names"]
                ),
                endpoints=tuple(
                    ExpectedEndpoint(
                        str(e["subject"]),
                        ip_address(e["address"]),
                        _whole(e["port"]),
                        str(e["scheme"]),
                        None if e["host"] is None else str(e["host"]),
                        str(e["service"]),
                    )
                    for e in raw["endpoints"]
                ),
                not_known=tuple(str(s) for s in raw.get("notKnown", ())),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not an expectations document: {exc!r} is missing or wrong") from None


def _whole(value: Any) -> int:
    """A port number; Pulumi hands numbers over as floats."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TypeError("port")


def allocated_addresses(lab: Lab, services: Sequence[Mapping[str, Any]]) -> dict[str, tuple[IPAddress, ...]]:
    """Each declared service's addresses: pinned, else the external IPs its Kubernetes Service
    has in ``services`` (``kubectl get services -A -o json``'s items)."""
    by_name: dict[tuple[str, str], tuple[IPAddress, ...]] = {}
    for raw in services:
        metadata = raw.get("metadata") or {}
        addresses = _ingress_ips(raw)
        if addresses:
            by_name[(str(metadata.get("namespace")), str(metadata.get("name")))] = by_family(addresses)
    known = dict(lab.pinned_addresses)
    for service in lab.services:
        if service.name not in known and (service.namespace, service.service_name) in by_name:
            known[service.name] = by_name[(service.namespace, service.service_name)]
    return known


def _ingress_ips(service: Mapping[str, Any]) -> list[IPAddress]:
    """A Service's external addresses of both families (``status.loadBalancer.ingress[].ip``): a
    dual-stack Service has one of each."""
    status = service.get("status")
    balancer = status.get("loadBalancer") if isinstance(status, Mapping) else None
    ingress = balancer.get("ingress") if isinstance(balancer, Mapping) else None
    addresses: list[IPAddress] = []
    for entry in ingress if isinstance(ingress, list) else []:
        ip = entry.get("ip") if isinstance(entry, Mapping) else None
        try:
            addresses.append(ip_address(str(ip)))
        except ValueError:
            continue  # a host name, or nothing
    return addresses


def expect(lab: Lab, addresses: ServiceAddresses, discovered: Sequence[DiscoveredName] = ()) -> Expectations:
    """What the lab should show, for the services whose address is known."""
    domain = lab.gateway.dns_domain
    holders: dict[IPAddress, list[str]] = {}
    names: list[ExpectedName] = []
    endpoints: list[ExpectedEndpoint] = []
    not_known: list[str] = []
    for service in lab.services:
        known = addresses.get(service.name, ())
        if not known:
            not_known.append(service.name)
            continue
        for address in known:
            holders.setdefault(address, []).append(service.name)
            names += [ExpectedName(n, address, service.name) for n in (service.hostname(domain), *service.all_aliases)]
        # One endpoint per family: the first address's named URL, the IPv6 one beside an IPv4
        # one as a URL of its own (http://[v6]:port/), so that each family is tried.
        for index, address in enumerate(known):
            endpoint = _declared_endpoint(service, address, domain, literal=index > 0)
            if endpoint is not None:
                endpoints.append(endpoint)
    for entry in discovered:
        for address in entry.addresses:
            holders.setdefault(address, []).append(entry.service)
            names += [ExpectedName(n, address, entry.service) for n in entry.names]
        if entry.url is not None:
            endpoints.append(_url_endpoint(entry.url, entry.addresses[0], entry.service))
    bgp_ranges = [r for pool in lab.metallb.pools if pool.protocol is Protocol.BGP for r in pool.ranges]
    routes = [
        ExpectedRoute(address, tuple(sorted(set(services))))
        for address, services in sorted(holders.items(), key=lambda item: (item[0].version, int(item[0])))
        if any(address in r for r in bgp_ranges)
    ]
    return Expectations(
        stack=lab.stack,
        gateway_kind=lab.gateway.kind.value,
        resolver=lab.gateway.peer_address,
        nodes=tuple(
            ExpectedNode(node.name, node.address, node.address6 if node in lab.peering_nodes6 else None)
            for node in lab.peering_nodes
        ),
        routes=tuple(routes),
        names=tuple(sorted(set(names), key=lambda n: (n.name, n.address.version, int(n.address)))),
        endpoints=tuple(sorted(set(endpoints), key=lambda e: e.subject)),
        not_known=tuple(not_known),
    )


def _declared_endpoint(
    service: Service, address: IPAddress, domain: str, *, literal: bool = False
) -> ExpectedEndpoint | None:
    """The service's URL (its first port); none when that port is not TCP. ``literal``: named
    by the address instead (``http://[2001:db8::10]:8080/``), the host name still sent."""
    if service.ports and service.ports[0].protocol != "TCP":
        return None
    endpoint = _url_endpoint(service.url(domain), address, service.name)
    if not literal:
        return endpoint
    host = f"[{address}]" if address.version == 6 else str(address)
    default = 443 if endpoint.scheme == "https" else 80
    subject = f"{endpoint.scheme}://{host}{'' if endpoint.port == default else f':{endpoint.port}'}/"
    return ExpectedEndpoint(subject, address, endpoint.port, endpoint.scheme, endpoint.host, service.name)


def _url_endpoint(url: str, address: IPAddress, service: str) -> ExpectedEndpoint:
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return ExpectedEndpoint(url, address, port, parts.scheme, parts.hostname, service)
