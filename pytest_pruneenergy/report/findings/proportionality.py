"""Does energy reduction follow the compression ratio linearly, and does doubling the
compression double the saving?

Per architecture, pruning distribution and batch size, a least-squares line of energy reduction
(%) against the compression ratio (%), over the pruned models (one point per GPR) and the
unpruned one at (0, 0). Its slope and intercept carry 95 % CIs (Student t, points - 2 degrees of
freedom) from the larger of two noise levels: the scatter around the line, and the points' own
uncertainty (a CI, or the seed's STD). The doubling question is the intercept's: a line through
the origin is proportional, and doubling the CR doubles the saving; an intercept below 0 beyond
its CI means doubling the CR more than doubles it (low compression saves less than its share);
above 0, less than doubles it. An intercept whose CI holds 0 answers "doubles" only where the
whole CI keeps the saving at twice the median CR within ``DOUBLING_TOLERANCE`` of twice the
saving at the median; a wider CI cannot tell, and the sentence says so with the range it allows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ...measure.stats import student_t_critical
from .. import schema as col
from .rows import (
    CURVE_KEYS,
    REDUCTION_HALF_WIDTH,
    analysis_rows,
    curve_points,
    from_seed_tool,
    pruned_rows,
    sigma,
    uncertainty_kind,
)
from .uncertainty import Estimate, listed, span

# The compression ratio a fit is made against, by ``cr_kind``.
CR_COLUMNS: dict[str, str] = {"flops": col.CR_FLOPS, "params": col.CR_PARAMETERS}
CR_WORDS = {"flops": "FLOPs CR", "params": "parameter CR"}
# R² from which a fit is called linear, and roughly linear: below, the line explains too little
# of the scatter for "linear" to be a fair summary.
LINEAR_R_SQUARED = 0.95
ROUGHLY_LINEAR_R_SQUARED = 0.8
MORE_THAN_DOUBLES = "more than doubles"
LESS_THAN_DOUBLES = "less than doubles"
DOUBLES = "doubles"
CANNOT_TELL = "cannot tell"
# How far from exactly doubling (x1) the whole intercept CI may reach and still "double".
DOUBLING_TOLERANCE = 0.1
# What findings on the seed's data say when they use its parameter counts.
SEED_PARAMETERS_CAVEAT = (
    "the seed's published Parameters of pruned models include torch-simplify's per-pixel "
    "biases, so its parameter CRs understate the structural compression (docs/seed-paper.md)"
)


@dataclass(frozen=True)
class Line:
    """A least-squares line with 95 % CIs of its slope and intercept; R² is NaN where the
    reductions do not vary."""

    slope: Estimate
    intercept: Estimate
    r_squared: float
    points: int


@dataclass(frozen=True)
class Proportionality:
    """One curve's line, and the doubling question answered: ``doubling`` is
    ``MORE_THAN_DOUBLES``, ``LESS_THAN_DOUBLES``, ``DOUBLES`` or ``CANNOT_TELL``
    (``doubling_verdict``); ``doubling_ratio`` the line's saving at twice the median CR over
    twice its saving at the median (1 where proportional), None where the line is 0 at the
    median; ``doubling_range`` that ratio over the intercept's CI, None where unbounded."""

    architecture: str
    pruning_distribution: str
    batch_size: int
    cr_kind: str
    line: Line
    median_cr_percent: float
    doubling_ratio: float | None
    doubling: str
    doubling_range: tuple[float, float] | None = None


def fit_line(
    x: Sequence[float], y: Sequence[float], point_sigmas: Sequence[float] | None = None
) -> Line | None:
    """The least-squares line through (x, y); None where all x are equal or there are fewer
    than three points. ``point_sigmas``: each point's standard deviation, a floor under the
    scatter that the CIs come from (NaN ones are ignored)."""
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    count = len(xs)
    x_spread = float(np.sum((xs - xs.mean()) ** 2)) if count else 0.0
    if count < 3 or x_spread == 0:
        return None
    slope = float(np.sum((xs - xs.mean()) * (ys - ys.mean()))) / x_spread
    intercept = float(ys.mean()) - slope * float(xs.mean())
    residual = float(np.sum((ys - (slope * xs + intercept)) ** 2))
    total = float(np.sum((ys - ys.mean()) ** 2))
    r_squared = 1.0 - residual / total if total > 0 else math.nan
    variance = noise_variance(residual / (count - 2), point_sigmas)
    t = student_t_critical(0.95, count - 2)
    slope_width = t * math.sqrt(variance / x_spread)
    intercept_width = t * math.sqrt(variance * (1 / count + float(xs.mean()) ** 2 / x_spread))
    return Line(
        Estimate(slope, slope_width), Estimate(intercept, intercept_width), r_squared, count
    )


def noise_variance(residual_variance: float, point_sigmas: Sequence[float] | None) -> float:
    """The larger of the scatter around a fit and the points' mean measured variance: a fit
    cannot be surer than the data it was made from."""
    sigmas = np.asarray([] if point_sigmas is None else point_sigmas, dtype=float)
    sigmas = sigmas[np.isfinite(sigmas)]
    measured = float(np.mean(sigmas**2)) if len(sigmas) else 0.0
    return max(residual_variance, measured)


def doubling_ratio(slope: float, intercept: float, median_cr_percent: float) -> float | None:
    """The line's saving at twice the median CR over twice its saving at the median."""
    at_median = slope * median_cr_percent + intercept
    if not (median_cr_percent > 0 and math.isfinite(at_median) and at_median != 0):
        return None
    return (slope * 2 * median_cr_percent + intercept) / (2 * at_median)


def doubling_range(
    slope: float, intercept: Estimate, median_cr_percent: float
) -> tuple[float, float] | None:
    """The doubling ratio over the intercept's CI (lowest, highest); None where it is
    unbounded: the line's saving at the median changes sign inside the CI."""
    width = intercept.half_width if intercept.half_width is not None else 0.0
    ends = [intercept.value - width, intercept.value + width]
    at_median = [slope * median_cr_percent + end for end in ends]
    if at_median[0] * at_median[1] <= 0:
        return None
    ratios = [doubling_ratio(slope, end, median_cr_percent) for end in ends]
    if ratios[0] is None or ratios[1] is None:
        return None
    return (min(ratios), max(ratios))


def doubling_verdict(intercept: Estimate, ratio_range: tuple[float, float] | None = None) -> str:
    """Whether doubling the CR doubles the saving, from the intercept and its CI: beyond the
    CI on either side, more or less than doubles; an intercept exactly 0 (no uncertainty), or
    whose whole CI keeps the ratio within ``DOUBLING_TOLERANCE`` of 1 (``ratio_range``),
    doubles; otherwise the data cannot tell."""
    width = intercept.half_width if intercept.half_width is not None else 0.0
    if intercept.value + width < 0:
        return MORE_THAN_DOUBLES
    if intercept.value - width > 0:
        return LESS_THAN_DOUBLES
    if width == 0:
        return DOUBLES
    if ratio_range is not None and all(
        abs(ratio - 1) <= DOUBLING_TOLERANCE for ratio in ratio_range
    ):
        return DOUBLES
    return CANNOT_TELL


def proportionality(table: pd.DataFrame) -> list[Proportionality]:
    """A line per (architecture, PD, batch size) and CR kind (FLOPs, then parameters), in that
    order; curves whose CRs are all one value have no line and are left out."""
    rows = analysis_rows(table)
    kind = uncertainty_kind(rows)
    fits = []
    for (architecture, pd_label, batch_size), curve in pruned_rows(rows).groupby(
        CURVE_KEYS, sort=True
    ):
        for cr_kind, cr_column in CR_COLUMNS.items():
            points = curve_points(curve, cr_column)
            if points.empty:
                continue
            crs = np.concatenate(([0.0], points[cr_column].to_numpy(float)))
            reductions = np.concatenate(([0.0], points[col.ENERGY_REDUCTION].to_numpy(float)))
            sigmas = [0.0, *(sigma(width, kind) for width in points[REDUCTION_HALF_WIDTH])]
            line = fit_line(crs, reductions, sigmas)
            if line is None:
                continue
            median = float(np.median(points[cr_column]))
            ratio_range = doubling_range(line.slope.value, line.intercept, median)
            fits.append(
                Proportionality(
                    str(architecture),
                    str(pd_label),
                    int(batch_size),
                    cr_kind,
                    line,
                    median,
                    doubling_ratio(line.slope.value, line.intercept.value, median),
                    doubling_verdict(line.intercept, ratio_range),
                    ratio_range,
                )
            )
    return fits


def linearity_words(r_squared: float) -> str:
    if r_squared >= LINEAR_R_SQUARED:
        return "linear"
    if r_squared >= ROUGHLY_LINEAR_R_SQUARED:
        return "roughly linear"
    return "not linear"


def proportionality_sentences(table: pd.DataFrame) -> list[str]:
    """Per architecture and batch size, the lines against FLOPs CR of all its PDs in one
    sentence; then per architecture, those against parameter CR (with the seed's caveat on its
    parameter counts)."""
    fits = proportionality(table)
    seed = from_seed_tool(analysis_rows(table))
    sentences = []
    groups: dict[tuple[str, int], list[Proportionality]] = {}
    for fit in fits:
        if fit.cr_kind == "flops":
            groups.setdefault((fit.architecture, fit.batch_size), []).append(fit)
    for (architecture, batch_size), group in groups.items():
        sentences.append(f"{architecture}, batch {batch_size}: {_group_text(group)}")
    by_architecture: dict[str, list[Proportionality]] = {}
    for fit in fits:
        if fit.cr_kind == "params":
            by_architecture.setdefault(fit.architecture, []).append(fit)
    for architecture, group in by_architecture.items():
        sentence = (
            f"{architecture}, against parameter CR over {len(group)} curves (PDs x batch "
            f"sizes): R² {span(fit.line.r_squared for fit in group)}, slope "
            f"{span(fit.line.slope.value for fit in group)} points per point"
        )
        if seed:
            sentence += f"; note: {SEED_PARAMETERS_CAVEAT}"
        sentences.append(sentence)
    return sentences


def _group_text(group: list[Proportionality]) -> str:
    """The lines of one architecture and batch size against FLOPs CR, in words."""
    labels = [fit.pruning_distribution for fit in group]
    words: dict[str, list[str]] = {}
    for fit in group:
        if not math.isnan(fit.line.r_squared):
            words.setdefault(linearity_words(fit.line.r_squared), []).append(
                fit.pruning_distribution
            )
    if len(words) == 1:
        shape = f"{next(iter(words))} for {_pds(labels)}"
    else:
        shape = listed(f"{word} for {listed(pds)}" for word, pds in words.items())
    text = (
        f"energy reduction against FLOPs CR is {shape} "
        f"(R² {span(fit.line.r_squared for fit in group)}), "
        f"{span(fit.line.slope.value for fit in group)} points per point, intercept "
        f"{span((fit.line.intercept.value for fit in group), '.1f')} points"
    )
    verdicts: dict[str, list[Proportionality]] = {}
    for fit in group:
        verdicts.setdefault(fit.doubling, []).append(fit)
    parts = []
    for verdict in (MORE_THAN_DOUBLES, DOUBLES, CANNOT_TELL, LESS_THAN_DOUBLES):
        members = verdicts.get(verdict, [])
        if not members:
            continue
        ratios = [fit.doubling_ratio for fit in members if fit.doubling_ratio is not None]
        where = (
            ""
            if len(members) == len(group)
            else f" for {listed(fit.pruning_distribution for fit in members)}"
        )
        if verdict == DOUBLES:
            parts.append(
                f"doubling the CR doubles the saving{where} ({_range_text(members)} from the "
                "median CR over the intercept's 95 % CI)"
            )
        elif verdict == CANNOT_TELL:
            parts.append(
                f"the data cannot tell whether doubling the CR doubles the saving{where}: the "
                f"intercept's 95 % CI holds 0 but allows {_range_text(members)} from the "
                "median CR"
            )
        else:
            side = "below" if verdict == MORE_THAN_DOUBLES else "above"
            parts.append(
                f"doubling the CR {verdict} the saving{where} (intercept {side} 0 beyond its "
                f"95 % CI; x{span(ratios)} from the median CR)"
            )
    return f"{text}: {'; '.join(parts)}"


def _range_text(fits: Sequence[Proportionality]) -> str:
    """The doubling ratios the fits' intercept CIs allow, lowest to highest."""
    ranges = [fit.doubling_range for fit in fits]
    if any(bounds is None for bounds in ranges):
        return "any ratio (the saving at the median CR may be 0)"
    lows = [bounds[0] for bounds in ranges if bounds is not None]
    highs = [bounds[1] for bounds in ranges if bounds is not None]
    return f"x{min(lows):.2f}-{max(highs):.2f}"


def _pds(labels: Sequence[str]) -> str:
    return f"all {len(labels)} PDs" if len(labels) > 1 else listed(labels)
