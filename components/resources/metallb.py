"""``MetalLB``: the metallb-system Namespace, MetalLB's install manifests and its
configuration (the legacy ConfigMap, or the CRs once the admission webhook serves)."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_command as command
import pulumi_kubernetes as k8s

from components.artifacts.metallb import MANAGED_BY, NAMESPACE, render_metallb
from components.config.model import Lab
from components.contract import PYTHON, WEBHOOK_GATE
from components.kubernetes.manifests import (
    INSTALL_PREFIX,
    NAMESPACE_LABELS,
    RETAINED_INSTALL_KINDS,
    former_child_names,
    former_install_prefixes,
)

# The Namespace's type before it became a NamespacePatch: the alias that keeps deployed stacks' URN.
FORMER_NAMESPACE_TYPE = "kubernetes:core/v1:Namespace"


@dataclass(frozen=True)
class MetalLBArgs:
    lab: Lab
    install_objects: list[dict[str, Any]]  # checked upstream manifest, Namespace removed
    provider: k8s.Provider  # one with upsertExistingObjects: MetalLB's own objects are adopted


def install_child_options(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult | None:
    """The ConfigGroup's transform, which the engine runs on each child the provider registers
    (pulumi/pulumi@v3.259.0:pkg/resource/deploy/source_eval.go: a remote component's transforms
    are kept for its registration in the provider and applied to its children, and aliases and
    retainOnDelete of the result are used): aliases from the names of former releases, so a
    stack deployed with them keeps every object; CRDs retained on delete."""
    aliases = former_child_names(args.name)
    retain = args.custom and isinstance(args.props, dict) and args.props.get("kind") in RETAINED_INSTALL_KINDS
    if not aliases and not retain:
        return None
    extra = pulumi.ResourceOptions(aliases=[pulumi.Alias(name=name) for name in aliases])
    if retain:
        extra.retain_on_delete = True
    # The result replaces the child's options: keep the provider's (parent, provider, depends_on).
    return pulumi.ResourceTransformResult(props=args.props, opts=pulumi.ResourceOptions.merge(args.opts, extra))


class MetalLB(pulumi.ComponentResource):
    namespace: k8s.core.v1.NamespacePatch
    install: k8s.yaml.v2.ConfigGroup
    webhook_ready: command.local.Command | None
    configuration: list[pulumi.CustomResource]

    def __init__(self, name: str, args: MetalLBArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("metallb-unifi:kubernetes:MetalLB", name, None, opts)
        lab = args.lab
        version = lab.metallb.version
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)

        # Declared here, exactly once: the install manifests' own Namespace is dropped. A Patch, so
        # the stack owns only the labels it sets: an in-place update of a Namespace resource first
        # takes over every field of the managers named kubectl*, "Update" (kubectl label, annotate,
        # edit, client-side apply) and then removes those the stack does not set; a Patch resource
        # is never taken over for (pulumi/pulumi-kubernetes@v4.32.0:provider/pkg/await/await.go
        # fixCSAFieldManagers returns early for kinds.IsPatchResource, which reads the URN's type).
        # Its create is a server-side apply (await.go Creation), which creates the Namespace on a
        # cluster without one. Stacks that declared a Namespace resource keep it: the alias
        # matches the old URN, the inputs are the same, so the first `up` changes nothing.
        # Destroy leaves it: deleting it would delete every object in it, also ones other tools made.
        self.namespace = k8s.core.v1.NamespacePatch(
            "metallb-system",
            metadata={"name": NAMESPACE, "labels": {**NAMESPACE_LABELS, **MANAGED_BY}},
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(retain_on_delete=True, aliases=[pulumi.Alias(type_=FORMER_NAMESPACE_TYPE)]),
            ),
        )
        # Named the same for every release, so an upgrade updates the children in place (a new
        # name would create every object again and delete the old URNs, i.e. the live objects).
        self.install = k8s.yaml.v2.ConfigGroup(
            INSTALL_PREFIX,
            objs=args.install_objects,
            resource_prefix=INSTALL_PREFIX,
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(
                    depends_on=[self.namespace],
                    aliases=[pulumi.Alias(name=name) for name in former_install_prefixes()],
                    transforms=[install_child_options],
                ),
            ),
        )
        objects = render_metallb(lab)
        after_install: list[pulumi.Resource] = [self.install]
        self.webhook_ready = None
        if not version.uses_configmap:
            self.webhook_ready = self._webhook_gate(lab, objects)
            after_install = [self.webhook_ready]
        self.configuration = [self._object(obj, child, after_install, lab) for obj in objects]
        self.register_outputs({"version": str(version), "namespace": NAMESPACE})

    def _webhook_gate(self, lab: Lab, objects: list[dict[str, Any]]) -> command.local.Command:
        """Waits until the API server accepts a dry-run of the first rendered pool: MetalLB's
        readiness does not wait for its webhook (since v0.16), so Deployment-ready is not enough."""
        pool = next(obj for obj in objects if obj["kind"] == "IPAddressPool")
        access = lab.kubernetes
        arguments = [PYTHON, "-m", WEBHOOK_GATE, "--timeout", str(access.webhook_timeout_s)]
        if access.kubeconfig:
            arguments += ["--kubeconfig", access.kubeconfig]
        if access.context:
            arguments += ["--context", access.context]
        return command.local.Command(
            "metallb-webhook-ready",
            create=shlex.join(arguments),
            stdin=json.dumps(pool, sort_keys=True),
            # Run again when MetalLB is upgraded: a new controller must serve before new CRs.
            triggers=[str(lab.metallb.version)],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.install]),
        )

    def _object(
        self,
        obj: dict[str, Any],
        child: pulumi.ResourceOptions,
        depends_on: list[Any],
        lab: Lab,
    ) -> pulumi.CustomResource:
        metadata = obj["metadata"]
        name = f"{obj['kind'].lower()}-{metadata['name']}"
        opts = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.namespace, *depends_on]))
        secret = lab.bgp.password is not None
        if obj["kind"] == "ConfigMap":
            data = {k: pulumi.Output.secret(v) if secret else v for k, v in obj["data"].items()}
            return k8s.core.v1.ConfigMap(name, metadata=metadata, data=data, opts=opts)
        if obj["kind"] == "Secret":
            return k8s.core.v1.Secret(
                name,
                metadata=metadata,
                type=obj["type"],
                string_data={k: pulumi.Output.secret(v) for k, v in obj["stringData"].items()},
                opts=opts,
            )
        spec = obj["spec"]
        # Before v0.13.10 the password sits inline in the BGPPeer.
        spec_input: Any = pulumi.Output.secret(spec) if secret and "password" in spec else spec
        return k8s.apiextensions.CustomResource(
            name,
            api_version=obj["apiVersion"],
            kind=obj["kind"],
            metadata=metadata,
            spec=spec_input,
            opts=opts,
        )
