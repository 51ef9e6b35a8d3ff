"""What the simulator needs from the machine: root, ``ip netns``, and the daemons (``sshd`` too)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from .errors import EnvironmentMissing

FRR_DIR = Path("/usr/lib/frr")
ZEBRA = FRR_DIR / "zebra"
BGPD = FRR_DIR / "bgpd"
DEBIAN_PACKAGES = ("frr", "gobgpd", "dnsmasq-base", "openssh-server")
SSHD = Path("/usr/sbin/sshd")  # the router answers SSH as the gateway does (simulator.gateway_ssh)


def missing_requirements(gobgp: bool = True) -> list[str]:
    """Human-readable reasons the lab cannot run here; empty when it can."""
    problems = []
    if os.geteuid() != 0:
        problems.append("not root (network namespaces need root)")
    ip = shutil.which("ip")
    if ip is None or subprocess.run([ip, "netns", "list"], capture_output=True, check=False).returncode != 0:
        problems.append("`ip netns` is unavailable (iproute2)")
    tools = {"zebra": ZEBRA, "bgpd": BGPD, "vtysh": shutil.which("vtysh"), "dnsmasq": shutil.which("dnsmasq")}
    tools |= {"sshd": SSHD, "ssh-keygen": shutil.which("ssh-keygen")}
    if gobgp:
        tools |= {"gobgpd": shutil.which("gobgpd"), "gobgp": shutil.which("gobgp")}
    absent = [name for name, path in tools.items() if path is None or not Path(path).exists()]
    if absent:
        problems.append(f"not installed: {', '.join(absent)} (apt-get install -y {' '.join(DEBIAN_PACKAGES)})")
    return problems


def require(gobgp: bool = False) -> None:
    problems = missing_requirements(gobgp)
    if problems:
        raise EnvironmentMissing("the lab simulator cannot run here: " + "; ".join(problems))
