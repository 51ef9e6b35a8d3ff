"""metallb-unifi: read the stack config, build the lab's resources, export what users need."""

from ipaddress import IPv4Address

import pulumi

from components.config import ConfigError
from components.config.model import GatewayKind
from components.config.secrets import redact_secrets
from components.gateway.usg import UsgGatewayConfig, UsgGatewayConfigArgs
from components.kubernetes.cluster import cluster_provider
from components.kubernetes.manifests import ManifestError, load_install_objects
from components.kubernetes.metallb import MetalLB, MetalLBArgs
from components.kubernetes.service import LoadBalancedService, LoadBalancedServiceArgs
from components.renderers.outputs import render_outputs
from components.renderers.services import render_services
from components.renderers.usg_gateway import config_gateway_json
from components.stack_config import load_stack_lab

try:
    lab = load_stack_lab()
    install_objects = load_install_objects(lab.metallb)
except (ConfigError, ManifestError) as error:
    # RunError ends the program with this message and no traceback, before any resource exists.
    raise pulumi.RunError(error.report() if isinstance(error, ConfigError) else str(error)) from None

for warning in lab.warnings:
    pulumi.log.warn(warning)

provider = cluster_provider(lab.kubernetes)
metallb = MetalLB("metallb", MetalLBArgs(lab=lab, install_objects=install_objects, provider=provider))
services = {
    rendered.service_name: LoadBalancedService(
        rendered.service_name,
        LoadBalancedServiceArgs(
            lab=lab, service=service, rendered=rendered, provider=provider, depends_on=metallb.configuration
        ),
    )
    for service, rendered in zip(lab.services, render_services(lab), strict=True)
}

pulumi.export(
    "services",
    {name: {"ip": s.ip, "hostname": s.hostname, "alias": s.alias, "url": s.url} for name, s in services.items()},
)
static = render_outputs(lab, lab.pinned_addresses)
for name in ("metallb", "bgp", "gateway"):
    pulumi.export(name, static[name])

if lab.gateway.kind is GatewayKind.USG:
    # Host names of services without a pinned address come from the IPs MetalLB allocated.
    def gateway_file(ips: dict[str, str | None], *, redacted: bool = False) -> str:
        addresses = {n: IPv4Address(ip) for n, ip in ips.items() if ip} | lab.pinned_addresses
        return config_gateway_json(redact_secrets(lab) if redacted else lab, addresses)

    names = list(services)
    allocated = pulumi.Output.all(*(services[n].ip for n in names)).apply(
        lambda ips: dict(zip(names, ips, strict=True))
    )
    gateway_json = allocated.apply(gateway_file)
    # With a BGP password in it, the file is a secret in state and in `pulumi stack output`.
    pulumi.export("configGatewayJson", pulumi.Output.secret(gateway_json) if lab.bgp.password else gateway_json)
    controller = lab.controller
    if controller is not None and controller.ssh is not None:
        upload = UsgGatewayConfig(
            "usg",
            UsgGatewayConfigArgs(
                controller=controller,
                ssh=controller.ssh,
                stack=pulumi.get_stack(),
                content=gateway_json,
                preview=allocated.apply(lambda ips: gateway_file(ips, redacted=True)),
            ),
        )
        pulumi.export("configGatewayJsonUpload", {"path": upload.path, "sha256": upload.sha256})
elif lab.controller is not None:
    pulumi.log.warn(
        "metallb-unifi:controller is set, but uploading to a UniFi OS gateway is not built yet: "
        "write the FRR config and DNS records with `python -m components.render` and apply them by hand"
    )
