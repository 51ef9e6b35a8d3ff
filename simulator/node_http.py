"""A node's stand-in for the Service's pods, run inside the node's namespace: answers HTTP on
the given ports (on every address, so on each service address the node holds) with its name.
``python -m simulator.node_http NODE PORT...``"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def handler_for(node: str) -> type[BaseHTTPRequestHandler]:
    body = (json.dumps({"node": node}) + "\n").encode()

    class NamesItsNode(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    return NamesItsNode


class PodsServer(ThreadingHTTPServer):
    """socketserver listens with a backlog of 5: when fifty clients connect at once (verify's
    ``reach`` on a USG, whose one best path sends every service to one node) and the accepting
    thread is slow to run, the kernel drops the SYNs past it and each client waits a second to
    send its SYN again. A pod's server (nginx: 511) and the node (somaxconn) queue far more."""

    request_queue_size = 511


def main(argv: Sequence[str] | None = None) -> int:
    node, *ports = list(sys.argv[1:] if argv is None else argv)
    servers = [PodsServer(("0.0.0.0", int(port)), handler_for(node)) for port in ports]
    threads = [threading.Thread(target=server.serve_forever, daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
