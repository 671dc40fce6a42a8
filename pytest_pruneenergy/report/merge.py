"""Shards joined into one run: ``pruneenergy merge`` reads each shard's report folder.

The measurements come from each folder's journal (items/journal.py): every finished item, even
of a shard that was cut short. Failed items come from the folder's results CSV, where it has
one. Rounds are combined as a run of one machine combines them (items/rounds.py).

Three refusals, each naming what it refuses: an item measured in two folders (two shards that
overlap, or one folder given twice), shards of two different splits (``1/2`` beside ``2/3``),
and a reduction that would set a model against a baseline measured on another GPU model: two GPU
models differ by far more than pruning's effect on some models, and shards keep families whole,
so such a pair means the folders are not one run's. Shards of the split that no folder holds
are named (``missing_shards``): their families are absent from the merged report.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..items.journal import journal_dir, read_journal
from ..items.measurement import ItemFailure, Measurement, baselines_of_measurements
from ..items.rounds import combine_rounds
from ..items.runtimes import EAGER, item_variant, runtime_or_none
from ..models.sharding import Shard
from . import schema as col
from .schema import CSV_NAME
from .table import model_stem


class MergeError(ValueError):
    """Folders that cannot be one run; the message says which items or models and why."""


@dataclass
class MergedRun:
    measurements: list[Measurement] = field(default_factory=list)
    failures: list[ItemFailure] = field(default_factory=list)
    # Journal lines that could not be read, per folder: their items are not in the run.
    unreadable: dict[Path, int] = field(default_factory=dict)
    # The settings the shards measured with, as their journals recorded them.
    settings: dict[str, object] = field(default_factory=dict)
    # The --prune-shard values the folders' journals were written under (``1/2``).
    shards: set[str] = field(default_factory=set)

    @property
    def missing_shards(self) -> list[str]:
        """The shards of the folders' split that none of them holds, e.g. ``["2/2"]``."""
        return missing_shards(self.shards)


def merge_folders(folders: Sequence[Path]) -> MergedRun:
    """The measurements and failures of every folder, as one run; MergeError where they
    cannot be one."""
    merged = MergedRun()
    seen: dict[tuple[str, int, str | None, int | None], Path] = {}
    for folder in folders:
        contents = read_journal(journal_dir(folder))
        if contents.files == 0:
            raise MergeError(f"{folder}: no journal ({journal_dir(folder)}): not a report folder")
        if contents.unreadable_lines:
            merged.unreadable[folder] = contents.unreadable_lines
        merged.shards |= contents.shards
        for key in contents.measurements:
            merged.settings = dict(key.settings)
        for measurement in _latest_per_item(list(contents.measurements.values())):
            key = _item_key(measurement)
            if key in seen:
                raise MergeError(
                    f"{measurement.model} at batch size {measurement.batch_size} was measured "
                    f"in {seen[key]} and in {folder}: give each shard's folder once"
                )
            seen[key] = folder
            merged.measurements.append(measurement)
        merged.failures += _failures_of(folder / CSV_NAME, measured=set(seen))
    refuse_mixed_splits(merged.shards)
    merged.measurements = combine_rounds(merged.measurements)
    refuse_mixed_gpus(merged.measurements)
    return merged


def refuse_mixed_splits(shards: Iterable[str]) -> None:
    """MergeError where the folders are shards of different splits (``1/2`` and ``2/3``): each
    split deals the families its own way, so together they would miss some and repeat others."""
    parsed = _parsed(shards)
    if len({shard.count for shard in parsed}) > 1:
        named = ", ".join(str(shard) for shard in parsed)
        raise MergeError(
            f"the folders are shards of different splits ({named}): merge the shards of one "
            "--prune-shard=I/N split"
        )


def missing_shards(shards: Iterable[str]) -> list[str]:
    """The shards of the split that ``shards`` (``1/3``, ``3/3``) do not name: ``["2/3"]``."""
    parsed = _parsed(shards)
    if not parsed:
        return []
    count = parsed[0].count  # one split: merge_folders refuses several
    present = {shard.index for shard in parsed}
    return [str(Shard(index, count)) for index in range(1, count + 1) if index not in present]


def _parsed(shards: Iterable[str]) -> list[Shard]:
    """The shards as written in journals, in order; an unreadable value (another writer's)
    tells nothing and is left out."""
    parsed = {shard for shard in map(Shard.from_text, shards) if shard is not None}
    return sorted(parsed, key=lambda shard: (shard.count, shard.index))


def refuse_mixed_gpus(measurements: Sequence[Measurement]) -> None:
    """MergeError naming every model whose baseline ran on another GPU model."""
    crossed = []
    for measurement, baseline in zip(
        measurements, baselines_of_measurements(measurements), strict=True
    ):
        if baseline is None or baseline is measurement:
            continue
        mine, theirs = _gpu_name(measurement), _gpu_name(baseline)
        if mine != theirs:
            crossed.append(
                f"{measurement.model} (bs {measurement.batch_size}) on {mine}, its baseline "
                f"{baseline.model} on {theirs}"
            )
    if crossed:
        shown = "; ".join(crossed[:5]) + ("; ..." if len(crossed) > 5 else "")
        raise MergeError(
            f"{len(crossed)} reduction(s) would compare two GPU models: {shown}. Merge the "
            "folders of one GPU model, or measure each family on one."
        )


def _gpu_name(measurement: Measurement) -> str:
    return measurement.gpu.name if measurement.gpu is not None else measurement.device


def _item_key(measurement: Measurement) -> tuple[str, int, str | None, int | None]:
    return (*measurement.key, measurement.round_number)


def _latest_per_item(measurements: list[Measurement]) -> list[Measurement]:
    """One measurement per item of a folder: a journal resumed on another host holds two."""
    latest: dict[tuple[str, int, str | None, int | None], Measurement] = {}
    for measurement in measurements:  # in journal order: the later line wins
        latest[_item_key(measurement)] = measurement
    return list(latest.values())


def _failures_of(
    csv_path: Path, measured: set[tuple[str, int, str | None, int | None]]
) -> list[ItemFailure]:
    """The failed rows of a shard's CSV whose item no folder measured."""
    if not csv_path.is_file():
        return []
    try:
        table = pd.read_csv(csv_path)
    except (OSError, ValueError, UnicodeDecodeError) as error:  # EmptyDataError is a ValueError
        raise MergeError(f"{csv_path}: cannot be read ({error}); {_FAILED_ROWS}") from None
    needed = (col.STATUS, col.MODEL_NAME, col.BATCH_SIZE, col.ERROR, col.MODEL_PATH)
    missing = [column for column in needed if column not in table.columns]
    if missing:
        raise MergeError(f"{csv_path}: no column {', '.join(missing)}; {_FAILED_ROWS}")
    failures = []
    done = {(model, size, dtype) for model, size, dtype, _ in measured}
    for _, row in table[table[col.STATUS].astype(str) == col.STATUS_FAILED].iterrows():
        size = None if pd.isna(row[col.BATCH_SIZE]) else int(row[col.BATCH_SIZE])
        model = model_stem(str(row[col.MODEL_NAME]))
        dtype = _text_or_none(row.get(col.DTYPE))
        runtime = runtime_or_none(_text_or_none(row.get(col.RUNTIME)) or EAGER)
        if (model, size, item_variant(dtype, runtime)) not in done:
            reason = "" if pd.isna(row[col.ERROR]) else str(row[col.ERROR])
            path = str(row[col.MODEL_PATH])
            failures.append(ItemFailure(model, path, size, reason, dtype=dtype, runtime=runtime))
    return failures


# Where a shard's CSV cannot give its failed rows: they would vanish from the merged report.
_FAILED_ROWS = (
    "its failed items would be lost from the merged report: write it again (pytest "
    "--energy-resume on that shard) or move it away to merge without them"
)


def _text_or_none(value: object) -> str | None:
    return None if value is None or pd.isna(value) else str(value)
