"""Which files each gateway kind gets (components/artifacts/gateway.py): the table decides, and a
file of the other kind is refused rather than rendered."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.artifacts.gateway import (
    BGPD_CONF,
    CONFIG_GATEWAY_JSON,
    DNS_RECORDS,
    GATEWAY_FILES,
    render_gateway_file,
    render_gateway_files,
)
from components.config import parse_lab
from components.config.model import GatewayKind
from components.config.stack_files import read_stack_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("stack", "kind", "others"),
    [("lab", GatewayKind.USG, (BGPD_CONF, DNS_RECORDS)), ("udm", GatewayKind.UNIFI_OS, (CONFIG_GATEWAY_JSON,))],
)
def test_a_kind_gets_its_files_and_no_other(stack: str, kind: GatewayKind, others: tuple[str, ...]) -> None:
    lab = parse_lab(read_stack_config(ROOT / f"Pulumi.{stack}.yaml"), stack="lab")
    assert lab.gateway.kind is kind

    files = render_gateway_files(lab, lab.pinned_addresses)

    assert tuple(files) == GATEWAY_FILES[kind]
    assert all(files[name] == render_gateway_file(name, lab, lab.pinned_addresses) for name in files)
    for name in others:
        with pytest.raises(ValueError, match=f"gets no {name}"):
            render_gateway_file(name, lab, lab.pinned_addresses)
