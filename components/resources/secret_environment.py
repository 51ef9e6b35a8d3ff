"""The client's environment as a Pulumi input: every value secret but the few that may show."""

from __future__ import annotations

import pulumi

from components.contract import NOT_SECRET


def secret_environment(values: dict[str, str]) -> dict[str, pulumi.Input[str]]:
    return {name: value if name in NOT_SECRET else pulumi.Output.secret(value) for name, value in values.items()}
