"""The two Kubernetes providers of a lab: one that adopts MetalLB's own objects, one that never
adopts (the Services the stack creates). Both reach the same cluster the same way."""

from __future__ import annotations

from dataclasses import dataclass

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


def _provider(name: str, target: ProviderKubeconfig, *, adopt: bool) -> k8s.Provider:
    """A provider for the kubeconfig resolved like kubectl resolves it (components/kubernetes/
    kubeconfig.py), the one the webhook gate reads too. A secret: it may hold credentials."""
    return k8s.Provider(
        name,
        kubeconfig=pulumi.Output.secret(target.kubeconfig),
        context=target.context,
        # Data changes of ConfigMaps and Secrets are updates in place, not delete-then-create
        # under the same name (pulumi/pulumi-kubernetes@v4.32.0:provider/pkg/provider/diff.go).
        enable_config_map_mutable=True,
        enable_secret_mutable=True,
        # Create becomes a server-side apply of an existing object (await/await.go, Creation).
        # That apply is not forced by itself (await.go patchForce: live is nil on create), and
        # kubectl's client-side apply owns every field it set, atomic lists such as the
        # speaker's tolerations included: force, or the adoption fails with a field conflict.
        upsert_existing_objects=True if adopt else None,
        enable_patch_force=True if adopt else None,
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
