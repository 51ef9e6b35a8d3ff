"""``LoadBalancedService``: one configured service as a Kubernetes Service of type
LoadBalancer, created by the program or patched onto a Service someone else owns, with its
external IPs, host name, alias and URL as outputs. A Service to create is first checked not to
exist (``<name>-not-taken``): taking one over is what ``existing: true`` is for. After the Service,
``<name>-address`` waits for MetalLB's addresses: the provider does not (``pulumi.com/skipAwait``)."""

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

from components.artifacts.outputs import family_outputs, may_get_ipv6, possible_families
from components.artifacts.services import RenderedService
from components.config.errors import key_path
from components.config.model import IPAddress, IPFamily, KubernetesAccess, Lab, Service, by_family
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
    """The command line of the wait for the Service's external IPs, up to
    ``kubernetes.serviceTimeout`` (components/kubernetes/service_address.py): every pinned address
    must be among them (``--expect`` each); an unpinned Service expected to get another family
    than IPv4 alone (:attr:`Service.expected_families`: two for RequireDualStack or two
    ``ipFamilies``) waits for one of each (``--family`` each). A single-stack IPv4 Service's line
    is what it was before dual-stack, so deployed stacks do not run the wait again."""
    arguments = [PYTHON, "-m", SERVICE_ADDRESS]
    arguments += ["--namespace", service.namespace, "--name", service.service_name]
    arguments += ["--stack-key", stack_key(lab, service), "--timeout", str(lab.kubernetes.service_timeout_s)]
    for address in service.addresses:
        arguments += ["--expect", str(address)]
    if not service.addresses and service.expected_families != (IPFamily.IPV4,):
        for family in service.expected_families:
            arguments += ["--family", family.value]
    return shlex.join(arguments + _kubeconfig_arguments(lab.kubernetes))


def applied_manifest(kind: str, metadata: dict[str, Any], spec: dict[str, Any]) -> str:
    """What the stack applies to the Service, as deterministic JSON: the address command's
    trigger, so that any change of it waits for the address again."""
    return json.dumps({"kind": kind, "metadata": metadata, "spec": spec}, sort_keys=True, separators=(",", ":"))


def ingress_ips(status: Any) -> list[str]:
    """Every ingress IP of a Service status (typed object or plain dict), IPv4 first."""

    def field(value: Any, attribute: str, key: str) -> Any:
        # Typed outputs are dict subclasses that warn on key access: prefer the property.
        if hasattr(value, attribute):
            return getattr(value, attribute)
        return value.get(key) if isinstance(value, dict) else None

    balancer = field(status, "load_balancer", "loadBalancer")
    ingress = field(balancer, "ingress", "ingress") or []
    texts = [str(ip) for entry in ingress if (ip := field(entry, "ip", "ip"))]
    return [str(a) for a in by_family(_addresses(texts, "the Service's status has"))]


def printed_ips(stdout: str | None) -> list[str]:
    """The addresses the address command printed, one a line, IPv4 first (pulumi-command trims
    one trailing newline: pulumi/pulumi-command@v1.2.1:provider/pkg/provider/local/commandOutputs.go
    run). A single-stack Service's is its one address alone, as before dual-stack."""
    lines = [line.strip() for line in (stdout or "").strip().splitlines()]
    return [str(a) for a in by_family(_addresses([line for line in lines if line], "the address command printed"))]


def _addresses(texts: Sequence[str], source: str) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(text) for text in texts]
    except ValueError:
        raise ValueError(f"{source} {' '.join(texts)!r}, not IP addresses") from None


class LoadBalancedService(pulumi.ComponentResource):
    addresses: pulumi.Output[list[str]]  # every external IP, IPv4 first; [] until known
    ip: pulumi.Output[str | None]  # the first of them
    hostname: pulumi.Output[str | None]
    alias: pulumi.Output[str | None]
    url: pulumi.Output[str | None]
    # Only for a service that has or may get an IPv6 address (outputs.may_get_ipv6), else None:
    # its address of each family ("IPv4", "IPv6") and a URL per address.
    ips: pulumi.Output[dict[str, str]] | None
    urls: pulumi.Output[dict[str, str]] | None

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
        pinned = [str(a) for a in service.addresses]
        if pinned and {IPFamily.of(a) for a in service.addresses} == set(possible_families(args.lab, service)):
            # Its pins are all it can get: known before the Service exists, in a preview too.
            self.addresses = pulumi.Output.from_input(pinned)
        else:
            # The Service's own outputs have the addresses after an update or a refresh (their
            # answer is the live object); after a create with skipAwait they hold the object as
            # created, without them: then the addresses are what the command printed.
            printed = self.address_wait.stdout
            self.addresses = resource.status.apply(lambda status: ingress_ips(status) or printed.apply(printed_ips))
        self.ip = self.addresses.apply(lambda addresses: addresses[0] if addresses else None)
        # Host name, alias and URL only resolve once the address exists.
        self.hostname = self.ip.apply(lambda ip: service.hostname(domain) if ip else None)
        self.alias = self.ip.apply(lambda ip: service.name if ip else None)
        self.url = self.ip.apply(lambda ip: service.url(domain) if ip else None)
        outputs: dict[str, Any] = {"ip": self.ip, "hostname": self.hostname, "alias": self.alias, "url": self.url}
        self.ips = self.urls = None
        if may_get_ipv6(args.lab, service):
            per_family = self.addresses.apply(
                lambda addresses: family_outputs(service, [ipaddress.ip_address(a) for a in addresses])
            )
            self.ips = per_family.apply(lambda outputs: outputs["ips"])
            self.urls = per_family.apply(lambda outputs: outputs["urls"])
            outputs |= {"ips": self.ips, "urls": self.urls}
        self.register_outputs(outputs)

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
        """Waits, after the Service's create or update, until MetalLB has given it its addresses
        (the pinned ones, if any; one of each expected family) and prints them; fails `up` with
        MetalLB's reason when they do not come within `kubernetes.serviceTimeout`.

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
