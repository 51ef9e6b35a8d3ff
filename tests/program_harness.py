"""Run ``__main__.py`` under Pulumi mocks and record what it registers and exports."""

from __future__ import annotations

import asyncio
import itertools
import json
import runpy
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime._callbacks import _CallbackServicer
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.proto import alias_pb2, resource_pb2
from pulumi.runtime.stack import wait_for_rpcs

from components.contract import SERVICE_ADDRESS
from components.resources import drift

_OBSERVE_USG = drift.observe_usg
_OBSERVE_UNIFI_OS = drift.observe_unifi_os

REPO = Path(__file__).resolve().parents[1]
ALLOCATED = "192.0.2.77"  # what the mocked MetalLB hands to Services without a pinned address
ALLOCATED6 = "2001:db8::77"  # ... and as their IPv6 address, to those expected to get one


@dataclass
class Registration:
    type: str
    name: str
    urn: str
    parent: str
    dependencies: list[str]
    provider: str
    inputs: dict[str, Any]
    delete_before_replace: bool = False
    # The URNs this resource may have had (engine: explicit aliases, resolved), retainOnDelete,
    # and whether a provider manages it (False: a component).
    aliases: list[str] = field(default_factory=list)
    retain_on_delete: bool = False
    custom: bool = True
    replace_on_changes: tuple[str, ...] = ()  # as the SDK sends them, e.g. "triggers[*]"
    version: str = ""  # the plugin version the SDK asks the engine to run ("" for ConfigGroup children)
    custom_timeouts: dict[str, str] = field(default_factory=dict)  # create/update/delete, those set
    ignore_changes: tuple[str, ...] = ()  # property paths, as the SDK sends them


SERVICE_TYPES = ("kubernetes:core/v1:Service", "kubernetes:core/v1:ServicePatch")


class RecordingMocks(pulumi.runtime.Mocks):
    """The outputs a deployment gives the program's resources.

    A Service (or ServicePatch) carries ``pulumi.com/skipAwait``, so the provider's create returns
    the object as the API server answered it, before MetalLB gave it an address: status without
    an ingress (pulumi/pulumi-kubernetes@v4.32.0:provider/pkg/metadata/overrides.go ReadyCondition:
    skipAwait gives an immediate condition on the create's answer; await/await.go Creation).
    ``service_ips`` ("namespace/name" → IP, or its IPs in ingress order) stands for the outputs of
    an update or a refresh, whose answer is the live object with MetalLB's addresses (and of a
    ServicePatch's create, an apply to a Service that may have them already).
    The address command prints the addresses it waited for, one a line, IPv4 first
    (components/kubernetes/service_address.py): its ``--expect``s, else ALLOCATED and, with
    ``--family IPv6``, ALLOCATED6 (``--family IPv6`` alone: that one). In a preview nothing exists
    and no command runs: no status, no stdout (unknown)."""

    def __init__(
        self,
        preview: bool = False,
        service_ips: Mapping[str, str | Sequence[str]] | None = None,
        command_stdouts: Mapping[str, str] | None = None,
    ) -> None:
        self.preview = preview
        self.service_ips = dict(service_ips or {})
        # A command's stdout by resource name: what the provider recorded when it ran (say, by
        # tests/command_engine.py), as the engine hands it to the program in the next run.
        self.command_stdouts = dict(command_stdouts or {})

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state = dict(args.inputs)
        if self.preview:
            return f"{args.name}-id", state
        if args.typ in SERVICE_TYPES:
            metadata = args.inputs.get("metadata") or {}
            ip = self.service_ips.get(f"{metadata.get('namespace', 'default')}/{metadata.get('name')}")
            ips = [ip] if isinstance(ip, str) else list(ip or [])
            state["status"] = {"loadBalancer": {"ingress": [{"ip": a} for a in ips]} if ips else {}}
        if args.typ == "command:local:Command" and f" -m {SERVICE_ADDRESS} " in str(args.inputs.get("create")):
            state["stdout"] = "\n".join(waited_for(shlex.split(args.inputs["create"])))
        if args.name in self.command_stdouts:
            state["stdout"] = self.command_stdouts[args.name]
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def waited_for(arguments: Sequence[str]) -> list[str]:
    """What the mocked address command prints (see RecordingMocks)."""
    options = list(itertools.pairwise(arguments))
    pinned = [value for option, value in options if option == "--expect"]
    families = [value for option, value in options if option == "--family"] or ["IPv4"]
    allocated = [ip for family, ip in (("IPv4", ALLOCATED), ("IPv6", ALLOCATED6)) if family in families]
    return sorted(pinned, key=lambda a: ":" in a) or allocated


CONFIG_GROUP = "kubernetes:yaml/v2:ConfigGroup"
# Kinds of MetalLB's manifests (and of the ones the program declares) that have no namespace.
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "CustomResourceDefinition",
        "ClusterRole",
        "ClusterRoleBinding",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "PodSecurityPolicy",
    }
)


def type_token(api_version: str, kind: str) -> str:
    """The resource type the provider registers an object under: ``kubernetes:core/v1:Secret``,
    ``kubernetes:apps/v1:Deployment``; an unknown kind ``kubernetes:<apiVersion>:<kind>``
    (pulumi/pulumi-kubernetes@v4.32.0:provider/pkg/gen/_go-templates/yaml/v2/kinds.tmpl)."""
    group_version = api_version if "/" in api_version else f"core/{api_version}"
    return f"kubernetes:{group_version}:{kind}"


def config_group_children(name: str, inputs: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], list[int]]]:
    """(type, resource name, props, indexes of the children it depends on) of each object a
    ConfigGroup registers, in the order the provider registers them
    (pulumi/pulumi-kubernetes@v4.32.0:provider/pkg/provider/yaml/v2/configgroup.go, yaml.go):
    the prefix is ``resourcePrefix`` when set (even empty: then no prefix), else the group's name;
    a child is ``<prefix>:<namespace>/<name>``, cluster-scoped ``<prefix>:<name>``; the objects are
    registered in the topological order of cli-utils' dependency graph, whose edges are
    CRD → its custom resources and Namespace → the objects in it, each depending on its edges."""
    prefix = inputs.get("resourcePrefix", name)  # set but empty: no prefix
    objects: list[dict[str, Any]] = list(inputs.get("objs") or [])

    def depends(obj: dict[str, Any], on: dict[str, Any]) -> bool:
        group = obj["apiVersion"].rpartition("/")[0]
        if on["kind"] == "CustomResourceDefinition":
            spec = on.get("spec", {})
            return bool(spec.get("group") == group and spec.get("names", {}).get("kind") == obj["kind"])
        return bool(on["kind"] == "Namespace" and obj.get("metadata", {}).get("namespace") == on["metadata"]["name"])

    edges = {
        i: [j for j, other in enumerate(objects) if j != i and depends(obj, other)] for i, obj in enumerate(objects)
    }
    order: list[int] = []
    while len(order) < len(objects):
        ready = [i for i in range(len(objects)) if i not in order and all(j in order for j in edges[i])]
        order += ready
    children = []
    for i in order:
        obj = objects[i]
        metadata = obj.get("metadata", {})
        resource_name = metadata["name"]
        if metadata.get("namespace"):
            resource_name = f"{metadata['namespace']}/{resource_name}"
        if prefix:
            resource_name = f"{prefix}:{resource_name}"
        children.append((type_token(obj["apiVersion"], obj["kind"]), resource_name, obj, edges[i]))
    return children


class RecordingMonitor(MockMonitor):
    """Keeps what MockResourceArgs leaves out: parents, dependencies, providers, aliases and
    retainOnDelete; and registers a ConfigGroup's children as the provider would, through the
    transforms the engine would run on them."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.transforms: dict[str, list[Any]] = {}  # URN → its transform callbacks
        self.parents: dict[str, str] = {}

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            inputs = pulumi.runtime.rpc.deserialize_properties(request.object, keep_unknowns=True)
            self.registrations.append(
                Registration(
                    request.type,
                    request.name,
                    response.urn,
                    request.parent,
                    sorted(request.dependencies),
                    request.provider,
                    inputs,
                    request.deleteBeforeReplace,
                    aliases=[*request.aliasURNs, *self._alias_urns(request.aliases, request)],
                    retain_on_delete=request.retainOnDelete,
                    custom=request.custom,
                    replace_on_changes=tuple(request.replaceOnChanges),
                    ignore_changes=tuple(request.ignoreChanges),
                    version=request.version,
                    custom_timeouts={
                        k: getattr(request.customTimeouts, k)
                        for k in ("create", "update", "delete")
                        if getattr(request.customTimeouts, k)
                    },
                )
            )
            self.parents[response.urn] = request.parent
            self.transforms[response.urn] = list(request.transforms)
            if request.type == CONFIG_GROUP and request.remote:
                self._construct_config_group(request, response.urn, inputs)
        return response

    def _alias_urns(self, aliases: Sequence[Any], request: Any) -> list[str]:
        """Alias specs as URNs: an unset name, type or parent is the resource's own
        (pulumi/pulumi@v3.259.0:pkg/resource/deploy/source_eval.go parses them,
        sdk/go/common/resource/alias.go CreateURN builds the URN)."""
        urns = []
        for alias in aliases:
            if alias.HasField("urn"):
                urns.append(alias.urn)
                continue
            spec = alias.spec
            assert not spec.project and not spec.stack, "aliases across stacks are not emulated"
            parent = "" if spec.noParent else (spec.parentUrn or request.parent)
            urns.append(self.make_urn(parent, spec.type or request.type, spec.name or request.name))
        return urns

    def _transform(self, callback: Any, request: Any) -> Any:
        """Runs one transform callback the way the engine calls it: a serialized TransformRequest
        to the SDK's callback server, on the program's event loop."""
        for servicer in _CallbackServicer._servicers:
            function = servicer._callbacks.get(callback.token)
            if function is not None:

                async def call(function: Any = function) -> Any:
                    return await function(request.SerializeToString())

                return asyncio.run_coroutine_threadsafe(call(), servicer._loop).result(timeout=30)
        raise AssertionError(f"no transform callback {callback.token}")

    def _construct_config_group(self, request: Any, urn: str, inputs: dict[str, Any]) -> None:
        # The engine applies the group's transforms, then its ancestors', to each child
        # (pulumi/pulumi@v3.259.0:pkg/resource/deploy/source_eval.go: pendingTransforms of a
        # remote component, then resourceTransforms up the parent chain).
        chain, current = [], urn
        while current:
            chain += self.transforms.get(current, [])
            current = self.parents.get(current, "")
        provider = request.providers.get("kubernetes") or request.provider
        registered: list[str] = []
        for type_, name, obj, depends_on in config_group_children(request.name, inputs):
            props = obj
            if obj["apiVersion"] == "v1" and obj["kind"] == "Secret":  # yaml.go: always secret
                props = {k: pulumi.Output.secret(v) if k in ("data", "stringData") else v for k, v in obj.items()}
            loop = next(iter(_CallbackServicer._servicers))._loop if chain else None
            options = resource_pb2.TransformResourceOptions(
                provider=provider, depends_on=[registered[j] for j in depends_on if j < len(registered)]
            )
            retain = False
            aliases: list[Any] = []
            for callback in chain:
                assert loop is not None
                struct = asyncio.run_coroutine_threadsafe(
                    pulumi.runtime.rpc.serialize_properties(props, {}), loop
                ).result(timeout=30)
                transform_request = resource_pb2.TransformRequest(
                    type=type_, name=name, custom=True, parent=urn, properties=struct, options=options
                )
                response = self._transform(callback, transform_request)
                props = pulumi.runtime.rpc.deserialize_properties(response.properties, keep_unknowns=True)
                if response.HasField("options"):
                    options = response.options
                    retain = retain or options.retain_on_delete
                    aliases = list(options.aliases)
            child_urn = self.make_urn(urn, type_, name)
            plain = props
            args = pulumi.runtime.MockResourceArgs(typ=type_, name=name, inputs=plain, provider=provider, custom=True)
            id_, state = self.mocks.new_resource(args)
            self.resources[child_urn] = MockMonitor.ResourceRegistration(child_urn, id_ or "", state)
            child_request = resource_pb2.RegisterResourceRequest(type=type_, name=name, parent=urn)
            self.registrations.append(
                Registration(
                    type_,
                    name,
                    child_urn,
                    urn,
                    sorted(options.depends_on),
                    provider,
                    plain,
                    aliases=self._alias_urns(
                        [alias_pb2.Alias(spec=a.spec) if a.HasField("spec") else a for a in aliases], child_request
                    ),
                    retain_on_delete=retain,
                    custom=True,
                )
            )
            self.parents[child_urn] = urn
            registered.append(child_urn)


def stack_config(stack_file: Path, mirror: str, **overrides: Any) -> dict[str, str]:
    """The config as the engine passes it (objects and lists as JSON text), reading MetalLB's
    manifests from the loopback mirror."""
    config = yaml.safe_load(stack_file.read_text())["config"]
    config["metallb-unifi:metallb"] = {**config["metallb-unifi:metallb"], "manifestMirror": mirror}
    config.update({f"metallb-unifi:{key}": value for key, value in overrides.items()})
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in config.items()}


def resolve(value: Any) -> tuple[Any, bool, bool]:
    """(plain value, is known, is secret) of an exported value, pulled out of any Output."""
    if isinstance(value, dict):
        items = {k: resolve(v) for k, v in value.items()}
        return (
            {k: v[0] for k, v in items.items()},
            all(v[1] for v in items.values()),
            any(v[2] for v in items.values()),
        )
    if not isinstance(value, pulumi.Output):
        return value, True, False
    loop = asyncio.get_event_loop()
    return (
        loop.run_until_complete(value.future(with_unknowns=True)),
        loop.run_until_complete(value.is_known()),
        loop.run_until_complete(value.is_secret()),
    )


@dataclass
class Run:
    registrations: list[Registration]
    exports: dict[str, Any]

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def one(self, type_: str, name: str) -> Registration:
        (found,) = [r for r in self.registrations if r.type == type_ and r.name == name]
        return found


def _run(
    monkeypatch: pytest.MonkeyPatch,
    config: dict[str, str],
    *,
    preview: bool,
    service_ips: Mapping[str, str | Sequence[str]] | None = None,
    stack: str = "test",
    command_stdouts: Mapping[str, str] | None = None,
    observe_gateway: bool = False,
) -> tuple[Run, Any]:
    """Run __main__.py under mocks as ``stack``; (what it registered and exported, the RunError it
    raised or None)."""
    # The program's look at the controller for drift (components/resources/drift.py) goes over the
    # network: only tests that give it a loopback sshd or controller stand-in let it run; the others
    # see "not checked".
    for name, look in (("observe_usg", _OBSERVE_USG), ("observe_unifi_os", _OBSERVE_UNIFI_OS)):
        monkeypatch.setattr(drift, name, look if observe_gateway else lambda *_args, **_kwargs: drift.NOT_CHECKED)
    mocks = RecordingMocks(preview, service_ips, command_stdouts)
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project="metallb-unifi", stack=stack, preview=preview, monitor=monitor)
    pulumi.runtime.set_all_config(config)
    exports: dict[str, Any] = {}
    monkeypatch.setattr(pulumi, "export", lambda name, value: exports.__setitem__(name, value))
    monkeypatch.chdir(REPO)
    # The program resolves the kubeconfig it hands the provider: never the developer's own.
    monkeypatch.setenv("KUBECONFIG", str(REPO / "tests" / "no-such-kubeconfig"))
    refused: pulumi.RunError | None = None
    try:
        try:
            runpy.run_path(str(REPO / "__main__.py"), run_name="__main__")
        except pulumi.RunError as error:
            refused = error
        # Let every registration reach the monitor before looking at it.
        asyncio.get_event_loop().run_until_complete(wait_for_rpcs())
    finally:
        pulumi.runtime.settings.reset_options()
    return Run(monitor.registrations, exports), refused


def run_program(
    monkeypatch: pytest.MonkeyPatch,
    config: dict[str, str],
    *,
    preview: bool,
    service_ips: Mapping[str, str | Sequence[str]] | None = None,
    stack: str = "test",
    command_stdouts: Mapping[str, str] | None = None,
    observe_gateway: bool = False,
) -> Run:
    """Run __main__.py under mocks as ``stack`` (see RecordingMocks for ``service_ips`` and
    ``command_stdouts``; ``observe_gateway``: let the program look at the controller for drift,
    see _run)."""
    run, refused = _run(
        monkeypatch,
        config,
        preview=preview,
        service_ips=service_ips,
        stack=stack,
        command_stdouts=command_stdouts,
        observe_gateway=observe_gateway,
    )
    if refused is not None:
        raise refused
    return run


def run_program_until_refused(
    monkeypatch: pytest.MonkeyPatch, config: dict[str, str], *, preview: bool
) -> tuple[pulumi.RunError, list[Registration]]:
    """For a program that must stop with a RunError: the error, and what it registered before it."""
    run, refused = _run(monkeypatch, config, preview=preview)
    assert refused is not None, "the program did not stop with a RunError"
    return refused, run.registrations
