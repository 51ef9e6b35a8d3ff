"""What the Pulumi program and the commands it runs agree on: how a command is started and the
environment variables that carry its secrets and its previous run's output.

Both sides import these names (``components/resources/`` writes them into command resources,
``components/unifi/`` and ``components/kubernetes/`` read them), so a rename cannot leave one side
behind. The values are part of every deployed stack's state: changing one changes the command
lines or environments of its resources, so the next ``up`` would run them again.
"""

from __future__ import annotations

from typing import Final

# The project's venv (Pulumi.yaml: virtualenv: venv), relative to the project directory where
# Pulumi runs commands: no path of the user's machine goes into state.
PYTHON: Final = "venv/bin/python"

# The commands the program runs, as ``PYTHON -m MODULE``.
CONTROLLER_CLIENT: Final = "components.unifi"
WEBHOOK_GATE: Final = "components.kubernetes.webhook_gate"
SERVICE_CHECK: Final = "components.kubernetes.service_check"
SERVICE_ADDRESS: Final = "components.kubernetes.service_address"

# The controller client's credentials and TLS trust.
USERNAME_ENV: Final = "UNIFI_USERNAME"
PASSWORD_ENV: Final = "UNIFI_PASSWORD"
API_KEY_ENV: Final = "UNIFI_API_KEY"
CA_CERT_ENV: Final = "UNIFI_CA_CERT"
# The controller's SSH private key (text, never a path), and the gateway's for `status` and
# `components.verify`; or instead of the gateway's key, its password (metallb-unifi:gatewaySsh).
SSH_KEY_ENV: Final = "UNIFI_SSH_PRIVATE_KEY"
GATEWAY_KEY_ENV: Final = "UNIFI_GATEWAY_SSH_KEY"
GATEWAY_PASSWORD_ENV: Final = "UNIFI_GATEWAY_SSH_PASSWORD"
# The stack's config.gateway.json, so the client can install it again after a rollback.
CONTENT_ENV: Final = "UNIFI_CONFIG_GATEWAY_JSON"
# A UniFi OS gateway's bgpd.conf (it may hold the BGP password, so not on stdin).
BGPD_CONF_ENV: Final = "UNIFI_BGPD_CONF"
# Set by the user for one `up`: hosts whose original config.gateway.json cannot be put back.
SKIP_RESTORE_ENV: Final = "METALLB_UNIFI_SKIP_RESTORE_ON"

# What the program saw drift from at preview or up (paths and a time, no value): set on the
# gateway command only to make it run once; the command itself reads the gateway again.
REPAIR_ENV: Final = "METALLB_UNIFI_REPAIR"

# Environment values that may show in state and diffs; the program marks all others secret.
NOT_SECRET: Final = frozenset({USERNAME_ENV, CA_CERT_ENV, REPAIR_ENV})

# pulumi-command gives a command its previous run's stdout in this variable
# (pulumi/pulumi-command@v1.2.1:provider/pkg/provider/local/commandOutputs.go).
PREVIOUS_STDOUT_ENV: Final = "PULUMI_COMMAND_STDOUT"
