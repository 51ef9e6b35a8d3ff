"""Network namespaces and links, created under one unique prefix and deleted again."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from .errors import SimulationError

NETNS_ETC = Path("/etc/netns")
_counter = itertools.count(1)


def unique_prefix() -> str:
    """``mlu-<pid>-<n>-``: unique per process and lab, and easy to spot in ``ip netns list``."""
    return f"mlu-{os.getpid()}-{next(_counter)}-"


def run(argv: Sequence[str]) -> str:
    result = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SimulationError(f"{' '.join(argv)} failed: {result.stderr.strip()}")
    return result.stdout


def ip(*args: str) -> str:
    return run(["ip", *args])


def existing(prefix: str) -> list[str]:
    """Namespaces whose name starts with ``prefix``."""
    names = [line.split()[0] for line in run(["ip", "netns", "list"]).splitlines() if line.strip()]
    return [name for name in names if name.startswith(prefix)]


class Namespaces:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.created: list[str] = []
        self.etc_dirs: list[Path] = []

    def create(self, role: str) -> str:
        name = self.prefix + role
        ip("netns", "add", name)
        self.created.append(name)
        ip("-n", name, "link", "set", "lo", "up")
        return name

    def set_resolver(self, name: str, nameserver: str) -> None:
        """``ip netns exec`` bind-mounts /etc/netns/<name>/resolv.conf over /etc/resolv.conf."""
        directory = NETNS_ETC / name
        directory.mkdir(parents=True, exist_ok=False)
        self.etc_dirs.append(directory)
        (directory / "resolv.conf").write_text(f"nameserver {nameserver}\noptions timeout:1 attempts:1\n")

    def delete_all(self) -> list[str]:
        """Delete everything created; returns problems instead of raising, so that teardown
        goes on (processes must already be stopped: they would keep a namespace alive)."""
        problems = []
        for directory in self.etc_dirs:
            shutil.rmtree(directory, ignore_errors=True)
        for name in reversed(self.created):
            result = subprocess.run(["ip", "netns", "del", name], capture_output=True, text=True, check=False)
            if result.returncode != 0:
                problems.append(f"ip netns del {name}: {result.stderr.strip()}")
        self.created.clear()
        self.etc_dirs.clear()
        return problems
