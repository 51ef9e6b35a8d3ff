"""Reading a stack's config from Pulumi.yaml and Pulumi.<stack>.yaml: which values count, files
that cannot be read, a namespace one or two edits from ``metallb-unifi`` (a typo); and the
example stacks, which must parse."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.config.errors import ConfigError, Problem
from components.config.model import GatewayKind, IPFamily, Lab, SpeakerMode
from components.config.parse import parse_lab
from components.config.stack_files import mistyped_namespace_keys, read_stack_config
from tests.config.raw_labs import ROOT, k


@pytest.mark.parametrize(
    "namespace",
    [
        "metalb-unifi",  # a deletion
        "metallb-unif",
        "metallb_unifi",  # a substitution
        "mteallb-unifi",  # two neighbours swapped: one edit
        "metallb-unifii",  # an insertion
        "metal-unifi",  # two deletions
        "metalb-unfi",
        "Metallb-Unifi",  # two substitutions
    ],
)
def test_a_namespace_one_or_two_edits_away_is_an_error_with_the_key_meant(namespace: str) -> None:
    (problem,) = mistyped_namespace_keys([f"{namespace}:services", "metallb-unifi:nodes"])

    assert problem.key == f"{namespace}:services"
    assert problem.message.endswith("did you mean metallb-unifi:services?")


@pytest.mark.parametrize(
    "name", ["metallb-unifi:services", "kubernetes:context", "command:x", "metallb:services", "metal-unif:x", "nodes"]
)
def test_this_projects_keys_and_other_programs_namespaces_pass(name: str) -> None:
    assert mistyped_namespace_keys([name]) == []


def test_a_stack_file_with_a_misspelt_namespace_is_refused_naming_each_key(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.test.yaml"
    stack.write_text("config:\n  metalb-unifi:services: []\n  metallb-unif:bgp: {}\n  kubernetes:context: lab\n")

    with pytest.raises(ConfigError) as caught:
        read_stack_config(stack)

    assert caught.value.report() == (
        "invalid stack config (2 problems):\n"
        "  - metalb-unifi:services: namespace 'metalb-unifi' is not this program's (it would be ignored); "
        "did you mean metallb-unifi:services?\n"
        "  - metallb-unif:bgp: namespace 'metallb-unif' is not this program's (it would be ignored); "
        "did you mean metallb-unifi:bgp?"
    )


PROJECT = """\
name: metallb-unifi
runtime: python
config:
  metallb-unifi:services:
    default: []
  metallb-unifi:bgp:
    value: {holdTime: 30s, keepaliveTime: 10s}
  nodeSubnet: 10.20.0.0/24
  gateway:
    default: {kind: usg, asn: 64512, peerAddress: 192.168.1.1, dnsDomain: lab.home}
  metallb-unifi:metallb:
    type: object
    description: declared without a default
  aws:region: us-east-1
"""

STACK = """\
config:
  metallb-unifi:nodes:
    - {name: cp1, address: 10.20.0.10}
  metallb-unifi:metallb:
    version: v0.15.3
    asn: 64513
    pools: [{name: routed, protocol: bgp, addresses: ["10.20.10.0/24"]}]
  metallb-unifi:bgp:
    holdTime: 9s
    password:
      secure: v1:c2VjcmV0Y2lwaGVydGV4dA==
  other-project:nodes: ignored
  kubernetes:context: lab
"""


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_stack_values_over_project_defaults(tmp_path: Path) -> None:
    _write(tmp_path, "Pulumi.yaml", PROJECT)
    raw = read_stack_config(_write(tmp_path, "Pulumi.dev.yaml", STACK))
    assert raw == {
        "services": [],  # a project default (metallb-unifi:key with default:)
        "nodeSubnet": "10.20.0.0/24",  # a bare key of this project
        "gateway": {"kind": "usg", "asn": 64512, "peerAddress": "192.168.1.1", "dnsDomain": "lab.home"},
        "nodes": [{"name": "cp1", "address": "10.20.0.10"}],
        "metallb": {
            "version": "v0.15.3",
            "asn": 64513,
            "pools": [{"name": "routed", "protocol": "bgp", "addresses": ["10.20.10.0/24"]}],
        },
        # an object value replaces the default whole: keepaliveTime is not merged in
        "bgp": {"holdTime": "9s", "password": {"secure": "v1:c2VjcmV0Y2lwaGVydGV4dA=="}},
    }


def test_a_secure_value_becomes_an_unknown_secret(tmp_path: Path) -> None:
    _write(tmp_path, "Pulumi.yaml", PROJECT)
    lab = parse_lab(read_stack_config(_write(tmp_path, "Pulumi.dev.yaml", STACK)), stack="lab")
    assert lab.bgp.password is not None
    assert lab.bgp.password.value is None
    assert lab.bgp.password.key == k("bgp.password")
    assert lab.bgp.hold_time_s == 9 and lab.bgp.keepalive_time_s is None


def test_an_explicit_project_file_and_another_project_name(tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    stack = _write(tmp_path / "stacks", "Pulumi.dev.yaml", "config:\n  metallb-unifi:services: [x]\n")
    project = _write(
        tmp_path,
        "Pulumi.yaml",
        "name: something-else\nconfig:\n  services: {default: []}\n  metallb-unifi:nodeSubnet: 10.0.0.0/24\n",
    )
    # Without the project file (none next to the stack file) only the stack's values count.
    assert read_stack_config(stack) == {"services": ["x"]}
    # Bare keys of a project with another name are not in the metallb-unifi namespace.
    assert read_stack_config(stack, project) == {"nodeSubnet": "10.0.0.0/24", "services": ["x"]}


def test_an_empty_stack_file_has_no_values(tmp_path: Path) -> None:
    assert read_stack_config(_write(tmp_path, "Pulumi.dev.yaml", "")) == {}
    assert read_stack_config(_write(tmp_path, "Pulumi.dev.yaml", "config:\n")) == {}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("config:\n  metallb-unifi:nodes: [a\n", "is not valid YAML"),
        ("config: {metallb-unifi:nodes: [a, b}\n", "is not valid YAML"),
        ("config:\n\tmetallb-unifi:nodes: []\n", "is not valid YAML"),
        ("- config\n", "must be a YAML mapping"),
    ],
)
def test_a_malformed_stack_file_is_a_config_error(tmp_path: Path, text: str, fragment: str) -> None:
    stack = _write(tmp_path, "Pulumi.dev.yaml", text)
    with pytest.raises(ConfigError) as caught:
        read_stack_config(stack)
    [problem] = caught.value.problems
    assert problem.key == str(stack)
    assert fragment in problem.message


def test_a_config_section_that_is_not_a_mapping_is_a_config_error(tmp_path: Path) -> None:
    stack = _write(tmp_path, "Pulumi.dev.yaml", "config: [1, 2]\n")
    with pytest.raises(ConfigError) as caught:
        read_stack_config(stack)
    assert caught.value.problems == (Problem(f"{stack}: config", "must be a mapping of key: value"),)


def test_a_malformed_project_file_is_a_config_error(tmp_path: Path) -> None:
    project = _write(tmp_path, "Pulumi.yaml", "name: metallb-unifi\nconfig: {a: [\n")
    with pytest.raises(ConfigError) as caught:
        read_stack_config(_write(tmp_path, "Pulumi.dev.yaml", "config: {}\n"))
    assert caught.value.problems[0].key == str(project)
    assert "is not valid YAML" in caught.value.problems[0].message


def test_a_missing_stack_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        read_stack_config(tmp_path / "Pulumi.nope.yaml")
    assert "cannot read" in caught.value.problems[0].message


def test_a_stack_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    stack = tmp_path / "Pulumi.dev.yaml"
    stack.write_bytes(b"config:\n  metallb-unifi:nodes: \xff\n")
    with pytest.raises(ConfigError) as caught:
        read_stack_config(stack)
    assert caught.value.problems[0].key == str(stack)
    assert "is not UTF-8 text" in caught.value.problems[0].message


def test_a_stack_file_with_a_huge_number_is_a_config_error(tmp_path: Path) -> None:
    stack = _write(tmp_path, "Pulumi.dev.yaml", "config:\n  metallb-unifi:nodes: " + "1" * 5000 + "\n")
    with pytest.raises(ConfigError) as caught:
        read_stack_config(stack)
    assert caught.value.problems[0].key == str(stack)


@pytest.mark.parametrize("stack", ["lab", "crds", "udm"])
def test_the_example_stacks_parse_without_warnings(stack: str) -> None:
    raw = read_stack_config(ROOT / f"Pulumi.{stack}.yaml")
    lab = parse_lab(raw, read_file=lambda path: (ROOT / path).read_text(encoding="utf-8"), stack="lab")
    assert isinstance(lab, Lab)
    assert lab.warnings == ()


def test_the_example_stacks_say_what_they_claim() -> None:
    lab = parse_lab(read_stack_config(ROOT / "Pulumi.lab.yaml"), stack="lab")
    assert str(lab.metallb.version) == "v0.12.1" and not lab.ebgp and lab.gateway.kind is GatewayKind.USG
    assert lab.pinned_addresses == {"k8s-dashboard": lab.services[0].addresses}
    crds = parse_lab(read_stack_config(ROOT / "Pulumi.crds.yaml"), stack="lab")
    assert crds.ebgp and [s.name for s in crds.services] == ["grafana", "registry", "dns", "dns-tcp"]
    udm = parse_lab(read_stack_config(ROOT / "Pulumi.udm.yaml"), stack="lab")
    assert udm.gateway.kind is GatewayKind.UNIFI_OS and udm.metallb.mode is SpeakerMode.NATIVE
    dual = parse_lab(read_stack_config(ROOT / "Pulumi.dualstack.yaml"), stack="dualstack")
    assert dual.gateway.kind is GatewayKind.UNIFI_OS and dual.metallb.mode is SpeakerMode.FRR_K8S
    (pool,) = dual.metallb.pools
    assert pool.families == (IPFamily.IPV4, IPFamily.IPV6) and dual.bgp_v6
    assert dual.peering_nodes6 == dual.nodes
    (service,) = dual.services
    assert [a.version for a in service.addresses] == [4, 6]
