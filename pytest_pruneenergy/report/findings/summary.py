"""The few sentences at the top of report.html: what the table holds and its uncertainty, and
each question's answer over all curves at once (the findings below it give them one by one)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import schema as col
from ..units import per_million_sentence
from .batch_size import FPS_SATURATION_GAIN, batch_effects
from .breaks import beyond_text, curve_breaks, low_compression_dip
from .pd_ranking import across_sentence, compare_pds
from .proportionality import (
    CANNOT_TELL,
    DOUBLES,
    LESS_THAN_DOUBLES,
    MORE_THAN_DOUBLES,
    SEED_PARAMETERS_CAVEAT,
    proportionality,
)
from .rows import analysis_rows, from_seed_tool, pruned_rows, uncertainty_kind
from .uncertainty import CI95, STD, listed, span


def summary_sentences(table: pd.DataFrame) -> list[str]:
    """What the table holds, the dip, proportionality, breaks, the PDs and batch size; each
    left out where the table has nothing to say it from."""
    rows = analysis_rows(table)
    if rows.empty:
        return []
    sentences = [_data_sentence(rows)]
    for builder in (_dip, _proportionality, _breaks, _pds, _batch_size):
        sentence = builder(table)
        if sentence:
            sentences.append(sentence)
    if from_seed_tool(rows) and not pruned_rows(rows).empty:
        sentences.append(f"Parameter CRs: {SEED_PARAMETERS_CAVEAT}")
    per_million = per_million_sentence(table)
    if per_million:
        sentences.append(per_million)
    return sentences


def _data_sentence(rows: pd.DataFrame) -> str:
    architectures = rows[col.ARCHITECTURE].dropna().nunique()
    models = rows[col.MODEL_NAME].nunique()
    sizes = ", ".join(str(size) for size in sorted(rows[col.BATCH_SIZE].unique()))
    kind = uncertainty_kind(rows)
    uncertainty = {
        CI95: "intervals are 95 % CIs",
        STD: "the CSV has no confidence intervals, so intervals are ± one STD of its trials, "
        "propagated to the reductions",
    }.get(kind, "no uncertainty is known, so only exact ties count as ties")
    return (
        f"{len(rows)} measured rows: {models} models of {architectures} architectures at batch "
        f"sizes {sizes}; {uncertainty}, and values whose intervals overlap are called "
        "indistinguishable"
    )


def _dip(table: pd.DataFrame) -> str | None:
    dip = low_compression_dip(table)[0]
    if not dip.pruned_rows:
        return None
    if not dip.costing_rows:
        return "Every pruned model uses less energy per sample than its unpruned one"
    text = (
        f"Pruning costs energy at low compression: {dip.costing_rows} of {dip.pruned_rows} "
        f"pruned rows use more energy per sample than their unpruned model "
        f"({beyond_text(dip, brief=True)})"
    )
    if dip.main_gprs is not None:
        low, high = dip.main_gprs
        gprs = f"{low:g}" if low == high else f"{low:g}-{high:g}"
        text += f", {dip.in_main_gprs} of them at GPR {gprs}"
    return text


def _proportionality(table: pd.DataFrame) -> str | None:
    fits = [fit for fit in proportionality(table) if fit.cr_kind == "flops"]
    if not fits:
        return None
    verdicts = {
        verdict: [fit for fit in fits if fit.doubling == verdict]
        for verdict in (MORE_THAN_DOUBLES, DOUBLES, CANNOT_TELL, LESS_THAN_DOUBLES)
    }
    words = {
        MORE_THAN_DOUBLES: "more than doubles the saving in {count} (intercept below 0 beyond "
        "its 95 % CI; x{ratios} from the median CR)",
        DOUBLES: "doubles it in {count} (the whole intercept CI within 10 % of x1)",
        CANNOT_TELL: "cannot be told from doubling in {count} (the intercept's 95 % CI holds 0 "
        "but is too wide to say)",
        LESS_THAN_DOUBLES: "less than doubles it in {count} (intercept above 0 beyond its "
        "95 % CI; x{ratios} from the median CR)",
    }
    counts = "; ".join(
        words[verdict].format(
            count=len(members),
            ratios=span(fit.doubling_ratio for fit in members if fit.doubling_ratio is not None),
        )
        for verdict, members in verdicts.items()
        if members
    )
    return (
        f"Energy reduction grows with FLOPs CR (R² {span(fit.line.r_squared for fit in fits)}, "
        f"{span(fit.line.slope.value for fit in fits)} points per point over {len(fits)} "
        f"curves) with intercepts of {span((fit.line.intercept.value for fit in fits), '.0f')} "
        f"points: doubling the CR {counts}"
    )


def _breaks(table: pd.DataFrame) -> str | None:
    curves = curve_breaks(table)
    if not curves:
        return None
    broken = [found.bend.at_cr_percent for found in curves if found.bend.breaks]
    if not broken:
        return f"None of {len(curves)} curves breaks beyond its uncertainty"
    low, high = np.percentile(broken, [25, 75])
    return (
        f"{len(broken)} of {len(curves)} curves break beyond their uncertainty, once each, at "
        f"FLOPs CR {span(broken, '.0f')} % (half of them at {span([low, high], '.0f')} %)"
    )


def _pds(table: pd.DataFrame) -> str | None:
    comparisons = compare_pds(table)
    return across_sentence(comparisons) if len(comparisons) > 1 else None


def _batch_size(table: pd.DataFrame) -> str | None:
    effects = batch_effects(table)
    if not effects:
        return None
    changes = span((effect.energy_change_percent for effect in effects), "+.0f", " %")
    text = (
        f"From the smallest batch size to the largest, unpruned energy per sample changes by "
        f"{changes}"
    )
    by_batch: dict[int | None, list[str]] = {}
    unknown = [effect.architecture for effect in effects if effect.fps_ratio is None]
    for effect in effects:
        if effect.fps_ratio is not None:
            by_batch.setdefault(effect.fps_saturated_from, []).append(effect.architecture)
    parts = [
        f"from batch {batch} on for {listed(names)}"
        if batch is not None
        else f"not up to the largest batch size for {listed(names)}"
        for batch, names in sorted(
            by_batch.items(), key=lambda item: (item[0] is None, item[0] or 0)
        )
    ]
    if parts:
        text += f"; FPS saturates (each larger batch adding less than {FPS_SATURATION_GAIN:.0%}) "
        text += "; ".join(parts)
    if unknown:
        text += f"; FPS not known at every batch size for {listed(unknown)}"
    return text
