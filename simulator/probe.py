"""The workstation's view, run inside its namespace: ``python -m simulator.probe dns [--type
A|AAAA] SERVER NAME...`` and ``python -m simulator.probe http URL...``; prints one JSON object."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from ipaddress import IPv4Address
from typing import Any

from simulator.dns_wire import TYPE_A, TYPES, DnsError, query

TIMEOUT_S = 1.0


def resolve(server: IPv4Address, names: Sequence[str], qtype: int = TYPE_A) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in names:
        try:
            results[name] = {"addresses": [str(a) for a in query(server, name, qtype, TIMEOUT_S)]}
        except (DnsError, OSError) as exc:
            results[name] = {"error": str(exc) or type(exc).__name__}
    return results


def fetch(urls: Sequence[str]) -> dict[str, Any]:
    """GET each URL as a browser would: the host name through the system resolver (the
    namespace's resolv.conf names the gateway), no proxy."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    results: dict[str, Any] = {}
    for url in urls:
        try:
            with opener.open(url, timeout=TIMEOUT_S) as response:
                results[url] = {"status": response.status, "body": response.read(4096).decode("utf-8", "replace")}
        except urllib.error.HTTPError as exc:
            results[url] = {"status": exc.code, "body": ""}
        except (OSError, ValueError) as exc:
            results[url] = {"error": str(getattr(exc, "reason", exc)) or type(exc).__name__}
    return results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator.probe")
    commands = parser.add_subparsers(dest="command", required=True)
    dns = commands.add_parser("dns")
    dns.add_argument("--type", choices=sorted(TYPES), default="A")
    dns.add_argument("server", type=IPv4Address)
    dns.add_argument("names", nargs="+")
    http = commands.add_parser("http")
    http.add_argument("urls", nargs="+")
    args = parser.parse_args(argv)
    result = resolve(args.server, args.names, TYPES[args.type]) if args.command == "dns" else fetch(args.urls)
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
