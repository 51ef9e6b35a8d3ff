"""Drift of the live config.gateway.json (components/unifi/drift.py, shared_file.site_drift): the
real scripts on a temp site directory (as in test_shared_file.py), then the live file changed the
ways the issue names: removed, edited inside what the stacks own, edited outside it, replaced."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.unifi.drift import Drift, classify_file
from components.unifi.scripts import look_script
from components.unifi.shared_file import SiteRefusedError, parse_read, sha256_hex, site_drift
from tests.unifi.test_shared_file import ORIGINAL, Site, part_of, site

__all__ = ["site"]  # fixture

OWNED_BGP = ("protocols", "bgp", "64512")


def look(site: Site) -> Drift:
    """What the program sees at preview: look.sh, no lock."""
    return site_drift(
        parse_read(site.shell.run_script(look_script(site_dir=str(site.path)), sudo=False).stdout.encode())
    )


def edit(site: Site, change: Any) -> None:
    document = json.loads(site.live)
    change(document)
    (site.path / "config.gateway.json").write_text(json.dumps(document, indent=2) + "\n")


def test_in_sync_missing_and_replaced_are_told_apart_and_put_back(site: Site) -> None:
    lab = part_of("lab")
    assert look(site).what == "holds no stack's part"  # before the first install
    site.install(lab)
    assert look(site).kind == "in sync"

    (site.path / "config.gateway.json").unlink()
    assert (look(site).kind, look(site).what) == ("repair", "missing")
    assert site.install(lab) and site.live == lab.content  # the same part: put back, live changed
    assert look(site).kind == "in sync"

    (site.path / "config.gateway.json").write_bytes(ORIGINAL)
    assert look(site).what == "replaced by your original"
    assert site.install(lab) and site.live == lab.content


def test_an_edit_inside_what_the_stacks_own_is_put_back_for_every_stack(site: Site) -> None:
    lab, test = part_of("lab"), part_of("lab-test")
    site.install(lab)
    site.install(test)
    composed = site.live

    def neighbour(document: dict[str, Any]) -> None:
        neighbors = document["protocols"]["bgp"]["64512"]["neighbor"]
        neighbors[sorted(neighbors)[0]]["remote-as"] = "65000"
        del document["system"]["static-host-mapping"]["host-name"]["k8s-dashboard.service"]

    edit(site, neighbour)
    drift = look(site)
    assert drift.repairs
    assert drift.what == 'edited at protocols.bgp.64512, system.static-host-mapping.host-name."k8s-dashboard.service"'
    assert site.install(test) and site.live == composed  # either stack puts the whole file back
    assert look(site).kind == "in sync"


def test_a_users_edit_outside_is_kept_named_by_path_and_refused_until_handled(site: Site) -> None:
    site.install(part_of("lab"))
    edit(site, lambda d: d.setdefault("service", {}).setdefault("gui", {}).__setitem__("https-port", "8443"))
    edit(site, lambda d: d["protocols"]["bgp"]["64512"].__setitem__("timers", {"holdtime": "9"}))  # and inside
    drift = look(site)
    assert (drift.kind, drift.what) == ("kept", "edited outside what the stacks own, at service.gui.https-port")
    before = site.files()
    with pytest.raises(SiteRefusedError, match=r"changed outside metallb-unifi \(edited outside .* service\.gui"):
        site.install(part_of("lab"))
    assert site.files() == before

    (site.path / "config.gateway.json").write_bytes(b"{not json")
    assert look(site) == Drift("kept", "changed into something that is not a JSON object")


KEYS = st.text(alphabet="abcdefgh-.", min_size=1, max_size=6)
# Values never share a letter with a path or the fixed text, so a value in a message would show.
SECRET = st.text(alphabet="QXYZ", min_size=3, max_size=8)
VALUES = st.one_of(SECRET, st.lists(SECRET, min_size=1, max_size=3), st.dictionaries(KEYS, SECRET, min_size=1))


@given(inside=st.booleans(), path=st.lists(KEYS, min_size=1, max_size=3), value=VALUES)
def test_a_change_is_the_stacks_exactly_when_it_lies_under_an_owned_path(
    inside: bool, path: list[str], value: Any
) -> None:
    installed = {"protocols": {"bgp": {"64512": {"neighbor": {"10.0.0.1": {"remote-as": "64512"}}}}}, "a": {"b": "c"}}
    expected = (json.dumps(installed, indent=4, sort_keys=True) + "\n").encode()
    live = json.loads(expected)
    where = [*OWNED_BGP, *path] if inside else ["z", *path]  # "z": no owned path starts there
    node = live
    for key in where[:-1]:
        node = node.setdefault(key, {})
    node[where[-1]] = value

    drift = classify_file(
        json.dumps(live).encode(), installed=sha256_hex(expected), known={}, expected=expected, owned=[OWNED_BGP]
    )

    assert drift.kind == ("repair" if inside else "kept")
    assert drift.what.startswith(
        "edited at protocols.bgp.64512" if inside else "edited outside what the stacks own, at z"
    )
    assert not set(drift.what) & set("QXYZ")  # paths only, never a value
