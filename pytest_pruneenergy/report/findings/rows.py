"""A result table made ready for the findings: measured rows with numbers as numbers, which rows
are baselines and which pruned, each reduction's uncertainty, and the curves of one architecture,
pruning distribution and batch size.

The table has schema.py's columns, or only what the seed tool's CSV has (report/reading.py
derives the rest): there every row counts as measured, there is no dataset, and the only spread
is its STD columns. Rows whose ``Status`` is not ``measured`` are left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import schema as col
from ..schema import is_unpruned_label, text_or_blank
from ..table import reduction_ci95_column, reduction_spread_column
from .uncertainty import CI95, STD

# Where analysis_rows keeps each row's reduction uncertainty (a half-width, in points).
REDUCTION_HALF_WIDTH = "_reduction_half_width"
# A 95 % CI is this many standard deviations wide on each side (normal approximation), to put a
# CI and a seed STD on one scale where a fit needs a standard deviation.
_CI95_SIGMAS = 1.96
_NUMERIC_COLUMNS = (
    col.JOULES_PER_SAMPLE,
    col.JOULES_PER_SAMPLE_CI95,
    col.JOULES_PER_SAMPLE_STD,
    col.FPS,
    col.SECONDS_PER_SAMPLE,
    col.SECONDS_PER_SAMPLE_STD,
    col.GPR,
    col.CR_PARAMETERS,
    col.CR_FLOPS,
    col.ENERGY_REDUCTION,
    col.FPS_REDUCTION,
)
CURVE_KEYS = [col.ARCHITECTURE, col.PRUNING_DISTRIBUTION, col.BATCH_SIZE]


def analysis_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows to analyse: measured ones, numbers as floats (empty as NaN), batch sizes as int,
    the columns the seed's CSV lacks added empty (``Dataset`` as ""), and each row's reduction
    half-width in ``REDUCTION_HALF_WIDTH`` (``reduction_uncertainty``). Rows it made already
    are returned as they are, so that one preparation serves every finding."""
    if REDUCTION_HALF_WIDTH in table.columns:
        return table
    rows = table
    if col.STATUS in rows.columns:
        rows = rows[rows[col.STATUS].astype(str) == col.STATUS_MEASURED]
    rows = rows.copy()
    for column in _NUMERIC_COLUMNS:
        values = rows[column] if column in rows.columns else pd.Series(np.nan, index=rows.index)
        rows[column] = pd.to_numeric(values, errors="coerce").astype(float)
    for column in (col.ARCHITECTURE, col.PRUNING_DISTRIBUTION, col.MODEL_NAME, col.METER):
        if column not in rows.columns:
            rows[column] = None
    dataset = rows[col.DATASET] if col.DATASET in rows.columns else pd.Series("", index=rows.index)
    rows[col.DATASET] = text_or_blank(dataset)
    rows = rows[pd.to_numeric(rows[col.BATCH_SIZE], errors="coerce").notna()]
    rows[col.BATCH_SIZE] = pd.to_numeric(rows[col.BATCH_SIZE]).astype(int)
    rows = rows.reset_index(drop=True)
    rows[REDUCTION_HALF_WIDTH] = reduction_uncertainty(rows)[0]
    return rows


def reduction_uncertainty(rows: pd.DataFrame) -> tuple[pd.Series, str | None]:
    """Each row's energy-reduction half-width in points, and its kind: the 95 % CI where the
    table has CIs (ours), else one standard deviation propagated from the STD columns (the seed
    tool's CSV), else unknown (NaN, None)."""
    complete = rows.reindex(columns=list(dict.fromkeys([*col.COLUMNS, *rows.columns])))
    ci95 = reduction_ci95_column(complete)
    if ci95.notna().any():
        return ci95, CI95
    std = reduction_spread_column(complete, col.JOULES_PER_SAMPLE_STD)
    if std.notna().any():
        return std, STD
    return ci95, None


def uncertainty_kind(rows: pd.DataFrame) -> str | None:
    """The kind of ``REDUCTION_HALF_WIDTH`` in rows from ``analysis_rows``."""
    return reduction_uncertainty(rows)[1]


def sigma(half_width: float, kind: str | None) -> float:
    """A half-width as one standard deviation: a 95 % CI's divided by 1.96, a STD as it is."""
    return half_width / _CI95_SIGMAS if kind == CI95 else half_width


def is_baseline(rows: pd.DataFrame) -> pd.Series:
    """Rows of an unpruned model: an architecture, and ``N/A``, ``UNPRUNED`` or nothing as the
    distribution."""
    unpruned = rows[col.PRUNING_DISTRIBUTION].map(is_unpruned_label).astype(bool)
    return rows[col.ARCHITECTURE].notna() & unpruned


def pruned_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Pruned rows that say what they are and what they saved."""
    known = (
        rows[col.ARCHITECTURE].notna()
        & rows[col.PRUNING_DISTRIBUTION].notna()
        & rows[col.ENERGY_REDUCTION].notna()
    )
    return rows[known & ~is_baseline(rows)]


def from_seed_tool(rows: pd.DataFrame) -> bool:
    """Whether the rows come from the seed tool's CSV: no row names a meter (ours always do),
    so its counts are the seed's, e.g. its ``Parameters`` with torch-simplify's biases."""
    return bool(len(rows)) and bool(rows[col.METER].isna().all())


def curve_points(rows: pd.DataFrame, cr_column: str) -> pd.DataFrame:
    """One point per GPR of one curve, sorted by CR: the mean CR, mean reduction and the mean's
    half-width (NaN where a row's is unknown) over seeds and methods. Columns: the CR column,
    ``Energy Reduction (%)``, ``REDUCTION_HALF_WIDTH``."""
    known = rows.dropna(subset=[cr_column, col.ENERGY_REDUCTION])
    points = known.groupby(col.GPR, sort=True)[[cr_column, col.ENERGY_REDUCTION]].mean()
    points[REDUCTION_HALF_WIDTH] = mean_half_width(known, [col.GPR])
    return points.sort_values(cr_column)


def mean_half_width(rows: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Per group of ``keys``, the half-width of the mean of its rows' reductions (independent:
    in quadrature over the count); NaN where a row's is unknown."""
    widths = rows[REDUCTION_HALF_WIDTH]
    grouper = [rows[key] for key in keys]
    squares = (widths**2).groupby(grouper, sort=True).sum()
    counts = widths.groupby(grouper, sort=True).size()
    unknown = widths.isna().groupby(grouper, sort=True).any()
    return (np.sqrt(squares) / counts).where(~unknown)
