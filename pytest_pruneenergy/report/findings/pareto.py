"""Which models trade energy against a quality metric best: the Pareto front of energy per
sample against the metric at one batch size, and the lowest-energy model within a tolerance of
the best metric (the metric read by ``metadata.read_metadata``)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .. import schema as col
from ..metadata import metadata_in_table, metric_by_stem, metric_names
from ..schema import model_stem
from .rows import analysis_rows as measured_rows

# What a Pareto front or a tolerance recommendation shows of a model, before its metric.
CANDIDATE_COLUMNS: tuple[str, ...] = (
    col.MODEL_NAME,
    col.ARCHITECTURE,
    col.PRUNING_DISTRIBUTION,
    col.GPR,
    col.BATCH_SIZE,
    col.JOULES_PER_SAMPLE,
    col.JOULES_PER_SAMPLE_CI95,
    col.FPS,
)


# Tolerances are written in decimal, which binary floats hold only nearly (0.90 - 0.02 is not
# 0.88): a metric this close to the limit counts as within it.
_TOLERANCE_SLACK = 1e-9


def pareto_front(
    table: pd.DataFrame,
    metadata: pd.DataFrame,
    metric: str,
    *,
    batch_size: int,
    higher_is_better: bool = True,
) -> pd.DataFrame:
    """The models that no other beats in both energy per sample (at ``batch_size``) and
    ``metric``, lowest energy first. Columns: ``CANDIDATE_COLUMNS`` and the metric. Models without
    a metric value or an energy are left out."""
    candidates = _candidates(table, metadata, metric, batch_size)
    joules = candidates[col.JOULES_PER_SAMPLE].to_numpy(float)
    scores = _scores(candidates[metric], higher_is_better)
    kept = [not _is_dominated(index, joules, scores) for index in range(len(candidates))]
    return _by_energy(candidates[kept], metric, higher_is_better)


def recommend_within_tolerance(
    table: pd.DataFrame,
    metadata: pd.DataFrame,
    metric: str,
    *,
    batch_size: int,
    tolerance: float,
    higher_is_better: bool = True,
) -> pd.Series | None:
    """The lowest-energy model (at ``batch_size``) whose metric is within ``tolerance`` (in the
    metric's units) of the best model's; None where no model has both numbers."""
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise ValueError(f"tolerance must be a number >= 0 in the metric's units, got {tolerance}")
    candidates = _candidates(table, metadata, metric, batch_size)
    if candidates.empty:
        return None
    scores = _scores(candidates[metric], higher_is_better)
    limit = scores.max() - tolerance - _TOLERANCE_SLACK * max(1.0, abs(scores.max()))
    return _by_energy(candidates[scores >= limit], metric, higher_is_better).iloc[0]


def pareto_sentences(
    table: pd.DataFrame,
    metadata: pd.DataFrame | None,
    metric: str | None,
    higher_is_better: bool,
) -> list[str]:
    metadata = metadata if metadata is not None else metadata_in_table(table)
    if metadata is None:
        return []
    chosen = _chosen_metric(metadata, metric)
    sentences = []
    for batch_size in sorted(measured_rows(table)[col.BATCH_SIZE].unique()):
        sentence = _pareto_sentence(
            table, metadata, chosen, int(batch_size), higher_is_better=higher_is_better
        )
        if sentence is not None:
            sentences.append(sentence)
    return sentences


def _candidates(
    table: pd.DataFrame, metadata: pd.DataFrame, metric: str, batch_size: int
) -> pd.DataFrame:
    """The models measured at ``batch_size`` with both an energy and a metric value."""
    scores = metric_by_stem(metadata, metric)
    rows = measured_rows(table)
    at_batch = rows[rows[col.BATCH_SIZE] == batch_size]
    if at_batch.empty:
        measured = ", ".join(str(size) for size in sorted(rows[col.BATCH_SIZE].unique())) or "none"
        raise ValueError(f"no model was measured at batch {batch_size}; measured: {measured}")
    candidates = at_batch.reindex(columns=list(CANDIDATE_COLUMNS))
    candidates[metric] = candidates[col.MODEL_NAME].astype(str).map(model_stem).map(scores)
    return candidates.dropna(subset=[col.JOULES_PER_SAMPLE, metric]).reset_index(drop=True)


def _scores(values: pd.Series, higher_is_better: bool) -> pd.Series:
    """The metric turned so that higher is better."""
    return values if higher_is_better else -values


def _is_dominated(index: int, joules: np.ndarray, scores: pd.Series) -> bool:
    """Whether another model needs no more energy and scores no worse, and is better in one."""
    values = scores.to_numpy(float)
    no_worse = (joules <= joules[index]) & (values >= values[index])
    better = (joules < joules[index]) | (values > values[index])
    return bool(np.any(no_worse & better))


def _by_energy(candidates: pd.DataFrame, metric: str, higher_is_better: bool) -> pd.DataFrame:
    """Lowest energy first; ties go to the better metric, then to the name."""
    return candidates.sort_values(
        [col.JOULES_PER_SAMPLE, metric, col.MODEL_NAME],
        ascending=[True, not higher_is_better, True],
    ).reset_index(drop=True)


def _chosen_metric(metadata: pd.DataFrame, metric: str | None) -> str:
    if metric is not None:
        return metric
    metrics = metric_names(metadata)
    if len(metrics) != 1:
        raise ValueError(
            f"the metadata has {len(metrics)} metrics ({', '.join(metrics) or 'none'}); "
            "pass metric= to say which one to weigh against energy"
        )
    return metrics[0]


def _pareto_sentence(
    table: pd.DataFrame,
    metadata: pd.DataFrame,
    metric: str,
    batch_size: int,
    *,
    higher_is_better: bool,
) -> str | None:
    candidates = _candidates(table, metadata, metric, batch_size)
    if candidates.empty:
        return None
    front = pareto_front(
        table, metadata, metric, batch_size=batch_size, higher_is_better=higher_is_better
    )
    better = "higher" if higher_is_better else "lower"
    members = ", ".join(
        f"{row[col.MODEL_NAME]} ({row[col.JOULES_PER_SAMPLE]:.3g} J/sample, "
        f"{metric} {row[metric]:.4g})"
        for _, row in front.iterrows()
    )
    dominated = len(candidates) - len(front)
    return (
        f"Pareto front at batch {batch_size}, energy per sample against {metric} ({better} is "
        f"better): {members}; {dominated} of {len(candidates)} models are dominated"
    )
