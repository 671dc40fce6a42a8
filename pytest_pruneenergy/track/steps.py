"""Steps in a series of runs: where a model's level changed beyond the noise, not only pairwise.

A pairwise gate compares one run with the one before, so a slow creep (1 % a commit) passes every
5 % gate. Here the whole series, in commit order, is judged at once.

**Method.** Every split of the series into an earlier and a later segment (each at least
``MIN_SEGMENT_POINTS`` long) gets a t-like statistic: the difference of the two segments' means
over its standard error, ``t = |m_after - m_before| / (sigma * sqrt(1/n_before + 1/n_after))``.
The per-run noise ``sigma`` is the larger of two estimates: the runs' own 95 % CIs (their mean
variance, ``(CI95 / 1.96)^2``) and the scatter the series shows, from successive differences
within each segment (``sum(dy^2) / (2 (n - 2))``, the difference across the split left out).
The best split is a step when its t beats Student's t quantile at ``1 - ALPHA / splits`` with
``n - 3`` degrees of freedom: a Bonferroni bound over the splits tried.

**Why these choices.** The CIs cover the noise within one run but not from run to run (clocks,
temperature), so they only set a floor; the series' own scatter covers the rest. Successive
differences, unlike the residuals of the two-segment fit, hardly grow with a slow trend, so a
creep is judged against the noise and not against itself; and leaving the difference across the
split out keeps a real step from inflating its own noise. A single outlier inflates the
differences around it as much as it moves a segment's mean, so it never makes a step on its own.

**False alarms.** Successive differences give a noise estimate with fewer effective degrees of
freedom than the residuals' ``n - 2``, and the maxima over splits are correlated; the threshold
above is therefore not exact but calibrated: with ``ALPHA`` = 0.25 % and ``n - 3`` degrees of
freedom, series of pure noise (no CIs to help) flag well under 1 % of the time for every length
from 5 to 50 runs (tests/track/test_steps.py simulates it with a fixed seed). A test of many
series at once (every model and batch size) multiplies that rate by their number, which is why
the gate also asks for a size (``--energy-step-fail=joules:PCT``).

After a step is found, each segment is searched again the same way (binary segmentation), so a
series can have several steps; a segment shorter than ``MIN_POINTS`` is not searched.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..measure.stats import student_t_critical

# Both segments of a split need this many runs: one run alone is an outlier, not a level.
MIN_SEGMENT_POINTS = 2
# Fewer runs than this leave too few degrees of freedom to judge a step (``n - 3`` >= 2).
MIN_POINTS = 5
# The family-wise false-alarm rate the threshold is set for, before calibration (module doc).
ALPHA = 0.0025
# A 95 % CI half-width is this many standard errors (normal approximation).
Z_95 = 1.96


@dataclass(frozen=True)
class SeriesPoint:
    """One run's value, with its 95 % CI half-width where the run has one."""

    value: float
    ci95: float | None = None


@dataclass(frozen=True)
class Step:
    """A change of level: ``index`` is the first point of the new level."""

    index: int
    before_mean: float
    after_mean: float
    t_statistic: float
    threshold: float
    # The per-run noise (standard deviation) the step was judged against.
    noise: float

    @property
    def change_fraction(self) -> float | None:
        """``(after - before) / before``; None where the earlier level is 0."""
        if self.before_mean == 0:
            return None
        return (self.after_mean - self.before_mean) / abs(self.before_mean)


@functools.lru_cache(maxsize=256)
def step_threshold(point_count: int) -> float:
    """The t a split must beat in a series of ``point_count`` points (module doc)."""
    if point_count < MIN_POINTS:
        raise ValueError(f"a step needs at least {MIN_POINTS} points, got {point_count}")
    splits = point_count - 2 * MIN_SEGMENT_POINTS + 1
    return student_t_critical(1 - ALPHA / splits, point_count - 3)


def best_split(points: Sequence[SeriesPoint]) -> Step | None:
    """The split with the largest t, whether or not it beats the threshold; None for a series
    shorter than ``MIN_POINTS``."""
    _check(points)
    count = len(points)
    if count < MIN_POINTS:
        return None
    values = [point.value for point in points]
    ci_variance = _ci_variance(points)
    squared_differences = [(b - a) ** 2 for a, b in itertools.pairwise(values)]
    total_squared = sum(squared_differences)
    best: Step | None = None
    threshold = step_threshold(count)
    for split in range(MIN_SEGMENT_POINTS, count - MIN_SEGMENT_POINTS + 1):
        before = values[:split]
        after = values[split:]
        before_mean = sum(before) / len(before)
        after_mean = sum(after) / len(after)
        # The difference across the split is the step itself, not noise.
        series_variance = (total_squared - squared_differences[split - 1]) / (2 * (count - 2))
        noise = math.sqrt(max(series_variance, ci_variance))
        t = _t_statistic(after_mean - before_mean, noise, len(before), len(after))
        if best is None or t > best.t_statistic:
            best = Step(split, before_mean, after_mean, t, threshold, noise)
    return best


def find_steps(points: Sequence[SeriesPoint]) -> list[Step]:
    """Every step of the series, in order (binary segmentation; the module doc says how)."""
    return _steps_in(points, offset=0)


def _steps_in(points: Sequence[SeriesPoint], offset: int) -> list[Step]:
    step = best_split(points)
    if step is None or not step.t_statistic > step.threshold:
        return []
    found = Step(
        step.index + offset,
        step.before_mean,
        step.after_mean,
        step.t_statistic,
        step.threshold,
        step.noise,
    )
    return [
        *_steps_in(points[: step.index], offset),
        found,
        *_steps_in(points[step.index :], offset + step.index),
    ]


def _t_statistic(difference: float, noise: float, before_count: int, after_count: int) -> float:
    if noise == 0:
        # Values without any scatter and without CIs: any difference at all is a step.
        return 0.0 if difference == 0 else math.inf
    return abs(difference) / (noise * math.sqrt(1 / before_count + 1 / after_count))


def _ci_variance(points: Sequence[SeriesPoint]) -> float:
    """The runs' mean within-run variance from their CIs; 0 where none has a CI."""
    variances = [(point.ci95 / Z_95) ** 2 for point in points if point.ci95 is not None]
    return sum(variances) / len(variances) if variances else 0.0


def _check(points: Sequence[SeriesPoint]) -> None:
    for index, point in enumerate(points):
        if not math.isfinite(point.value):
            raise ValueError(f"point {index}: value {point.value!r} is not a finite number")
        if point.ci95 is not None and not (math.isfinite(point.ci95) and point.ci95 >= 0):
            raise ValueError(f"point {index}: CI95 {point.ci95!r} is not a finite number >= 0")
