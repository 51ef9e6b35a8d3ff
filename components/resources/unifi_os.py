"""``UnifiOsGatewayConfig``: a UniFi OS gateway's BGP configuration and the services' DNS
records, through the controller API, as one local command of the program's own client:

* create and update run ``python -m components.unifi unifi-os apply``: it takes over the
  gateway's BGP configuration only if it is empty or this stack's, and creates, updates or
  deletes exactly the records this stack owns (a foreign record with one of its names is an
  error); a run with nothing to change writes nothing;
* delete runs ``unifi-os remove``: the stack's records go, the BGP configuration the gateway
  had before is put back.

What the stack owns, and the configuration it replaced, travel from one run to the next in
the command's stdout (pulumi-command hands it to update and delete as PULUMI_COMMAND_STDOUT);
it can hold the user's previous BGP config, so it is a secret output and not echoed to the
console. A change is always an update: a replacement would apply the new run (finding the
records as someone else's) before the old one's remove.

When the program saw the stack's BGP config or one of its records changed or gone on the gateway,
``METALLB_UNIFI_REPAIR`` in the command's environment makes it run ``apply`` once, which puts the
stack's part back; otherwise that entry is ignored and nothing runs (components/resources/drift.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_command as command

from components.config.model import ControllerAccess
from components.contract import BGPD_CONF_ENV
from components.resources import drift, gateway_commands
from components.resources.drift import NOT_CHECKED, Observation
from components.resources.secret_environment import secret_environment


@dataclass(frozen=True)
class UnifiOsGatewayConfigArgs:
    controller: ControllerAccess
    stack: str
    bgpd_conf: str  # the exact FRR config; may hold the BGP password
    bgpd_conf_preview: str  # the same with secrets redacted, for diffs
    records: pulumi.Output[list[dict[str, Any]]]  # known once MetalLB has allocated the addresses
    # What the program saw on the console at this preview or up (drift.observe_unifi_os): a drift
    # to put back makes the command run once; anything else changes nothing.
    observation: Observation = NOT_CHECKED


class UnifiOsGatewayConfig(pulumi.ComponentResource):
    apply: command.local.Command

    def __init__(self, name: str, args: UnifiOsGatewayConfigArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("metallb-unifi:gateway:UnifiOsGatewayConfig", name, None, opts)
        controller, stack = args.controller, args.stack
        environment = secret_environment(gateway_commands.client_environment(controller))
        bgpd_conf: pulumi.Output[str] = pulumi.Output.secret(args.bgpd_conf)
        environment[BGPD_CONF_ENV] = bgpd_conf
        repair, ignored = drift.command_options(args.observation)
        environment.update(repair)
        apply = gateway_commands.unifi_os_command(controller, "apply", stack)
        self.apply = command.local.Command(
            f"{name}-bgp-and-dns",
            create=apply,
            update=apply,
            delete=gateway_commands.unifi_os_command(controller, "remove", stack),
            stdin=args.records.apply(
                lambda records: gateway_commands.unifi_os_stdin(stack, args.bgpd_conf, args.bgpd_conf_preview, records)
            ),
            environment=environment,
            # The console shows stderr only: stdout carries the state (maybe the user's old config).
            logging=command.local.Logging.STDERR,
            opts=pulumi.ResourceOptions(parent=self, additional_secret_outputs=["stdout"], ignore_changes=ignored),
        )
        self.register_outputs({})
