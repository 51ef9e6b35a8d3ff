"""Fixtures of the gateway tests: the loopback stand-ins of the controller client's tests, and
(from tests/conftest.py) a one-object MetalLB manifest, so that these tests do not need MetalLB's
upstream files."""

from __future__ import annotations

from tests.conftest import small_mirror, with_small_manifest
from tests.unifi.conftest import certs, controller, sshd

__all__ = ["certs", "controller", "small_mirror", "sshd", "with_small_manifest"]
