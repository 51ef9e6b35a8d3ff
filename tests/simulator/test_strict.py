import pytest

from simulator.errors import UnmodeledField
from simulator.strict import Fields


def test_unread_keys_are_refused_by_name():
    fields = Fields({"a": 1, "zz": 2}, "f.json", "top")
    fields.get("a")
    with pytest.raises(UnmodeledField, match=r"f\.json: top\.zz: not modeled"):
        fields.finish()


def test_refuse_names_a_known_but_unsimulated_option():
    fields = Fields({"bfd": {}}, "f.json", "peer")
    with pytest.raises(UnmodeledField, match=r"peer\.bfd: BFD"):
        fields.refuse("bfd", "BFD")


def test_integers_may_be_strings_as_edgeos_writes_them():
    fields = Fields({"as": "64512", "bad": "x1"}, "f", "")
    assert fields.integer("as") == 64512
    with pytest.raises(UnmodeledField, match="bad: expected an integer"):
        fields.integer("bad")


def test_expect_refuses_other_values():
    with pytest.raises(UnmodeledField, match=r"kind: value 'Other' is not modeled"):
        Fields({"kind": "Other"}, "f", "").expect("kind", "Service")


def test_a_non_mapping_is_refused():
    with pytest.raises(UnmodeledField, match="expected a mapping"):
        Fields([1], "f", "x")
