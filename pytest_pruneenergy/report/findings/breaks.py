"""Where does the relation between compression and energy saving break, and where does pruning
cost energy?

A breaking point is a change of slope larger than the data's uncertainty. Per curve (one
architecture, pruning distribution and batch size, one point per GPR, the unpruned model at
(0, 0)) a line with one bend (a hinge) is fitted at each inner point in turn; the bend that fits
best is a breaking point when its change of slope is outside its 95 % CI (Student t, points - 3
degrees of freedom), the noise being the larger of the scatter around the bent line and the
points' own uncertainty. So a curve has at most one breaking point, and wiggles from one GPR to
the next (the seed's whole-number data, or the GPU's tiling) make none.

The low-compression dip: pruned rows that use more energy per sample than their unpruned model
(a negative energy reduction), counted with how many do so beyond their uncertainty, and where
they are (the GPRs that hold most of them, the whole GPR and CR range, the worst).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...measure.stats import student_t_critical
from .. import schema as col
from ..schema import model_stem
from .proportionality import CR_COLUMNS, noise_variance
from .rows import (
    CURVE_KEYS,
    REDUCTION_HALF_WIDTH,
    analysis_rows,
    curve_points,
    pruned_rows,
    sigma,
    uncertainty_kind,
)
from .uncertainty import Estimate, kind_text, listed, span

# The share of the dip's rows that the GPR range named first holds ("nearly all at GPR 5-15").
DIP_SHARE = 0.9
# A hinge needs this many points on each side of the bend, the bend included.
_SIDE_POINTS = 3


@dataclass(frozen=True)
class Bend:
    """The best one-bend fit of a curve: the CR at the bend, the slopes before and after, and
    the change of slope with its 95 % CI; ``breaks``: the change is outside its CI."""

    at_cr_percent: float
    slope_before: float
    slope_after: float
    change: Estimate

    @property
    def breaks(self) -> bool:
        # an unknown width is no break: nothing is beyond an uncertainty nobody knows
        width = self.change.half_width
        return width is not None and abs(self.change.value) > width


@dataclass(frozen=True)
class CurveBreak:
    architecture: str
    pruning_distribution: str
    batch_size: int
    cr_kind: str
    bend: Bend


@dataclass(frozen=True)
class Dip:
    """Pruned rows that use more energy than their unpruned model, of one architecture (None:
    all). ``main_gprs``: the lowest GPRs that hold ``DIP_SHARE`` of them, as (first, last)."""

    architecture: str | None
    pruned_rows: int
    costing_rows: int
    # Of the costing rows, those whose uncertainty is known, and of those, how many cost energy
    # beyond it (None where none is known: a row of unknown width is never counted as within).
    with_known_uncertainty: int
    beyond_uncertainty: int | None
    main_gprs: tuple[float, float] | None
    in_main_gprs: int
    gprs: tuple[float, float] | None
    flops_crs: tuple[float, float] | None
    worst: tuple[str, int, float] | None  # model stem, batch size, reduction (%)


def best_bend(
    cr_percent: np.ndarray, reduction_percent: np.ndarray, point_sigmas: np.ndarray
) -> Bend | None:
    """The one-bend fit with the least squared error; None for fewer than 2 x 3 - 1 points."""
    xs, ys = np.asarray(cr_percent, float), np.asarray(reduction_percent, float)
    count = len(xs)
    best: tuple[float, int, np.ndarray, np.ndarray] | None = None
    for knot in range(_SIDE_POINTS - 1, count - _SIDE_POINTS + 1):
        design = np.column_stack([np.ones(count), xs, np.maximum(0.0, xs - xs[knot])])
        coefficients, *_ = np.linalg.lstsq(design, ys, rcond=None)
        residual = float(np.sum((ys - design @ coefficients) ** 2))
        if best is None or residual < best[0]:
            best = (residual, knot, coefficients, design)
    if best is None:
        return None
    residual, knot, coefficients, design = best
    variance = noise_variance(residual / (count - 3), point_sigmas)
    covariance = variance * np.linalg.pinv(design.T @ design)
    width = student_t_critical(0.95, count - 3) * math.sqrt(max(float(covariance[2, 2]), 0.0))
    slope, change = float(coefficients[1]), float(coefficients[2])
    return Bend(float(xs[knot]), slope, slope + change, Estimate(change, width))


def curve_breaks(table: pd.DataFrame, cr_kind: str = "flops") -> list[CurveBreak]:
    """Each curve's best bend against the CR of ``cr_kind`` (breaking or not), in curve order."""
    rows = analysis_rows(table)
    kind = uncertainty_kind(rows)
    cr_column = CR_COLUMNS[cr_kind]
    found = []
    for (architecture, pd_label, batch_size), curve in pruned_rows(rows).groupby(
        CURVE_KEYS, sort=True
    ):
        points = curve_points(curve, cr_column)
        crs = np.concatenate(([0.0], points[cr_column].to_numpy(float)))
        reductions = np.concatenate(([0.0], points[col.ENERGY_REDUCTION].to_numpy(float)))
        sigmas = np.array([0.0, *(sigma(w, kind) for w in points[REDUCTION_HALF_WIDTH])])
        bend = best_bend(crs, reductions, sigmas)
        if bend is not None:
            found.append(
                CurveBreak(str(architecture), str(pd_label), int(batch_size), cr_kind, bend)
            )
    return found


def breaking_points(table: pd.DataFrame, cr_kind: str = "flops") -> list[CurveBreak]:
    """The curves whose bend is a breaking point."""
    return [found for found in curve_breaks(table, cr_kind) if found.bend.breaks]


def low_compression_dip(table: pd.DataFrame) -> list[Dip]:
    """The dip over all architectures, then per architecture (those with a pruned row)."""
    rows = analysis_rows(table)
    pruned = pruned_rows(rows)
    dips = [_dip(None, pruned)]
    for architecture, of_architecture in pruned.groupby(col.ARCHITECTURE, sort=True):
        dips.append(_dip(str(architecture), of_architecture))
    return dips


def _dip(architecture: str | None, pruned: pd.DataFrame) -> Dip:
    costing = pruned[pruned[col.ENERGY_REDUCTION] < 0]
    if costing.empty:
        return Dip(architecture, len(pruned), 0, 0, None, None, 0, None, None, None)
    known = costing[np.isfinite(costing[REDUCTION_HALF_WIDTH].to_numpy(float))]
    beyond = int(((known[col.ENERGY_REDUCTION] + known[REDUCTION_HALF_WIDTH]) < 0).sum())
    gprs = costing[col.GPR].dropna()
    main, in_main = _main_range(gprs)
    flops = costing[col.CR_FLOPS].dropna()
    worst = costing.loc[costing[col.ENERGY_REDUCTION].idxmin()]
    return Dip(
        architecture,
        len(pruned),
        len(costing),
        len(known),
        beyond if len(known) else None,
        main,
        in_main,
        None if gprs.empty else (float(gprs.min()), float(gprs.max())),
        None if flops.empty else (float(flops.min()), float(flops.max())),
        (
            model_stem(str(worst[col.MODEL_NAME])),
            int(worst[col.BATCH_SIZE]),
            float(worst[col.ENERGY_REDUCTION]),
        ),
    )


def beyond_text(dip: Dip, kind: str | None = None, *, brief: bool = False) -> str:
    """How many of the dip's rows cost energy beyond their uncertainty, counting only rows
    whose uncertainty is known: ``3 of them by more than the uncertainty, 95 % CI`` (``kind``
    after the comma), ``2 of the 3 with a known uncertainty by more than it``, ``the
    uncertainty unknown``; ``brief``: ``3 beyond the uncertainty``, ``2 of the 3 with a known
    uncertainty beyond it``, ``uncertainty unknown``."""
    if dip.beyond_uncertainty is None:
        return "uncertainty unknown" if brief else "the uncertainty unknown"
    beyond = "beyond" if brief else "by more than"
    if dip.with_known_uncertainty == dip.costing_rows:
        of = "" if brief else " of them"
        text = f"{dip.beyond_uncertainty}{of} {beyond} the uncertainty"
    else:
        text = (
            f"{dip.beyond_uncertainty} of the {dip.with_known_uncertainty} with a known "
            f"uncertainty {beyond} it"
        )
    return text if kind is None else f"{text}, {kind}"


def _main_range(gprs: pd.Series) -> tuple[tuple[float, float] | None, int]:
    """The lowest GPRs that together hold ``DIP_SHARE`` of the rows, and how many they hold."""
    if gprs.empty:
        return None, 0
    counts = gprs.value_counts().sort_index()
    held = 0
    for gpr, count in counts.items():
        held += int(count)
        if held >= DIP_SHARE * len(gprs):
            return (float(counts.index[0]), float(gpr)), held
    return (float(counts.index[0]), float(counts.index[-1])), held


def dip_sentences(table: pd.DataFrame) -> list[str]:
    """The dip in words: over all architectures, then per architecture."""
    rows = analysis_rows(table)
    kind = kind_text(uncertainty_kind(rows)).removeprefix("± ")
    return [_dip_sentence(dip, kind) for dip in low_compression_dip(table) if dip.pruned_rows]


def _dip_sentence(dip: Dip, kind: str) -> str:
    where = "All architectures" if dip.architecture is None else dip.architecture
    if not dip.costing_rows:
        return f"{where}: no pruned model uses more energy per sample than its unpruned one"
    text = (
        f"{where}: {dip.costing_rows} of {dip.pruned_rows} pruned rows use more energy per "
        f"sample than their unpruned model at the same batch size ({beyond_text(dip, kind)})"
    )
    if dip.main_gprs is not None and dip.gprs is not None:
        text += (
            f"; {dip.in_main_gprs} of them at GPR {_range(dip.main_gprs)} (all at GPR "
            f"{_range(dip.gprs)}"
        )
        if dip.flops_crs is not None:
            text += f", FLOPs CR {_range(dip.flops_crs, '.0f')} %"
        text += ")"
    if dip.worst is not None:
        model, batch_size, reduction = dip.worst
        text += f"; the worst: {model} at batch {batch_size}, {reduction:.1f} %"
    return text


def breaking_sentences(table: pd.DataFrame) -> list[str]:
    """Per architecture and batch size: how many of its curves break beyond their
    uncertainty, where, and the slopes before and after."""
    sentences = []
    groups: dict[tuple[str, int], list[CurveBreak]] = {}
    for found in curve_breaks(table):
        groups.setdefault((found.architecture, found.batch_size), []).append(found)
    for (architecture, batch_size), curves in groups.items():
        broken = [found for found in curves if found.bend.breaks]
        where = f"{architecture}, batch {batch_size}"
        if not broken:
            sentences.append(
                f"{where}: no curve of energy reduction against FLOPs CR breaks beyond its "
                f"uncertainty ({len(curves)} PDs)"
            )
            continue
        at: dict[str, list[str]] = {}
        for found in broken:
            at.setdefault(f"{found.bend.at_cr_percent:.0f} %", []).append(
                found.pruning_distribution
            )
        places = listed(f"{cr} ({listed(pds)})" for cr, pds in at.items())
        sentences.append(
            f"{where}: {len(broken)} of {len(curves)} curves against FLOPs CR break beyond "
            f"their uncertainty, at FLOPs CR {places}: slope "
            f"{span(found.bend.slope_before for found in broken)} points per point before, "
            f"{span(found.bend.slope_after for found in broken)} after"
        )
    return sentences


def _range(bounds: tuple[float, float], spec: str = "g") -> str:
    low, high = (f"{bound:{spec}}" for bound in bounds)
    return low if low == high else f"{low}-{high}"
