"""Energy item ids: written once, read back by the xdist controller, never shared by two items."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pytest_pruneenergy.items.ids import item_name, parse_item_id
from pytest_pruneenergy.items.ledger import duplicated, is_energy_item_id

# File stems as a file system allows them: anything but "/" and NUL, not blank.
STEMS = st.text(
    alphabet=st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)), min_size=1
).filter(lambda stem: stem.strip() and "\n" not in stem)


def test_an_item_name_says_the_stem_and_the_batch_size():
    assert item_name("VGG16_CIFAR10_UNPRUNED", 32) == "test_energy[VGG16_CIFAR10_UNPRUNED-bs32]"
    assert item_name("VGG16_CIFAR10_UNPRUNED", 32, "vgg16_cifar10").endswith("]@vgg16_cifar10")


@given(stem=STEMS, batch_size=st.integers(1, 10**6), family=st.none() | STEMS)
def test_an_id_reads_back_as_it_was_written(stem: str, batch_size: int, family: str | None):
    nodeid = f"models/{stem}.pth::{item_name(stem, batch_size, family)}"
    parsed = parse_item_id(nodeid)
    assert parsed is not None
    assert (parsed.stem, parsed.batch_size) == (stem, batch_size)
    assert (parsed.family is None) == (family is None)
    assert is_energy_item_id(nodeid)


@given(st.text())
def test_any_other_id_is_not_an_energy_item(text: str):
    parsed = parse_item_id(f"tests/test_x.py::{text}")
    assert parsed is None or text.startswith("test_energy[")


def test_a_model_file_whose_name_holds_a_double_colon_is_still_an_energy_item():
    # Found by the property above: the path was cut at the first "::".
    assert is_energy_item_id("models/::.pth::test_energy[::-bs1]")
    assert is_energy_item_id("models/a::b.pth::test_energy[a::b-bs8]@a--b")
    assert not is_energy_item_id("tests/test_x.py::test_energy[a-bs1]")


def test_a_family_keeps_to_characters_that_xdist_reads_as_one_group():
    name = item_name("x", 1, "a b@c[d]")
    assert name.rpartition("@")[2] == "a-b-c-d-"


def test_other_tests_are_not_energy_items():
    assert not is_energy_item_id("tests/test_plugin.py::test_energy[x-bs1]")  # not a model file
    assert not is_energy_item_id("models/x.pth::prune_models_folder")


def test_duplicated_ids_are_found_once_each_in_order():
    assert duplicated(["a", "b", "a", "c", "b", "a"]) == ["a", "b"]
    assert duplicated(["a", "b"]) == []
