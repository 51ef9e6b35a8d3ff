"""metallb-unifi: read the stack config, build the lab's resources, export what users need.

Until the Kubernetes and gateway components are wired in, the program validates the config
and exports the rendered gateway artifact and the outputs known from config alone.
"""

import pulumi

from components.config import ConfigError
from components.config.model import GatewayKind
from components.renderers.outputs import render_outputs
from components.renderers.usg_gateway import config_gateway_json
from components.stack_config import load_stack_lab

try:
    lab = load_stack_lab()
except ConfigError as error:
    # RunError ends the program with this message and no traceback, before any resource exists.
    raise pulumi.RunError(error.report()) from None

for warning in lab.warnings:
    pulumi.log.warn(warning)

outputs = render_outputs(lab, lab.pinned_addresses)
for name in ("services", "metallb", "bgp", "gateway"):
    pulumi.export(name, outputs[name])

if lab.gateway.kind is GatewayKind.USG:
    gateway_json = config_gateway_json(lab, lab.pinned_addresses)
    # With a BGP password in it, the file is a secret in state and in `pulumi stack output`.
    pulumi.export("configGatewayJson", pulumi.Output.secret(gateway_json) if lab.bgp.password else gateway_json)
