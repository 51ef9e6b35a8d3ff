"""The site's FRR BGP config (``/v2/api/site/<site>/bgp/config``): read, judged, planned, written.

The endpoint holds one config per site. The only write is a POST of the whole object (create
and update alike, answered 201); DELETE removes it, with ``{}`` as its body as go-unifi sends
(ubiquiti-community/go-unifi@b2bf4ce:unifi/bgp_config.generated.go, deleteBGPConfig; createBGPConfig
serves create and update). A GET answers a list, empty without a config (getBGPConfig decodes
``[]BGPConfig``; jamesbraid/go-unifi@e255518:cmd/fields/gateway_seeded_uos_integration_test.go reads
the list back); the object itself and a 404 are read as well. Without a gateway that can run BGP,
``api.err.BgpUnsupportedDevice`` (404) may come on the GET or only on the POST
(jamesbraid/go-unifi@e255518:cmd/fields/gateway_probe_integration_test.go, the POST sweep): both
are exit 20, and the POST is the first write of a run, so nothing is written then. A config is
this stack's alone when its description is the stack's and its text has no stack markers; one
with no text or disabled is not in force and may be taken over (it is put back on ``remove``).
Any other (another stack's, several stacks', or the user's own in force) is one text that several
writers share: the stack adds or replaces only its marked blocks in it (``shared_bgp``), or is
refused (exit 18) when it cannot. The fields (ubiquiti-community/go-unifi@2831d44:
unifi/bgp_config.generated.go, ``BGPConfig``) hold no revision or etag, and the POST has no
condition: a change by another writer is detected by reading again just before the write
(``commands``), not prevented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol

from components.unifi.errors import ApiError, BgpNotOursError, BgpUnsupportedError, V2ApiError
from components.unifi.unifi_os import shared_bgp
from components.unifi.unifi_os.inputs import BGPD_FILE_NAME, ApplyInputs
from components.unifi.unifi_os.state import StackState

# The description field's limit (go-unifi@2831d44: unifi/bgp_config.generated.go, ".{0,128}").
DESCRIPTION_MAX: Final = 128

UNSUPPORTED_CODE: Final = "api.err.BgpUnsupportedDevice"
_PASSWORD_LINE = re.compile(r"(?im)^([ \t]*neighbor[ \t]+\S+[ \t]+password[ \t]+)(\S.*?)[ \t]*$")
_SERVER_FIELDS: Final = ("_id", "site_id")  # the controller's, not part of what is restored


class V2Api(Protocol):
    def network_v2(self, method: str, path: str, json_body: Any = None) -> Any: ...


def mask_passwords(conf: str) -> str:
    """bgpd.conf text fit to print: every ``neighbor X password Y`` keeps its ``neighbor X password``,
    the original a stack handed on (it may hold passwords) only its size."""
    lines = [
        f"{shared_bgp.ORIGINAL}<kept, {len(line)} characters>" if line.startswith(shared_bgp.ORIGINAL) else line
        for line in conf.split("\n")
    ]
    return _PASSWORD_LINE.sub(lambda m: m.group(1) + "<redacted>", "\n".join(lines))


def bgp_passwords(conf: str) -> list[str]:
    """The passwords of a bgpd.conf, to blank out of any message that might quote them."""
    return [m.group(2) for m in _PASSWORD_LINE.finditer(conf)]


def bgp_path(site: str) -> str:
    return f"/v2/api/site/{site}/bgp/config"


@dataclass(frozen=True)
class BgpConfig:
    raw: dict[str, Any]

    @property
    def enabled(self) -> bool:
        return self.raw.get("enabled") is True

    @property
    def description(self) -> str:
        value = self.raw.get("description")
        return value if isinstance(value, str) else ""

    @property
    def text(self) -> str:
        value = self.raw.get("frr_bgpd_config")
        return value if isinstance(value, str) else ""

    def in_force(self) -> bool:
        return self.enabled and bool(self.text.strip())

    def restorable(self) -> dict[str, Any]:
        return {k: v for k, v in self.raw.items() if k not in _SERVER_FIELDS}

    def server_fields(self) -> dict[str, Any]:
        return {k: self.raw[k] for k in _SERVER_FIELDS if k in self.raw}

    def describe(self) -> str:
        state = "enabled" if self.enabled else "disabled"
        text = "" if self.text.strip() else ", empty"
        return f"description {self.description!r}, {state}{text}"


def _unsupported(site: str) -> BgpUnsupportedError:
    return BgpUnsupportedError(f"site {site}: this site's gateway cannot run BGP (UniFi OS gateway required)")


def read_bgp(client: V2Api, site: str) -> BgpConfig | None:
    """The site's config, or None when it has none."""
    try:
        body = client.network_v2("GET", bgp_path(site))
    except V2ApiError as exc:
        if exc.code == UNSUPPORTED_CODE:
            raise _unsupported(site) from None
        if exc.status == 404:
            return None
        raise
    if isinstance(body, list):
        if len(body) > 1:
            raise ApiError(f"site {site}: the controller lists {len(body)} BGP configs, expected one")
        body = body[0] if body else None
    if body is None:
        return None
    if not isinstance(body, dict):
        raise ApiError(f"site {site}: the BGP config is not a JSON object")
    return BgpConfig(dict(body))


def write_bgp(client: V2Api, site: str, body: dict[str, Any]) -> None:
    try:
        client.network_v2("POST", bgp_path(site), body)
    except V2ApiError as exc:
        if exc.code == UNSUPPORTED_CODE:
            raise _unsupported(site) from None
        raise


def delete_bgp(client: V2Api, site: str) -> None:
    client.network_v2("DELETE", bgp_path(site), {})


@dataclass(frozen=True)
class BgpPlan:
    action: Literal["create", "update", "take over", "join", "unchanged"]
    body: dict[str, Any] | None  # what to POST; None: unchanged
    previous_bgp: dict[str, Any] | None  # what remove puts back


def desired_bgp(inputs: ApplyInputs) -> dict[str, Any]:
    return {
        "enabled": True,
        "description": inputs.description,
        "frr_bgpd_config": inputs.bgpd_conf,
        "uploaded_file_name": BGPD_FILE_NAME,
    }


def is_stacks(config: BgpConfig, descriptions: set[str]) -> bool:
    return config.description in descriptions


def is_alone(config: BgpConfig, descriptions: set[str]) -> bool:
    """The config is one stack's alone, as today: its description, no markers in its text."""
    return is_stacks(config, descriptions) and not shared_bgp.has_markers(config.text)


def plan_bgp(current: BgpConfig | None, inputs: ApplyInputs, state: StackState | None, stack: str) -> BgpPlan:
    """What to write; raises ``BgpNotOursError`` for a config in force the stack cannot add its part to.

    A config with the stack's description is the stack's even without a state: a create that
    failed after writing it left no state behind, and its retry must not be refused.
    """
    desired = desired_bgp(inputs)
    carried = state.previous_bgp if state is not None else None
    if current is None:
        return BgpPlan("create", desired, carried)
    ours = {inputs.description} | ({state.description} if state is not None else set())
    merged = {**current.server_fields(), **desired}
    if is_alone(current, ours):
        # Alone after the others left: the original handed on stays at the top of the text.
        _, _, line = shared_bgp.split_original(current.text)
        desired = {**desired, "frr_bgpd_config": shared_bgp.with_original(inputs.bgpd_conf, line)}
        merged = {**current.server_fields(), **desired}
        if all(current.raw.get(key) == value for key, value in desired.items()):
            return BgpPlan("unchanged", None, carried)
        return BgpPlan("update", merged, carried)
    if not current.in_force() and shared_bgp.owners(current.description) is None:
        return BgpPlan("take over", merged, carried if carried is not None else current.restorable())
    try:
        joined = shared_bgp.join(current.text, current.description, inputs.bgpd_conf, stack)
    except shared_bgp.SharedBgpRefusal as exc:
        raise BgpNotOursError(f"{exc} ({current.describe()})") from None
    if len(joined.description) > DESCRIPTION_MAX:
        raise BgpNotOursError(
            f"the BGP config's description would be {joined.description!r}, longer than the {DESCRIPTION_MAX} "
            "characters the controller takes; nothing was changed: shorten the description of your own BGP config "
            "in UniFi Network (or the stack names)"
        )
    body = {**current.raw, "enabled": True, "description": joined.description, "frr_bgpd_config": joined.text}
    if not isinstance(body.get("uploaded_file_name"), str) or not body["uploaded_file_name"]:
        body["uploaded_file_name"] = (
            BGPD_FILE_NAME  # the POST requires one (go-unifi's probe, "uploadedFileName required")
        )
    if joined.description == inputs.description and not shared_bgp.has_markers(joined.text):
        body["uploaded_file_name"] = BGPD_FILE_NAME  # alone again: exactly what create writes
    if body == current.raw:
        return BgpPlan("unchanged", None, carried)
    return BgpPlan("join", body, carried)


def restore_body(current: BgpConfig, previous: dict[str, Any]) -> dict[str, Any]:
    return {**current.server_fields(), **previous}
