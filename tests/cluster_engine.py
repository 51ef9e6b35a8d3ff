"""The Kubernetes side of a deployment as the engine and pulumi-kubernetes carry it out, against
a small model of the cluster's objects by (kind, namespace, name).

The engine part keeps state by URN across deployments and diffs each program run's
registrations (tests/program_harness.py, ConfigGroup children included) against it; the
provider part applies the provider's rules to the live objects. Every rule cites its source;
pulumi-kubernetes is read at v4.32.0, the version requirements.txt pins (tests/test_plugin_versions.py).
Command and component resources have no live object here: they are skipped (a command is taken
as succeeding; tests/command_engine.py emulates those).

Field ownership follows Kubernetes server-side apply, which the provider uses by default
(provider.go Configure: enableServerSideApply defaults to true): an apply that changes a field
another manager owns is a conflict unless forced (a force moves the field to the applier); a
field the applier stops setting and nobody else owns is removed (kubernetes.io "Server-Side
Apply": conflicts, field management). Maps are granular; every list is treated as atomic (the
API server treats associative lists such as containers granularly: this model may report a
conflict the server would not, never miss one the server reports).
"""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass, field
from typing import Any

from tests.program_harness import CLUSTER_SCOPED, CONFIG_GROUP, Registration
from tests.pulumi_values import unwrap
from tests.resources.provider_config import configured, diff_config

Key = tuple[str, str, str]  # (kind, namespace, name)
Path = tuple[str, ...]
KUBECTL = "kubectl-client-side-apply/Update"  # what `kubectl apply` (client-side) records
CREATE_MANAGER = "pulumi-kubernetes/Update"  # await.go Creation: client-side create's manager
# What an SSA update of a non-Patch resource takes over before it applies: every managedFields
# entry whose operation is the rule's and whose manager *starts with* the rule's name
# (pulumi/pulumi-kubernetes@v4.32.0:provider/pkg/await/await.go fixCSAFieldManagers, which passes
# no ExactMatch; fluxcd/pkg@4f94dc680419 (ssa/v0.71.1-0.20260424094917-4f94dc680419, the version
# that tag's provider/go.mod pins; ssa/patch.go is the same at ssa/v0.72.0):ssa/patch.go
# matchFieldManager, strings.HasPrefix unless ExactMatch; PatchReplaceFieldsManagers merges them into
# the applier's Apply entry). So "kubectl"/Update takes kubectl-client-side-apply, kubectl-edit,
# kubectl-label, kubectl-annotate, kubectl-patch…; the provider's own test "we take ownership of
# kubectl CSA" (await/await_test.go) expects exactly that of kubectl-client-side-apply.
TAKEN_OVER = (
    ("kubectl", "Apply"),
    ("kubectl", "Update"),
    ("before-first-apply", "Update"),
    ("pulumi-kubernetes", "Update"),  # also matches pulumi-kubernetes.exe
    ("pulumi-resource-kubernetes", "Update"),
)


def taken_over(manager: str) -> bool:
    """Whether an SSA update's fix-up (await.go fixCSAFieldManagers) takes ``manager`` over."""
    name, _, operation = manager.rpartition("/")
    return any(operation == op and name.startswith(prefix) for prefix, op in TAKEN_OVER)


PATCH_SUFFIX = "Patch"  # provider/pkg/kinds: ServicePatch, ConfigMapPatch, …
_IDENTITY = {"apiVersion", "kind"}


class KubernetesError(Exception):
    """A provider operation failed; the deployment stops here (pulumi step_executor.go)."""


def leaves(obj: dict[str, Any]) -> dict[Path, Any]:
    """An object's fields as leaf paths: maps are walked, lists and scalars are leaves."""
    out: dict[Path, Any] = {}

    def walk(value: Any, path: Path) -> None:
        if isinstance(value, dict) and value:
            for k, v in value.items():
                walk(v, (*path, str(k)))
        else:
            out[path] = value

    for key, value in obj.items():
        if key in _IDENTITY:
            continue
        if key == "metadata":
            value = {k: v for k, v in value.items() if k not in ("name", "namespace")}
        walk(value, (key,))
    return {p: v for p, v in out.items() if v != {}}


@dataclass
class LiveObject:
    api_version: str
    fields: dict[Path, Any]
    managers: dict[str, set[Path]]
    uid: int

    def value(self, *path: str) -> Any:
        return self.fields.get(tuple(path))

    def subtree(self, *path: str) -> dict[str, Any]:
        n = len(path)
        return {".".join(p[n:]): v for p, v in self.fields.items() if p[:n] == tuple(path)}


@dataclass
class Cluster:
    objects: dict[Key, LiveObject] = field(default_factory=dict)
    log: list[tuple[str, Key]] = field(default_factory=list)  # ("create"|"apply"|"update"|"delete", key)
    _uids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def kubectl_apply(self, obj: dict[str, Any]) -> None:
        """What the post's `kubectl apply -f` left: every field owned by kubectl's client-side apply."""
        fields = leaves(obj)
        fields[("metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration")] = json.dumps(obj)
        self.objects[key_of(obj)] = LiveObject(obj["apiVersion"], fields, {KUBECTL: set(fields)}, next(self._uids))

    def kubectl_patch(self, key: Key, fields: dict[Path, Any], manager: str = "kubectl-patch/Update") -> None:
        """`kubectl patch` (or, by ``manager``, `kubectl label`, `kubectl annotate`, `kubectl edit`):
        an update owned by its own manager (kubectl names it after the command: kubectl-label…)."""
        live = self.objects[key]
        live.fields.update(fields)
        for owned in live.managers.values():
            owned.difference_update(fields)
        live.managers.setdefault(manager, set()).update(fields)

    def create(self, obj: dict[str, Any], manager: str) -> None:
        key = key_of(obj)
        if key in self.objects:
            # await.go Creation: the error, with the provider's hints appended.
            raise KubernetesError(f"{key[0]} {key[1]}/{key[2]} already exists (AlreadyExists)")
        fields = leaves(obj)
        self.objects[key] = LiveObject(obj["apiVersion"], fields, {manager: set(fields)}, next(self._uids))
        self.log.append(("create", key))

    def apply(self, obj: dict[str, Any], manager: str, *, force: bool, create: bool = True) -> None:
        """A server-side apply by ``manager``."""
        key = key_of(obj)
        config = leaves(obj)
        live = self.objects.get(key)
        if live is None:
            if not create:
                raise KubernetesError(f"{key[0]} {key[1]}/{key[2]} not found")
            # An apply of an absent object creates it (Kubernetes server-side apply), so it must be a
            # valid object by itself: a Patch resource of a missing object fails validation.
            problem = invalid(obj)
            if problem:
                raise KubernetesError(f'{key[0]} "{key[2]}" is invalid: {problem} (Invalid)')
            self.objects[key] = LiveObject(obj["apiVersion"], config, {manager: set(config)}, next(self._uids))
            self.log.append(("create", key))
            return
        conflicts = sorted(
            (".".join(path), other)
            for path, value in config.items()
            if path in live.fields and live.fields[path] != value
            for other, owned in live.managers.items()
            if other != manager and path in owned
        )
        if conflicts and not force:
            # await.go handleSSAErr wraps the API server's 409.
            raise KubernetesError(f"server-side apply field conflict on {key}: {conflicts}")
        for path in config:
            for other, owned in live.managers.items():
                if other != manager and path in owned and live.fields.get(path) != config[path]:
                    owned.discard(path)
        mine = live.managers.get(manager, set())
        for path in mine - set(config):
            if not any(path in owned for other, owned in live.managers.items() if other != manager):
                live.fields.pop(path, None)
        live.fields.update(config)
        live.managers[manager] = set(config)
        live.api_version = obj["apiVersion"]
        self.log.append(("apply", key))

    def replace(self, obj: dict[str, Any], manager: str) -> None:
        """A PUT (CRDs, await.go updateResource): the object becomes exactly ``obj``."""
        live = self.objects[key_of(obj)]
        live.fields = leaves(obj)
        live.managers = {manager: set(live.fields)}
        self.log.append(("update", key_of(obj)))

    def relinquish(self, key: Key, manager: str) -> None:
        """pulumi/pulumi-kubernetes@v4.32.0:provider/pkg/ssa/actions.go Relinquish: an empty apply
        by the patch's manager; fields nobody else owns go back to their defaults (removed)."""
        live = self.objects.get(key)
        if live is None:
            return
        for path in live.managers.pop(manager, set()):
            if not any(path in owned for owned in live.managers.values()):
                live.fields.pop(path, None)
        self.log.append(("apply", key))

    def delete(self, key: Key) -> None:
        # await.go Deletion: delete by name; NotFound counts as deleted.
        if self.objects.pop(key, None) is not None:
            self.log.append(("delete", key))

    def get(self, key: Key) -> dict[str, Any] | None:
        """The object as a GET returns it: apiVersion, kind, metadata.name, .namespace and .uid,
        and its fields; None when it does not exist."""
        live = self.objects.get(key)
        if live is None:
            return None
        kind, namespace, name = key
        obj: dict[str, Any] = {"apiVersion": live.api_version, "kind": kind, "metadata": {"name": name}}
        if namespace:
            obj["metadata"]["namespace"] = namespace
        obj["metadata"]["uid"] = f"00000000-0000-4000-8000-{live.uid:012d}"
        for path, value in live.fields.items():
            node = obj
            for part in path[:-1]:
                node = node.setdefault(part, {})
            node[path[-1]] = value
        return obj

    def deleted(self) -> list[Key]:
        return [key for verb, key in self.log if verb == "delete"]

    def created(self) -> list[Key]:
        return [key for verb, key in self.log if verb == "create"]


# The Service annotations MetalLB reads a requested address from: metallb.io/ (v0.13+) and the
# older metallb.universe.tf/ (metallb/metallb@v0.15.3:controller/service.go
# AnnotationLoadBalancerIPs, DeprecatedAnnotationLoadBalancerIPs; v0.12.1 the latter only).
REQUESTED_IPS = ("metallb.io/loadBalancerIPs", "metallb.universe.tf/loadBalancerIPs")
METALLB_MANAGER = "controller/Update"  # the status subresource, written by MetalLB's controller


def metallb_allocates(cluster: Cluster, allocated: str | None) -> dict[Key, str]:
    """What MetalLB's controller does to each Service of type LoadBalancer: one without an address
    gets the requested address (the loadBalancerIPs annotation, else spec.loadBalancerIP; the
    first of a list), else one from a pool (``allocated`` here; None: the pools are exhausted, it
    gets none and MetalLB records AllocationFailed); one whose requested address is
    not the one it has gets the requested one. It writes the status
    (metallb/metallb@v0.15.3:controller/service.go convergeBalancer: "differentIPRequested"
    clears the state, then allocateIPs, getDesiredLbIPs; internal/k8s/k8s.go UpdateStatus: the
    status subresource). Returns what it gave."""
    given: dict[Key, str] = {}
    for key, live in cluster.objects.items():
        if key[0] != "Service" or live.value("spec", "type") != "LoadBalancer":
            continue
        requested = [live.value("metadata", "annotations", a) for a in REQUESTED_IPS] + [
            live.value("spec", "loadBalancerIP")
        ]
        if requested[-1] and any(requested[:-1]):
            # getDesiredLbIPs: "service can not have both": a LoadBalancerFailed event, the
            # Service is left as it is.
            continue
        wanted = next((str(r).split(",")[0].strip() for r in requested if r), None)
        current = live.value("status", "loadBalancer", "ingress")
        if current and (wanted is None or current[0].get("ip") == wanted):
            continue
        ip = wanted or allocated
        if ip is None:
            continue
        path = ("status", "loadBalancer", "ingress")
        live.fields[path] = [{"ip": ip, "ipMode": "VIP"}]
        live.managers.setdefault(METALLB_MANAGER, set()).add(path)
        given[key] = ip
    return given


def invalid(obj: dict[str, Any]) -> str | None:
    """The API server's validation, as far as this model needs it: a Service needs ports unless it
    is headless or ExternalName (kubernetes/kubernetes pkg/apis/core/validation/validation.go
    ValidateService, "spec.ports: Required value"; read in the code index, not mirrored here)."""
    if obj["kind"] == "Service":
        spec = obj.get("spec") or {}
        if not spec.get("ports") and spec.get("clusterIP") != "None" and spec.get("type") != "ExternalName":
            return "spec.ports: Required value"
    return None


def pruned_live(entry: StateEntry) -> dict[str, Any]:
    """provider.go Diff, pruneLiveState: the recorded live object cut to the fields of the old
    inputs (a field the inputs set that the live object lacks is left out); identity from the inputs."""
    if not entry.live:
        return entry.inputs
    out: dict[str, Any] = {k: entry.inputs[k] for k in _IDENTITY if k in entry.inputs}
    metadata = entry.inputs.get("metadata", {})
    out["metadata"] = {k: metadata[k] for k in ("name", "namespace") if k in metadata}
    for path in leaves(entry.inputs):
        if path in entry.live:
            node = out
            for part in path[:-1]:
                node = node.setdefault(part, {})
            node[path[-1]] = entry.live[path]
    return out


def key_of(obj: dict[str, Any]) -> Key:
    metadata = obj.get("metadata", {})
    kind = obj["kind"]
    namespace = "" if kind in CLUSTER_SCOPED else metadata.get("namespace") or "default"
    return kind, namespace, metadata["name"]


@dataclass
class StateEntry:
    urn: str
    type: str
    provider: str
    inputs: dict[str, Any]
    manager: str
    retain_on_delete: bool
    dependencies: list[str]
    # The live object the provider recorded (its outputs) at the last create, update or refresh.
    live: dict[Path, Any] = field(default_factory=dict)


@dataclass
class Deployment:
    steps: list[tuple[str, str]]  # (op, URN): create, update, replace, delete, retain, same
    error: str | None = None

    def ops(self, op: str) -> list[str]:
        return [urn for o, urn in self.steps if o == op]


def _flag(config: dict[str, Any], key: str) -> bool:
    # provider.go Configure: a set value wins over the provider's environment, which this process's
    # environment stands for (tests/resources/provider_config.py configured).
    return configured({k: unwrap(v) for k, v in config.items()}, key, dict(os.environ))


# pulumi/pulumi-kubernetes@v4.32.0:provider/pkg/provider/provider.go DiffConfig: what replaces a
# provider (and with it every resource) when it changes; other keys are in-place updates.
# - no change at all: no diff;
# - clusterIdentifier updated (set before and after, to another value): replaced; set or unset for
#   the first time: not; unchanged and set: nothing is replaced, whatever else changed;
# - renderYamlToDirectory changed: replaced;
# - kubeconfig, context or cluster (the cluster name that overrides the context's,
#   util.go getActiveClusterFromConfig) replace only when the old and the new active cluster are
#   both found and differ (tests/resources/provider_config.py reads them the way the provider does).
def _provider_replaced(old: dict[str, Any], new: dict[str, Any]) -> bool:
    def value(config: dict[str, Any], key: str) -> Any:
        return unwrap(config.get(key))

    keys = set(old) | set(new)
    if all(value(old, k) == value(new, k) for k in keys):
        return False
    old_id, new_id = value(old, "clusterIdentifier"), value(new, "clusterIdentifier")
    if old_id is not None and new_id is not None and old_id != new_id:
        return True
    if new_id is not None and old_id == new_id:
        return False
    if value(old, "renderYamlToDirectory") != value(new, "renderYamlToDirectory"):
        return True
    diff = diff_config(
        value(old, "kubeconfig"),
        value(new, "kubeconfig"),
        value(old, "context"),
        value(new, "context"),
        old_cluster=value(old, "cluster"),
        new_cluster=value(new, "cluster"),
    )
    return bool(diff.replaces)


class KubernetesEngine:
    """Deployments of the program's Kubernetes resources against one :class:`Cluster`."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.state: dict[str, StateEntry] = {}  # in deployment order (dependencies first)
        self.providers: dict[str, dict[str, Any]] = {}  # provider URN → its inputs
        self._managers = itertools.count(1)

    def up(self, registrations: list[Registration]) -> Deployment:
        steps: list[tuple[str, str]] = []
        new_state: dict[str, StateEntry] = {}
        matched: dict[str, str] = {}  # new URN → the old URN it was found by
        providers = {r.urn: r.inputs for r in registrations if r.type == "pulumi:providers:kubernetes"}
        names = {r.urn: r.name for r in registrations}
        deployment = Deployment(steps)
        try:
            for registration in registrations:
                old_urn = self._old_urn(registration, matched, names)
                if old_urn is not None:
                    matched[registration.urn] = old_urn
                if not self._managed(registration):
                    continue
                old = self.state.get(old_urn) if old_urn else None
                entry = self._step(registration, old, providers, steps)
                new_state[registration.urn] = entry
        except KubernetesError as error:
            deployment.error = str(error)
            # A failed step stops the deployment; what succeeded is kept (pulumi step_executor.go),
            # and resources not reached keep their old state.
            seen = set(matched.values()) | set(new_state)
            self.state = {**new_state, **{u: e for u, e in self.state.items() if u not in seen}}
            self.providers.update(providers)
            return deployment
        # Old URNs neither registered nor aliased are deleted at the end, dependents first
        # (pulumi/pulumi@v3.259.0:pkg/resource/deploy/step_generator.go GenerateDeletes, ScheduleDeletes).
        gone = [u for u in self.state if u not in new_state and u not in matched.values()]
        for urn in reversed(gone):
            self._delete(self.state[urn], steps)
        self.state = new_state
        self.providers.update(providers)
        return deployment

    def destroy(self) -> Deployment:
        steps: list[tuple[str, str]] = []
        for urn in reversed(list(self.state)):
            self._delete(self.state[urn], steps)
        self.state = {}
        return Deployment(steps)

    @staticmethod
    def _managed(registration: Registration) -> bool:
        return registration.custom and registration.type.startswith("kubernetes:") and registration.type != CONFIG_GROUP

    def _old_urn(self, registration: Registration, matched: dict[str, str], names: dict[str, str]) -> str | None:
        """The URN first, then the aliases, then the aliases inherited from a parent found by an
        alias: a child whose name starts with its parent's name gets that prefix swapped for the
        parent's old name (step_generator.go getOldResource, generateAliases, inheritedChildAlias)."""
        candidates = [registration.urn, *registration.aliases]
        parent_old = matched.get(registration.parent)
        if parent_old and parent_old != registration.parent:
            parent_name, old_parent_name = names.get(registration.parent, ""), parent_old.rpartition("::")[2]
            if registration.name.startswith(parent_name):
                head = registration.urn.rpartition("::")[0]
                candidates.append(f"{head}::{old_parent_name}{registration.name[len(parent_name) :]}")
        return next((u for u in candidates if u in self.state), None)

    def _step(
        self,
        registration: Registration,
        old: StateEntry | None,
        providers: dict[str, dict[str, Any]],
        steps: list[tuple[str, str]],
    ) -> StateEntry:
        urn = registration.urn
        obj = unwrap(registration.inputs)
        provider_urn = registration.provider.rpartition("::")[0]
        config = providers.get(provider_urn, {})
        entry = StateEntry(
            urn,
            registration.type,
            provider_urn,
            obj,
            old.manager if old else f"pulumi-kubernetes-{next(self._managers)}/Apply",
            registration.retain_on_delete,
            registration.dependencies,
        )
        if self._is_patch(registration.type) and not _flag(config, "enableServerSideApply"):
            # provider.go Check, for every registration of a Patch resource.
            raise KubernetesError("patch resources require Server-Side Apply mode")
        if old is None:
            self._create(entry, config)
            steps.append(("create", urn))
            return self._recorded(entry)
        old_config = self.providers.get(old.provider, {})
        if _provider_replaced(old_config, config):
            self._replace(old, entry, config, steps)
            return self._recorded(entry)
        # provider.go Diff: the live object in the state, pruned to the shape of the old inputs,
        # against the new inputs (not old inputs against new).
        before = pruned_live(old)
        if leaves(before) == leaves(obj) and key_of(before) == key_of(obj) and old.provider == provider_urn:
            steps.append(("same", urn))
            entry.live = old.live
            return entry
        if self._replaces(before, obj, config, registration.type):
            self._replace(old, entry, config, steps)
            return self._recorded(entry)
        self._update(entry, config)
        steps.append(("update", urn))
        return self._recorded(entry)

    def _recorded(self, entry: StateEntry) -> StateEntry:
        """The outputs: the live object as the operation left it."""
        live = self.cluster.objects.get(key_of(entry.inputs))
        entry.live = dict(live.fields) if live is not None else {}
        return entry

    @staticmethod
    def _is_patch(type_: str) -> bool:
        return type_.endswith(PATCH_SUFFIX)  # provider/pkg/kinds IsPatchResource

    def _force(self, obj: dict[str, Any], config: dict[str, Any]) -> bool:
        # await.go patchForce: the pulumi.com/patchForce annotation or the provider's enablePatchForce.
        annotations = obj.get("metadata", {}).get("annotations") or {}
        return str(annotations.get("pulumi.com/patchForce", "")).lower() == "true" or _flag(config, "enablePatchForce")

    def _create(self, entry: StateEntry, config: dict[str, Any]) -> None:
        # await.go Creation: with server-side apply, an upsert or a Patch resource is an apply
        # (not forced unless patchForce says so); anything else is a create, AlreadyExists if present.
        if self._is_patch(entry.type):
            # A Patch of a missing object is still an apply: it creates the object, or fails its validation.
            self.cluster.apply(entry.inputs, entry.manager, force=self._force(entry.inputs, config))
        elif _flag(config, "upsertExistingObjects"):
            self.cluster.apply(entry.inputs, entry.manager, force=self._force(entry.inputs, config))
        else:
            self.cluster.create(entry.inputs, CREATE_MANAGER)

    def _update(self, entry: StateEntry, config: dict[str, Any]) -> None:
        obj = entry.inputs
        if obj["kind"] == "CustomResourceDefinition":  # await.go updateResource: a PUT
            self.cluster.replace(obj, entry.manager)
            return
        live = self.cluster.objects.get(key_of(obj))
        if live is None:
            raise KubernetesError(f"{key_of(obj)} not found")  # await.go Update: Get of the live object
        if not self._is_patch(entry.type):  # await.go fixCSAFieldManagers (not for Patch resources)
            for manager in list(live.managers):
                if taken_over(manager):
                    live.managers.setdefault(entry.manager, set()).update(live.managers.pop(manager))
        self.cluster.apply(obj, entry.manager, force=self._force(obj, config), create=False)

    @staticmethod
    def _replaces(old: dict[str, Any], new: dict[str, Any], config: dict[str, Any], type_: str) -> bool:
        """provider.go Diff + diff.go forceNewProperties: name and namespace always; a ConfigMap's
        data/binaryData and a Secret's type/data/stringData unless enableConfigMapMutable /
        enableSecretMutable (or immutable: true); binding roleRefs; workload selectors."""

        def changed(*path: str) -> bool:
            a: Any = old
            b: Any = new
            for p in path:
                a = a.get(p) if isinstance(a, dict) else None
                b = b.get(p) if isinstance(b, dict) else None
            return bool(a != b)

        if changed("metadata", "name") or changed("metadata", "namespace"):
            return True
        if type_.endswith(PATCH_SUFFIX):
            return False
        kind = new["kind"]
        immutable = new.get("immutable") is True
        if kind == "ConfigMap" and (not _flag(config, "enableConfigMapMutable") or immutable):
            return changed("data") or changed("binaryData")
        if kind == "Secret" and (not _flag(config, "enableSecretMutable") or immutable):
            return changed("type") or changed("data") or changed("stringData")
        if kind == "Secret":  # diff.go forceNew core/v1 Secret: .type, mutable or not
            return changed("type")
        if kind == "Service":  # diff.go forceNew core/v1 Service
            return changed("spec", "clusterIP")
        if kind in ("RoleBinding", "ClusterRoleBinding"):
            return changed("roleRef")
        if kind in ("Deployment", "DaemonSet", "StatefulSet"):
            return changed("spec", "selector")
        return False

    def _replace(self, old: StateEntry, entry: StateEntry, config: dict[str, Any], steps: list[Any]) -> None:
        # provider.go Diff: deleteBeforeReplace when the new object keeps the old name and
        # namespace; else the engine creates first and deletes the old one.
        if key_of(old.inputs) == key_of(entry.inputs):
            self.cluster.delete(key_of(old.inputs))
            self._create(entry, config)
        else:
            self._create(entry, config)
            self.cluster.delete(key_of(old.inputs))
        steps.append(("replace", entry.urn))

    def _delete(self, entry: StateEntry, steps: list[tuple[str, str]]) -> None:
        # pulumi/pulumi@v3.259.0:pkg/resource/deploy/step.go DeleteStep.Apply: retainOnDelete
        # drops the resource from state without calling the provider.
        if entry.retain_on_delete:
            steps.append(("retain", entry.urn))
            return
        if self._is_patch(entry.type):  # await.go Deletion: a Patch resource relinquishes its fields
            self.cluster.relinquish(key_of(entry.inputs), entry.manager)
        else:
            self.cluster.delete(key_of(entry.inputs))
        steps.append(("delete", entry.urn))


@dataclass
class Refresh:
    gone: list[str]  # URNs whose object no longer exists: dropped from the state
    unhealthy: dict[str, list[str]]  # URN → the provider's messages: "Refreshed resource is in an unhealthy state"


def _service_read_errors(live: LiveObject, *, not_ready: bool) -> list[str] | None:
    """pulumi/pulumi-kubernetes@v4.32.0:provider/pkg/await/service.go serviceInitAwaiter.read:
    ready when a LoadBalancer has an ingress entry and, for a Service with a selector (not headless,
    not ExternalName: shouldWaitForPods), no endpoint address is not ready (endpointsPending); None
    when ready, else errorMessages. ``not_ready``: every endpoint address of the Service is not ready."""
    type_ = live.value("spec", "type") or "ClusterIP"
    has_address = bool(live.value("status", "loadBalancer", "ingress"))
    service_ready = has_address if type_ == "LoadBalancer" else True
    waits_for_pods = not (
        type_ == "ExternalName" or live.value("spec", "clusterIP") == "None" or not live.subtree("spec", "selector")
    )
    if service_ready and not (waits_for_pods and not_ready):
        return None
    messages = []
    if waits_for_pods and not_ready:
        messages.append("Service does not target any Pods")
    if type_ == "LoadBalancer" and not service_ready:
        messages.append("Service was not allocated an IP address")
    return messages


def refresh(engine: KubernetesEngine, *, not_ready: frozenset[Key] = frozenset()) -> Refresh:
    """`pulumi refresh` of the Kubernetes resources in ``engine``'s state: the provider's Read of each
    (pulumi/pulumi-kubernetes@v4.32.0:provider/pkg/provider/provider.go Read, await/await.go Read).
    Read takes the inputs stored in the state (provider.go Read: the request's inputs, oldInputs);
    an object that is gone (404) is deleted from the state; else the live kind's read awaiter runs
    unless those inputs carry ``pulumi.com/skipAwait`` exactly ``"true"`` (metadata/overrides.go
    SkipAwaitLogic, metadata/annotations.go IsAnnotationTrue: value == AnnotationTrue), ignoring
    ``pulumi.com/waitFor``; a failing awaiter is a partial error: the object is checkpointed and
    the resource reported unhealthy. Only the Service awaiter (v1/Service, so ServicePatches too:
    the key is the live object's apiVersion/kind) is modelled; other kinds read as ready."""
    gone: list[str] = []
    unhealthy: dict[str, list[str]] = {}
    for urn, entry in list(engine.state.items()):
        key = key_of(entry.inputs)
        live = engine.cluster.objects.get(key)
        if live is None:
            gone.append(urn)
            del engine.state[urn]
            continue
        annotations = entry.inputs.get("metadata", {}).get("annotations") or {}
        if key[0] != "Service" or annotations.get("pulumi.com/skipAwait") == "true":
            continue
        errors = _service_read_errors(live, not_ready=key in not_ready)
        if errors is not None:
            unhealthy[urn] = errors
    return Refresh(gone, unhealthy)
