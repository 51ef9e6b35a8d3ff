"""The Service a command is about, as both Service commands take it on their command line
(``service_check``, ``service_address``): namespace, name and the stack key its errors name.
The kubeconfig and its context come the same way; no secret goes on the line."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from components.config.values import is_dns_label


@dataclass(frozen=True)
class ServiceRef:
    namespace: str
    name: str
    stack_key: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


def add_service_arguments(parser: argparse.ArgumentParser) -> None:
    """``--namespace``, ``--name``, ``--stack-key``, ``--kubeconfig`` and ``--context``."""
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--stack-key", required=True, help="the service's key, e.g. metallb-unifi:services[0]")
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)")
    parser.add_argument("--context", help="kubeconfig context (default: current-context)")


def service_ref(parser: argparse.ArgumentParser, args: argparse.Namespace) -> ServiceRef:
    """The Service the parsed ``args`` name; a usage error (exit 2) unless both names are DNS
    labels, which is what namespaces and Service names are."""
    for flag, value in (("--namespace", args.namespace), ("--name", args.name)):
        if not is_dns_label(value):
            parser.error(f"{flag} {value!r} is not a valid Kubernetes name")
    return ServiceRef(args.namespace, args.name, args.stack_key)
