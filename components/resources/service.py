"""``LoadBalancedService``: one configured service as a Kubernetes Service of type
LoadBalancer, created by the program or patched onto a Service someone else owns, with its
external IP, host name, alias and URL as outputs. A Service to create is first checked not to
exist (``<name>-not-taken``): taking one over is what ``existing: true`` is for. After the Service,
``<name>-address`` waits for MetalLB's address: the provider does not (``pulumi.com/skipAwait``)."""

from __future__ import annotations

import ipaddress
import json
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_command as command
import pulumi_kubernetes as k8s

from components.artifacts.services import RenderedService
from components.config.errors import key_path
from components.config.model import KubernetesAccess, Lab, Service
from components.contract import PYTHON, SERVICE_ADDRESS, SERVICE_CHECK


@dataclass(frozen=True)
class LoadBalancedServiceArgs:
    lab: Lab
    service: Service
    rendered: RenderedService
    provider: k8s.Provider  # one without upsertExistingObjects: an existing Service is an error
    depends_on: Sequence[pulumi.Resource] = ()  # MetalLB's configuration: no address without it


# The provider's Service await, off. On create and update it would wait for ready endpoints too;
# on refresh it is the provider's only check, and it reports a Service whose pods are not Ready
# (crash-looping, pulling, scaled to zero) as unhealthy, which `pulumi.com/waitFor` does not
# change: Read runs the live kind's read awaiter unless the stored inputs say skipAwait
# (pulumi/pulumi-kubernetes@v4.32.0:provider/pkg/await/await.go Read, metadata.SkipAwaitLogic;
# await/awaiters.go: v1/Service has awaitRead, awaitServiceRead). With it, create and update return
# the object as the API server answered (metadata/overrides.go ReadyCondition checks skipAwait
# first; await.go newLegacyReadyCondition), so `<name>-address` waits for the address instead.
# Patches are awaited by the live kind (await.go: the outputs' apiVersion/kind), so the same holds
# for them. Delete still waits until a Service is gone: DeletedCondition honours skipAwait only for
# the kinds allowsSkipAwaitWithDelete lists, not Services (metadata/overrides.go).
SKIP_AWAIT = {"pulumi.com/skipAwait": "true"}
# How long the check that a Service to create does not exist yet may wait for the API server.
CHECK_TIMEOUT_S = 30


def stack_key(lab: Lab, service: Service) -> str:
    """``metallb-unifi:services[i]``, as the config errors name the service (names are unique)."""
    index = next(i for i, candidate in enumerate(lab.services) if candidate.name == service.name)
    return key_path("services", index)


def _kubeconfig_arguments(access: KubernetesAccess) -> list[str]:
    """The kubeconfig's path and context, as the commands take them: no secret goes on a command
    line, the commands read the kubeconfig themselves (components/kubernetes/api_client.py)."""
    arguments = []
    if access.kubeconfig:
        arguments += ["--kubeconfig", access.kubeconfig]
    if access.context:
        arguments += ["--context", access.context]
    return arguments


def not_taken_command(lab: Lab, service: Service) -> str:
    """The command line of the check that the Service to create does not exist yet
    (components/kubernetes/service_check.py)."""
    arguments = [PYTHON, "-m", SERVICE_CHECK]
    arguments += ["--namespace", service.namespace, "--name", service.service_name]
    arguments += ["--stack-key", stack_key(lab, service), "--timeout", str(CHECK_TIMEOUT_S)]
    return shlex.join(arguments + _kubeconfig_arguments(lab.kubernetes))


def address_command(lab: Lab, service: Service) -> str:
    """The command line of the wait for the Service's external IP, up to
    ``kubernetes.serviceTimeout``; a pinned address must be the one it gets
    (components/kubernetes/service_address.py)."""
    arguments = [PYTHON, "-m", SERVICE_ADDRESS]
    arguments += ["--namespace", service.namespace, "--name", service.service_name]
    arguments += ["--stack-key", stack_key(lab, service), "--timeout", str(lab.kubernetes.service_timeout_s)]
    if service.addresses:  # TODO(issue 19, this session): every pinned address, not the first
        arguments += ["--expect", str(service.addresses[0])]
    return shlex.join(arguments + _kubeconfig_arguments(lab.kubernetes))


def applied_manifest(kind: str, metadata: dict[str, Any], spec: dict[str, Any]) -> str:
    """What the stack applies to the Service, as deterministic JSON: the address command's
    trigger, so that any change of it waits for the address again."""
    return json.dumps({"kind": kind, "metadata": metadata, "spec": spec}, sort_keys=True, separators=(",", ":"))


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


def printed_ip(stdout: str | None) -> str | None:
    """The address the address command printed (alone on stdout; pulumi-command trims one trailing
    newline: pulumi/pulumi-command@v1.2.1:provider/pkg/provider/local/commandOutputs.go run)."""
    text = (stdout or "").strip()
    if not text:
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise ValueError(f"the address command printed {text!r}, not an IP address") from None


class LoadBalancedService(pulumi.ComponentResource):
    ip: pulumi.Output[str | None]
    hostname: pulumi.Output[str | None]
    alias: pulumi.Output[str | None]
    url: pulumi.Output[str | None]

    def __init__(self, name: str, args: LoadBalancedServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("metallb-unifi:kubernetes:LoadBalancedService", name, None, opts)
        service, manifest = args.service, args.rendered.manifest
        self.not_taken: command.local.Command | None = None
        if not service.existing:
            self.not_taken = self._not_taken(name, args.lab, service)
        checked = [self.not_taken] if self.not_taken is not None else []
        # No custom timeouts: with skipAwait the create and update do not wait (the address
        # command bounds the wait for the address), and a delete keeps the provider's 10 minutes.
        child = pulumi.ResourceOptions(parent=self, provider=args.provider, depends_on=[*args.depends_on, *checked])
        resource: k8s.core.v1.Service | k8s.core.v1.ServicePatch
        annotations = {**manifest["metadata"].get("annotations", {}), **SKIP_AWAIT}
        if service.existing:
            # The Service's owner (kubectl, Helm) set `type` before us: taking over exactly the
            # fields this program renders is the point, so the patch forces those fields.
            annotations["pulumi.com/patchForce"] = "true"
        metadata: Any = {**manifest["metadata"], "annotations": annotations}
        kind = "ServicePatch" if service.existing else "Service"
        if service.existing:
            resource = k8s.core.v1.ServicePatch(name, metadata=metadata, spec=manifest["spec"], opts=child)
        else:
            resource = k8s.core.v1.Service(name, metadata=metadata, spec=manifest["spec"], opts=child)
        self.resource = resource
        self.address_wait = self._address(
            name, args.lab, service, resource, applied_manifest(kind, metadata, manifest["spec"])
        )

        domain = args.lab.gateway.dns_domain
        if service.addresses:
            self.ip = pulumi.Output.from_input(str(service.addresses[0]))
        else:
            # The Service's own outputs have the address after an update or a refresh (their
            # answer is the live object); after a create with skipAwait they hold the object as
            # created, without it: then the address is what the command printed.
            printed = self.address_wait.stdout
            self.ip = resource.status.apply(lambda status: ingress_ip(status) or printed.apply(printed_ip))
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

    def _address(
        self, name: str, lab: Lab, service: Service, resource: pulumi.Resource, applied: str
    ) -> command.local.Command:
        """Waits, after the Service's create or update, until MetalLB has given it its address
        (the pinned one, if any) and prints it; fails `up` with MetalLB's reason when it does not
        come within `kubernetes.serviceTimeout`.

        Runs when created, not in preview (commandController.go Create, as above). Its trigger is
        the Service as applied: triggers are replaceOnChanges
        (pulumi/pulumi-command@v1.2.1:provider/pkg/provider/common/inputs.go), so any change of
        the Service's spec or annotations creates the command again, which waits again; another
        change of its command line (the timeout, an index) runs `create` as the update
        (commandController.go Update). An `up` that changes neither runs nothing."""
        return command.local.Command(
            f"{name}-address",
            create=address_command(lab, service),
            triggers=[applied],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[resource]),
        )
