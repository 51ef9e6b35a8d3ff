import pytest

from simulator import environment
from simulator.errors import EnvironmentMissing


def test_not_root_and_missing_daemons_are_named(monkeypatch):
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    absent = ("gobgpd", "dnsmasq")
    monkeypatch.setattr("shutil.which", lambda name: None if name in absent else "/bin/true")
    problems = environment.missing_requirements(gobgp=True)
    assert problems[0] == "not root (network namespaces need root)"
    apt = "apt-get install -y frr gobgpd dnsmasq-base openssh-server"
    assert any("gobgpd" in p and "dnsmasq" in p and apt in p for p in problems)
    with pytest.raises(EnvironmentMissing, match="cannot run here"):
        environment.require()
