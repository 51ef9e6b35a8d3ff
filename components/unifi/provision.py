"""Find the site's gateway, force-provision it and wait until it runs the new configuration.

Done means: the device is back to state 1 (connected) with a ``cfgversion`` different from
the one it had before the command. Right after the command it may still report state 1 with
the old version for a while, then 5 (provisioning), then 1 with the new version.
The waiting loop takes its clock and sleep as arguments so it can be tested without time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from components.unifi.errors import NoGatewayError, ProvisionTimeoutError, StuckProvisioningError

GATEWAY_TYPES = frozenset({"ugw", "udm", "uxg", "ucg"})

STATE_CONNECTED = 1
STATE_PROVISIONING = 5

STATES: Mapping[int, str] = {
    0: "disconnected",
    1: "connected",
    2: "pending",
    4: "upgrading",
    5: "provisioning",
    6: "heartbeat missed",
    7: "adopting",
    9: "inform error",
    11: "isolated",
}


def state_name(state: int | None) -> str:
    if state is None:
        return "not listed"
    return STATES.get(state, "unknown")


def normalize_mac(mac: str) -> str:
    cleaned = mac.strip().lower().replace("-", ":").replace(".", "")
    if ":" not in cleaned and len(cleaned) == 12:
        cleaned = ":".join(cleaned[i : i + 2] for i in range(0, 12, 2))
    return cleaned


@dataclass(frozen=True)
class Device:
    mac: str
    type: str
    name: str
    model: str
    state: int | None
    cfgversion: str | None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Device:
        state: int | None = None
        raw_state = raw.get("state")
        if isinstance(raw_state, int | str):
            try:
                state = int(raw_state)
            except ValueError:
                state = None
        cfg = raw.get("cfgversion")
        return cls(
            mac=normalize_mac(str(raw.get("mac", ""))),
            type=str(raw.get("type", "")),
            name=str(raw.get("name") or raw.get("model") or raw.get("mac", "")),
            model=str(raw.get("model", "")),
            state=state,
            cfgversion=None if cfg is None else str(cfg),
        )

    def describe(self) -> str:
        return f"{self.name} ({self.mac}, {self.type or '?'})"

    def status(self) -> str:
        return f"state {self.state} ({state_name(self.state)}), cfgversion {self.cfgversion or '-'}"


class Api(Protocol):
    def api(self, method: str, path: str, json_body: Any = None) -> list[Any]: ...


def list_devices(client: Api, site: str) -> list[Device]:
    return [Device.from_api(raw) for raw in client.api("GET", f"/api/s/{site}/stat/device") if isinstance(raw, dict)]


def find_gateway(devices: Iterable[Device], site: str, mac: str | None = None) -> Device:
    """The gateway of the site: the device with ``mac`` if given, else the only gateway-type device."""
    devices = list(devices)
    if mac:
        wanted = normalize_mac(mac)
        for device in devices:
            if device.mac == wanted:
                return device
        raise NoGatewayError(f"no device with MAC {wanted} on site {site!r}")
    gateways = [d for d in devices if d.type in GATEWAY_TYPES]
    if not gateways:
        raise NoGatewayError(f"no gateway (ugw/udm/uxg/ucg) among the {len(devices)} devices of site {site!r}")
    if len(gateways) > 1:
        names = ", ".join(g.describe() for g in gateways)
        raise NoGatewayError(f"{len(gateways)} gateways on site {site!r} ({names}); choose one with --gateway-mac")
    return gateways[0]


def wait_for_provision(
    fetch: Callable[[], Device | None],
    old_cfgversion: str | None,
    *,
    timeout: float,
    poll_interval: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    report: Callable[[str], None] = print,
) -> Device:
    """Poll ``fetch`` until the device is connected with a new cfgversion.

    Reports a line whenever the state or version changes. Raises
    ``StuckProvisioningError`` if the deadline passes while the device is still
    provisioning, ``ProvisionTimeoutError`` if it passes in any other situation.
    """
    deadline = clock() + timeout
    last_seen: tuple[int | None, str | None] | None = None
    seen_provisioning = False
    device: Device | None = None
    while True:
        device = fetch()
        seen = (None, None) if device is None else (device.state, device.cfgversion)
        if seen != last_seen:
            if device is None:
                report("gateway not listed by the controller")
            else:
                new = " (new)" if device.cfgversion != old_cfgversion else ""
                report(f"gateway {device.status()}{new}")
            last_seen = seen
        if device is not None:
            if device.state == STATE_PROVISIONING:
                seen_provisioning = True
            if device.state == STATE_CONNECTED and device.cfgversion != old_cfgversion:
                return device
        now = clock()
        if now >= deadline:
            break
        sleep(max(0.0, min(poll_interval, deadline - now)))
    status = "not listed" if device is None else device.status()
    if device is not None and device.state == STATE_PROVISIONING:
        raise StuckProvisioningError(f"still provisioning after {timeout:g}s ({status})")
    started = "" if seen_provisioning else ", provisioning never started"
    raise ProvisionTimeoutError(f"gateway not back with a new config after {timeout:g}s ({status}{started})")


def provision_gateway(
    client: Api,
    site: str,
    *,
    gateway_mac: str | None = None,
    timeout: float = 600.0,
    poll_interval: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    report: Callable[[str], None] = print,
) -> Device:
    """Force-provision the site's gateway and wait for it; returns the device as finally seen."""
    gateway = find_gateway(list_devices(client, site), site, gateway_mac)
    report(f"gateway {gateway.describe()}: {gateway.status()}")
    client.api("POST", f"/api/s/{site}/cmd/devmgr", {"cmd": "force-provision", "mac": gateway.mac})
    report(f"force-provision sent to {gateway.mac}, waiting up to {timeout:g}s")

    def fetch() -> Device | None:
        for device in list_devices(client, site):
            if device.mac == gateway.mac:
                return device
        return None

    done = wait_for_provision(
        fetch,
        gateway.cfgversion,
        timeout=timeout,
        poll_interval=poll_interval,
        clock=clock,
        sleep=sleep,
        report=report,
    )
    report(f"gateway provisioned: cfgversion {gateway.cfgversion or '-'} -> {done.cfgversion}")
    return done
