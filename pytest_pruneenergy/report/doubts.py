"""The items whose figure is in doubt, listed under the terminal's table and at the top of
report.html: measured while something could have corrupted them, measured once more at the end
of the run, or measured while the GPU was still warming."""

from __future__ import annotations

import textwrap

import pandas as pd

from . import schema as col
from .labels import TERMINAL_WIDTH
from .schema import measured_rows, model_stem

# The items of one kind listed one by one before the rest are counted.
ITEMS_LISTED = 10

# A GPU that warmed by this much over an item's windows was still heating, and a board that is
# still heating draws less per sample than the same board settled: on an H100 such
# measurements read below an independent loop on the settled board, while those over which it
# warmed by 1 degree or less agreed with it (docs/benchmarks/accuracy). NVML reads whole degrees.
WARMING_CELSIUS = 2.0


def doubt_lines(table: pd.DataFrame) -> list[str]:
    """Every list of items in doubt, in the order the terminal and report.html show them."""
    return [*disturbance_lines(table), *remeasure_lines(table), *warming_lines(table)]


def said_rows(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    """The ``rows`` whose ``column`` cell says something."""
    said = rows[column].map(lambda text: isinstance(text, str) and bool(text.strip()))
    return rows[said.astype(bool)]


def disturbance_lines(table: pd.DataFrame) -> list[str]:
    """The items measured while something could have corrupted them (the ``Disturbances``
    column), each with what was seen, wrapped rather than cut; none when nothing was seen."""
    return _listed_cells(
        table,
        col.DISTURBANCES,
        "DISTURBED: {listed} of {rows} item(s) were measured while something could have "
        "corrupted them (CSV column Disturbances); their gates are inconclusive and "
        "--energy-strict fails the run:",
    )


def remeasure_lines(table: pd.DataFrame) -> list[str]:
    """The items measured once more at the end of the run (the ``Remeasured`` column), each
    with why and what the rerun said, wrapped rather than cut; none when none were."""
    return _listed_cells(
        table,
        col.REMEASURED,
        "REMEASURED: {listed} of {rows} item(s) were in doubt and measured once more at the end "
        "of the run (CSV columns Remeasured and Set-Aside ...):",
    )


def warming_lines(table: pd.DataFrame) -> list[str]:
    """The items over whose windows the GPU warmed by ``WARMING_CELSIUS`` or more (the
    ``Temperature Start (C)`` and ``End`` columns), each with its two temperatures; none where
    no item did, or where the meter read no temperature."""
    rows = _measured(table)
    warmed = warmed_rows(rows)
    start, end = warmed[col.TEMPERATURE_START_CELSIUS], warmed[col.TEMPERATURE_END_CELSIUS]
    said = [f"{first:g} to {last:g} C" for first, last in zip(start, end, strict=True)]
    return _listed_items(
        pd.Series(said, index=warmed.index, dtype=object),
        rows,
        f"WARMING: {{listed}} of {{rows}} item(s) were measured while the GPU warmed by "
        f"{WARMING_CELSIUS:g} C or more, before it had settled at the item's power (a model's "
        "first item, or a larger batch size right after a smaller one); a board still heating "
        "draws less per sample than a settled one, so these may read low. Compare them with "
        "care:",
    )


def warmed_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """The ``rows`` over whose windows the GPU warmed by ``WARMING_CELSIUS`` or more, their
    temperatures as numbers."""
    start = pd.to_numeric(rows[col.TEMPERATURE_START_CELSIUS], errors="coerce")
    end = pd.to_numeric(rows[col.TEMPERATURE_END_CELSIUS], errors="coerce")
    warmed = (end - start) >= WARMING_CELSIUS
    return rows[warmed].assign(
        **{col.TEMPERATURE_START_CELSIUS: start[warmed], col.TEMPERATURE_END_CELSIUS: end[warmed]}
    )


def _measured(table: pd.DataFrame) -> pd.DataFrame:
    return measured_rows(table.reindex(columns=list(col.COLUMNS)))


def _listed_cells(table: pd.DataFrame, column: str, header: str) -> list[str]:
    """The measured items whose ``column`` says something, listed with what it says."""
    rows = _measured(table)
    return _listed_items(said_rows(rows, column)[column], rows, header)


def _listed_items(said: pd.Series, rows: pd.DataFrame, header: str) -> list[str]:
    """``header`` (with how many items ``said`` speaks of, of how many ``rows``), then up to
    ``ITEMS_LISTED`` of them, each with what is said of it, wrapped rather than cut."""
    if said.empty:
        return []
    lines = textwrap.wrap(
        header.format(listed=len(said), rows=len(rows)), TERMINAL_WIDTH, subsequent_indent="  "
    )
    for index, text in said.head(ITEMS_LISTED).items():
        row = rows.loc[index]
        stem = model_stem(str(row[col.MODEL_NAME]))
        line = f"  {stem} (bs {int(row[col.BATCH_SIZE])}): {text}"
        lines += textwrap.wrap(
            line, TERMINAL_WIDTH, subsequent_indent="    ", break_on_hyphens=False
        )
    if len(said) > ITEMS_LISTED:
        lines.append(f"  and {len(said) - ITEMS_LISTED} more")
    return lines
