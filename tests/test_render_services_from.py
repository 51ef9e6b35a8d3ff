"""`render --services-from`: a saved Service listing in place of the cluster, for both gateway
kinds, through the command a user runs; a file that is not a listing writes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.discovery.dump import ServiceDumpError, parse_service_dump
from tests.discovery.labs import RAW, named, service

REPO = Path(__file__).resolve().parents[1]


def render(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "components.render", *args],
        cwd=REPO,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )


def stack(tmp_path: Path, kind: str, discovery: dict[str, Any] | None = None) -> Path:
    raw = {**RAW, "gateway": {**RAW["gateway"], "kind": kind}}
    if discovery is None:
        raw.pop("discovery")
    else:
        raw["discovery"] = discovery
    (tmp_path / "Pulumi.yaml").write_text("name: metallb-unifi\nruntime: python\n")
    path = tmp_path / "Pulumi.test.yaml"
    path.write_text(yaml.safe_dump({"config": {f"metallb-unifi:{k}": v for k, v in raw.items()}}))
    return path


def dump(tmp_path: Path, items: list[dict[str, Any]], kind: str = "List") -> Path:
    path = tmp_path / "services.json"
    path.write_text(json.dumps({"apiVersion": "v1", "kind": kind, "items": items, "metadata": {}}))
    return path


CLUSTER = [
    named("grafana", "grafana", ip="10.20.10.50"),
    named("other", "grafana", ip="10.20.10.51"),  # wants grafana elsewhere: both skipped
    named("jellyfin", "jellyfin", ip="10.20.10.52", ports=[(8096, "TCP")]),
    service("unannotated", ip="10.20.10.53"),
    named("later", "later", ip=None),
]
WARNINGS = (
    "warning: discovery: Service apps/later: no address from MetalLB yet; it gets its host name at the next "
    "`pulumi up`\n"
    "warning: discovery: the name 'grafana' is wanted by Services on different addresses: apps/grafana "
    "(10.20.10.50), apps/other (10.20.10.51); none of them gets it\n"
    "warning: discovery: the name 'grafana.lab.example' is wanted by Services on different addresses: apps/grafana "
    "(10.20.10.50), apps/other (10.20.10.51); none of them gets it (apps/grafana, apps/other thus get no host name)\n"
)
JELLYFIN = {
    "service": "apps/jellyfin",
    "address": "10.20.10.52",
    "hostname": "jellyfin.lab.example",
    "aliases": ["jellyfin"],
    "url": "http://jellyfin.lab.example:8096/",
}


def test_usg_file_and_outputs_hold_the_discovered_names(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = render(
        "--stack-file",
        str(stack(tmp_path, "usg", {})),
        "--out",
        str(out),
        "--services-from",
        str(dump(tmp_path, CLUSTER)),
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == WARNINGS
    hosts = json.loads((out / "config.gateway.json").read_text())["system"]["static-host-mapping"]["host-name"]
    assert hosts == {
        "dashboard.lab.example": {"alias": ["dashboard", "dash"], "inet": ["10.20.10.10"]},
        "jellyfin.lab.example": {"alias": ["jellyfin"], "inet": ["10.20.10.52"]},
    }
    assert json.loads((out / "outputs.json").read_text())["discovered"] == [JELLYFIN]
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    again = render(
        "--stack-file",
        str(stack(tmp_path, "usg", {})),
        "--out",
        str(out),
        "--services-from",
        str(dump(tmp_path, CLUSTER[::-1])),
    )
    assert again.returncode == 0 and {p.name: p.read_bytes() for p in out.iterdir()} == first, (
        "same cluster, same bytes"
    )


def test_unifi_os_records_hold_the_discovered_names_from_a_service_list(tmp_path: Path) -> None:
    out = tmp_path / "out"
    listing = dump(
        tmp_path, [{k: v for k, v in s.items() if k not in ("kind", "apiVersion")} for s in CLUSTER], "ServiceList"
    )
    result = render(
        "--stack-file",
        str(stack(tmp_path, "unifi-os", {"mode": "all"})),
        "--out",
        str(out),
        "--services-from",
        str(listing),
    )
    assert result.returncode == 0, result.stderr
    records = json.loads((out / "dns-records.json").read_text())
    assert [(r["key"], r["value"]) for r in records] == [
        ("dash", "10.20.10.10"),
        ("dashboard", "10.20.10.10"),
        ("dashboard.lab.example", "10.20.10.10"),
        ("jellyfin", "10.20.10.52"),
        ("jellyfin.lab.example", "10.20.10.52"),
        ("unannotated", "10.20.10.53"),
        ("unannotated.lab.example", "10.20.10.53"),
    ]
    assert [d["service"] for d in json.loads((out / "outputs.json").read_text())["discovered"]] == [
        "apps/jellyfin",
        "apps/unannotated",
    ]


def test_without_the_file_the_discovered_names_are_said_to_be_unknown(tmp_path: Path) -> None:
    result = render("--stack-file", str(stack(tmp_path, "usg", {})), "--out", str(tmp_path / "out"))
    assert result.returncode == 0
    assert "not yet known: the discovered names (give --services-from FILE to see them)\n" in result.stderr
    assert json.loads((tmp_path / "out" / "outputs.json").read_text())["discovered"] == []


def test_a_stack_without_discovery_says_the_file_changes_nothing(tmp_path: Path) -> None:
    result = render(
        "--stack-file",
        str(stack(tmp_path, "usg")),
        "--out",
        str(tmp_path / "out"),
        "--services-from",
        str(dump(tmp_path, CLUSTER)),
    )
    assert result.returncode == 0
    assert (
        result.stderr == "warning: --services-from: the stack sets no metallb-unifi:discovery; nothing is discovered\n"
    )
    assert "discovered" not in json.loads((tmp_path / "out" / "outputs.json").read_text())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not JSON (Expecting property name enclosed in double quotes: line 1 column 2 (char 1)); "),
        ("[]", "the top level is not an object; "),
        ('{"kind": "PodList", "items": []}', "kind is 'PodList', not List or ServiceList; "),
        ('{"kind": "List"}', "items is not a list; "),
    ],
)
def test_a_file_that_is_no_listing_exits_2_and_writes_nothing(tmp_path: Path, text: str, message: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    out = tmp_path / "out"
    result = render("--stack-file", str(stack(tmp_path, "usg", {})), "--out", str(out), "--services-from", str(bad))
    assert result.returncode == 2
    assert result.stderr == (
        f"error: --services-from {bad}: {message}expected the output of `kubectl get services -A -o json`; "
        "nothing was written\n"
    )
    assert not out.exists()


def test_items_that_are_not_services_are_refused_with_their_index() -> None:
    def refused(items: list[Any]) -> str:
        with pytest.raises(ServiceDumpError) as error:
            parse_service_dump(json.dumps({"kind": "List", "items": items}), "f.json")
        return str(error.value)

    assert refused([service("a"), 5]) == "f.json: items[1] is not an object"
    assert (
        refused([{"kind": "Pod", "metadata": {"name": "p", "namespace": "n"}}])
        == "f.json: items[0] is a 'Pod', not a Service"
    )
    assert refused([{"metadata": {"name": "a"}}]) == "f.json: items[0] has no metadata.namespace and metadata.name"
    assert refused([{**service("a"), "spec": []}]) == "f.json: items[0].spec is not an object"


def test_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = render(
        "--stack-file",
        str(stack(tmp_path, "usg", {})),
        "--out",
        str(tmp_path / "out"),
        "--services-from",
        str(tmp_path / "nope.json"),
    )
    assert result.returncode == 2
    assert (
        result.stderr == f"error: --services-from {tmp_path / 'nope.json'}: cannot read it: No such file or directory; "
        "nothing was written\n"
    )
    assert not (tmp_path / "out").exists()
