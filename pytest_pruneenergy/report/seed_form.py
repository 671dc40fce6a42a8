"""The result table in the seed's own 16-column form (its notebook 3's
``results_with_compression_ratios.csv``), our columns after it, so that the seed's notebook 4
reads any run of ours, or any of the seed's earlier forms, without Python in between.

The seed's columns come first, in its order, ``YOUR_METRIC`` among them (the metric chosen from
the metadata, or the one the table carries; empty where there is none); the derived values are
ours, unrounded (notebook 3 rounds the reductions to whole numbers). Only measured rows: the
seed's files hold no failed ones, and its notebooks read every row as a measurement.
"""

from __future__ import annotations

import pandas as pd

from . import schema as col
from .schema import SEED_METRIC, measured_rows, model_stem

# notebook 3's order: its runner's nine, notebook 2's four, then notebook 3's three.
SEED_FORM_COLUMNS: tuple[str, ...] = (
    *col.SEED_COLUMNS[:12],
    SEED_METRIC,
    *col.SEED_COLUMNS[12:],
)


def seed_form(table: pd.DataFrame, metric_by_stem: pd.Series | None = None) -> pd.DataFrame:
    """The measured rows of ``table``, the seed's 16 columns first, then ours and any others.
    ``metric_by_stem``: the metric per model stem, written as ``YOUR_METRIC`` (it replaces a
    ``YOUR_METRIC`` the table carries)."""
    rows = measured_rows(table).copy()
    if metric_by_stem is not None:
        stems = rows[col.MODEL_NAME].astype(str).map(model_stem)
        rows[SEED_METRIC] = stems.map(metric_by_stem)
    rest = [column for column in rows.columns if column not in SEED_FORM_COLUMNS]
    return rows.reindex(columns=[*SEED_FORM_COLUMNS, *rest]).reset_index(drop=True)
