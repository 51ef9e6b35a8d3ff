"""Which files each gateway kind gets (components/artifacts/gateway.py): the table decides, and a
file of the other kind is refused rather than rendered."""

from __future__ import annotations

import json
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
from components.config.stack_files import read_stack_config, stack_name_of
from components.render import load_lab

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("stack", "kind", "others"),
    [("lab", GatewayKind.USG, (BGPD_CONF, DNS_RECORDS)), ("udm", GatewayKind.UNIFI_OS, (CONFIG_GATEWAY_JSON,))],
)
def test_a_kind_gets_its_files_and_no_other(stack: str, kind: GatewayKind, others: tuple[str, ...]) -> None:
    lab = parse_lab(read_stack_config(ROOT / f"Pulumi.{stack}.yaml"), stack=stack)
    assert lab.gateway.kind is kind

    files = render_gateway_files(lab, lab.pinned_addresses)

    assert tuple(files) == GATEWAY_FILES[kind]
    assert all(files[name] == render_gateway_file(name, lab, lab.pinned_addresses) for name in files)
    for name in others:
        with pytest.raises(ValueError, match=f"gets no {name}"):
            render_gateway_file(name, lab, lab.pinned_addresses)


SHIPPED = sorted(
    [*ROOT.glob("Pulumi.*.yaml"), *(ROOT / "tests" / "simulator" / "stacks").glob("*.yaml")], key=lambda p: p.name
)


@pytest.mark.parametrize("stack_file", [p for p in SHIPPED if p.name != "invalid.yaml"], ids=lambda p: p.name)
def test_every_shipped_stack_renders_its_gateway_filter_named_after_the_stack(stack_file: Path) -> None:
    lab = load_lab(stack_file, ROOT / "Pulumi.yaml")
    names = lab.filter_names
    assert names.prefix_list == f"metallb-{stack_name_of(stack_file)}-pools"  # every shipped name is plain
    files = render_gateway_files(lab, lab.pinned_addresses)
    if lab.gateway.kind is GatewayKind.USG:
        document = json.loads(files[CONFIG_GATEWAY_JSON])
        assert set(document["policy"]["prefix-list"]) == {names.prefix_list}
        assert set(document["policy"]["route-map"]) >= {names.route_map_in, names.route_map_out}
        for neighbor in document["protocols"]["bgp"][str(lab.gateway.asn)]["neighbor"].values():
            assert neighbor["route-map"] == {"import": names.route_map_in, "export": names.route_map_out}
    else:
        lines = files[BGPD_CONF].splitlines()
        assert f"  neighbor {names.peer_group} route-map {names.route_map_in} in" in lines
        assert f"  neighbor {names.peer_group} route-map {names.route_map_out} out" in lines
        assert any(line.startswith(f"ip prefix-list {names.prefix_list} seq 10 permit ") for line in lines)


def test_the_shipped_stacks_are_all_there() -> None:
    names = [p.name for p in SHIPPED]
    assert {"Pulumi.lab.yaml", "Pulumi.crds.yaml", "Pulumi.udm.yaml", "ebgp-usg.yaml", "invalid.yaml"} <= set(names)
