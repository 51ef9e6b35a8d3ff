"""The provisioning logic: gateway selection and the wait loop (fake clock), plus the real HTTP path."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from components.unifi.client import ControllerClient, Credentials, TlsTrust
from components.unifi.errors import NoGatewayError, ProvisionTimeoutError, StuckProvisioningError
from components.unifi.provision import (
    Device,
    find_gateway,
    normalize_mac,
    provision_gateway,
    state_name,
    wait_for_provision,
)
from tests.unifi.conftest import GATEWAY_MAC, NEW_CFG, OLD_CFG, Certs, FakeController


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def gw(state: int | None, cfg: str | None, mac: str = "aa:bb:cc:00:00:01", kind: str = "ugw") -> Device:
    return Device(mac=mac, type=kind, name="gw", model="UGW3", state=state, cfgversion=cfg)


def sequence(*devices: Device | None) -> Callable[[], Device | None]:
    """Yields the given devices, then repeats the last one forever."""
    items: Iterator[Device | None] = iter(devices)
    last: list[Device | None] = [None]

    def fetch() -> Device | None:
        last[0] = next(items, last[0])
        return last[0]

    return fetch


def test_lagging_device_is_not_done_until_new_cfgversion() -> None:
    clock, lines = FakeClock(), list[str]()
    fetch = sequence(gw(1, "old"), gw(1, "old"), gw(1, "old"), gw(5, "old"), gw(5, "old"), gw(1, "new"))
    done = wait_for_provision(
        fetch, "old", timeout=60, poll_interval=2, clock=clock, sleep=clock.sleep, report=lines.append
    )
    assert done.cfgversion == "new"
    assert clock.sleeps == [2, 2, 2, 2, 2]
    # one line per change, not per poll
    assert lines == [
        "gateway state 1 (connected), cfgversion old",
        "gateway state 5 (provisioning), cfgversion old",
        "gateway state 1 (connected), cfgversion new (new)",
    ]


def test_new_cfgversion_while_provisioning_is_not_done() -> None:
    clock = FakeClock()
    fetch = sequence(gw(5, "new"), gw(5, "new"), gw(1, "new"))
    done = wait_for_provision(fetch, "old", timeout=60, poll_interval=1, clock=clock, sleep=clock.sleep, report=print)
    assert done.state == 1
    assert clock.now == 1002.0


def test_stuck_provisioning() -> None:
    clock = FakeClock()
    fetch = sequence(gw(1, "old"), gw(5, "old"))
    with pytest.raises(StuckProvisioningError, match="still provisioning after 30s"):
        wait_for_provision(fetch, "old", timeout=30, poll_interval=4, clock=clock, sleep=clock.sleep, report=print)
    assert clock.now == 1030.0  # the last sleep is cut to the deadline
    assert clock.sleeps[-1] == 2


def test_never_starts_is_a_timeout() -> None:
    clock = FakeClock()
    with pytest.raises(ProvisionTimeoutError, match="never started"):
        wait_for_provision(
            sequence(gw(1, "old")), "old", timeout=10, poll_interval=3, clock=clock, sleep=clock.sleep, report=print
        )


def test_disconnected_after_provisioning_is_a_timeout() -> None:
    clock, lines = FakeClock(), list[str]()
    fetch = sequence(gw(5, "old"), None, gw(0, "old"))
    with pytest.raises(ProvisionTimeoutError, match=r"state 0 \(disconnected\)"):
        wait_for_provision(
            fetch, "old", timeout=10, poll_interval=3, clock=clock, sleep=clock.sleep, report=lines.append
        )
    assert "gateway not listed by the controller" in lines


def test_find_gateway() -> None:
    switch = gw(1, "s", mac="aa:bb:cc:00:00:02", kind="usw")
    usg = gw(1, "g", mac="aa:bb:cc:00:00:01", kind="ugw")
    udm = gw(1, "u", mac="aa:bb:cc:00:00:03", kind="udm")
    assert find_gateway([switch, usg], "default") is usg
    assert find_gateway([switch, usg, udm], "default", "AA-BB-CC-00-00-03") is udm
    with pytest.raises(NoGatewayError, match="no gateway"):
        find_gateway([switch], "default")
    with pytest.raises(NoGatewayError, match="--gateway-mac"):
        find_gateway([usg, udm], "default")
    with pytest.raises(NoGatewayError, match="aa:bb:cc:00:00:09"):
        find_gateway([usg], "default", "aabbcc000009")


def test_device_from_api_and_names() -> None:
    raw: dict[str, Any] = {"mac": "F0:9F:C2:00:00:01", "type": "uxg", "state": 5, "cfgversion": 7, "model": "UXGPRO"}
    device = Device.from_api(raw)
    assert (device.mac, device.state, device.cfgversion, device.name) == ("f0:9f:c2:00:00:01", 5, "7", "UXGPRO")
    assert Device.from_api({"mac": "x", "state": "weird"}).state is None
    assert normalize_mac("F09FC2000001") == "f0:9f:c2:00:00:01"
    assert state_name(11) == "isolated" and state_name(3) == "unknown" and state_name(None) == "not listed"


@pytest.mark.parametrize("flavor", ["classic", "unifi-os"])
def test_provision_gateway_over_http(controller: Callable[..., FakeController], certs: Certs, flavor: str) -> None:
    fake = controller(flavor=flavor, lag_polls=2, provisioning_polls=1)
    lines: list[str] = []
    creds = Credentials(username=fake.scenario.username, password=fake.scenario.password)
    with ControllerClient(fake.url, creds, trust=TlsTrust(ca_file=str(certs.server.cert))) as client:
        done = provision_gateway(client, "default", timeout=10, poll_interval=0.01, report=lines.append)
    assert (done.mac, done.state, done.cfgversion) == (GATEWAY_MAC, 1, NEW_CFG)
    assert lines[0] == f"gateway USG ({GATEWAY_MAC}, ugw): state 1 (connected), cfgversion {OLD_CFG}"
    assert lines[-1] == f"gateway provisioned: cfgversion {OLD_CFG} -> {NEW_CFG}"
