"""The two Kubernetes providers of a lab: one that adopts MetalLB's own objects, one that never
adopts (the Services the stack creates). Both reach the same cluster the same way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components.kubernetes.kubeconfig import ProviderKubeconfig


@dataclass(frozen=True)
class ClusterProviders:
    # MetalLB's Namespace, install objects and configuration: an object the post's reader
    # already applied with kubectl is taken over, not an AlreadyExists error.
    metallb: k8s.Provider
    # The Services the stack creates (and patches): one that already exists stays an error,
    # else another tool's Service would be taken over and deleted on destroy.
    services: k8s.Provider


# Every setting the design depends on is passed, true or false, on both providers: a setting left
# unset is read from the environment, by the SDK (pulumi/pulumi-kubernetes@v4.32.0:
# sdk/python/pulumi_kubernetes/provider.py Provider._internal_init: None → PULUMI_K8S_<NAME>) and
# again by the provider (provider/pkg/provider/provider.go Configure: a config value that is set
# wins; only an unset one falls back to the variable). So a user's exported
# PULUMI_K8S_UPSERT_EXISTING_OBJECTS or PULUMI_K8S_ENABLE_PATCH_FORCE cannot make `services`
# adopt, nor PULUMI_K8S_ENABLE_SERVER_SIDE_APPLY=false turn off the server-side apply that
# ServicePatch needs (provider.go Check: "patch resources require Server-Side Apply mode").
# Left to the user: suppressDeprecationWarnings and suppressHelmHookWarnings (messages only), the
# client's burst/QPS/timeout; namespace and renderYamlToDirectory have no variable.
class DesignSettings(TypedDict):
    enable_server_side_apply: bool
    enable_config_map_mutable: bool
    enable_secret_mutable: bool
    upsert_existing_objects: bool
    enable_patch_force: bool
    delete_unreachable: bool
    skip_update_unreachable: bool


def design_settings(*, adopt: bool) -> DesignSettings:
    """The provider arguments the design depends on, by SDK argument name."""
    return {
        # Server-side apply: ServicePatch, field managers, upsert (provider.go Configure: default true).
        "enable_server_side_apply": True,
        # Data changes of ConfigMaps and Secrets are updates in place, not delete-then-create
        # under the same name (pulumi/pulumi-kubernetes@v4.32.0:provider/pkg/provider/diff.go).
        "enable_config_map_mutable": True,
        "enable_secret_mutable": True,
        # Create becomes a server-side apply of an existing object (await/await.go, Creation).
        # That apply is not forced by itself (await.go patchForce: live is nil on create), and
        # kubectl's client-side apply owns every field it set, atomic lists such as the
        # speaker's tolerations included: force, or the adoption fails with a field conflict.
        "upsert_existing_objects": adopt,
        "enable_patch_force": adopt,
        # An unreachable cluster fails the operation, never drops resources from the state
        # (provider.go Read/Delete with deleteUnreachable) nor skips their updates
        # (skipUpdateUnreachable): either would leave state and cluster apart.
        "delete_unreachable": False,
        "skip_update_unreachable": False,
    }


def _provider(name: str, target: ProviderKubeconfig, *, adopt: bool) -> k8s.Provider:
    """A provider for the kubeconfig resolved like kubectl resolves it (components/kubernetes/
    kubeconfig.py), the one the webhook gate reads too. A secret: it may hold credentials."""
    return k8s.Provider(
        name,
        kubeconfig=pulumi.Output.secret(target.kubeconfig),
        context=target.context,
        **design_settings(adopt=adopt),
    )


def cluster_providers(target: ProviderKubeconfig) -> ClusterProviders:
    # None of these flags replaces a provider or a resource when turned on for a deployed stack:
    # DiffConfig replaces only for the active cluster, clusterIdentifier or renderYamlToDirectory
    # (pulumi/pulumi-kubernetes@v4.32.0:provider/pkg/provider/provider.go, DiffConfig). So the
    # Services may move from "cluster" to "services" in place.
    return ClusterProviders(
        # Named "cluster" as before: MetalLB's resources keep their provider.
        metallb=_provider("cluster", target, adopt=True),
        services=_provider("services", target, adopt=False),
    )
