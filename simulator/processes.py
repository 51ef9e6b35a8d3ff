"""Daemons run in the foreground under Popen, each stopped by its own PID."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import SimulationError

STOP_TIMEOUT_S = 3.0


@dataclass
class Daemon:
    label: str
    process: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Processes:
    def __init__(self) -> None:
        self.daemons: list[Daemon] = []

    def start(self, label: str, argv: Sequence[str], log: Path, cwd: Path | None = None) -> Daemon:
        with log.open("wb") as stream:
            process = subprocess.Popen(
                list(argv), stdin=subprocess.DEVNULL, stdout=stream, stderr=subprocess.STDOUT, cwd=cwd
            )
        daemon = Daemon(label, process, log)
        self.daemons.append(daemon)
        return daemon

    def check_alive(self) -> None:
        """A daemon that died on start (bad config, port taken) is an error worth its log."""
        for daemon in self.daemons:
            if not daemon.alive():
                raise SimulationError(
                    f"{daemon.label} exited with status {daemon.process.returncode}:\n{daemon.log_tail()}"
                )

    def stop_all(self) -> None:
        """SIGTERM each daemon, SIGKILL what is still running after a grace period. ``ip netns
        exec`` execs the daemon, so each PID is the daemon's own."""
        for daemon in self.daemons:
            if daemon.alive():
                daemon.process.send_signal(signal.SIGTERM)
        for daemon in self.daemons:
            try:
                daemon.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                daemon.process.kill()
                daemon.process.wait()
        self.daemons.clear()
