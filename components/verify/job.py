"""A verify run described as JSON, for the commands that run it without a stack file: ``pulumi
up``'s step (stdin) and the simulator (its own gateway). No secret: the gateway's key or
password comes from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from components.config.model import GatewaySshAccess

from .expectations import Expectations

FORMAT: Final = 1
AUTH_KINDS: Final = ("privateKey", "password")


@dataclass(frozen=True)
class GatewaySshSettings:
    host: str
    port: int
    user: str
    host_key: str
    auth: str  # privateKey | password: which environment variable holds the secret

    @classmethod
    def of(cls, access: GatewaySshAccess) -> GatewaySshSettings:
        auth = "privateKey" if access.private_key is not None else "password"
        return cls(access.host, access.port, access.user, access.host_key, auth)


@dataclass(frozen=True)
class VerifyJob:
    expectations: Expectations
    gateway_ssh: GatewaySshSettings | None
    retry_for_s: float = 0.0
    required: bool = True  # False: a failed check is reported, the exit status stays 0

    def to_json(self) -> dict[str, Any]:
        ssh = self.gateway_ssh
        return {
            "format": FORMAT,
            "expectations": self.expectations.to_json(),
            "gatewaySsh": None
            if ssh is None
            else {"host": ssh.host, "port": ssh.port, "user": ssh.user, "hostKey": ssh.host_key, "auth": ssh.auth},
            "retryFor": self.retry_for_s,
            "required": self.required,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> VerifyJob:
        try:
            if raw["format"] != FORMAT:
                raise ValueError(f"format {raw['format']!r} is not {FORMAT}")
            ssh = raw["gatewaySsh"]
            settings = None
            if ssh is not None:
                if ssh["auth"] not in AUTH_KINDS:
                    raise ValueError(f"gatewaySsh.auth {ssh['auth']!r} is not one of {', '.join(AUTH_KINDS)}")
                port = ssh["port"]
                settings = GatewaySshSettings(
                    str(ssh["host"]), int(port), str(ssh["user"]), str(ssh["hostKey"]), str(ssh["auth"])
                )
            return cls(
                Expectations.from_json(raw["expectations"]),
                settings,
                float(raw["retryFor"]),
                bool(raw["required"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not a verify job: {exc!r} is missing or wrong") from None
