"""The lifecycle tests drive the same loopback stand-ins as the controller client's tests."""

from tests.unifi.conftest import certs, controller, sshd

__all__ = ["certs", "controller", "sshd"]
