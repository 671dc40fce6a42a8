"""Which baseline a model is compared with: one rule, used wherever a baseline is needed.

A pruned model is compared with the unpruned model (``_UNPRUNED``) of its family, the same
architecture AND dataset, case-insensitive, measured in the same setting (the batch size).
Where a family has two unpruned models (two folders, names that differ in case) the one whose
name sorts first is the baseline. A baseline is its own baseline; a name that follows no
convention has none.

The family is also the unit xdist keeps on one worker (``family_label``), so that a reduction
compares two measurements of one board.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

from .naming import ModelName

_Item = TypeVar("_Item")

FamilyKey = tuple[str, str]


def family_key(name: ModelName | None) -> FamilyKey | None:
    """Architecture and dataset, case-folded; None for a name that follows no convention."""
    if name is None:
        return None
    return (name.architecture.casefold(), name.dataset.casefold())


def family_label(name: ModelName | None, stem: str) -> str:
    """The family as one word (``alexnet_cifar10``); a file whose name follows no convention is
    a family of its own, named by its stem."""
    key = family_key(name)
    return stem if key is None else "_".join(key)


def baselines_of(
    items: Sequence[_Item],
    *,
    name_of: Callable[[_Item], ModelName | None],
    stem_of: Callable[[_Item], str],
    setting_of: Callable[[_Item], Hashable] = lambda item: None,
) -> list[_Item | None]:
    """For each of ``items``, in order, its baseline among ``items``, or None."""
    chosen: dict[tuple[FamilyKey, Hashable], _Item] = {}
    for item in items:
        name = name_of(item)
        key = family_key(name)
        if name is None or key is None or not name.is_baseline:
            continue
        slot = (key, setting_of(item))
        if slot not in chosen or stem_of(item) < stem_of(chosen[slot]):
            chosen[slot] = item
    baselines: list[_Item | None] = []
    for item in items:
        name = name_of(item)
        key = family_key(name)
        if name is not None and name.is_baseline:
            baselines.append(item)
        else:
            baselines.append(None if key is None else chosen.get((key, setting_of(item))))
    return baselines
