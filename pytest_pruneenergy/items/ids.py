"""The ids of energy items, written and read back in one place.

An item's name is ``test_energy[<stem>-bs<N>]``; ``-<dtype>`` follows the batch size for a
numeric format other than the model's own, ``-<runtime>`` for a runtime other than eager
(items/runtimes.py), ``-r<K>`` for round K of several
(``--energy-rounds``), and ``@<family>`` ends it under ``--dist loadgroup``:
pytest-xdist's LoadGroup scheduler sends every item whose id ends in the same ``@<group>`` to
one worker. xdist itself appends that suffix for items marked ``xdist_group`` by rewriting a
private attribute, which newer pytest no longer reads (pytest 9.2 with xdist 3.8: the suffix
silently disappears and families split across GPUs), so the plugin writes it into the name.

The controller of an xdist run never collects; it knows items only by the ids workers send. It
reads model and batch size back from those ids (``parse_item_id``), so that an item whose
worker crashed still becomes a row of the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .numerics import DTYPE_TAGS
from .runtimes import EAGER, RUNTIMES

ENERGY_TEST_NAME = "test_energy"

_ITEM_ID = re.compile(
    rf"(?:^|::){ENERGY_TEST_NAME}\[(?P<stem>.+)-bs(?P<batch_size>\d+)"
    rf"(?:-(?P<dtype>{'|'.join(DTYPE_TAGS.values())}))?"
    rf"(?:-(?P<runtime>{'|'.join(r for r in RUNTIMES if r != EAGER)}))?(?:-r(?P<round>\d+))?\]"
    r"(?:@(?P<family>[\w.-]+))?$"
)
# xdist reads a group as all after the last "@": a family is kept to letters, digits and "_.-".
_NOT_IN_A_FAMILY = re.compile(r"[^\w.-]")


@dataclass(frozen=True)
class ItemId:
    """What an energy item's id says: the model file's stem, the batch size, the numeric
    format (None: the model's own), the round (None: the run has one), the family and the
    runtime (None: eager)."""

    stem: str
    batch_size: int
    family: str | None = None
    dtype: str | None = None
    round: int | None = None
    runtime: str | None = None


def item_name(
    stem: str,
    batch_size: int,
    family: str | None = None,
    *,
    dtype: str | None = None,
    round_number: int | None = None,
    runtime: str | None = None,
) -> str:
    """``test_energy[<stem>-bs<N>[-<dtype>][-<runtime>][-r<K>]]``, with ``@<family>`` when one
    is given."""
    parts = [f"{stem}-bs{batch_size}"]
    if dtype is not None:
        parts.append(dtype)
    if runtime is not None:
        parts.append(runtime)
    if round_number is not None:
        parts.append(f"r{round_number}")
    name = f"{ENERGY_TEST_NAME}[{'-'.join(parts)}]"
    return name if family is None else f"{name}@{_NOT_IN_A_FAMILY.sub('-', family)}"


def parse_item_id(nodeid: str) -> ItemId | None:
    """What an energy item's id (or name) says; None for any other id."""
    match = _ITEM_ID.search(nodeid)
    if match is None:
        return None
    return ItemId(
        match["stem"],
        int(match["batch_size"]),
        match["family"],
        match["dtype"],
        None if match["round"] is None else int(match["round"]),
        match["runtime"],
    )
