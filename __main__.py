"""metallb-unifi: read the stack config, build the lab's resources, export what users need."""

import json
import os
from ipaddress import ip_address
from typing import Any

import pulumi

from components.artifacts.dns_records import known_dns_records
from components.artifacts.gateway import BGPD_CONF, CONFIG_GATEWAY_JSON, DNS_RECORDS, render_gateway_file
from components.artifacts.outputs import render_outputs
from components.artifacts.services import render_services
from components.artifacts.stack_claims import lab_claims
from components.config import ConfigError
from components.config.model import GatewayKind, ServiceAddresses, by_family
from components.config.secrets import redact_secrets
from components.kubernetes.kubeconfig import KubeconfigError, provider_kubeconfig
from components.kubernetes.manifests import ManifestError, load_install_objects
from components.resources import drift
from components.resources.discovered import as_output, discovered_in_cluster
from components.resources.gateway_commands import sha256_hex
from components.resources.metallb import MetalLB, MetalLBArgs
from components.resources.providers import cluster_providers
from components.resources.service import LoadBalancedService, LoadBalancedServiceArgs
from components.resources.stack_config import load_stack_lab
from components.resources.unifi_os import UnifiOsGatewayConfig, UnifiOsGatewayConfigArgs
from components.resources.usg import UsgGatewayConfig, UsgGatewayConfigArgs
from components.resources.verification import Verification, VerificationArgs
from components.unifi.kept_settings import owned_paths
from components.verify.expectations import expect

try:
    lab = load_stack_lab()
    install_objects = load_install_objects(lab.metallb)
    kubeconfig = provider_kubeconfig(lab.kubernetes, os.environ)
except (ConfigError, ManifestError, KubeconfigError) as error:
    # RunError ends the program with this message and no traceback, before any resource exists.
    if isinstance(error, KubeconfigError):
        raise pulumi.RunError(f"metallb-unifi:kubernetes: {error}") from None
    raise pulumi.RunError(error.report() if isinstance(error, ConfigError) else str(error)) from None

for warning in lab.warnings:
    pulumi.log.warn(warning)

# Listed now, before any resource exists: a listing that fails stops `up` here.
found = discovered_in_cluster(lab)
discovered = as_output(found)

providers = cluster_providers(kubeconfig)
metallb = MetalLB("metallb", MetalLBArgs(lab=lab, install_objects=install_objects, provider=providers.metallb))
services = {
    rendered.service_name: LoadBalancedService(
        rendered.service_name,
        LoadBalancedServiceArgs(
            lab=lab,
            service=service,
            rendered=rendered,
            provider=providers.services,
            depends_on=metallb.configuration,
        ),
    )
    for service, rendered in zip(lab.services, render_services(lab), strict=True)
}


def service_export(s: LoadBalancedService) -> dict[str, Any]:
    """A service's stack output: its IP, host name, alias and URL, and by family for one that has
    or may get IPv6 (as `render` writes them: components/artifacts/outputs.py)."""
    exported: dict[str, Any] = {"ip": s.ip, "hostname": s.hostname, "alias": s.alias, "url": s.url}
    if s.ips is not None and s.urls is not None:
        exported |= {"ips": s.ips, "urls": s.urls}
    return exported


pulumi.export("services", {name: service_export(s) for name, s in services.items()})
static = render_outputs(lab, lab.pinned_addresses)
for name in ("metallb", "bgp", "gateway"):
    pulumi.export(name, static[name])
if lab.discovery is not None:
    pulumi.export("discovered", discovered.apply(lambda names: render_outputs(lab, {}, discovered=names)["discovered"]))

# Host names of services without a pinned address come from the IPs MetalLB allocated.
names = list(services)
allocated = pulumi.Output.all(*(services[n].addresses for n in names)).apply(
    lambda ips: dict(zip(names, ips, strict=True))
)
# Discovered names reach the gateway as the declared ones do; unknown in a preview that could not list.
gateway_inputs = pulumi.Output.all(allocated, discovered)


def known_addresses(ips: dict[str, list[str]]) -> ServiceAddresses:
    """Each service's addresses, IPv4 first: what MetalLB gave it, its pins among them."""
    pinned = lab.pinned_addresses
    known = {n: by_family({*map(ip_address, addresses), *pinned.get(n, ())}) for n, addresses in ips.items()}
    return {n: addresses for n, addresses in known.items() if addresses}


def gateway_file(name: str, inputs: list[Any], *, redacted: bool = False) -> str:
    ips, names = inputs
    return render_gateway_file(name, redact_secrets(lab) if redacted else lab, known_addresses(ips), discovered=names)


def secret_if_password(value: pulumi.Output[str]) -> pulumi.Output[str]:
    # With a BGP password in it, an artifact is a secret in state and in `pulumi stack output`.
    return pulumi.Output.secret(value) if lab.bgp.password else value


# The gateway's last step, which the checks after `up` follow (none: the gateway is render-only).
gateway_step: pulumi.Resource | None = None
# What the gateway was given: a change runs the checks after `up` again, and so does a repair.
gateway_content: pulumi.Output[str]
observation = drift.NOT_CHECKED

if lab.gateway.kind is GatewayKind.USG:
    gateway_json = gateway_inputs.apply(lambda inputs: gateway_file(CONFIG_GATEWAY_JSON, inputs))
    pulumi.export("configGatewayJson", secret_if_password(gateway_json))
    controller = lab.controller
    if controller is not None and controller.ssh is not None:
        # One look at the controller's files: drift to put back, or what could not be checked.
        observation = drift.observe_usg(controller, controller.ssh)
        drift.report(observation)
        upload = UsgGatewayConfig(
            "usg",
            UsgGatewayConfigArgs(
                controller=controller,
                ssh=controller.ssh,
                stack=lab.stack,
                content=gateway_json,
                preview=gateway_inputs.apply(lambda inputs: gateway_file(CONFIG_GATEWAY_JSON, inputs, redacted=True)),
                owned=discovered.apply(
                    lambda names: owned_paths(
                        lab.gateway.asn,
                        [*(s.hostname(lab.gateway.dns_domain) for s in lab.services), *(n.hostname for n in names)],
                        lab.filter_names,
                        ipv6=lab.bgp_v6,
                    )
                ),
                claims=discovered.apply(lambda names: lab_claims(lab, names).to_json()),
                observation=observation,
            ),
        )
        pulumi.export("configGatewayJsonUpload", {"path": upload.path, "sha256": upload.sha256})
        gateway_step = upload.install
    gateway_content = gateway_json.apply(sha256_hex)
else:
    # bgpd.conf names no service: known in every preview, whatever discovery does.
    bgpd_conf = render_gateway_file(BGPD_CONF, lab, lab.pinned_addresses)
    # The records as `render` writes dns-records.json, read back: the two cannot differ.
    records = gateway_inputs.apply(lambda inputs: json.loads(gateway_file(DNS_RECORDS, inputs)))
    pulumi.export("bgpdConf", secret_if_password(pulumi.Output.from_input(bgpd_conf)))
    pulumi.export("dnsRecords", records)
    gateway_content = records.apply(lambda rs: sha256_hex(bgpd_conf + json.dumps(rs, sort_keys=True)))
    if lab.controller is not None:
        # One look at the console: the stack's BGP config and records as far as they are known now
        # (an allocated address is not, a name is; discovered names when the listing worked).
        observation = drift.observe_unifi_os(lab.controller, lab.stack, bgpd_conf, known_dns_records(lab, found or ()))
        drift.report(observation)
        gateway_step = UnifiOsGatewayConfig(
            "unifi-os",
            UnifiOsGatewayConfigArgs(
                controller=lab.controller,
                stack=lab.stack,
                bgpd_conf=bgpd_conf,
                bgpd_conf_preview=render_gateway_file(BGPD_CONF, redact_secrets(lab), lab.pinned_addresses),
                records=records,
                observation=observation,
            ),
        )

if lab.verify is not None and lab.verify.after_up:
    verification = Verification(
        "verify",
        VerificationArgs(
            settings=lab.verify,
            gateway_ssh=lab.gateway_ssh,
            expectations=gateway_inputs.apply(
                lambda inputs: expect(lab, known_addresses(inputs[0]), inputs[1]).to_json()
            ),
            gateway_content=gateway_content,
            observation=observation,
            after=[*services.values(), *([gateway_step] if gateway_step is not None else [])],
        ),
    )
    pulumi.export("verification", verification.summary)
