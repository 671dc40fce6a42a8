"""A markdown summary of a run, for a pull request: verdicts first, then the table's key rows.

GitHub shows a job's ``$GITHUB_STEP_SUMMARY`` on the run's page; the same text can go to any
file (``--energy-markdown``) for a bot to post as a comment. It says what a reviewer needs: did
the gates pass, what changed against the base run, which steps the history shows, and the
numbers of the rows that matter, those with a verdict first. Cells are escaped, so that a model
name cannot break the table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from . import schema as col
from .schema import estimate_mask, measured_rows
from .units import per_million_sentence

DEFAULT_TITLE = "Energy of pruned models"
# A summary is read on a pull request: beyond this many rows it points to the CSV instead.
MAX_ROWS = 40
_TABLE_HEADERS = (
    "model",
    "bs",
    "J/sample ± CI95",
    "FPS",
    "p99 ms",
    "energy red. %",
    "FLOPs CR %",
    "gate",
    "vs base run",
)


def markdown_report(
    table: pd.DataFrame,
    *,
    verdict_lines: Sequence[str] = (),
    compare_cells: Mapping[tuple[str, int, str | None], str] | None = None,
    title: str = DEFAULT_TITLE,
) -> str:
    """The summary as markdown. ``table``: the result table (table.py); ``verdict_lines``: what
    the gates, the comparison and the step check said, a bullet each; ``compare_cells``: per
    (model, batch size), the verdict against the base run (``regressed +8.1%``)."""
    compare_cells = compare_cells or {}
    complete = table.reindex(columns=list(col.COLUMNS))
    measured = measured_rows(complete)
    failed = complete[complete[col.STATUS].astype(str) == col.STATUS_FAILED]
    lines = [f"### {_text(title)}", "", f"{len(measured)} items measured, {len(failed)} failed."]
    estimated = int(estimate_mask(measured).sum())
    if estimated:
        lines += [
            "",
            f"> **ESTIMATED energy:** {estimated} of {len(measured)} rows were not measured by "
            "an energy counter; their joules are estimates.",
        ]
    if verdict_lines:
        lines += ["", *(f"- {_text(line)}" for line in verdict_lines)]
    per_million = per_million_sentence(table)
    if per_million:
        lines += ["", _text(per_million) + "."]
    rows = _key_rows(measured, compare_cells)
    if rows:
        lines += [
            "",
            "| " + " | ".join(_TABLE_HEADERS) + " |",
            "|" + "|".join("---" for _ in _TABLE_HEADERS) + "|",
        ]
        lines += [_row(row, compare_cells) for row in rows[:MAX_ROWS]]
        if len(rows) > MAX_ROWS:
            lines += ["", f"{len(rows) - MAX_ROWS} more rows in the results CSV."]
    for _, row in failed.iterrows():
        reason = "" if pd.isna(row[col.ERROR]) else str(row[col.ERROR]).strip().splitlines()[0]
        lines.append(
            f"- FAILED `{_code(row[col.MODEL_NAME])}` (bs {_number(row[col.BATCH_SIZE], 'd')}): "
            f"{_text(reason or 'no reason given')}"
        )
    return "\n".join(lines) + "\n"


def _key_rows(
    measured: pd.DataFrame, compare_cells: Mapping[tuple[str, int, str | None], str]
) -> list[pd.Series]:
    """Rows with a verdict to read first (a gate that did not pass, a change against the base
    run), then the rest in the table's order."""

    def urgency(row: pd.Series) -> int:
        gate = str(row[col.GATE]) if pd.notna(row[col.GATE]) else ""
        compared = _compared(row, compare_cells)
        if (gate and gate != "pass") or compared.startswith("regressed"):
            return 0
        return 1 if compared.startswith("improved") else 2

    rows = [row for _, row in measured.iterrows()]
    return sorted(rows, key=urgency)  # stable: the table's order within each group


def _row(row: pd.Series, compare_cells: Mapping[tuple[str, int, str | None], str]) -> str:
    energy = _number(row[col.JOULES_PER_SAMPLE], "#.4g")
    ci95 = _number(row[col.JOULES_PER_SAMPLE_CI95], ".2g")
    if energy and ci95:
        energy += f" ± {ci95}"
    gate = "" if pd.isna(row[col.GATE]) else str(row[col.GATE])
    cells = [
        f"`{_code(row[col.MODEL_NAME])}`",
        _number(row[col.BATCH_SIZE], "d"),
        energy,
        _number(row[col.FPS], ".1f"),
        _number(row[col.LATENCY_P99_MS], ".3g"),
        _number(row[col.ENERGY_REDUCTION], ".1f"),
        _number(row[col.CR_FLOPS], ".1f"),
        _text(gate),
        _text(_compared(row, compare_cells)),
    ]
    return "| " + " | ".join(cells) + " |"


def _compared(row: pd.Series, compare_cells: Mapping[tuple[str, int, str | None], str]) -> str:
    """The row's verdict against the base run. The CSV names a model by its file, the store by
    its stem; and the CSV's ``Dtype`` is the weights' format, which the store keys items on only
    where the run had ``--prune-dtypes`` (else it keys them on None)."""
    stem = col.model_stem(str(row[col.MODEL_NAME]))
    size = int(row[col.BATCH_SIZE])
    dtype = row.get(col.DTYPE)
    if isinstance(dtype, str) and dtype and (stem, size, dtype) in compare_cells:
        return compare_cells[(stem, size, dtype)]
    return compare_cells.get((stem, size, None), "")


def _number(value: Any, spec: str) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(number):
        return ""
    return format(int(number), spec) if spec == "d" else format(number, spec)


def _text(value: Any) -> str:
    """Text that stays text in a markdown table: no pipes, markup or line breaks."""
    text = " ".join(str(value).split())
    for character in "\\|*_`<>[]":
        text = text.replace(character, f"\\{character}")
    return text


def _code(value: Any) -> str:
    """Inside backticks nothing is markup; only a backtick or a pipe could break out."""
    return " ".join(str(value).split()).replace("`", "'").replace("|", "/")
