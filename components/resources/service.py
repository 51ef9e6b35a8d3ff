"""``LoadBalancedService``: one configured service as a Kubernetes Service of type
LoadBalancer, created by the program or patched onto a Service someone else owns, with its
external IP, host name, alias and URL as outputs. A Service to create is first checked not to
exist (``<name>-not-taken``): taking one over is what ``existing: true`` is for."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_command as command
import pulumi_kubernetes as k8s

from components.artifacts.services import RenderedService
from components.config.errors import key_path
from components.config.model import Lab, Service
from components.contract import PYTHON, SERVICE_CHECK


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
# How long the check that a Service to create does not exist yet may wait for the API server.
CHECK_TIMEOUT_S = 30


def stack_key(lab: Lab, service: Service) -> str:
    """``metallb-unifi:services[i]``, as the config errors name the service (names are unique)."""
    index = next(i for i, candidate in enumerate(lab.services) if candidate.name == service.name)
    return key_path("services", index)


def not_taken_command(lab: Lab, service: Service) -> str:
    """The command line of the check that the Service to create does not exist yet. No secret on
    it: the kubeconfig is read by the check itself (components/kubernetes/service_check.py)."""
    access = lab.kubernetes
    arguments = [PYTHON, "-m", SERVICE_CHECK]
    arguments += ["--namespace", service.namespace, "--name", service.service_name]
    arguments += ["--stack-key", stack_key(lab, service), "--timeout", str(CHECK_TIMEOUT_S)]
    if access.kubeconfig:
        arguments += ["--kubeconfig", access.kubeconfig]
    if access.context:
        arguments += ["--context", access.context]
    return shlex.join(arguments)


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
        self.not_taken: command.local.Command | None = None
        if not service.existing:
            self.not_taken = self._not_taken(name, args.lab, service)
        checked = [self.not_taken] if self.not_taken is not None else []
        child = pulumi.ResourceOptions(
            parent=self,
            provider=args.provider,
            depends_on=[*args.depends_on, *checked],
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

    def _not_taken(self, name: str, lab: Lab, service: Service) -> command.local.Command:
        """Fails `up` before the provider's create when the Service exists already, saying to set
        `existing: true`: the provider's own AlreadyExists cannot say so.

        Runs when created, not in preview
        (pulumi/pulumi-command@v1.2.1:provider/pkg/provider/local/commandController.go, Create),
        in the project directory with the engine's environment, $KUBECONFIG included
        (pulumi/pulumi-command@v1.2.1:provider/pkg/provider/local/commandOutputs.go, run).
        Triggers are replaceOnChanges (pulumi/pulumi-command@v1.2.1:provider/pkg/provider/common/inputs.go):
        a new namespace or name replaces the Service, so the check is created, and runs, again.
        Any other change of the command line (an index after a reorder) runs `create` as the
        update; the check then finds the stack's own labelled Service and passes."""
        return command.local.Command(
            f"{name}-not-taken",
            create=not_taken_command(lab, service),
            triggers=[service.namespace, service.service_name],
            opts=pulumi.ResourceOptions(parent=self),
        )
