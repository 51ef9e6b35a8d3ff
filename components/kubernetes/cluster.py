"""The one Kubernetes provider every cluster resource of a lab uses explicitly."""

from __future__ import annotations

import pulumi_kubernetes as k8s

from components.config.model import KubernetesAccess


def cluster_provider(access: KubernetesAccess) -> k8s.Provider:
    """A provider for the configured kubeconfig and context; without them, the ambient one
    (``KUBECONFIG`` or ``~/.kube/config`` and its current context)."""
    return k8s.Provider(
        "cluster",
        kubeconfig=access.kubeconfig,
        context=access.context,
    )
