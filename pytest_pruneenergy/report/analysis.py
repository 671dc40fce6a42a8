"""The paper's questions, answered from a result table, and the findings in words.

The questions each have a module in ``findings/`` (proportionality, breaks, pd_ranking,
throughput, batch_size, and pareto: the models that trade energy against a quality metric
best), with the
uncertainty rule in ``findings/uncertainty.py``; this module adds the energy per architecture
(``architecture_energy``) and the batch size that meets a need (``recommend_batch_size``), and
puts every answer into words: ``findings_by_question`` (report.html's sections),
``findings`` (the same as one list) and ``summary`` (the sentences at the top of report.html).

The table has schema.py's columns, or only what the seed tool's CSV has (report/reading.py
derives the rest); rows whose ``Status`` is not ``measured`` are ignored.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from . import schema as col
from .findings.alignment import alignment_sentences
from .findings.batch_size import batch_sentences
from .findings.breaks import breaking_sentences, dip_sentences
from .findings.pareto import (
    pareto_front,
    pareto_sentences,
    recommend_within_tolerance,
)
from .findings.pd_ranking import ranking_sentences
from .findings.proportionality import proportionality_sentences
from .findings.rows import REDUCTION_HALF_WIDTH, analysis_rows, is_baseline
from .findings.summary import summary_sentences
from .findings.throughput import throughput_sentences
from .findings.uncertainty import Estimate, indistinguishable, known
from .metadata import metadata_in_table, read_metadata
from .schema import is_unpruned_label

__all__ = [
    "ARCHITECTURE_ENERGY_COLUMNS",
    "BatchRecommendation",
    "architecture_energy",
    "findings",
    "findings_by_question",
    "measured_rows",
    "pareto_front",
    "read_metadata",
    "recommend_batch_size",
    "recommend_within_tolerance",
    "summary",
]

# The rows the analysis reads (findings/rows.py), under the name earlier code imported.
measured_rows = analysis_rows

UNPRUNED_JOULES_PER_SAMPLE = "Unpruned Energy per Sample (J)"
UNPRUNED_JOULES_PER_SAMPLE_CI95 = "Unpruned CI95 Energy per Sample (J)"
MIN_PRUNED_JOULES_PER_SAMPLE = "Min Pruned Energy per Sample (J)"
MAX_PRUNED_JOULES_PER_SAMPLE = "Max Pruned Energy per Sample (J)"
BEST_ENERGY_REDUCTION = "Best Energy Reduction (%)"
# Its half-width, of the table's kind (a 95 % CI; the seed's: one STD); NaN where unknown.
BEST_ENERGY_REDUCTION_UNCERTAINTY = "Best Energy Reduction Uncertainty (%)"
BEST_PRUNED_MODEL = "Best Pruned Model"
# How many pruned models have a measured energy reduction, the best among them.
PRUNED_MODELS = "Pruned Models"
# The other pruned models whose reduction is indistinguishable from the best one's, of those
# whose uncertainty is known (NaN where the best one's is not: nothing can be told from it).
TIED_WITH_BEST = "Pruned Models Tied With Best"
# The other pruned models whose uncertainty is unknown: neither tied with the best nor beyond.
UNKNOWN_WITH_BEST = "Pruned Models Of Unknown Uncertainty"
ARCHITECTURE_ENERGY_COLUMNS: tuple[str, ...] = (
    col.ARCHITECTURE,
    col.DATASET,
    col.BATCH_SIZE,
    UNPRUNED_JOULES_PER_SAMPLE,
    UNPRUNED_JOULES_PER_SAMPLE_CI95,
    MIN_PRUNED_JOULES_PER_SAMPLE,
    MAX_PRUNED_JOULES_PER_SAMPLE,
    BEST_ENERGY_REDUCTION,
    BEST_ENERGY_REDUCTION_UNCERTAINTY,
    BEST_PRUNED_MODEL,
    PRUNED_MODELS,
    TIED_WITH_BEST,
    UNKNOWN_WITH_BEST,
)

# report.html's sections, in order: the question each answers.
ENERGY_QUESTION = "How much energy does each architecture need, unpruned and pruned?"
PROPORTIONALITY_QUESTION = (
    "Does energy reduction follow the compression ratio linearly, and does doubling the "
    "compression double the saving?"
)
BREAKS_QUESTION = "Where does that relation break, and where does pruning cost energy?"
PD_QUESTION = "Which pruning distribution saves most energy?"
THROUGHPUT_QUESTION = "Does pruning raise throughput as much as it saves energy?"
BATCH_QUESTION = "What does batch size do, and which batch size meets a need?"
PARETO_QUESTION = "Which models trade energy against the metric best?"
QUESTIONS = (
    ENERGY_QUESTION,
    PROPORTIONALITY_QUESTION,
    BREAKS_QUESTION,
    PD_QUESTION,
    THROUGHPUT_QUESTION,
    BATCH_QUESTION,
    PARETO_QUESTION,
)


@dataclass(frozen=True)
class BatchRecommendation:
    """The smallest measured batch size of a model that meets the need, with its energy and FPS;
    all None where none does, and ``reason`` says why."""

    model: str
    batch_size: int | None
    joules_per_sample: float | None
    fps: float | None
    reason: str


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


def variant_parts(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The table split by numeric format and runtime (``Dtype``, ``Runtime``) where it holds
    more than one, as (label, rows) in label order (``bfloat16 compile``; ``as saved`` for a
    model's own format in eager); one part labelled "" where it holds one. A pruned model's
    reduction is against its baseline in its own format and runtime, so each part is a table
    of its own: pooled, a fit would mix an eager line with a compiled one."""
    if table.empty or not any(column in table.columns for column in col.VARIANT_COLUMNS):
        return [("", table)]
    labels = table.apply(col.variant_label, axis=1)
    names = sorted(set(labels))
    if len(names) <= 1:
        return [("", table)]
    return [(name or "as saved", table[labels == name]) for name in names]


def summary(table: pd.DataFrame) -> list[str]:
    """The few sentences at the top of report.html (findings/summary.py), per numeric format
    and runtime where the table holds several, each led by its label."""
    return [
        f"{label}: {sentence}" if label else sentence
        for label, part in variant_parts(table)
        for sentence in summary_sentences(analysis_rows(part))
    ]


def findings_by_question(
    table: pd.DataFrame,
    metadata: pd.DataFrame | None = None,
    *,
    metric: str | None = None,
    max_joules: float | None = None,
    min_fps: float | None = None,
    higher_is_better: bool = True,
    pareto: bool = True,
) -> list[tuple[str, list[str]]]:
    """(question, sentences) in report order, questions without sentences left out: energy
    per architecture, proportionality, breaks and the dip, the PDs, batch size (with the
    recommendation per model where ``max_joules`` or ``min_fps`` is given), and the Pareto front
    per batch size where there is a metric: from ``metadata``, or else from metric columns the
    table carries (the seed's ``YOUR_METRIC``). ``metric`` may be left out when there is one.
    ``pareto=False`` leaves the Pareto front out (its metric could not be chosen: the caller
    says why)."""
    if pareto and metadata is None and metric is not None and metadata_in_table(table) is None:
        raise ValueError(f"metric {metric!r} given without metadata to read it from")
    gathered: dict[str, list[str]] = {}
    for label, part in variant_parts(table):
        sections = _findings_of_one_variant(
            part,
            metadata,
            metric=metric,
            max_joules=max_joules,
            min_fps=min_fps,
            higher_is_better=higher_is_better,
            pareto=pareto,
        )
        for question, sentences in sections:
            lead = f"{label}: " if label else ""
            gathered.setdefault(question, []).extend(lead + s for s in sentences)
    return [(question, gathered[question]) for question in QUESTIONS if question in gathered]


def _findings_of_one_variant(
    table: pd.DataFrame,
    metadata: pd.DataFrame | None,
    *,
    metric: str | None,
    max_joules: float | None,
    min_fps: float | None,
    higher_is_better: bool,
    pareto: bool,
) -> list[tuple[str, list[str]]]:
    """``findings_by_question`` of a table of one numeric format and runtime."""
    table = analysis_rows(table)  # once, for every finding below
    batch = batch_sentences(table)
    if max_joules is not None or min_fps is not None:
        recommendations = recommend_batch_size(table, max_joules=max_joules, min_fps=min_fps)
        batch += [f"{item.model}: {item.reason}" for item in recommendations]
    sections = [
        (
            ENERGY_QUESTION,
            [_architecture_sentence(row) for _, row in architecture_energy(table).iterrows()],
        ),
        (PROPORTIONALITY_QUESTION, proportionality_sentences(table)),
        (
            BREAKS_QUESTION,
            dip_sentences(table) + breaking_sentences(table) + alignment_sentences(table),
        ),
        (PD_QUESTION, ranking_sentences(table)),
        (THROUGHPUT_QUESTION, throughput_sentences(table)),
        (BATCH_QUESTION, batch),
        (
            PARETO_QUESTION,
            pareto_sentences(table, metadata, metric, higher_is_better) if pareto else [],
        ),
    ]
    return [(question, sentences) for question, sentences in sections if sentences]


def findings(
    table: pd.DataFrame, metadata: pd.DataFrame | None = None, **options: Any
) -> list[str]:
    """``findings_by_question``'s sentences (``options``: its keywords) as one list, in the
    same order."""
    sections = findings_by_question(table, metadata, **options)
    return [sentence for _, sentences in sections for sentence in sentences]


def _architecture_record(
    architecture: str, dataset: str, batch_size: int, rows: pd.DataFrame
) -> dict[str, Any]:
    baseline = rows[is_baseline(rows)]
    pruned = rows[~is_baseline(rows)]
    reductions = pruned[col.ENERGY_REDUCTION].dropna()
    best = pruned.loc[reductions.idxmax()] if len(reductions) else None
    tied: int | None = None
    unknown = 0
    best_width = math.nan
    if best is not None:
        others = [
            Estimate(float(value), known(float(width)))
            for index, value, width in zip(
                reductions.index,
                pruned.loc[reductions.index, col.ENERGY_REDUCTION],
                pruned.loc[reductions.index, REDUCTION_HALF_WIDTH],
                strict=True,
            )
            if index != best.name
        ]
        best_estimate = Estimate(
            float(best[col.ENERGY_REDUCTION]), known(float(best[REDUCTION_HALF_WIDTH]))
        )
        told = [other for other in others if other.half_width is not None]
        unknown = len(others) - len(told)
        if best_estimate.half_width is not None:
            tied = sum(indistinguishable(best_estimate, other) for other in told)
            best_width = best_estimate.half_width
    return {
        col.ARCHITECTURE: architecture,
        col.DATASET: dataset,
        col.BATCH_SIZE: batch_size,
        UNPRUNED_JOULES_PER_SAMPLE: _first(baseline[col.JOULES_PER_SAMPLE]),
        UNPRUNED_JOULES_PER_SAMPLE_CI95: _first(baseline[col.JOULES_PER_SAMPLE_CI95]),
        MIN_PRUNED_JOULES_PER_SAMPLE: pruned[col.JOULES_PER_SAMPLE].min(),
        MAX_PRUNED_JOULES_PER_SAMPLE: pruned[col.JOULES_PER_SAMPLE].max(),
        BEST_ENERGY_REDUCTION: math.nan if best is None else best[col.ENERGY_REDUCTION],
        BEST_ENERGY_REDUCTION_UNCERTAINTY: best_width,
        BEST_PRUNED_MODEL: None if best is None else best[col.MODEL_NAME],
        PRUNED_MODELS: len(reductions),
        TIED_WITH_BEST: tied,
        UNKNOWN_WITH_BEST: None if best is None else unknown,
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
            not is_unpruned_label(pd_label),
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
        parts.append(_best_text(row, best))
    where = _where(row[col.ARCHITECTURE], row[col.DATASET], int(row[col.BATCH_SIZE]))
    return f"{where}: {', '.join(parts)}"


def _best_text(row: pd.Series, best: float) -> str:
    """The best reduction with its uncertainty and how many others the data cannot tell from
    it: the largest of noisy values is not by itself the best model."""
    estimate = Estimate(best, _optional(row[BEST_ENERGY_REDUCTION_UNCERTAINTY]))
    text = f"best energy reduction {estimate.text('.1f', ' %')} ({row[BEST_PRUNED_MODEL]}"
    if estimate.half_width is None:
        return text + "; its uncertainty is unknown)"
    tied, unknown = int(row[TIED_WITH_BEST]), int(row[UNKNOWN_WITH_BEST])
    # Another model whose uncertainty is unknown is neither tied with it nor beyond.
    parts = [f"{unknown} other pruned model(s) of unknown uncertainty"] if unknown else []
    if tied:
        parts.insert(0, f"indistinguishable from {tied} other pruned model(s)")
    elif int(row[PRUNED_MODELS]) - 1 > unknown:
        known = " whose uncertainty is known" if unknown else ""
        parts.insert(0, f"beyond the uncertainty of every other pruned model{known}")
    elif not unknown:
        parts.append("the only pruned model")
    return f"{text}), " + "; ".join(parts)
