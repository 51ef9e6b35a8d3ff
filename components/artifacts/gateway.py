"""Which files each kind of gateway gets, and rendering them: the one place that decides it, read
by the program (what it installs) and by ``render`` (what it writes).

A USG takes one ``config.gateway.json`` (BGP neighbours and host names, merged into the user's
base file). A UniFi OS gateway takes an FRR ``bgpd.conf`` and static DNS records through the
controller API.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Final

from components.config.model import GatewayKind, Lab, ServiceAddresses

from .dns_records import dns_records_json
from .frr import render_bgpd_conf
from .usg_gateway import config_gateway_json

if TYPE_CHECKING:
    from components.discovery.rules import DiscoveredName

CONFIG_GATEWAY_JSON: Final = "config.gateway.json"
BGPD_CONF: Final = "bgpd.conf"
DNS_RECORDS: Final = "dns-records.json"

GATEWAY_FILES: Final[Mapping[GatewayKind, tuple[str, ...]]] = {
    GatewayKind.USG: (CONFIG_GATEWAY_JSON,),
    GatewayKind.UNIFI_OS: (BGPD_CONF, DNS_RECORDS),
}


def render_gateway_file(
    name: str, lab: Lab, addresses: ServiceAddresses, discovered: Sequence[DiscoveredName] = ()
) -> str:
    """One of the files of the lab's gateway kind (:data:`GATEWAY_FILES`); a file the kind does not
    get is an error. ``addresses`` maps service names to their IPs (pinned and allocated);
    ``discovered`` are the cluster's other names."""
    if name not in GATEWAY_FILES[lab.gateway.kind]:
        raise ValueError(f"a {lab.gateway.kind.value} gateway gets no {name}")
    renderers: dict[str, Callable[[], str]] = {
        CONFIG_GATEWAY_JSON: lambda: config_gateway_json(lab, addresses, discovered),
        BGPD_CONF: lambda: render_bgpd_conf(lab),
        DNS_RECORDS: lambda: dns_records_json(lab, addresses, discovered),
    }
    return renderers[name]()


def render_gateway_files(
    lab: Lab, addresses: ServiceAddresses, discovered: Sequence[DiscoveredName] = ()
) -> dict[str, str]:
    """File name → content, every file of the lab's gateway kind."""
    return {name: render_gateway_file(name, lab, addresses, discovered) for name in GATEWAY_FILES[lab.gateway.kind]}
