"""The simulated gateway's shell: what the router's ``sshd`` runs for every SSH session
(``ForceCommand``), ``python -m simulator.gateway_shell --kind usg|unifi-os --vty-socket DIR``.

It answers the commands a real gateway of that kind answers for ``verify``, and nothing else,
from the router's own FRR (``vtysh --vty_socket DIR``; the shell runs in the router's namespace,
where ``sshd`` runs). The command is the client's, in ``SSH_ORIGINAL_COMMAND``:

- ``usg``: ``/opt/vyatta/bin/vyatta-op-cmd-wrapper show ip bgp summary`` and
  ``/opt/vyatta/bin/vyatta-op-cmd-wrapper show ip route``, answered with FRR's text output of
  ``show ip bgp summary`` and ``show ip route``. The real USG prints Quagga 0.99's layout, and
  FRR's text differs in its columns: Quagga's summary has no ``IPv4 Unicast Summary`` header and
  ends its neighbour header at ``State/PfxRcd`` (Quagga/quagga: bgpd/bgp_vty.c, bgp_show_summary),
  where FRR 8.4 adds ``PfxSnt`` and ``Desc``; Quagga's route lines end ``via <hop>, <interface>,
  <uptime>``, FRR's put ``weight 1`` before the uptime. The parser of ``verify`` handles both.
- ``usg``, IPv6: ``... show ipv6 bgp summary``, ``... show ipv6 route`` and ``... show ipv6 bgp
  <IPv6 address>`` (the wrapper's templates pass the words to vtysh unchanged:
  vyos/vyatta-op-quagga@vyatta/VC6.6R1/amd64 ``templates/show/ipv6/...``), answered with FRR's
  ``show bgp ipv6 unicast summary``, ``show ipv6 route`` and ``show bgp ipv6 unicast <address>``:
  FRR 8.4 no longer knows ``show ipv6 bgp ...`` (``% Unknown command``), its IPv6 unicast
  commands print what Quagga's did in the layout of their IPv4 forms.
- ``unifi-os``: ``vtysh -c 'show ip bgp summary json'`` and ``vtysh -c 'show ip route json'``,
  and for IPv6 ``vtysh -c 'show bgp ipv6 unicast summary json'``, ``vtysh -c 'show ipv6 route
  json'`` and ``vtysh -c 'show bgp ipv6 unicast json'``; or two ``-c`` in one command line: FRR's
  own JSON, one document after the other, as the gateway's ``vtysh`` prints them.

Anything else, an interactive login included (no command at all), is refused on stderr with
exit status 127, as a shell refuses a command it cannot find.

Stdlib only: ``sshd`` starts it for every command.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import shlex
import shutil
import sys
from collections.abc import Sequence

KINDS = ("usg", "unifi-os")  # GatewayKind's values (not imported: this runs for every command)
NOT_FOUND = 127
USG_WRAPPER = "/opt/vyatta/bin/vyatta-op-cmd-wrapper"
USG_COMMANDS = {
    (USG_WRAPPER, "show", "ip", "bgp", "summary"): "show ip bgp summary",
    (USG_WRAPPER, "show", "ip", "route"): "show ip route",
    (USG_WRAPPER, "show", "ipv6", "bgp", "summary"): "show bgp ipv6 unicast summary",
    (USG_WRAPPER, "show", "ipv6", "route"): "show ipv6 route",
}
# ``show ipv6 bgp <address>``: the BGP table's entry for one IPv6 address.
USG_ENTRY = (USG_WRAPPER, "show", "ipv6", "bgp")
FRR_ENTRY = "show bgp ipv6 unicast"
UNIFI_OS_COMMANDS = frozenset(
    {
        "show ip bgp summary json",
        "show ip route json",
        "show bgp ipv6 unicast summary json",
        "show ipv6 route json",
        "show bgp ipv6 unicast json",
    }
)
INTERACTIVE = "an interactive login"


def vtysh_commands(kind: str, command_line: str | None) -> list[str] | None:
    """The vtysh commands that answer ``command_line`` on a gateway of ``kind``, in order;
    ``None``: the gateway does not answer it (the words must be the ones above, the vtysh
    commands exactly these strings)."""
    if command_line is None:
        return None
    try:
        words = shlex.split(command_line)
    except ValueError:  # unbalanced quotes
        return None
    if kind == "usg":
        command = USG_COMMANDS.get(tuple(words))
        if command is None and len(words) == len(USG_ENTRY) + 1 and tuple(words[:-1]) == USG_ENTRY:
            address = _ipv6_address(words[-1])
            command = None if address is None else f"{FRR_ENTRY} {address}"
        return None if command is None else [command]
    if not words or words[0] != "vtysh" or len(words) not in (3, 5):
        return None
    flags, commands = words[1::2], words[2::2]
    if any(flag != "-c" for flag in flags) or any(command not in UNIFI_OS_COMMANDS for command in commands):
        return None
    return commands


def _ipv6_address(word: str) -> str | None:
    """``word`` as an IPv6 address, written as Python writes it; None for anything else (a
    prefix, a scope, a word that is no address)."""
    try:
        return str(ipaddress.IPv6Address(word)) if "%" not in word else None
    except ValueError:
        return None


def refusal(command_line: str | None) -> str:
    what = INTERACTIVE if command_line is None else command_line
    return f"{what}: not available on this simulated gateway"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulator.gateway_shell")
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--vty-socket", required=True, metavar="DIR", help="the router's FRR vty sockets")
    args = parser.parse_args(argv)
    command_line = os.environ.get("SSH_ORIGINAL_COMMAND")
    commands = vtysh_commands(args.kind, command_line)
    vtysh = shutil.which("vtysh")
    if commands is None or vtysh is None:
        print(refusal(command_line), file=sys.stderr)
        return NOT_FOUND
    argv_vtysh = [vtysh, "--vty_socket", args.vty_socket]
    for command in commands:
        argv_vtysh += ["-c", command]
    sys.stdout.flush()
    os.execv(vtysh, argv_vtysh)  # its output and exit status are the answer


if __name__ == "__main__":
    sys.exit(main())
