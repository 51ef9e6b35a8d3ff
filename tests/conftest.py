"""Fixtures shared by the tests that run the Pulumi program."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator

import pytest

from tests.program_harness import REPO

REFERENCE = REPO.parent / "shared" / "reference" / "metallb"


@pytest.fixture(scope="module")
def mirror() -> Iterator[str]:
    """MetalLB's upstream manifests over loopback HTTP, laid out as <version>/<file>."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(REFERENCE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
