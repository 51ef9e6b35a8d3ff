"""The Kubernetes Services a lab exposes through MetalLB, one per configured service.

A service the program creates (``existing: false``) is a whole v1 Service. A Service that
already exists (``existing: true``, e.g. one installed by a Helm chart) is rendered as a
patch: an object naming the Service with only the fields this program owns, to be merged
into the live object (server-side apply or ``kubectl patch``). Anything else on it, ports and
selector included, stays as its owner wrote it.

How the address is pinned depends on the MetalLB release: from v0.13 the
``<prefix>/loadBalancerIPs`` annotation, on v0.12 ``spec.loadBalancerIP`` (deprecated by
Kubernetes but the only way that release reads). Never both: MetalLB refuses a Service that
sets both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.config.model import Lab, Service, ServicePort
from components.config.versions import MetalLBVersion

from .metallb import MANAGED_BY, dump_yaml_documents


@dataclass(frozen=True)
class RenderedService:
    """One configured service's manifest.

    ``service_name`` is the service's name in the stack config (``Service.name``, the host
    name's first label), not the Kubernetes Service name (that is ``manifest.metadata.name``).
    When ``existing`` is true, ``manifest`` is a patch of a Service someone else created.
    """

    service_name: str
    existing: bool
    manifest: dict[str, Any]

    @property
    def kubernetes_id(self) -> str:
        """``namespace/name`` of the Kubernetes Service."""
        metadata = self.manifest["metadata"]
        return f"{metadata['namespace']}/{metadata['name']}"


def render_services(lab: Lab) -> list[RenderedService]:
    """Every configured service's manifest, in config order."""
    version = lab.metallb.version
    return [
        RenderedService(
            service_name=service.name,
            existing=service.existing,
            manifest=_patch(service, version) if service.existing else _service(service, version),
        )
        for service in lab.services
    ]


def render_services_yaml(lab: Lab) -> str:
    """:func:`render_services` as one multi-document YAML file; each patch of an existing
    Service is headed by a comment saying so (a Kubernetes object has no field for it)."""
    return dump_yaml_documents(
        (rendered.manifest, f"patch of existing Service {rendered.kubernetes_id}" if rendered.existing else None)
        for rendered in render_services(lab)
    )


def metallb_annotations(service: Service, version: MetalLBVersion) -> dict[str, str]:
    """The MetalLB annotations this program sets on ``service`` (possibly none)."""
    prefix = version.annotation_prefix
    annotations: dict[str, str] = {}
    if service.addresses and _pins_with_annotation(service, version):
        annotations[f"{prefix}/loadBalancerIPs"] = ",".join(str(a) for a in service.addresses)
    if service.pool is not None:
        annotations[f"{prefix}/address-pool"] = service.pool
    if service.shared_ip_key is not None:
        annotations[f"{prefix}/allow-shared-ip"] = service.shared_ip_key
    return annotations


def _pins_with_annotation(service: Service, version: MetalLBVersion) -> bool:
    """The ``loadBalancerIPs`` annotation pins from the CRD era on, and two addresses (one per
    family) on v0.12.1 too: the annotation exists since v0.12.0 (metallb/metallb@v0.12.1:
    controller/service.go:34, 218-248) and ``spec.loadBalancerIP`` holds one address only."""
    return version.pins_with_annotation or len(service.addresses) > 1


def _owned_spec(service: Service, version: MetalLBVersion) -> dict[str, Any]:
    """The spec fields this program sets, for created Services and patches alike."""
    spec: dict[str, Any] = {"type": "LoadBalancer"}
    if service.addresses and not _pins_with_annotation(service, version):
        (spec["loadBalancerIP"],) = (str(a) for a in service.addresses)
    if service.ip_family_policy is not None:
        spec["ipFamilyPolicy"] = service.ip_family_policy.value
    if service.ip_families:
        spec["ipFamilies"] = [family.value for family in service.ip_families]
    if service.external_traffic_policy is not None:
        spec["externalTrafficPolicy"] = service.external_traffic_policy.value
    return spec


def _metadata(service: Service, version: MetalLBVersion, *, labels: dict[str, str] | None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": service.service_name, "namespace": service.namespace}
    if labels:
        metadata["labels"] = labels
    annotations = metallb_annotations(service, version)
    if annotations:
        metadata["annotations"] = annotations
    return metadata


def _service(service: Service, version: MetalLBVersion) -> dict[str, Any]:
    spec = _owned_spec(service, version)
    spec["ports"] = [_port(port) for port in service.ports]
    spec["selector"] = dict(service.selector)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(service, version, labels=dict(MANAGED_BY)),
        "spec": spec,
    }


def _patch(service: Service, version: MetalLBVersion) -> dict[str, Any]:
    # No labels: the Service belongs to whoever created it; this program only adds to it.
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(service, version, labels=None),
        "spec": _owned_spec(service, version),
    }


def _port(port: ServicePort) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if port.name is not None:
        result["name"] = port.name
    result.update(port=port.port, targetPort=port.target_port, protocol=port.protocol)
    return result
