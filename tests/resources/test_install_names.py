"""MetalLB's install objects keep their resource names across releases: the ConfigGroup's
children as the provider names them, with the aliases and retention the program's transform
gives them (run through the SDK's transform callback, as the engine would)."""

from __future__ import annotations

import pytest

from components.config.versions import TESTED_VERSIONS, parse_version
from components.kubernetes.manifests import install_objects, manifest_file
from tests.conftest import REFERENCE
from tests.program_harness import CONFIG_GROUP, REPO, config_group_children, run_program, stack_config


@pytest.mark.skipif(not REFERENCE.is_dir(), reason=f"MetalLB's upstream manifests not found at {REFERENCE}")
@pytest.mark.parametrize("preview", [True, False], ids=["preview", "up"])
def test_install_children_alias_every_former_name_and_crds_are_retained(
    monkeypatch: pytest.MonkeyPatch, mirror: str, preview: bool
) -> None:
    run = run_program(monkeypatch, stack_config(REPO / "Pulumi.crds.yaml", mirror), preview=preview)

    (group,) = run.of_type(CONFIG_GROUP)
    assert group.urn.rpartition("::")[0] + "::metallb-v0.13.2" in group.aliases
    children = [r for r in run.registrations if r.parent == group.urn]
    assert len(children) == 25
    for child in children:
        head, _, name = child.urn.rpartition("::")
        for version in ("v0.12.1", "v0.15.3", "v0.16.1"):
            assert f"{head}::metallb-{version}{name[len('metallb') :]}" in child.aliases, child.name
        assert child.retain_on_delete == (child.inputs["kind"] == "CustomResourceDefinition"), child.name
    assert sum(child.retain_on_delete for child in children) == 9


@pytest.mark.skipif(not REFERENCE.is_dir(), reason=f"MetalLB's upstream manifests not found at {REFERENCE}")
def test_no_install_object_changes_its_api_version_between_tested_releases() -> None:
    # A changed apiVersion is a new type, so a new URN: the old one would be deleted at the end of
    # the upgrade, i.e. the live object (await.go Deletion deletes by name). Such a release needs
    # an alias with the old type in install_child_options before it is supported.
    seen: dict[tuple[str, str, str], str] = {}
    for text in TESTED_VERSIONS:
        version = parse_version(text)
        assert version is not None
        path = REFERENCE / text / manifest_file(version, "native")
        for obj in install_objects(path.read_bytes(), version):
            key = (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            assert seen.setdefault(key, obj["apiVersion"]) == obj["apiVersion"], (text, key)


def test_config_group_children_are_named_and_ordered_as_the_provider_does() -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "pools.example.io"},
        "spec": {"group": "example.io", "names": {"kind": "Pool"}},
    }
    pool = {"apiVersion": "example.io/v1", "kind": "Pool", "metadata": {"name": "p", "namespace": "ns"}}
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a", "namespace": "ns"}}

    named = config_group_children("group", {"objs": [pool, crd, account]})
    unprefixed = config_group_children("group", {"objs": [account], "resourcePrefix": ""})

    assert [(t, n) for t, n, _, _ in named] == [
        ("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", "group:pools.example.io"),
        ("kubernetes:core/v1:ServiceAccount", "group:ns/a"),
        ("kubernetes:example.io/v1:Pool", "group:ns/p"),
    ]
    assert named[2][3] == [1]  # the custom resource depends on its CRD (index in the input list)
    assert [n for _, n, _, _ in unprefixed] == ["ns/a"]
