"""Command line: ``python -m components.unifi provision|status --url URL --site SITE [...]``,
and ``python -m components.unifi unifi-os apply|remove|status --url URL --site SITE --stack S``.

Credentials come from the environment: ``UNIFI_USERNAME`` + ``UNIFI_PASSWORD``, or
``UNIFI_API_KEY`` (UniFi OS only; used instead of a login when set). TLS trust: ``--ca-file F``,
``--fingerprint SHA256`` (pin the server's leaf certificate), ``--insecure``, or the CA PEM
text in ``UNIFI_CA_CERT`` when none of these is given; otherwise the system trust store.

``provision`` with the SSH options (``--ssh-host H [--ssh-port 22] --ssh-user U --ssh-host-key
"ssh-ed25519 AAAA..." [--sudo] --site-dir DIR --owner OWNER --stack NAME --expect-sha256 SHA``,
all or none; the private key's text in ``UNIFI_SSH_PRIVATE_KEY``, the stack's file in
``UNIFI_CONFIG_GATEWAY_JSON``, its claims as JSON ``{"claims": {...}}`` on stdin) puts the
stack's part into the site's ``config.gateway.json`` under the site's lock, composed with every
other stack's part (``components/unifi/shared_file.py``; exit 24 on a conflict, 25 when the lock
stays taken), and provisions only when the gateway has not had that file yet (the state on the
controller says so, or the previous run's stdout, ``PULUMI_COMMAND_STDOUT``, of a release that
kept no record); its last line is ``provisioned: sha256 …``. If the gateway does not come back,
it takes the part out again, provisions and exits 16 (17 if that fails too). ``status`` with
``--gateway-ssh-host H [--gateway-ssh-port 22] --gateway-ssh-user U --gateway-ssh-host-key KEY``
(key text in ``UNIFI_GATEWAY_SSH_KEY``) also prints the gateway's ``show ip bgp summary``.
SSH host keys are pinned: the server's must equal the one given; ``known_hosts`` is not read.

``check-original`` and ``restore`` (``--ssh-host H [--ssh-port 22] --ssh-user U --ssh-host-key KEY
[--sudo] --site-dir DIR --stack NAME``, no controller options; key text in ``UNIFI_SSH_PRIVATE_KEY``):
``check-original`` reads the user's original config.gateway.json, the other stacks' parts and the
paths the stack owns (JSON ``{"owned": [[key, ...], ...]}`` on stdin) and exits 22 if the file
with ``UNIFI_CONFIG_GATEWAY_JSON`` as this stack's part would drop any of its other settings;
``restore`` takes the stack's part out (the original back with the last part); when the host
cannot be reached and ``METALLB_UNIFI_SKIP_RESTORE_ON`` names it (``host`` or ``host:port``,
comma-separated), it warns and exits 0 instead. ``remove-part`` takes the SSH options and the
controller's: it takes a gone stack's part out and provisions if the file changed.

``unifi-os`` (UniFi OS consoles only) manages a UniFi OS gateway's FRR BGP config and the
stack's DNS records: ``apply`` reads the stack's records and the bgpd.conf's sha256 as JSON on
stdin and the bgpd.conf from ``UNIFI_BGPD_CONF``; it and ``remove`` read what the stack owns
from the previous run's stdout (``PULUMI_COMMAND_STDOUT``); ``apply`` prints it as its last
line (see ``components/unifi/unifi_os/``).

Progress goes to stdout; a failure prints ONE line on stderr and exits with the code of its cause
(``components/unifi/errors.py``: ``EXIT_CODES``, which ``--help`` prints).
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Sequence
from typing import TextIO

from components.contract import CA_CERT_ENV, PREVIOUS_STDOUT_ENV
from components.unifi.client import (
    ControllerClient,
    Credentials,
    FlavorChoice,
    RetryPolicy,
    TlsTrust,
    normalize_fingerprint,
)
from components.unifi.errors import EXIT_CODES, EXIT_INTERNAL, EXIT_OK, UnifiError
from components.unifi.options import (
    add_gateway_ssh_options,
    add_ssh_file_options,
    add_ssh_provision_options,
    gateway_ssh_from_args,
    secret_fragments,
    ssh_file_from_args,
    ssh_provision_from_args,
)
from components.unifi.provision import find_gateway, list_devices, provision_gateway, state_name
from components.unifi.unifi_os.cli import add_unifi_os_parser, run_unifi_os, unifi_os_job_from_args


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    # How to reach and trust the controller: every subcommand.
    connection = argparse.ArgumentParser(add_help=False)
    connection.add_argument("--url", required=True, help="controller URL, e.g. https://192.168.1.2:8443")
    connection.add_argument("--site", default="default", help="site short name (default: default)")
    connection.add_argument("--flavor", choices=["auto", "classic", "unifi-os"], default="auto")
    trust = connection.add_mutually_exclusive_group()
    trust.add_argument("--ca-file", help="PEM CA file to trust (wins over REQUESTS_CA_BUNDLE)")
    trust.add_argument("--fingerprint", help="pin the server certificate's SHA-256 fingerprint")
    trust.add_argument("--insecure", action="store_true", help="do not verify the certificate")
    # Hidden knobs (tests, slow links).
    connection.add_argument("--request-timeout", type=_positive, default=15.0, help=argparse.SUPPRESS)
    connection.add_argument("--retry-backoff", type=_positive, default=1.0, help=argparse.SUPPRESS)
    connection.add_argument("--max-backoff", type=_positive, default=30.0, help=argparse.SUPPRESS)
    connection.add_argument("--login-wait", type=_positive, default=90.0, help=argparse.SUPPRESS)

    # The gateway device: provision and status.
    device = argparse.ArgumentParser(add_help=False, parents=[connection])
    device.add_argument("--gateway-mac", help="the gateway's MAC (default: the site's only gateway)")
    device.add_argument("--timeout", type=_positive, default=600.0, help="seconds to wait for provisioning")
    device.add_argument("--poll-interval", type=_positive, default=5.0, help=argparse.SUPPRESS)
    device.add_argument("--ssh-timeout", type=_positive, default=30.0, help=argparse.SUPPRESS)

    parser = argparse.ArgumentParser(
        prog="python -m components.unifi",
        description="Force-provision a UniFi gateway and wait for it, show its status, or manage a UniFi OS "
        "gateway's BGP config and DNS records.",
        epilog=exit_codes_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    provision = sub.add_parser("provision", parents=[device], help="force-provision the gateway and wait")
    add_ssh_provision_options(provision)
    status = sub.add_parser("status", parents=[device], help="print the gateway's state and config version")
    add_gateway_ssh_options(status)
    add_unifi_os_parser(sub, connection)
    check = sub.add_parser(
        "check-original",
        help="refuse if installing UNIFI_CONFIG_GATEWAY_JSON would drop a setting of the user's original file",
    )
    add_ssh_file_options(check)
    restore = sub.add_parser(
        "restore", help="take the stack's part out of config.gateway.json (the original back when it was the last)"
    )
    add_ssh_file_options(restore)
    remove = sub.add_parser(
        "remove-part",
        parents=[device],
        help="take a gone stack's part out of config.gateway.json and provision the gateway if the file changed",
    )
    add_ssh_file_options(remove, ssh_timeout=False)
    return parser


def exit_codes_help() -> str:
    """The table of components/unifi/errors.py, for ``--help``."""
    rows = (
        textwrap.fill(meaning, width=100, initial_indent=f"  {code:>2}  ", subsequent_indent=" " * 6)
        for code, meaning in sorted(EXIT_CODES.items())
    )
    return "exit codes:\n" + "\n".join(rows)


def _say(line: str) -> None:
    print(line, flush=True)


def _client(args: argparse.Namespace, env: dict[str, str]) -> ControllerClient:
    credentials = Credentials.from_env(env)
    ca_pem = env.get(CA_CERT_ENV) or None
    fingerprint = normalize_fingerprint(args.fingerprint) if args.fingerprint else None
    use_env_ca = ca_pem if not (args.ca_file or fingerprint or args.insecure) else None
    trust = TlsTrust(ca_file=args.ca_file, ca_pem=use_env_ca, fingerprint=fingerprint, insecure=args.insecure)
    flavor: FlavorChoice = args.flavor
    retry = RetryPolicy(backoff=args.retry_backoff, max_backoff=args.max_backoff, login_wait=args.login_wait)
    if args.insecure:
        _say("warning: TLS certificate verification disabled (--insecure)")
    return ControllerClient(
        args.url,
        credentials,
        flavor=flavor,
        trust=trust,
        request_timeout=args.request_timeout,
        retry=retry,
        log=_say,
    )


def _provision(client: ControllerClient, args: argparse.Namespace) -> None:
    """Force-provision the site's gateway (the device options) and wait for it."""
    provision_gateway(
        client,
        args.site,
        gateway_mac=args.gateway_mac,
        timeout=args.timeout,
        poll_interval=args.poll_interval,
        report=_say,
    )


def run(args: argparse.Namespace, env: dict[str, str], stdin: TextIO = sys.stdin) -> int:
    # Every option and secret is checked before anything goes over the network.
    if args.command == "unifi-os":
        job = unifi_os_job_from_args(args, env, stdin)
        with _client(args, env) as client:
            return run_unifi_os(job, client, _say)
    if args.command in ("check-original", "restore"):
        from components.unifi import original  # paramiko: see below

        ssh_file = ssh_file_from_args(args, env)
        if args.command == "restore":
            original.restore(ssh_file, env, _say)
        else:
            original.check_original(ssh_file, env, original.read_owned(stdin), _say)
        return EXIT_OK
    if args.command == "remove-part":
        from components.unifi.remote import connector, remove_part

        ssh_file = ssh_file_from_args(args, env)
        with _client(args, env) as client:  # credentials checked before anything changes
            if remove_part(connector(ssh_file.target, ssh_file.key(), _say), ssh_file.site(), _say):
                client.login()
                _provision(client, args)
        return EXIT_OK
    ssh = ssh_provision_from_args(args, env, stdin) if args.command == "provision" else None
    gateway_ssh = gateway_ssh_from_args(args, env) if args.command == "status" else None
    with _client(args, env) as client:
        client.login()
        _say(f"logged in to {client.base_url} ({client.flavor}, site {args.site})")
        if args.command == "status":
            gateway = find_gateway(list_devices(client, args.site), args.site, args.gateway_mac)
            _say(f"name: {gateway.name}")
            _say(f"mac: {gateway.mac}")
            _say(f"type: {gateway.type}" + (f" ({gateway.model})" if gateway.model else ""))
            _say(f"state: {gateway.state} ({state_name(gateway.state)})")
            _say(f"cfgversion: {gateway.cfgversion or '-'}")
            if gateway_ssh is not None:
                # Imported here: paramiko is loaded only when SSH is used (start-up time).
                from components.unifi.remote import print_bgp_summary

                print_bgp_summary(gateway_ssh, _say)
            return EXIT_OK

        def provision() -> None:
            _provision(client, args)

        if ssh is None:
            provision()
        else:
            from components.unifi.remote import provision_with_file  # paramiko: see above

            target = provision_target(args)
            previous = env.get(PREVIOUS_STDOUT_ENV, "").splitlines()
            live = provision_with_file(
                provision, ssh, _say, provisioned_before=lambda sha: provisioned_line(sha, target) in previous
            )
            _say(provisioned_line(live, target))  # a release before the state's record read it back
        return EXIT_OK


# pulumi-command hands a command's previous stdout to its update, only when it is not empty
# (pulumi/pulumi-command@v1.2.1:provider/pkg/provider/local/commandOutputs.go, run).


def provision_target(args: argparse.Namespace) -> str:
    """The gateway and the file a provision is about: a new one provisions even the same content."""
    mac = args.gateway_mac or "the site's gateway"
    return f"{args.url} site {args.site} ({mac}), file {args.ssh_host}:{args.ssh_port or 22}{args.site_dir}"


def provisioned_line(sha256: str, target: str) -> str:
    return f"provisioned: sha256 {sha256} on {target}"


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return " ".join(text.split())  # one line


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    env = dict(os.environ)
    secrets = secret_fragments(env)
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
