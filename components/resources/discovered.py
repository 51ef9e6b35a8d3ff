"""Discovery during `pulumi preview` and `pulumi up`: list the cluster's Services, apply the rules,
and say what a failed listing means (the thin shell around components.discovery.rules)."""

from __future__ import annotations

import os
from typing import Any

import pulumi

from components.config.model import Lab
from components.discovery.rules import DiscoveredName, discover
from components.kubernetes.service_list import ServiceListError, list_services


def discovered_in_cluster(lab: Lab) -> tuple[DiscoveredName, ...] | None:
    """The discovered names, each rule's warning logged; None in a preview whose listing failed
    (the names are unknown then). In `up` a failed listing raises RunError before any resource
    exists: read as "no Services", it would drop every discovered name from the gateway."""
    if lab.discovery is None:
        return ()
    try:
        listed = list_services(lab.kubernetes, lab.discovery.namespaces, os.environ)
    except ServiceListError as error:
        if not pulumi.runtime.is_dry_run():
            raise pulumi.RunError(
                f"metallb-unifi:discovery: {error}. Nothing was changed: without the cluster's Services the "
                "gateway would lose every discovered host name"
            ) from None
        pulumi.log.warn(
            f"metallb-unifi:discovery: {error}. The discovered host names are unknown in this preview; "
            "`pulumi up` fails until the Services can be listed"
        )
        return None
    result = discover(lab, listed)
    for warning in result.warnings:
        pulumi.log.warn(warning)
    return result.entries


def as_output(found: tuple[DiscoveredName, ...] | None) -> pulumi.Output[Any]:
    """The names as an Output: known, or (None) unknown, so that a preview shows every gateway
    input that depends on them as unknown rather than as losing them."""

    async def resolved(result: Any) -> Any:
        return result

    return pulumi.Output(set(), resolved(found or ()), resolved(found is not None))
