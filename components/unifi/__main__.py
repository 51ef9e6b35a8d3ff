"""Command line: ``python -m components.unifi provision|status --url URL --site SITE [...]``.

Credentials come from the environment: ``UNIFI_USERNAME`` + ``UNIFI_PASSWORD``, or
``UNIFI_API_KEY`` (UniFi OS only; used instead of a login when set). TLS trust: ``--ca-file F``,
``--fingerprint SHA256`` (pin the server's leaf certificate), ``--insecure``, or the CA PEM
text in ``UNIFI_CA_CERT`` when none of these is given; otherwise the system trust store.

Progress goes to stdout; a failure prints ONE line on stderr and exits with:

====  ==========================================================================
0     success (gateway provisioned / status printed)
1     unexpected internal error
2     usage error (bad or conflicting options)
3     controller unreachable (connection errors or 5xx after bounded retries)
4     TLS: certificate not trusted, fingerprint mismatch, unusable CA
5     credentials: missing, refused at login, or not authorized after one re-login
6     no gateway on the site (or the --gateway-mac is not there, or several gateways)
7     timeout: the gateway was not back (state 1, new cfgversion) within --timeout
8     gateway stuck provisioning: still in state 5 when --timeout ran out
9     other controller API error (``meta.rc`` error, unknown site, wrong flavor, …)
10    login rate-limited (HTTP 429) after bounded back-off
====  ==========================================================================
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from components.unifi.client import (
    EXIT_INTERNAL,
    EXIT_OK,
    ControllerClient,
    Credentials,
    FlavorChoice,
    RetryPolicy,
    TlsTrust,
    UnifiError,
    normalize_fingerprint,
)
from components.unifi.provision import find_gateway, list_devices, provision_gateway, state_name


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", required=True, help="controller URL, e.g. https://192.168.1.2:8443")
    common.add_argument("--site", default="default", help="site short name (default: default)")
    common.add_argument("--gateway-mac", help="the gateway's MAC (default: the site's only gateway)")
    common.add_argument("--flavor", choices=["auto", "classic", "unifi-os"], default="auto")
    trust = common.add_mutually_exclusive_group()
    trust.add_argument("--ca-file", help="PEM CA file to trust (wins over REQUESTS_CA_BUNDLE)")
    trust.add_argument("--fingerprint", help="pin the server certificate's SHA-256 fingerprint")
    trust.add_argument("--insecure", action="store_true", help="do not verify the certificate")
    common.add_argument("--timeout", type=_positive, default=600.0, help="seconds to wait for provisioning")
    # Hidden knobs (tests, slow links).
    common.add_argument("--poll-interval", type=_positive, default=5.0, help=argparse.SUPPRESS)
    common.add_argument("--request-timeout", type=_positive, default=15.0, help=argparse.SUPPRESS)
    common.add_argument("--retry-backoff", type=_positive, default=1.0, help=argparse.SUPPRESS)
    common.add_argument("--max-backoff", type=_positive, default=30.0, help=argparse.SUPPRESS)

    parser = argparse.ArgumentParser(
        prog="python -m components.unifi",
        description="Force-provision a UniFi gateway and wait for it, or show its status.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("provision", parents=[common], help="force-provision the gateway and wait")
    sub.add_parser("status", parents=[common], help="print the gateway's state and config version")
    return parser


def _say(line: str) -> None:
    print(line, flush=True)


def run(args: argparse.Namespace, env: dict[str, str]) -> int:
    credentials = Credentials.from_env(env)
    ca_pem = env.get("UNIFI_CA_CERT") or None
    fingerprint = normalize_fingerprint(args.fingerprint) if args.fingerprint else None
    use_env_ca = ca_pem if not (args.ca_file or fingerprint or args.insecure) else None
    trust = TlsTrust(ca_file=args.ca_file, ca_pem=use_env_ca, fingerprint=fingerprint, insecure=args.insecure)
    flavor: FlavorChoice = args.flavor
    retry = RetryPolicy(backoff=args.retry_backoff, max_backoff=args.max_backoff)
    if args.insecure:
        _say("warning: TLS certificate verification disabled (--insecure)")
    with ControllerClient(
        args.url,
        credentials,
        flavor=flavor,
        trust=trust,
        request_timeout=args.request_timeout,
        retry=retry,
        log=_say,
    ) as client:
        client.login()
        _say(f"logged in to {client.base_url} ({client.flavor}, site {args.site})")
        if args.command == "status":
            gateway = find_gateway(list_devices(client, args.site), args.site, args.gateway_mac)
            _say(f"name: {gateway.name}")
            _say(f"mac: {gateway.mac}")
            _say(f"type: {gateway.type}" + (f" ({gateway.model})" if gateway.model else ""))
            _say(f"state: {gateway.state} ({state_name(gateway.state)})")
            _say(f"cfgversion: {gateway.cfgversion or '-'}")
            return EXIT_OK
        provision_gateway(
            client,
            args.site,
            gateway_mac=args.gateway_mac,
            timeout=args.timeout,
            poll_interval=args.poll_interval,
            report=_say,
        )
        return EXIT_OK


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return " ".join(text.split())  # one line


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    env = dict(os.environ)
    secrets = [s for s in (env.get("UNIFI_PASSWORD"), env.get("UNIFI_API_KEY")) if s]
    try:
        return run(args, env)
    except UnifiError as exc:
        print(_redact(f"error: {exc}", secrets), file=sys.stderr, flush=True)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr, flush=True)
        return 130
    except Exception as exc:
        print(_redact(f"error: unexpected {type(exc).__name__}: {exc}", secrets), file=sys.stderr, flush=True)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
