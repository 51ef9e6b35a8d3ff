"""Why a simulation did not happen or did not pass."""

from __future__ import annotations


class SimulationError(Exception):
    """Base class: the message says what went wrong, for a user who ran ``make simulate``."""


class RenderRefused(SimulationError):
    """``render`` rejected the stack: there is nothing to simulate, and no lab was built."""


class UnmodeledField(SimulationError):
    """A rendered file holds something the simulator cannot reproduce. Simulating without it
    would prove a different config than the one the gateway gets, so the simulation stops."""

    def __init__(self, file: str, path: str, why: str = "not modeled by the simulator") -> None:
        self.file = file
        self.path = path
        super().__init__(f"{file}: {path}: {why}; refusing to simulate without it")


class GatewayRefuses(SimulationError):
    """A rendered file holds what the gateway itself would refuse (or would not run as
    written): a commit that fails on the USG has no lab to show."""

    def __init__(self, file: str, path: str, why: str) -> None:
        self.file = file
        self.path = path
        super().__init__(
            f"{file}: {path}: {why}; the gateway would refuse this (or not run it as written), "
            "so there is nothing to simulate"
        )


class EnvironmentMissing(SimulationError):
    """Not root, no ``ip netns``, or a daemon is not installed."""


class CheckFailed(SimulationError):
    """One of the lab checks did not pass before its deadline."""

    def __init__(self, check: str, detail: str) -> None:
        self.check = check
        self.detail = detail
        super().__init__(f"check {check!r} failed: {detail}")
