"""Model families dealt into shards: each family whole, the shards' work balanced.

A family (models/pairing.py) is a baseline and the models compared with it; its reductions
compare measurements of one board only if the whole family runs on one machine, so a family is
never split. Families are dealt largest first, each to the shard with the least work so far
(the longest-processing-time rule: within 4/3 of the best possible balance), ties to the lower
shard and then by name, so that every machine given the same files computes the same deal.
A family's work is its number of items: once models load onto the device directly, every item
costs about the same warm-up and measurement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Shard:
    """``--prune-shard=I/N``: the I-th (1-based) of N shards of the families."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    @classmethod
    def parse(cls, text: str) -> Shard:
        """The shard ``I/N`` names; ValueError saying what is wrong where it names none."""
        index, slash, count = text.strip().partition("/")
        if not slash:
            raise ValueError("not I/N (e.g. 2/4: the second of four)")
        for part in (index, count):
            if not part.strip().isdigit():
                raise ValueError(f"{part.strip()!r} is not a whole number")
        shard = cls(int(index), int(count))
        if shard.index < 1:
            raise ValueError("shards count from 1")
        if shard.index > shard.count:
            raise ValueError(f"shard {shard.index} of only {shard.count}")
        return shard

    @classmethod
    def from_text(cls, text: str) -> Shard | None:
        """The shard ``I/N`` names, as the plugin writes one; None where the text is no such
        shard."""
        try:
            return cls.parse(text)
        except ValueError:
            return None


def largest_first(work: Mapping[str, float]) -> list[str]:
    """The families by work, largest first, ties by name: the order in which to deal them, to
    shards here and to xdist's workers (which take ``--dist loadgroup`` groups in the order
    they were collected)."""
    return sorted(work, key=lambda name: (-work[name], name))


def deal_families(work: Mapping[str, float], shards: int) -> dict[str, int]:
    """Each family's shard, 1 to ``shards``, from its work (e.g. its number of items)."""
    if shards < 1:
        raise ValueError(f"shards must be at least 1, got {shards}")
    loads = [0.0] * shards
    dealt: dict[str, int] = {}
    for family in largest_first(work):
        shard = min(range(shards), key=lambda index: (loads[index], index))
        loads[shard] += work[family]
        dealt[family] = shard + 1
    return dealt
