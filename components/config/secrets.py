"""How secrets appear in rendered artifacts.

Renderers always write :func:`secret_text`. For output a person may see (``render`` without
``--show-secrets``, preview diffs), render a lab passed through :func:`redact_secrets` first.
"""

from __future__ import annotations

from dataclasses import replace

from .model import Lab, Secret


def secret_text(secret: Secret) -> str:
    """The secret's value, or a visible placeholder when it is encrypted in the stack file."""
    return secret.value if secret.value is not None else f"<encrypted: {secret.key}>"


def redacted(secret: Secret) -> Secret:
    return Secret(key=secret.key, value=f"<secret: {secret.key}>")


def redact_secrets(lab: Lab) -> Lab:
    """The same lab with every secret replaced by a visible placeholder naming its key."""
    password = lab.bgp.password
    if password is None:
        return lab
    return replace(lab, bgp=replace(lab.bgp, password=redacted(password)))


def secret_values(lab: Lab) -> tuple[str, ...]:
    """Every known secret value, e.g. to check that none leaks into logs or output."""
    password = lab.bgp.password
    return (password.value,) if password is not None and password.value is not None else ()
