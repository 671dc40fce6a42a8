"""The paper's questions, answered from a result table.

- Does energy reduction follow the compression ratio linearly, and where does it break?
  (``linearity``)
- Which pruning distribution saves most at a given CR level? (``rank_pds``)
- How much energy does each architecture need, unpruned and pruned? (``architecture_energy``)
- Which batch size meets an energy budget or an FPS need? (``recommend_batch_size``)
- Which models trade energy against a quality metric best? (``pareto_front``,
  ``recommend_within_tolerance``, with the metric read by ``read_metadata``)

``findings`` says all of it in sentences.

The table has ``results.py``'s columns, or only the seed tool's fifteen (its CSV): there, every
row counts as measured, baselines are the rows whose ``Pruning Distribution`` is ``UNPRUNED``,
there is no dataset, and CIs are unknown (None), never taken as zero. Rows whose ``Status`` is not
``measured`` are ignored.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from ..common.errors import first_line
from ..measure.stats import ci95_of_mean
from . import schema as col
from .table import reduction_ci95_column

# The compression ratio a fit is made against, by ``Linearity.cr_kind``.
CR_COLUMNS: dict[str, str] = {"flops": col.CR_FLOPS, "params": col.CR_PARAMETERS}

UNPRUNED_JOULES_PER_SAMPLE = "Unpruned Energy per Sample (J)"
UNPRUNED_JOULES_PER_SAMPLE_CI95 = "Unpruned CI95 Energy per Sample (J)"
MIN_PRUNED_JOULES_PER_SAMPLE = "Min Pruned Energy per Sample (J)"
MAX_PRUNED_JOULES_PER_SAMPLE = "Max Pruned Energy per Sample (J)"
BEST_ENERGY_REDUCTION = "Best Energy Reduction (%)"
BEST_PRUNED_MODEL = "Best Pruned Model"
ARCHITECTURE_ENERGY_COLUMNS: tuple[str, ...] = (
    col.ARCHITECTURE,
    col.DATASET,
    col.BATCH_SIZE,
    UNPRUNED_JOULES_PER_SAMPLE,
    UNPRUNED_JOULES_PER_SAMPLE_CI95,
    MIN_PRUNED_JOULES_PER_SAMPLE,
    MAX_PRUNED_JOULES_PER_SAMPLE,
    BEST_ENERGY_REDUCTION,
    BEST_PRUNED_MODEL,
)
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
_NUMERIC_COLUMNS = (
    col.JOULES_PER_SAMPLE,
    col.JOULES_PER_SAMPLE_CI95,
    col.FPS,
    col.GPR,
    col.CR_PARAMETERS,
    col.CR_FLOPS,
    col.ENERGY_REDUCTION,
)

# R² from which a fit is called linear, and roughly linear: below, the line explains too little
# of the scatter for "linear" to be a fair summary.
LINEAR_R_SQUARED = 0.95
ROUGHLY_LINEAR_R_SQUARED = 0.8
# A segment whose slope is below this fraction of the previous one's marks a breaking point.
BREAK_SLOPE_FRACTION = 0.5
# Tolerances are written in decimal, which binary floats hold only nearly (0.90 - 0.02 is not
# 0.88): a metric this close to the limit counts as within it.
_TOLERANCE_SLACK = 1e-9


@dataclass(frozen=True)
class Linearity:
    """Energy reduction (%) against compression ratio (%) for one architecture, pruning
    distribution and batch size, fitted by least squares over the pruned models and the unpruned
    one at (0, 0).

    ``doubling_ratio``: the reduction per CR percent at twice the median CR over that at the
    median CR, from the fit; 1.0 means doubling the CR doubles the reduction (a line through the
    origin), below 1 that it less than doubles. None where the fit is 0 at the median.
    ``breaking_points``: the CR values (%) after which the slope between consecutive points
    changes sign or falls below half of the previous segment's.
    ``points``: how many points the fit used, the unpruned one included.
    """

    architecture: str
    pruning_distribution: str
    batch_size: int
    cr_kind: str
    slope: float
    intercept: float
    r_squared: float
    doubling_ratio: float | None
    breaking_points: tuple[float, ...]
    points: int


@dataclass(frozen=True)
class PdRank:
    """The pruning distributions at one GPR (the seed's CR level), best first, as (PD label,
    energy reduction in %, its 95 % CI half-width in percentage points or None where unknown).
    Several rows of one PD (seeds, datasets) are averaged."""

    architecture: str
    batch_size: int
    gpr: float
    ranking: tuple[tuple[str, float, float | None], ...]


@dataclass(frozen=True)
class BatchRecommendation:
    """The smallest measured batch size of a model that meets the need, with its energy and FPS;
    all None where none does, and ``reason`` says why."""

    model: str
    batch_size: int | None
    joules_per_sample: float | None
    fps: float | None
    reason: str


def measured_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows to analyse: measured ones, numbers as floats (empty as NaN), batch sizes as int,
    and the columns the seed's CSV lacks added empty (``Dataset`` as "")."""
    rows = table
    if col.STATUS in rows.columns:
        rows = rows[rows[col.STATUS].astype(str) == col.STATUS_MEASURED]
    rows = rows.copy()
    for column in _NUMERIC_COLUMNS:
        values = rows[column] if column in rows.columns else pd.Series(np.nan, index=rows.index)
        rows[column] = pd.to_numeric(values, errors="coerce").astype(float)
    for column in (col.ARCHITECTURE, col.PRUNING_DISTRIBUTION, col.MODEL_NAME):
        if column not in rows.columns:
            rows[column] = None
    dataset = rows[col.DATASET] if col.DATASET in rows.columns else pd.Series("", index=rows.index)
    # object first: fillna("") on an all-NaN float column is deprecated in pandas.
    rows[col.DATASET] = dataset.astype(object).where(dataset.notna(), "").astype(str)
    rows = rows[pd.to_numeric(rows[col.BATCH_SIZE], errors="coerce").notna()]
    rows[col.BATCH_SIZE] = pd.to_numeric(rows[col.BATCH_SIZE]).astype(int)
    return rows.reset_index(drop=True)


def linearity(table: pd.DataFrame) -> list[Linearity]:
    """A fit per (architecture, PD, batch size) and CR kind (FLOPs, then parameters), in that
    order; groups whose CRs are all one value have no line and are left out."""
    pruned = _pruned_rows(measured_rows(table))
    fits = []
    keys = [col.ARCHITECTURE, col.PRUNING_DISTRIBUTION, col.BATCH_SIZE]
    for (architecture, pd_label, batch_size), rows in pruned.groupby(keys, sort=True):
        for cr_kind, cr_column in CR_COLUMNS.items():
            fit = _linearity_of(
                (str(architecture), str(pd_label), int(batch_size), cr_kind),
                rows[cr_column].to_numpy(float),
                rows[col.ENERGY_REDUCTION].to_numpy(float),
            )
            if fit is not None:
                fits.append(fit)
    return fits


def least_squares(x: Sequence[float], y: Sequence[float]) -> tuple[float, float, float] | None:
    """(slope, intercept, R²) of the least-squares line; None where all x are equal. R² is NaN
    where all y are equal, as there is no scatter to explain."""
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    x_spread = float(np.sum((xs - xs.mean()) ** 2))
    if len(xs) < 2 or x_spread == 0:
        return None
    slope = float(np.sum((xs - xs.mean()) * (ys - ys.mean()))) / x_spread
    intercept = float(ys.mean()) - slope * float(xs.mean())
    residual = float(np.sum((ys - (slope * xs + intercept)) ** 2))
    total = float(np.sum((ys - ys.mean()) ** 2))
    r_squared = 1.0 - residual / total if total > 0 else math.nan
    return slope, intercept, r_squared


def doubling_ratio(slope: float, intercept: float, median_cr_percent: float) -> float | None:
    """The line's reduction per CR percent at twice the median CR over that at the median."""
    at_median = slope * median_cr_percent + intercept
    if not (median_cr_percent > 0 and math.isfinite(at_median) and at_median != 0):
        return None
    at_double = slope * 2 * median_cr_percent + intercept
    return at_double / (2 * at_median)


def breaking_points(
    cr_percent: Sequence[float], reduction_percent: Sequence[float]
) -> tuple[float, ...]:
    """The CRs after which the piecewise slope changes sign or falls below half the previous
    segment's. Points of equal CR (seeds) are averaged first, so that no segment is vertical."""
    means = (
        pd.Series(np.asarray(reduction_percent, dtype=float))
        .groupby(np.asarray(cr_percent, dtype=float))
        .mean()
    )
    crs = means.index.to_numpy(float)
    slopes = np.diff(means.to_numpy(float)) / np.diff(crs)
    return tuple(
        float(crs[index])
        for index in range(1, len(slopes))
        if _slope_breaks(float(slopes[index - 1]), float(slopes[index]))
    )


def rank_pds(table: pd.DataFrame) -> list[PdRank]:
    """The PDs ranked by energy reduction per (architecture, batch size, GPR), in that order."""
    rows = measured_rows(table)
    pruned = _pruned_rows(rows).copy()
    pruned["_ci95"] = reduction_ci95_column(rows).loc[pruned.index]
    pruned = pruned[pruned[col.GPR].notna()]
    ranks = []
    for (architecture, batch_size, gpr), group in pruned.groupby(
        [col.ARCHITECTURE, col.BATCH_SIZE, col.GPR], sort=True
    ):
        entries = [
            (str(pd_label), *_mean_with_ci(pd_rows[col.ENERGY_REDUCTION], pd_rows["_ci95"]))
            for pd_label, pd_rows in group.groupby(col.PRUNING_DISTRIBUTION, sort=True)
        ]
        entries.sort(key=lambda entry: (-entry[1], entry[0]))
        ranks.append(PdRank(str(architecture), int(batch_size), float(gpr), tuple(entries)))
    return ranks


def architecture_energy(table: pd.DataFrame) -> pd.DataFrame:
    """Per architecture, dataset and batch size: the unpruned model's J/sample and CI, the
    lowest and highest J/sample of the pruned models, and the best energy reduction and its
    model. Columns: ``ARCHITECTURE_ENERGY_COLUMNS``; empty values where nothing was measured."""
    rows = measured_rows(table)
    rows = rows[rows[col.ARCHITECTURE].notna()]
    records = [
        _architecture_record(str(architecture), str(dataset), int(batch_size), group)
        for (architecture, dataset, batch_size), group in rows.groupby(
            [col.ARCHITECTURE, col.DATASET, col.BATCH_SIZE], sort=True
        )
    ]
    return pd.DataFrame(records, columns=list(ARCHITECTURE_ENERGY_COLUMNS))


def recommend_batch_size(
    table: pd.DataFrame, *, max_joules: float | None = None, min_fps: float | None = None
) -> list[BatchRecommendation]:
    """Per model, the smallest measured batch size whose J/sample is at most ``max_joules`` and
    whose FPS is at least ``min_fps`` (either or both given)."""
    if max_joules is None and min_fps is None:
        raise ValueError("give max_joules (J per sample), min_fps (frames per second) or both")
    rows = measured_rows(table)
    return [
        _recommend_for_model(
            model,
            rows[rows[col.MODEL_NAME] == model].sort_values(col.BATCH_SIZE),
            max_joules,
            min_fps,
        )
        for model in _models_in_order(rows)
    ]


def read_metadata(path: str | PathLike[str]) -> pd.DataFrame:
    """The seed's ``metadata.csv``: a ``MODEL_NAME`` column naming each model as the results do,
    then one column per metric (accuracy, loss...)."""
    expected = "a header line 'MODEL_NAME,<metric>,...' and one row per model"
    try:
        metadata = pd.read_csv(path, skipinitialspace=True)
    except pd.errors.EmptyDataError as error:
        raise ValueError(f"{path}: the metadata file is empty; it needs {expected}") from error
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
            f"{expected}"
        )
    names = metadata[col.MODEL_NAME].map(lambda name: "" if pd.isna(name) else str(name).strip())
    unnamed = int((names == "").sum())
    if unnamed:
        raise ValueError(
            f"{path}: {unnamed} row(s) without a {col.MODEL_NAME}; name each row's model"
        )
    metadata[col.MODEL_NAME] = names
    repeated = _repeated_names(metadata[col.MODEL_NAME])
    if repeated:
        raise ValueError(
            f"{path}: models named more than once: {', '.join(repeated)}; keep one row each"
        )
    return metadata


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


def findings(
    table: pd.DataFrame,
    metadata: pd.DataFrame | None = None,
    *,
    metric: str | None = None,
    max_joules: float | None = None,
    min_fps: float | None = None,
    higher_is_better: bool = True,
) -> list[str]:
    """The answers in words, one sentence each, in this order: energy per architecture, the
    linearity against FLOPs CR per PD, the PD ranking per GPR, the batch size per model (where
    ``max_joules`` or ``min_fps`` is given), the Pareto front per batch size (where ``metadata``
    is given; ``metric`` may be left out when it has only one)."""
    sentences = [_architecture_sentence(row) for _, row in architecture_energy(table).iterrows()]
    sentences += [_linearity_sentence(fit) for fit in linearity(table) if fit.cr_kind == "flops"]
    sentences += [_ranking_sentence(rank) for rank in rank_pds(table)]
    if max_joules is not None or min_fps is not None:
        recommendations = recommend_batch_size(table, max_joules=max_joules, min_fps=min_fps)
        sentences += [f"{item.model}: {item.reason}" for item in recommendations]
    if metadata is None:
        if metric is not None:
            raise ValueError(f"metric {metric!r} given without metadata to read it from")
        return sentences
    chosen = _chosen_metric(metadata, metric)
    for batch_size in sorted(measured_rows(table)[col.BATCH_SIZE].unique()):
        sentence = _pareto_sentence(
            table, metadata, chosen, int(batch_size), higher_is_better=higher_is_better
        )
        if sentence is not None:
            sentences.append(sentence)
    return sentences


def _is_baseline(rows: pd.DataFrame) -> pd.Series:
    return (
        rows[col.PRUNING_DISTRIBUTION].astype(str).str.casefold() == col.UNPRUNED_LABEL.casefold()
    )


def _pruned_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Pruned rows that say what they are and what they saved."""
    known = (
        rows[col.ARCHITECTURE].notna()
        & rows[col.PRUNING_DISTRIBUTION].notna()
        & rows[col.ENERGY_REDUCTION].notna()
    )
    return rows[known & ~_is_baseline(rows)]


def _linearity_of(
    key: tuple[str, str, int, str], cr_percent: np.ndarray, reduction_percent: np.ndarray
) -> Linearity | None:
    known = np.isfinite(cr_percent) & np.isfinite(reduction_percent)
    crs, reductions = cr_percent[known], reduction_percent[known]
    if len(crs) == 0:
        return None
    # The unpruned model saves nothing and removes nothing: the point every curve starts from.
    xs, ys = np.concatenate(([0.0], crs)), np.concatenate(([0.0], reductions))
    line = least_squares(xs, ys)
    if line is None:
        return None
    slope, intercept, r_squared = line
    doubling = doubling_ratio(slope, intercept, float(np.median(crs)))
    # key: (architecture, pruning distribution, batch size, CR kind), the fields' first four.
    return Linearity(*key, slope, intercept, r_squared, doubling, breaking_points(xs, ys), len(xs))


def _slope_breaks(previous: float, current: float) -> bool:
    if previous * current < 0:
        return True
    return previous > 0 and current < BREAK_SLOPE_FRACTION * previous


def _mean_with_ci(reductions: pd.Series, ci95s: pd.Series) -> tuple[float, float | None]:
    """The mean reduction and its CI, the rows taken as independent; unknown if any CI is."""
    mean = float(reductions.mean())
    if ci95s.isna().any():
        return mean, None
    return mean, ci95_of_mean(list(ci95s))


def _architecture_record(
    architecture: str, dataset: str, batch_size: int, rows: pd.DataFrame
) -> dict[str, Any]:
    baseline = rows[_is_baseline(rows)]
    pruned = rows[~_is_baseline(rows)]
    reductions = pruned[col.ENERGY_REDUCTION].dropna()
    best = pruned.loc[reductions.idxmax()] if len(reductions) else None
    return {
        col.ARCHITECTURE: architecture,
        col.DATASET: dataset,
        col.BATCH_SIZE: batch_size,
        UNPRUNED_JOULES_PER_SAMPLE: _first(baseline[col.JOULES_PER_SAMPLE]),
        UNPRUNED_JOULES_PER_SAMPLE_CI95: _first(baseline[col.JOULES_PER_SAMPLE_CI95]),
        MIN_PRUNED_JOULES_PER_SAMPLE: pruned[col.JOULES_PER_SAMPLE].min(),
        MAX_PRUNED_JOULES_PER_SAMPLE: pruned[col.JOULES_PER_SAMPLE].max(),
        BEST_ENERGY_REDUCTION: math.nan if best is None else best[col.ENERGY_REDUCTION],
        BEST_PRUNED_MODEL: None if best is None else best[col.MODEL_NAME],
    }


def _first(values: pd.Series) -> float:
    return float(values.iloc[0]) if len(values) else math.nan


def _models_in_order(rows: pd.DataFrame) -> list[str]:
    """Architecture, dataset, unpruned first, PD, GPR (as a number, so 5 before 10), name."""
    firsts = rows[rows[col.MODEL_NAME].notna()].drop_duplicates(col.MODEL_NAME)
    keyed = []
    for model, architecture, dataset, pd_label, gpr in zip(
        firsts[col.MODEL_NAME],
        firsts[col.ARCHITECTURE],
        firsts[col.DATASET],
        firsts[col.PRUNING_DISTRIBUTION],
        firsts[col.GPR],
        strict=True,
    ):
        label = "" if pd.isna(pd_label) else str(pd_label)
        key = (
            "" if pd.isna(architecture) else str(architecture).casefold(),
            dataset.casefold(),
            label.casefold() != col.UNPRUNED_LABEL.casefold(),
            label,
            0.0 if math.isnan(gpr) else gpr,
            str(model),
        )
        keyed.append((key, str(model)))
    return [model for _, model in sorted(keyed)]


def _recommend_for_model(
    model: str, rows: pd.DataFrame, max_joules: float | None, min_fps: float | None
) -> BatchRecommendation:
    meets = pd.Series(True, index=rows.index)
    if max_joules is not None:
        meets &= rows[col.JOULES_PER_SAMPLE] <= max_joules
    if min_fps is not None:
        meets &= rows[col.FPS] >= min_fps
    need = _need(max_joules, min_fps)
    if meets.any():
        row = rows[meets].iloc[0]
        batch_size = int(row[col.BATCH_SIZE])
        joules, fps = _optional(row[col.JOULES_PER_SAMPLE]), _optional(row[col.FPS])
        reason = (
            f"batch {batch_size} is the smallest measured batch size meeting {need} "
            f"({_joules_text(joules)}, {_fps_text(fps)})"
        )
        return BatchRecommendation(model, batch_size, joules, fps, reason)
    sizes = ", ".join(str(size) for size in rows[col.BATCH_SIZE])
    reason = f"no measured batch size ({sizes}) meets {need}: {_closest(rows, max_joules, min_fps)}"
    return BatchRecommendation(model, None, None, None, reason)


def _need(max_joules: float | None, min_fps: float | None) -> str:
    parts = []
    if max_joules is not None:
        parts.append(f"≤ {max_joules:.3g} J/sample")
    if min_fps is not None:
        parts.append(f"≥ {min_fps:.4g} FPS")
    return " and ".join(parts)


def _closest(rows: pd.DataFrame, max_joules: float | None, min_fps: float | None) -> str:
    """How close the model comes on each need no batch size meets alone."""
    parts = []
    if max_joules is not None and not (rows[col.JOULES_PER_SAMPLE] <= max_joules).any():
        parts.append(_extreme(rows, col.JOULES_PER_SAMPLE, "lowest energy", _joules_text, low=True))
    if min_fps is not None and not (rows[col.FPS] >= min_fps).any():
        parts.append(_extreme(rows, col.FPS, "highest FPS", _fps_text, low=False))
    return "; ".join(parts) or "each need is met at some batch size, never both at one"


def _extreme(
    rows: pd.DataFrame, column: str, what: str, text: Callable[[float], str], *, low: bool
) -> str:
    values = rows[column].dropna()
    if values.empty:
        return f"no {what.split()[-1]} was measured"
    index = values.idxmin() if low else values.idxmax()
    return f"the {what} is {text(values[index])} at batch {int(rows.loc[index, col.BATCH_SIZE])}"


def _repeated_names(names: pd.Series) -> list[str]:
    return sorted(set(names[names.duplicated()]))


def _metric_by_model(metadata: pd.DataFrame, metric: str) -> pd.Series:
    """The metric as numbers, indexed by model name."""
    if col.MODEL_NAME not in metadata.columns:
        raise ValueError(f"the metadata has no {col.MODEL_NAME} column; read it with read_metadata")
    if metric not in metadata.columns or metric == col.MODEL_NAME:
        metrics = ", ".join(str(c) for c in metadata.columns if c != col.MODEL_NAME) or "none"
        raise ValueError(f"the metadata has no metric {metric!r} (its metrics: {metrics})")
    names = metadata[col.MODEL_NAME].astype(str).str.strip()
    repeated = _repeated_names(names)
    if repeated:
        raise ValueError(f"the metadata names models more than once: {', '.join(repeated)}")
    return pd.Series(pd.to_numeric(metadata[metric], errors="coerce").to_numpy(), index=names)


def _candidates(
    table: pd.DataFrame, metadata: pd.DataFrame, metric: str, batch_size: int
) -> pd.DataFrame:
    """The models measured at ``batch_size`` with both an energy and a metric value."""
    scores = _metric_by_model(metadata, metric)
    rows = measured_rows(table)
    at_batch = rows[rows[col.BATCH_SIZE] == batch_size]
    if at_batch.empty:
        measured = ", ".join(str(size) for size in sorted(rows[col.BATCH_SIZE].unique())) or "none"
        raise ValueError(f"no model was measured at batch {batch_size}; measured: {measured}")
    candidates = at_batch.reindex(columns=list(CANDIDATE_COLUMNS))
    candidates[metric] = candidates[col.MODEL_NAME].astype(str).map(scores)
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
    metrics = [str(column) for column in metadata.columns if column != col.MODEL_NAME]
    if len(metrics) != 1:
        raise ValueError(
            f"the metadata has {len(metrics)} metrics ({', '.join(metrics) or 'none'}); "
            "pass metric= to say which one to weigh against energy"
        )
    return metrics[0]


def _optional(value: Any) -> float | None:
    return None if pd.isna(value) else float(value)


def _joules_text(joules: float | None) -> str:
    return "an unknown energy" if joules is None else f"{joules:.3g} J/sample"


def _fps_text(fps: float | None) -> str:
    return "unknown FPS" if fps is None else f"{fps:.1f} FPS"


def _ci_text(ci95: float | None, unit: str) -> str:
    return "" if ci95 is None or math.isnan(ci95) else f" ± {ci95:.2g}{unit}"


def _where(architecture: str, dataset: str, batch_size: int) -> str:
    name = f"{architecture} ({dataset})" if dataset else architecture
    return f"{name}, batch {batch_size}"


def _architecture_sentence(row: pd.Series) -> str:
    unpruned = _optional(row[UNPRUNED_JOULES_PER_SAMPLE])
    parts = [
        "no unpruned model measured"
        if unpruned is None
        else f"unpruned {_joules_text(unpruned)}"
        f"{_ci_text(_optional(row[UNPRUNED_JOULES_PER_SAMPLE_CI95]), ' J')}"
    ]
    lowest = _optional(row[MIN_PRUNED_JOULES_PER_SAMPLE])
    if lowest is not None:
        highest = float(row[MAX_PRUNED_JOULES_PER_SAMPLE])
        parts.append(f"pruned {lowest:.3g} to {highest:.3g} J/sample")
    best = _optional(row[BEST_ENERGY_REDUCTION])
    if best is not None:
        parts.append(f"best energy reduction {best:.1f} % ({row[BEST_PRUNED_MODEL]})")
    where = _where(row[col.ARCHITECTURE], row[col.DATASET], int(row[col.BATCH_SIZE]))
    return f"{where}: {', '.join(parts)}"


def _linearity_sentence(fit: Linearity) -> str:
    kind = "FLOPs" if fit.cr_kind == "flops" else "parameter"
    where = f"{fit.architecture} {fit.pruning_distribution}, batch {fit.batch_size}"
    if math.isnan(fit.r_squared):
        return f"{where}: energy reduction stays at {fit.intercept:.1f} % whatever the {kind} CR"
    if fit.r_squared >= LINEAR_R_SQUARED:
        how = f"follows {kind} CR linearly"
    elif fit.r_squared >= ROUGHLY_LINEAR_R_SQUARED:
        how = f"follows {kind} CR roughly linearly"
    else:
        how = f"does not follow {kind} CR linearly"
    numbers = f"R² {fit.r_squared:.2f}, slope {fit.slope:.2f} % per % over {fit.points} points"
    return f"{where}: energy reduction {how} ({numbers}){_breaks_text(fit.breaking_points)}"


def _breaks_text(crs_percent: tuple[float, ...]) -> str:
    if not crs_percent:
        return ", with no breaking point"
    first = f" up to a breaking point at {crs_percent[0]:.0f} % CR"
    later = [f"{cr:.0f} %" for cr in crs_percent[1:]]
    if not later:
        return first
    listed = later[0] if len(later) == 1 else f"{', '.join(later[:-1])} and {later[-1]}"
    return f"{first} (then at {listed})"


def _ranking_sentence(rank: PdRank) -> str:
    where = f"At GPR {rank.gpr:g}, batch {rank.batch_size}"
    best_label, best, best_ci = rank.ranking[0]
    if len(rank.ranking) == 1:
        return f"{where}, only {best_label} was measured on {rank.architecture} ({best:.1f} %)"
    worst_label, worst, worst_ci = rank.ranking[-1]
    sentence = (
        f"{where}, {best_label} saves most on {rank.architecture} "
        f"({best:.1f}{_ci_text(best_ci, '')} %), {worst_label} least "
        f"({worst:.1f}{_ci_text(worst_ci, '')} %)"
    )
    second_label, second, second_ci = rank.ranking[1]
    # Overlapping intervals: the data do not tell the two best apart.
    if best_ci is not None and second_ci is not None and best - second <= best_ci + second_ci:
        sentence += f"; {best_label} and {second_label} overlap within their 95 % CIs"
    return sentence


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
