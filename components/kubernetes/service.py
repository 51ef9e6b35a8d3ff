"""``LoadBalancedService``: one configured service as a Kubernetes Service of type
LoadBalancer, created by the program or patched onto a Service someone else owns, with its
external IP, host name, alias and URL as outputs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.config.model import Lab, Service
from components.renderers.services import RenderedService


@dataclass(frozen=True)
class LoadBalancedServiceArgs:
    lab: Lab
    service: Service
    rendered: RenderedService
    provider: k8s.Provider  # one without upsertExistingObjects: an existing Service is an error
    depends_on: Sequence[pulumi.Resource] = ()  # MetalLB's configuration: no address without it


# What `up` waits for: MetalLB's address, not the pods. An annotation `pulumi.com/waitFor` replaces
# the Service await, which also waits for ready endpoints (a Service whose pods crash-loop would
# fail at the timeout although it has its address); a path without a value matches once it
# selects something (pulumi/pulumi-kubernetes@v4.32.0:provider/pkg/metadata/overrides.go,
# ReadyCondition; provider/pkg/jsonpath/jsonpath.go). `ingress[0].ip`, not `ingress`: an empty
# list would match too. Patches are awaited the same way (await/await.go: by the live kind).
WAIT_FOR_ADDRESS = {"pulumi.com/waitFor": "jsonpath={.status.loadBalancer.ingress[0].ip}"}


def ingress_ip(status: Any) -> str | None:
    """The first ingress IP of a Service status (typed object or plain dict), if any."""

    def field(value: Any, attribute: str, key: str) -> Any:
        # Typed outputs are dict subclasses that warn on key access: prefer the property.
        if hasattr(value, attribute):
            return getattr(value, attribute)
        return value.get(key) if isinstance(value, dict) else None

    balancer = field(status, "load_balancer", "loadBalancer")
    ingress = field(balancer, "ingress", "ingress") or []
    ip = field(ingress[0], "ip", "ip") if ingress else None
    return str(ip) if ip else None


class LoadBalancedService(pulumi.ComponentResource):
    ip: pulumi.Output[str | None]
    hostname: pulumi.Output[str | None]
    alias: pulumi.Output[str | None]
    url: pulumi.Output[str | None]

    def __init__(self, name: str, args: LoadBalancedServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("metallb-unifi:kubernetes:LoadBalancedService", name, None, opts)
        service, manifest = args.service, args.rendered.manifest
        wait = f"{args.lab.kubernetes.service_timeout_s}s"
        child = pulumi.ResourceOptions(
            parent=self,
            provider=args.provider,
            depends_on=list(args.depends_on),
            # Bounds the wait for the address (metadata.TimeoutDuration: the resource timeout wins).
            custom_timeouts=pulumi.CustomTimeouts(create=wait, update=wait),
        )
        resource: k8s.core.v1.Service | k8s.core.v1.ServicePatch
        annotations = {**manifest["metadata"].get("annotations", {}), **WAIT_FOR_ADDRESS}
        if service.existing:
            # The Service's owner (kubectl, Helm) set `type` before us: taking over exactly the
            # fields this program renders is the point, so the patch forces those fields.
            annotations["pulumi.com/patchForce"] = "true"
        metadata: Any = {**manifest["metadata"], "annotations": annotations}
        if service.existing:
            resource = k8s.core.v1.ServicePatch(name, metadata=metadata, spec=manifest["spec"], opts=child)
        else:
            resource = k8s.core.v1.Service(name, metadata=metadata, spec=manifest["spec"], opts=child)
        self.resource = resource

        domain = args.lab.gateway.dns_domain
        if service.address is not None:
            self.ip = pulumi.Output.from_input(str(service.address))
        else:
            self.ip = resource.status.apply(ingress_ip)
        # Host name, alias and URL only resolve once the address exists.
        self.hostname = self.ip.apply(lambda ip: service.hostname(domain) if ip else None)
        self.alias = self.ip.apply(lambda ip: service.name if ip else None)
        self.url = self.ip.apply(lambda ip: service.url(domain) if ip else None)
        self.register_outputs({"ip": self.ip, "hostname": self.hostname, "alias": self.alias, "url": self.url})
