"""Results CSVs -> the result table: ours, and the seed tool's three forms.

The seed (PruneEnergyAnalyzer) writes its results in three stages, and a user may hold any:

- ``results.csv``, 9 columns: what its experiment runner writes (``MODEL_NAME`` ... ``FLOPs``);
- ``prepared_results.csv``, 13: its notebook 2 adds ``GPR``, ``Architecture``, ``Pruning
  Distribution`` (``N/A`` for an unpruned model) and the metadata's ``YOUR_METRIC``;
- ``results_with_compression_ratios.csv``, 16: its notebook 3 adds the two compression ratios
  and ``Energy Reduction (%)``, rounded to whole numbers (and leaves the unpruned rows'
  distribution empty).

Each reads as a table with our columns. What a form lacks is derived from its nine raw columns as
the notebooks derive it: ``GPR``, ``Architecture`` and ``Pruning Distribution`` from the model's
name, the compression ratios and the energy reduction against the unpruned model of the same
architecture and dataset at the same batch size (models/pairing.py), not rounded; our name
columns (``Dataset`` ... ``Baseline Model``) come with them. Where the file has a derived column,
the derived values replace it only after a check: a published value that the derivation does not
reproduce (to the seed's whole-number rounding, for the reductions) is counted in a note, so that
a file that means something else is not silently rewritten. Rows whose names follow no
convention keep the published values. Columns beyond ours (``YOUR_METRIC``) are kept, after
ours.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..models.naming import ModelName, parse_model_name
from ..models.pairing import baselines_of
from . import schema as col
from .schema import (
    SEED_COLUMNS,
    is_unpruned_label,
    measured_rows,
    model_stem,
    normalize_results,
    text_or_blank,
)
from .table import name_columns, reduction_percent

# What the seed's runner writes; every form of its CSV has these.
SEED_RAW_COLUMNS: tuple[str, ...] = SEED_COLUMNS[:9]
# Notebook 2's columns from the name, and notebook 3's reductions.
SEED_NAME_COLUMNS: tuple[str, ...] = (col.GPR, col.ARCHITECTURE, col.PRUNING_DISTRIBUTION)
SEED_REDUCTION_COLUMNS: tuple[str, ...] = (col.CR_PARAMETERS, col.CR_FLOPS, col.ENERGY_REDUCTION)
# Notebook 3 rounds its reductions to whole numbers: a published value this far from the
# unrounded one is that rounding.
SEED_ROUNDING_POINTS = 0.5
_FLOAT_SLACK = 1e-9

FORM_OURS = "pruneenergy"
FORM_SEED = "PruneEnergyAnalyzer"


class ResultsFileError(ValueError):
    """A results CSV that cannot be read, or that has neither our columns nor the seed's."""


@dataclass(frozen=True)
class ResultsFile:
    """A results CSV as our table; ``form``: whose it is (``FORM_OURS`` or ``FORM_SEED``) and,
    for the seed's, how many columns it had; ``notes``: what the reader should know about it."""

    table: pd.DataFrame
    form: str
    notes: tuple[str, ...]


def read_results_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Our results CSV, or any of the seed tool's three, as a table with our columns."""
    return read_results_file(path).table


def read_results_file(path: str | os.PathLike[str]) -> ResultsFile:
    """``read_results_csv`` with what it found out on the way: whose CSV, and notes."""
    source = Path(path)
    if source.is_dir():
        raise ResultsFileError(
            f"{source}: a folder; name its results CSV (pruneenergy_results.csv)"
        )
    if not source.is_file():
        raise ResultsFileError(f"{source}: no such file")
    try:
        table = pd.read_csv(source)
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise ResultsFileError(f"{source}: not a readable CSV ({error})") from error
    missing = [column for column in SEED_RAW_COLUMNS if column not in table.columns]
    if missing:
        raise ResultsFileError(
            f"{source}: neither a pruneenergy nor a PruneEnergyAnalyzer results CSV; missing "
            f"columns: {', '.join(missing)}. Pass the pruneenergy_results.csv that "
            "pytest --energy-report wrote, or one of the seed tool's CSVs (results.csv, "
            "prepared_results.csv, results_with_compression_ratios.csv)."
        )
    if col.STATUS in table.columns:
        ours, notes = without_figures_of_unknown_energy(normalize_results(table))
        refuse_repeated_items(ours, source)
        return ResultsFile(ours, FORM_OURS, tuple(f"{source.name}: {note}" for note in notes))
    derived, notes = from_seed_table(table)
    refuse_repeated_items(derived, source)
    form = f"{FORM_SEED} ({len(table.columns)} columns)"
    return ResultsFile(derived, form, tuple(f"{source.name}: {note}" for note in notes))


# Figures made from a row's energy per sample: with the energy unknown they cannot stand.
FROM_ENERGY_COLUMNS: tuple[str, ...] = (
    col.ENERGY_REDUCTION,
    col.DYNAMIC_JOULES_PER_SAMPLE,
    col.KWH_PER_MILLION,
    col.CO2E_GRAMS_PER_MILLION,
    col.COST_PER_MILLION,
)


def without_figures_of_unknown_energy(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """``table`` with the figures made from an energy per sample that is blank or no number (a
    CSV edited by hand) left blank: the row's own (reduction, dynamic energy, kWh, CO2e, cost)
    and the energy reduction of every row measured against it (its baseline item: the same
    batch size, numeric format and runtime); and a note where any were. The plugin never
    writes such a row, so figures made from one are not vouched for."""
    energy = pd.to_numeric(table[col.JOULES_PER_SAMPLE], errors="coerce")
    unknown = ~energy.apply(math.isfinite)
    own = unknown & table[list(FROM_ENERGY_COLUMNS)].notna().any(axis=1)
    keys = _item_keys(table)
    baselines = _item_keys(table.assign(**{col.MODEL_NAME: table[col.BASELINE_MODEL]}))
    against_unknown = (
        ~unknown
        & baselines.isin(set(keys[unknown]))
        & table[col.BASELINE_MODEL].notna()
        & table[col.ENERGY_REDUCTION].notna()
    )
    if not (own.any() or against_unknown.any()):
        return table, []
    cleared = table.copy()
    cleared.loc[own, list(FROM_ENERGY_COLUMNS)] = math.nan
    cleared.loc[against_unknown, col.ENERGY_REDUCTION] = math.nan
    notes = []
    if own.any():
        notes.append(
            f"{int(own.sum())} row(s) without a number for {col.JOULES_PER_SAMPLE!r} (first: "
            f"{table.loc[own, col.MODEL_NAME].iloc[0]}) held figures made from it "
            f"({', '.join(FROM_ENERGY_COLUMNS)}): left blank"
        )
    if against_unknown.any():
        notes.append(
            f"{int(against_unknown.sum())} row(s) held an {col.ENERGY_REDUCTION!r} against a "
            f"baseline without a number for {col.JOULES_PER_SAMPLE!r} (first: "
            f"{table.loc[against_unknown, col.MODEL_NAME].iloc[0]}): left blank"
        )
    return cleared, notes


def _item_keys(table: pd.DataFrame) -> pd.Series:
    """Each row's item (model, batch size, numeric format, runtime) as one text, blank parts
    empty: comparable between rows read from one CSV."""
    columns = [col.MODEL_NAME, col.BATCH_SIZE, *col.VARIANT_COLUMNS]
    parts = table.reindex(columns=columns)
    texts = [text_or_blank(parts[column]) for column in columns]
    return texts[0].str.cat(texts[1:], sep="\x1f")


def refuse_repeated_items(table: pd.DataFrame, source: Path) -> None:
    """ResultsFileError where one item (model, batch size, numeric format, runtime) has more
    than one measured row: each figure of the report (reductions, rankings, counts) would
    count it as often, and which row stands for it cannot be told."""
    measured = measured_rows(table)  # failed rows rank nowhere
    keys = _item_keys(measured)
    repeated = keys[keys.duplicated(keep=False)]
    if repeated.empty:
        return
    rows_of_item = repeated.value_counts(sort=False)
    first = measured.loc[repeated.index[0]]
    raise ResultsFileError(
        f"{source}: {len(rows_of_item)} item(s) have more than one row (first: "
        f"{first[col.MODEL_NAME]} at batch size {first[col.BATCH_SIZE]}, "
        f"{rows_of_item[repeated.iloc[0]]} rows): "
        "one row an item. A CSV joined from several runs? pruneenergy merge joins shards' "
        "report folders into one report."
    )


def from_seed_table(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """A seed-form table (its nine raw columns, and any of its derived ones) as our table, with
    the derived columns computed; and notes on published values the derivation does not
    reproduce, rows whose names follow no convention and pruned rows without a baseline."""
    names = [parse_model_name(model_stem(str(model))) for model in table[col.MODEL_NAME]]
    derived = _derived_columns(table, names)
    notes = []
    merged = table.copy()
    for column in (*SEED_NAME_COLUMNS, *SEED_REDUCTION_COLUMNS):
        computed = derived[column]
        if column in table.columns:
            differing = _differing(column, table[column], computed)
            if differing:
                notes.append(
                    f"{differing} of {len(table)} rows' published {column!r} differ from the "
                    f"value derived from the names and raw columns{_tolerance_text(column)}; the "
                    "derived values are used"
                )
            computed = computed.astype(object).where(computed.notna(), table[column])
        merged[column] = computed
    for column in derived.columns:
        if column not in (*SEED_NAME_COLUMNS, *SEED_REDUCTION_COLUMNS):
            merged[column] = derived[column]
    notes += _pairing_notes(names, derived)
    return normalize_results(merged), notes


def _derived_columns(table: pd.DataFrame, names: Sequence[ModelName | None]) -> pd.DataFrame:
    """The columns notebooks 2 and 3 add, and our name columns, one row per table row."""
    sizes = pd.to_numeric(table[col.BATCH_SIZE], errors="coerce").tolist()
    labels = list(range(len(table)))
    baselines = baselines_of(
        labels,
        name_of=lambda label: names[label],
        stem_of=lambda label: str(table[col.MODEL_NAME].iloc[label]),
        setting_of=lambda label: sizes[label],
    )
    joules = pd.to_numeric(table[col.JOULES_PER_SAMPLE], errors="coerce").tolist()
    parameters = pd.to_numeric(table[col.PARAMETERS], errors="coerce").tolist()
    flops = pd.to_numeric(table[col.FLOPS_SEED], errors="coerce").tolist()
    fps = pd.to_numeric(table[col.FPS], errors="coerce").tolist()
    rows = []
    for label, (name, baseline) in enumerate(zip(names, baselines, strict=True)):
        row = name_columns(name)
        if baseline is not None:
            row.update(
                {
                    col.CR_PARAMETERS: reduction_percent(parameters[label], parameters[baseline]),
                    col.CR_FLOPS: reduction_percent(flops[label], flops[baseline]),
                    col.ENERGY_REDUCTION: reduction_percent(joules[label], joules[baseline]),
                    col.FPS_REDUCTION: reduction_percent(fps[label], fps[baseline]),
                    col.BASELINE_MODEL: str(table[col.MODEL_NAME].iloc[baseline]),
                }
            )
        rows.append(row)
    columns = [
        *SEED_NAME_COLUMNS,
        *SEED_REDUCTION_COLUMNS,
        col.FPS_REDUCTION,
        col.DATASET,
        col.METHOD,
        col.PD_SHAPE,
        col.SEED,
        col.FINE_TUNED,
        col.BASELINE_MODEL,
    ]
    return pd.DataFrame(rows, columns=columns, index=table.index)


def _differing(column: str, published: pd.Series, derived: pd.Series) -> int:
    """How many rows with both values disagree, in the column's own terms."""
    count = 0
    for shown, computed in zip(published, derived, strict=True):
        if _missing(computed):
            continue
        if column == col.PRUNING_DISTRIBUTION:
            same = (
                is_unpruned_label(computed)
                if is_unpruned_label(shown)
                else (str(shown).strip().casefold() == str(computed).casefold())
            )
        elif column == col.ARCHITECTURE:
            same = not _missing(shown) and str(shown).strip() == str(computed)
        else:
            number = pd.to_numeric(pd.Series([shown]), errors="coerce").iloc[0]
            tolerance = SEED_ROUNDING_POINTS if column in SEED_REDUCTION_COLUMNS else 0.0
            same = bool(abs(float(number) - float(computed)) <= tolerance + _FLOAT_SLACK)
        count += not same
    return count


def _tolerance_text(column: str) -> str:
    if column in SEED_REDUCTION_COLUMNS:
        return f" by more than the seed's rounding ({SEED_ROUNDING_POINTS} points)"
    return ""


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _pairing_notes(names: Sequence[ModelName | None], derived: pd.DataFrame) -> list[str]:
    notes = []
    unnamed = sum(name is None for name in names)
    if unnamed:
        notes.append(
            f"{unnamed} rows have names that follow no naming convention (ARCH_DATASET_..._PDn_"
            "GPR-NN or ARCH_DATASET_UNPRUNED): no architecture, distribution or reductions"
        )
    pruned = [name is not None and not name.is_baseline for name in names]
    unpaired = int(
        (derived[col.BASELINE_MODEL].isna() & pd.Series(pruned, index=derived.index)).sum()
    )
    if unpaired:
        notes.append(
            f"{unpaired} pruned rows have no unpruned model of their architecture and dataset at "
            "their batch size: their reductions are empty"
        )
    return notes
