"""Families dealt into shards: whole, balanced, the same deal on every machine."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_pruneenergy.models.sharding import Shard, deal_families


def test_the_largest_families_go_first_each_to_the_least_loaded_shard():
    work = {"vgg16_imagenet": 60, "alexnet_imagenet": 60, "vgg11_imagenet": 60, "tiny": 5}
    # Ties in size by name; ties in load to the lower shard.
    assert deal_families(work, 2) == {
        "alexnet_imagenet": 1,
        "vgg11_imagenet": 2,
        "vgg16_imagenet": 1,
        "tiny": 2,
    }


def test_more_shards_than_families_leave_shards_empty():
    assert sorted(deal_families({"a": 3, "b": 1}, 4).values()) == [1, 2]


def test_zero_shards_is_an_error():
    with pytest.raises(ValueError, match="at least 1"):
        deal_families({"a": 1}, 0)


@given(
    work=st.dictionaries(st.text(min_size=1, max_size=8), st.integers(1, 100), max_size=12),
    shards=st.integers(1, 6),
)
def test_every_family_in_exactly_one_shard_and_the_deal_is_deterministic(work, shards):
    dealt = deal_families(work, shards)
    assert set(dealt) == set(work)
    assert all(1 <= shard <= shards for shard in dealt.values())
    assert deal_families(dict(reversed(list(work.items()))), shards) == dealt
    # The longest-processing-time rule: no shard exceeds the ideal by more than the largest family.
    loads = [sum(w for f, w in work.items() if dealt[f] == s) for s in range(1, shards + 1)]
    if work:
        assert max(loads) <= sum(work.values()) / shards + max(work.values())


def test_families_go_largest_first_and_ties_by_name():
    from pytest_pruneenergy.models.sharding import largest_first

    assert largest_first({"vgg16": 10, "alexnet": 30, "vgg11": 10}) == ["alexnet", "vgg11", "vgg16"]


@pytest.mark.parametrize(
    ("text", "shard"),
    [("1/2", Shard(1, 2)), (" 3/3 ", Shard(3, 3)), ("3/2", None), ("0/2", None), ("1-2", None)],
)
def test_a_shard_is_read_back_from_the_text_the_plugin_writes(text, shard):
    assert Shard.from_text(text) == shard
    if shard is not None:
        assert Shard.from_text(str(shard)) == shard


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2", "not I/N"),
        ("x/2", "'x' is not a whole number"),
        ("1/-2", "'-2' is not a whole number"),
        ("0/2", "shards count from 1"),
        ("3/2", "shard 3 of only 2"),
    ],
)
def test_a_shard_that_is_no_shard_says_what_is_wrong(text, reason):
    with pytest.raises(ValueError, match=reason):
        Shard.parse(text)
