"""Fixtures of the gateway tests: the loopback stand-ins of the controller client's tests, and
a one-object MetalLB manifest, so that these tests do not need MetalLB's upstream files."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.unifi.conftest import certs, controller, sshd

__all__ = ["certs", "controller", "small_mirror", "sshd", "with_small_manifest"]

SMALL_MANIFEST = b"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: controller\n  namespace: metallb-system\n"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(SMALL_MANIFEST)))
        self.end_headers()
        self.wfile.write(SMALL_MANIFEST)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def small_mirror() -> Iterator[str]:
    """A mirror that answers every manifest URL with SMALL_MANIFEST (see with_small_manifest)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def with_small_manifest(config: dict[str, str]) -> dict[str, str]:
    """The stack config, pinned to SMALL_MANIFEST's sha256 (the program refuses anything else)."""
    metallb = json.loads(config["metallb-unifi:metallb"])
    metallb["manifestSha256"] = hashlib.sha256(SMALL_MANIFEST).hexdigest()
    return {**config, "metallb-unifi:metallb": json.dumps(metallb)}
