"""Per-model metadata (the seed's ``metadata.csv``: ``MODEL_NAME`` and one column per metric,
e.g. ``YOUR_METRIC``, an accuracy) read, and matched to the result table's models.

A model matches its metadata row with or without a model file's extension on either side
(``AlexNet_X_UNPRUNED.pth`` and ``AlexNet_X_UNPRUNED`` are one model): the seed's metadata names
files, and a user's may name stems. Rows on either side that find no partner are counted in a
note, because a metadata file that matches nothing would otherwise just make the Pareto findings
vanish.
"""

from __future__ import annotations

from os import PathLike

import pandas as pd

from ..common.errors import first_line
from . import schema as col
from .schema import model_stem

_EXPECTED = "a header line 'MODEL_NAME,<metric>,...' and one row per model"


def read_metadata(path: str | PathLike[str]) -> pd.DataFrame:
    """The metadata file: a ``MODEL_NAME`` column naming each model as the results do (with or
    without the file's extension), then one column per metric. ValueError naming the file and
    what is wrong otherwise."""
    try:
        metadata = pd.read_csv(path, skipinitialspace=True)
    except pd.errors.EmptyDataError as error:
        raise ValueError(f"{path}: the metadata file is empty; it needs {_EXPECTED}") from error
    except (OSError, ValueError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not a readable CSV ({first_line(error)})") from error
    metadata.columns = [str(column).strip() for column in metadata.columns]
    twice = sorted(
        {column for column in metadata.columns if list(metadata.columns).count(column) > 1}
    )
    if twice:
        raise ValueError(f"{path}: columns named more than once: {', '.join(twice)}")
    if col.MODEL_NAME not in metadata.columns:
        found = ", ".join(metadata.columns) or "none"
        raise ValueError(
            f"{path}: no {col.MODEL_NAME} column (columns found: {found}); the metadata file needs "
            f"{_EXPECTED}"
        )
    names = metadata[col.MODEL_NAME].map(lambda name: "" if pd.isna(name) else str(name).strip())
    unnamed = int((names == "").sum())
    if unnamed:
        raise ValueError(
            f"{path}: {unnamed} row(s) without a {col.MODEL_NAME}; name each row's model"
        )
    metadata[col.MODEL_NAME] = names
    repeated = repeated_models(metadata[col.MODEL_NAME])
    if repeated:
        raise ValueError(
            f"{path}: models named more than once: {', '.join(repeated)}; keep one row each"
        )
    return metadata


def repeated_models(names: pd.Series) -> list[str]:
    """The models named more than once, an extension or not (``a`` and ``a.pth`` are one)."""
    stems = names.astype(str).map(model_stem)
    return sorted(set(names[stems.duplicated(keep=False)].astype(str)))


def metric_names(metadata: pd.DataFrame) -> list[str]:
    """The metadata's metric columns: all but ``MODEL_NAME``."""
    return [str(column) for column in metadata.columns if column != col.MODEL_NAME]


def pareto_metric_problem(
    table: pd.DataFrame,
    metadata: pd.DataFrame | None,
    metric: str | None,
    *,
    option: str,
    metadata_source: str,
) -> str | None:
    """Why no metric can be weighed against energy, in words a user can act on (``option``: the
    option that names the metric); None where ``metric`` is one of the metric columns, or,
    unnamed, the only one, or there are none to weigh. The columns come from ``metadata`` (read
    from ``metadata_source``), else from the metric columns ``table`` carries."""
    source = metadata if metadata is not None else metadata_in_table(table)
    if source is None:
        if metric is None:
            return None
        return (
            f"{option} {metric}: there is no metadata file and the results have no metric "
            "column to read it from"
        )
    metrics = metric_names(source)
    where, have = (metadata_source, "has") if metadata is not None else ("the results", "have")
    if not metrics:
        return f"{where} {have} no metric column besides {col.MODEL_NAME}: add one per metric"
    if metric in metrics or (metric is None and len(metrics) == 1):
        return None
    if metric is None:
        return (
            f"{where} {have} {len(metrics)} metric columns ({', '.join(metrics)}) and no metric "
            f"was named: choose one with {option}, e.g. {option} {metrics[0]}"
        )
    return (
        f"{where} {have} no metric column {metric!r}: choose one of its metric columns, "
        f"{_one_of(metrics)}, with {option}"
    )


def _one_of(names: list[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def metric_by_stem(metadata: pd.DataFrame, metric: str) -> pd.Series:
    """The metric as numbers, indexed by model stem. ValueError for a metric the metadata does
    not have, or models named twice."""
    if col.MODEL_NAME not in metadata.columns:
        raise ValueError(f"the metadata has no {col.MODEL_NAME} column; read it with read_metadata")
    if metric not in metadata.columns or metric == col.MODEL_NAME:
        metrics = ", ".join(metric_names(metadata)) or "none"
        raise ValueError(f"the metadata has no metric {metric!r} (its metrics: {metrics})")
    names = metadata[col.MODEL_NAME].astype(str).str.strip()
    repeated = repeated_models(names)
    if repeated:
        raise ValueError(f"the metadata names models more than once: {', '.join(repeated)}")
    values = pd.to_numeric(metadata[metric], errors="coerce").to_numpy()
    return pd.Series(values, index=names.map(model_stem))


def metric_column(table: pd.DataFrame, metadata: pd.DataFrame, metric: str) -> pd.Series:
    """For each row of ``table``, its model's ``metric`` (NaN where the metadata has none)."""
    by_stem = metric_by_stem(metadata, metric)
    stems = table[col.MODEL_NAME].astype(str).map(model_stem)
    return stems.map(by_stem).astype(float)


def metadata_note(table: pd.DataFrame, metadata: pd.DataFrame) -> str | None:
    """How many metadata rows name no model of ``table``, and how many of its models have no
    metadata row; None where every one has its partner."""
    table_stems = set(table[col.MODEL_NAME].dropna().astype(str).map(model_stem))
    names = metadata[col.MODEL_NAME].astype(str)
    unmatched = [name for name in names if model_stem(name) not in table_stems]
    metadata_stems = set(names.map(model_stem))
    without = sorted(stem for stem in table_stems if stem not in metadata_stems)
    if not unmatched and not without:
        return None
    parts = []
    if unmatched:
        parts.append(
            f"{len(unmatched)} of {len(names)} metadata rows name no model in the results "
            f"(e.g. {unmatched[0]})"
        )
    if without:
        parts.append(
            f"{len(without)} of {len(table_stems)} models in the results have no metadata row "
            f"(e.g. {without[0]})"
        )
    return "metadata: " + "; ".join(parts) + "; models match by file name, extension or not"


def with_metadata_columns(table: pd.DataFrame, metadata: pd.DataFrame) -> pd.DataFrame:
    """``table`` with each metadata metric as a column after its own (the seed's CSV has
    ``YOUR_METRIC`` so), empty for models without metadata. ValueError for a metric named
    like a results column."""
    clashes = [name for name in metric_names(metadata) if name in table.columns]
    if clashes:
        raise ValueError(
            f"metadata columns named like results columns: {', '.join(clashes)}; rename them"
        )
    joined = table.copy()
    for metric in metric_names(metadata):
        joined[metric] = metric_column(table, metadata, metric)
    return joined


def metadata_in_table(table: pd.DataFrame) -> pd.DataFrame | None:
    """The metrics a results table carries after its own columns (the seed's ``YOUR_METRIC``,
    or ours written with metadata), as metadata; None where it carries none."""
    metrics = [
        column
        for column in table.columns
        if column not in col.COLUMNS
        and not str(column).startswith("_")  # the analysis' own working columns
        and pd.to_numeric(table[column], errors="coerce").notna().any()
    ]
    if not metrics:
        return None
    rows = table[table[col.MODEL_NAME].notna()].drop_duplicates(col.MODEL_NAME)
    metadata = rows[[col.MODEL_NAME, *metrics]].copy()
    metadata[col.MODEL_NAME] = metadata[col.MODEL_NAME].astype(str)
    stems = metadata[col.MODEL_NAME].map(model_stem)
    return metadata[~stems.duplicated()].reset_index(drop=True)
