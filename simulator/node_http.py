"""A node's stand-in for the Service's pods, run inside the node's namespace: answers HTTP on
the given ports (on every address, so on each service address the node holds) with its name.
``python -m simulator.node_http [--ipv6] NODE PORT...``: with ``--ipv6`` on every IPv6 address too."""

from __future__ import annotations

import json
import socket
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


class PodsServer6(PodsServer):
    """The same on ``::``, IPv6 only (IPv4 has its own socket above, as before)."""

    address_family = socket.AF_INET6

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        super().server_bind()


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    ipv6 = arguments[:1] == ["--ipv6"]
    node, *ports = arguments[1:] if ipv6 else arguments
    servers = [PodsServer(("0.0.0.0", int(port)), handler_for(node)) for port in ports]
    if ipv6:
        servers += [PodsServer6(("::", int(port)), handler_for(node)) for port in ports]
    threads = [threading.Thread(target=server.serve_forever, daemon=True) for server in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
