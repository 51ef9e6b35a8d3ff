"""Every way ``python -m components.unifi`` can fail: one exception class per cause, each with its
own exit code, and :data:`EXIT_CODES`, the one table of what each code means (``--help`` prints
it, docs/controller-client.md shows it and a test keeps the two equal).

A failure prints one secret-free line on stderr, ``<cause>: <message>``, and exits with its
class's code. Callers (the Pulumi program's command resources, a user's script) tell causes
apart by the code alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

EXIT_OK: Final = 0
EXIT_INTERNAL: Final = 1
EXIT_USAGE: Final = 2
EXIT_UNREACHABLE: Final = 3
EXIT_TLS: Final = 4
EXIT_CREDENTIALS: Final = 5
EXIT_NO_GATEWAY: Final = 6
EXIT_TIMEOUT: Final = 7
EXIT_STUCK_PROVISIONING: Final = 8
EXIT_API: Final = 9
EXIT_RATE_LIMITED: Final = 10
EXIT_SSH_UNREACHABLE: Final = 11
EXIT_SSH_HOST_KEY: Final = 12
EXIT_SSH_AUTH: Final = 13
# 14 (a live file that was not the stack's, with no content to install again) went with the
# stacks' parts: the content is always given now. Not reused.
EXIT_REMOTE_COMMAND: Final = 15
EXIT_ROLLED_BACK: Final = 16
EXIT_GATEWAY_DOWN: Final = 17
EXIT_BGP_NOT_OURS: Final = 18
EXIT_DNS_CONFLICT: Final = 19
EXIT_BGP_UNSUPPORTED: Final = 20
EXIT_NOT_UNIFI_OS: Final = 21
EXIT_SETTINGS_DROPPED: Final = 22
EXIT_BGP_CHANGED: Final = 23
EXIT_STACKS_CONFLICT: Final = 24
EXIT_LOCKED: Final = 25

EXIT_CODES: Final[Mapping[int, str]] = {
    EXIT_OK: "provisioned (or status printed, or nothing to do)",
    EXIT_INTERNAL: "unexpected internal error (a bug: please report it)",
    EXIT_USAGE: "bad or conflicting options, or inputs that do not fit together",
    EXIT_UNREACHABLE: "controller unreachable (after bounded retries with backoff)",
    EXIT_TLS: "TLS: certificate not trusted, fingerprint mismatch, unusable CA",
    EXIT_CREDENTIALS: "credentials: missing, refused at login, not authorized after one re-login, or an account "
    "that needs MFA (HTTP 499 / `api.err.Ubic2faTokenRequired`): use a local account without MFA, or an API key",
    EXIT_NO_GATEWAY: "no gateway on the site, several without `--gateway-mac`, or that MAC not there",
    EXIT_TIMEOUT: "timeout: the gateway did not come back (state 1, new config version) within `--timeout`",
    EXIT_STUCK_PROVISIONING: "the gateway is stuck provisioning (still in state 5 when `--timeout` ran out)",
    EXIT_API: "other controller API error (`meta.rc` error, wrong flavor, …); an unknown site "
    "(`api.err.NoSiteContext`), with the sites the account can see (short name and the name shown in the UI); "
    'a UniFi OS console that answers like a classic controller ("set flavor: unifi-os")',
    EXIT_RATE_LIMITED: "login rate-limited (HTTP 429) through about 90 s of waiting",
    EXIT_SSH_UNREACHABLE: "SSH connection failed (unreachable, handshake failed, a command went silent)",
    EXIT_SSH_HOST_KEY: "SSH host key mismatch (or the server has no key of the expected type)",
    EXIT_SSH_AUTH: "SSH key missing, unusable (encrypted, unknown type) or refused by the server",
    EXIT_REMOTE_COMMAND: "a command over SSH failed: a controller-side script (its message is included), the SFTP "
    "upload, or the gateway's BGP summary command",
    EXIT_ROLLED_BACK: "rolled back: the gateway did not come back with the new file; this stack's part is out of it "
    "again (your original back if it was the only one) and the gateway provisioned",
    EXIT_GATEWAY_DOWN: "rolled back, but the gateway did not come back without this stack's part either (or taking "
    "it out failed): check the gateway",
    EXIT_BGP_NOT_OURS: "unifi-os: the gateway has a BGP config in force this stack cannot add its part to (another "
    "AS, no `router bgp`, a router id or maximum-paths of its own, a stack it cannot share the gateway with): the "
    "message names the line and what to do",
    EXIT_DNS_CONFLICT: "unifi-os: a DNS record the stack wants exists and is not the stack's",
    EXIT_BGP_UNSUPPORTED: "unifi-os: the site's gateway cannot run BGP (`api.err.BgpUnsupportedDevice`, on the GET "
    "or only on the POST); nothing was written",
    EXIT_NOT_UNIFI_OS: "unifi-os: the controller is a classic controller, not a UniFi OS console",
    EXIT_SETTINGS_DROPPED: "`check-original`: installing the stack's file would drop settings of your original "
    "`config.gateway.json` (or the original is not a JSON object)",
    EXIT_BGP_CHANGED: "unifi-os: the gateway's BGP config kept changing between this run's read and its write "
    "(another stack's `up` or someone in UniFi Network); nothing of it was overwritten: run again",
    EXIT_STACKS_CONFLICT: "USG: this stack cannot share `config.gateway.json` with a stack whose part is on the "
    "controller (the same AS or router id not given, overlapping pools, a node address or host name in both, …; "
    "each conflict names both stacks and the keys), or that stack was installed by an older release; nothing was "
    "written",
    EXIT_LOCKED: "USG: another stack's run held the site's lock on the controller for longer than this run waits; "
    "nothing was written: run again",
}


class UnifiError(Exception):
    """A failure with a one-line, secret-free message and a distinct exit code."""

    exit_code: int = EXIT_INTERNAL
    cause: str = "error"

    def __str__(self) -> str:
        return f"{self.cause}: {super().__str__()}"


class UsageError(UnifiError):
    exit_code = EXIT_USAGE
    cause = "usage"


class UnreachableError(UnifiError):
    exit_code = EXIT_UNREACHABLE
    cause = "controller unreachable"


class TlsError(UnifiError):
    exit_code = EXIT_TLS
    cause = "TLS"


class CredentialsError(UnifiError):
    exit_code = EXIT_CREDENTIALS
    cause = "credentials"


class RateLimitedError(UnifiError):
    exit_code = EXIT_RATE_LIMITED
    cause = "login rate-limited"


class ApiError(UnifiError):
    exit_code = EXIT_API
    cause = "controller API error"


class UnknownSiteError(ApiError):
    cause = "unknown site"


class NoGatewayError(UnifiError):
    exit_code = EXIT_NO_GATEWAY
    cause = "no gateway"


class ProvisionTimeoutError(UnifiError):
    exit_code = EXIT_TIMEOUT
    cause = "timeout"


class StuckProvisioningError(UnifiError):
    exit_code = EXIT_STUCK_PROVISIONING
    cause = "gateway stuck provisioning"


class SshConnectionError(UnifiError):
    exit_code = EXIT_SSH_UNREACHABLE
    cause = "SSH connection failed"


class HostKeyMismatchError(UnifiError):
    exit_code = EXIT_SSH_HOST_KEY
    cause = "SSH host key mismatch"


class SshAuthError(UnifiError):
    exit_code = EXIT_SSH_AUTH
    cause = "SSH authentication"


class RemoteCommandError(UnifiError):
    exit_code = EXIT_REMOTE_COMMAND
    cause = "remote command failed"


class RolledBackError(UnifiError):
    exit_code = EXIT_ROLLED_BACK
    cause = "rolled back"


class GatewayDownError(UnifiError):
    exit_code = EXIT_GATEWAY_DOWN
    cause = "gateway down"


class BgpNotOursError(UnifiError):
    exit_code = EXIT_BGP_NOT_OURS
    cause = "BGP config not this stack's"


class DnsConflictError(UnifiError):
    exit_code = EXIT_DNS_CONFLICT
    cause = "DNS record conflict"


class BgpUnsupportedError(UnifiError):
    exit_code = EXIT_BGP_UNSUPPORTED
    cause = "BGP unsupported"


class NotUnifiOsError(UnifiError):
    exit_code = EXIT_NOT_UNIFI_OS
    cause = "UniFi OS required"


class SettingsDroppedError(UnifiError):
    exit_code = EXIT_SETTINGS_DROPPED
    cause = "your config.gateway.json settings"


class BgpChangedError(UnifiError):
    exit_code = EXIT_BGP_CHANGED
    cause = "BGP config changed meanwhile"


class StacksConflictError(UnifiError):
    exit_code = EXIT_STACKS_CONFLICT
    cause = "stacks cannot share the gateway"


class ControllerLockedError(UnifiError):
    exit_code = EXIT_LOCKED
    cause = "the site is locked by another run"


class V2ApiError(ApiError):
    """A 4xx answer of the Network v2 API, which reports errors as ``{"code", "message"}``."""

    def __init__(self, method: str, path: str, status: int, code: str | None, message: str | None) -> None:
        self.status = status
        self.code = code
        detail = ": ".join(part for part in (code, message) if part) or "no message"
        super().__init__(f"{method} {path} answered HTTP {status} ({detail})")
