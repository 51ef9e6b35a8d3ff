"""Daemons run in the foreground under Popen, each stopped by its own PID, and with it the
processes it forked that outlive it (``sshd``'s per-connection processes), by theirs."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import SimulationError

STOP_TIMEOUT_S = 3.0
_POLL_S = 0.02


@dataclass(frozen=True)
class ProcessId:
    """A PID with the start time /proc gives it, so that a reused PID is never signalled."""

    pid: int
    start: str

    @classmethod
    def of(cls, pid: int) -> ProcessId | None:
        """``None``: no such process, or it has exited (a zombie is past stopping)."""
        stat = _stat(pid)
        return None if stat is None or stat[0] == "Z" else cls(pid, stat[19])  # state; starttime (field 22)

    def running(self) -> bool:
        return ProcessId.of(self.pid) == self

    def descendants(self, children: Mapping[int, list[int]] | None = None) -> list[ProcessId]:
        """Its children, theirs, and so on; ``children``: :func:`children_by_parent`, read now
        if not given."""
        children = children_by_parent() if children is None else children
        found: list[ProcessId] = []
        parents = [self.pid]
        while parents:
            pids = [pid for parent in parents for pid in children.get(parent, [])]
            found += filter(None, map(ProcessId.of, pids))
            parents = pids
        return found


def children_by_parent() -> dict[int, list[int]]:
    """Every process's PID under its parent's, from /proc (the kernel's own children lists
    need CONFIG_PROC_CHILDREN, which not every kernel has)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        stat = _stat(int(entry.name)) if entry.name.isdigit() else None
        if stat is not None:
            children.setdefault(int(stat[1]), []).append(int(entry.name))  # ppid (field 4)
    return children


def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat's fields from the state on (field 3), or ``None`` if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()  # after the command name, which may hold anything


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
        exec`` execs the daemon, so each PID is the daemon's own. Then the same for the
        descendants each had when stopped that outlive it (an ``sshd`` leaves its open
        connections' processes running, each in a session of its own)."""
        descendants, tree = [], children_by_parent()
        for daemon in self.daemons:
            if daemon.alive():
                found = ProcessId.of(daemon.process.pid)
                descendants += found.descendants(tree) if found is not None else []
                daemon.process.send_signal(signal.SIGTERM)
        for daemon in self.daemons:
            try:
                daemon.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                daemon.process.kill()
                daemon.process.wait()
        self.daemons.clear()
        _stop_orphans(descendants)


def _stop_orphans(processes: list[ProcessId]) -> None:
    """SIGTERM, then SIGKILL after the grace period: processes that are not this one's children
    (their parent is gone), so their end is seen in /proc, not by waiting."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for process in processes:
            if process.running():
                with contextlib.suppress(ProcessLookupError):  # it ended since
                    os.kill(process.pid, sig)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while any(p.running() for p in processes) and time.monotonic() < deadline:
            time.sleep(_POLL_S)
