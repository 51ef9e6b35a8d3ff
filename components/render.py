"""``python -m components.render``: show what a stack would apply, without a cluster, a
controller or the Pulumi CLI.

Writes into ``--out``: ``metallb.yaml`` and ``services.yaml`` (the cluster side),
``config.gateway.json`` (USG) or ``bgpd.conf`` + ``dns-records.json`` (UniFi OS gateways), and
``outputs.json`` (the stack outputs, as far as they are known offline). An invalid config
exits with status 2, prints every problem and writes nothing; an ``--out`` that cannot take the
files (a file, a read-only directory) exits with status 3 and changes nothing there.

``--with-stack FILE`` (repeatable) names another stack on the same gateway: the gateway's files
are then those with every named stack installed (components/artifacts/shared_gateway.py); a
conflict between the stacks exits with status 2, naming both stack files and the keys.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from components.artifacts import parse_renderable_lab
from components.artifacts.gateway import GATEWAY_FILES, render_gateway_files
from components.artifacts.metallb import render_metallb_yaml
from components.artifacts.outputs import render_outputs
from components.artifacts.services import render_services_yaml
from components.artifacts.shared_gateway import GatewayStack, SharedGatewayConflict, compose_gateway_files
from components.config import ConfigError, Lab
from components.config.model import GatewayKind, ServiceAddresses
from components.config.secrets import redact_secrets
from components.config.stack_files import read_stack_config, stack_name_of
from components.discovery.dump import ServiceDumpError, read_service_dump
from components.discovery.rules import DiscoveredName, discover

EXIT_INVALID_CONFIG = 2
EXIT_CANNOT_WRITE = 3


def render_artifacts(
    lab: Lab, addresses: ServiceAddresses, discovered: Sequence[DiscoveredName] = ()
) -> dict[str, str]:
    """File name → content for every artifact of the lab. Pure: same lab, same bytes."""
    files = {
        "metallb.yaml": render_metallb_yaml(lab),
        "services.yaml": render_services_yaml(lab),
        "outputs.json": json.dumps(render_outputs(lab, addresses, discovered), indent=2, sort_keys=True) + "\n",
    }
    return files | render_gateway_files(lab, addresses, discovered)


def load_lab(stack_file: Path, project_file: Path | None = None) -> Lab:
    """Read and validate a stack file, as the stack its name says (``Pulumi.<stack>.yaml``); files
    it names are relative to the project directory."""
    project_dir = (project_file or stack_file).resolve().parent

    def read_file(name: str) -> str:
        return (project_dir / name).read_text(encoding="utf-8")

    raw = read_stack_config(stack_file, project_file)
    return parse_renderable_lab(raw, stack=stack_name_of(stack_file), read_file=read_file)


class OutputError(Exception):
    """``--out`` cannot take the files; nothing there was changed."""


def _stage(path: Path, content: str) -> str:
    """Write ``content`` to a temporary file beside ``path``; return its name."""
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(content)
        os.chmod(temp_name, 0o600)  # it may hold the BGP password
    except BaseException:
        os.unlink(temp_name)
        raise
    return temp_name


def write_artifacts(out: Path, files: Mapping[str, str], kind: GatewayKind) -> None:
    """Write every file or none: all are staged in ``out`` first, then renamed into place."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise OutputError(f"--out {out}: exists and is not a directory") from exc
    except OSError as exc:
        raise OutputError(f"--out {out}: cannot create the directory: {exc.strerror or exc}") from exc
    staged: list[tuple[str, Path]] = []
    try:
        for name, content in sorted(files.items()):
            staged.append((_stage(out / name, content), out / name))
    except OSError as exc:
        for temp_name, _ in staged:
            os.unlink(temp_name)
        raise OutputError(f"--out {out}: cannot write there: {exc.strerror or exc}") from exc
    # Renames within one directory: once every file is staged, these do not fail halfway for lack of space.
    for temp_name, path in staged:
        os.replace(temp_name, path)
    # A kind switch must not leave the other kind's gateway files looking current.
    for other, names in GATEWAY_FILES.items():
        if other is not kind:
            for name in names:
                (out / name).unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components.render", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack-file", type=Path, required=True, help="e.g. Pulumi.lab.yaml")
    parser.add_argument("--out", type=Path, required=True, help="directory to write the artifacts into")
    parser.add_argument(
        "--project-file",
        type=Path,
        default=None,
        help="Pulumi.yaml with project defaults (default: beside the stack file)",
    )
    parser.add_argument(
        "--show-secrets", action="store_true", help="write secrets in plain text instead of placeholders"
    )
    parser.add_argument(
        "--services-from",
        type=Path,
        default=None,
        help="`kubectl get services -A -o json` output, read in place of the cluster for metallb-unifi:discovery",
    )
    parser.add_argument(
        "--with-stack",
        type=Path,
        action="append",
        default=[],
        metavar="STACK_FILE",
        help="another stack on the same gateway (its project defaults from the Pulumi.yaml beside it): "
        "the gateway's files are rendered with every such stack installed; repeat for more",
    )
    args = parser.parse_args(argv)

    try:
        lab = load_lab(args.stack_file, args.project_file)
    except ConfigError as error:
        print(error.report(), file=sys.stderr)
        return EXIT_INVALID_CONFIG
    for warning in lab.warnings:
        print(f"warning: {warning}", file=sys.stderr)

    discovered = _discovered(lab, args.services_from)
    if discovered is None:
        return EXIT_INVALID_CONFIG
    others = _other_stacks(args.with_stack, args.stack_file)
    if others is None:
        return EXIT_INVALID_CONFIG
    shown = lab if args.show_secrets else redact_secrets(lab)
    files = render_artifacts(shown, lab.pinned_addresses, discovered)
    if others:
        this = GatewayStack(shown, lab.pinned_addresses, discovered, str(args.stack_file))
        try:
            files |= compose_gateway_files([this, *(_shown(other, args.show_secrets) for other in others)])
        except SharedGatewayConflict as error:
            print(f"{error.report()}\nnothing was written", file=sys.stderr)
            return EXIT_INVALID_CONFIG
    try:
        write_artifacts(args.out, files, lab.gateway.kind)
    except OutputError as error:
        print(f"error: {error}; nothing was written", file=sys.stderr)
        return EXIT_CANNOT_WRITE
    for name in sorted(files):
        print(args.out / name)
    unknown = [s.name for s in lab.services if not s.addresses]
    if unknown:
        print(
            f"not yet known: the addresses and host names of {', '.join(unknown)} "
            "(MetalLB allocates them when the Services exist; `pulumi up` fills them in)",
            file=sys.stderr,
        )
    return 0


def _other_stacks(files: Sequence[Path], stack_file: Path) -> list[GatewayStack] | None:
    """The ``--with-stack`` stacks, each read as ``--stack-file`` is; None (every problem of every
    file printed) when one is invalid. Their Services' allocated addresses are unknown offline, so
    only pinned addresses get names, as for this stack."""
    stacks, valid = [], True
    seen = {stack_file.resolve()}
    for path in files:
        if path.resolve() in seen:
            print(f"error: --with-stack {path}: given already (as --stack-file or --with-stack)", file=sys.stderr)
            valid = False
            continue
        seen.add(path.resolve())
        try:
            other = load_lab(path)
        except ConfigError as error:
            print(f"--with-stack {path}: {error.report()}", file=sys.stderr)
            valid = False
            continue
        for warning in other.warnings:
            print(f"warning: --with-stack {path}: {warning}", file=sys.stderr)
        unknown = [s.name for s in other.services if not s.addresses]
        if unknown:
            print(
                f"not yet known: the addresses and host names of {', '.join(unknown)} of --with-stack {path}",
                file=sys.stderr,
            )
        if other.discovery is not None:
            print(f"not yet known: the names --with-stack {path} discovers", file=sys.stderr)
        stacks.append(GatewayStack(other, other.pinned_addresses, (), str(path)))
    return stacks if valid else None


def _shown(stack: GatewayStack, show_secrets: bool) -> GatewayStack:
    return stack if show_secrets else GatewayStack(redact_secrets(stack.lab), stack.addresses, (), stack.file)


def _discovered(lab: Lab, services_from: Path | None) -> tuple[DiscoveredName, ...] | None:
    """The names discovered in ``--services-from`` (warnings to stderr); None: the file is unusable."""
    if services_from is None:
        if lab.discovery is not None:
            print("not yet known: the discovered names (give --services-from FILE to see them)", file=sys.stderr)
        return ()
    try:
        services = read_service_dump(services_from)
    except ServiceDumpError as error:
        print(f"error: --services-from {error}; nothing was written", file=sys.stderr)
        return None
    if lab.discovery is None:
        print(
            "warning: --services-from: the stack sets no metallb-unifi:discovery; nothing is discovered",
            file=sys.stderr,
        )
    result = discover(lab, services)
    for warning in result.warnings:
        print(f"warning: discovery: {warning}", file=sys.stderr)
    return result.entries


if __name__ == "__main__":
    sys.exit(main())
