"""The gateway side of ``pulumi up``: ``usg.py`` (``UsgGatewayConfig``) and ``unifi_os.py``
(``UnifiOsGatewayConfig``) are the Pulumi components; ``commands.py`` builds their command
lines, and ``scripts.py`` (exported here) the controller-side scripts. Only the two component
modules import Pulumi.

Installing the rendered ``config.gateway.json`` on a UniFi controller, carefully.

A bad ``config.gateway.json`` leaves the USG in a provisioning loop, so the file is never
written in place: the caller uploads it (SFTP) to a staging name inside the site directory
and runs :func:`install_script` over SSH (``sh -s``, optionally ``sudo sh -s``). The script
checks the upload's sha256, refuses to overwrite a file someone else edited or another
stack owns, keeps the user's original once, moves the file into place atomically (0600,
given owner) and prints ``changed`` or ``unchanged`` last, so the caller force-provisions
only when needed. :func:`restore_script` undoes it on destroy, :func:`original_script` shows the client the
user's original (for the kept-settings check), :func:`verify_script` lets
the next ``up`` notice drift, :func:`prepare_script` creates a missing site directory
before the upload.

The scripts are POSIX ``sh`` using only coreutils/busybox tools (the controller may have
neither python nor jq); their bodies live in ``scripts/*.sh``.
"""

from .scripts import (
    BACKUP_NAME,
    EXIT_BAD_PARAMETER,
    EXIT_MISSING,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_SHA_MISMATCH,
    LIVE_NAME,
    STAGED_NAME,
    STATE_NAME,
    GatewayScriptError,
    install_script,
    original_script,
    parse_original,
    parse_outcome,
    parse_verify,
    prepare_script,
    restore_script,
    staged_path,
    verify_script,
)

__all__ = [
    "BACKUP_NAME",
    "EXIT_BAD_PARAMETER",
    "EXIT_MISSING",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_SHA_MISMATCH",
    "LIVE_NAME",
    "STAGED_NAME",
    "STATE_NAME",
    "GatewayScriptError",
    "install_script",
    "original_script",
    "parse_original",
    "parse_outcome",
    "parse_verify",
    "prepare_script",
    "restore_script",
    "staged_path",
    "verify_script",
]
