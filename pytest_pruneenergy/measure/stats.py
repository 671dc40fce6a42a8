"""Small statistics, without scipy: Student's t, confidence intervals, a ratio estimator."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RatioEstimate:
    """``value`` = sum of numerators / sum of denominators, with its 95 % CI half-width."""

    value: float
    ci95: float


def ratio_estimate(numerators: Sequence[float], denominators: Sequence[float]) -> RatioEstimate:
    """Joules per sample over windows: total joules over total samples, and the CI of that
    ratio from how the windows scatter around it (the usual ratio-estimator variance).

    Windows are adjacent spans of a continuous run, each several meter updates long, so power
    that wanders from one update to the next shows up as scatter between windows, and widens
    the interval as it should.
    """
    count = len(numerators)
    if count != len(denominators):
        raise ValueError("numerators and denominators differ in length")
    if count < 2:
        raise ValueError(f"a ratio's confidence interval needs at least 2 windows, got {count}")
    total_denominator = sum(denominators)
    if total_denominator <= 0:
        raise ValueError("the denominators must add up to more than 0")
    value = sum(numerators) / total_denominator
    residuals = [y - value * x for y, x in zip(numerators, denominators, strict=True)]
    mean_denominator = total_denominator / count
    variance = sum(r * r for r in residuals) / (count - 1) / count
    standard_error = math.sqrt(variance) / mean_denominator
    return RatioEstimate(value, student_t_critical(0.95, count - 1) * standard_error)


def confidence_half_width(values: Sequence[float], confidence: float = 0.95) -> float:
    """Half-width of the Student-t confidence interval of the mean of ``values``."""
    if len(values) < 2:
        raise ValueError(f"a confidence interval needs at least 2 values, got {len(values)}")
    return half_width_from_std(statistics.stdev(values), len(values), confidence)


def half_width_from_std(std: float, count: int, confidence: float = 0.95) -> float:
    """The same half-width from the values' sample standard deviation and how many there were."""
    if count < 2:
        raise ValueError(f"a confidence interval needs at least 2 values, got {count}")
    return student_t_critical(confidence, count - 1) * std / math.sqrt(count)


def student_t_critical(confidence: float, degrees_of_freedom: int) -> float:
    """t such that P(|T| < t) = confidence, e.g. 2.776 for (0.95, 4); exact to ~1e-12.

    Bisection on the closed-form CDF, so no scipy is needed for any confidence or df.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    if degrees_of_freedom < 1:
        raise ValueError(f"degrees_of_freedom must be >= 1, got {degrees_of_freedom}")
    low, high = 0.0, 1.0
    while _t_probability_within(high, degrees_of_freedom) < confidence:
        low, high = high, 2 * high
    for _ in range(100):
        middle = (low + high) / 2
        if _t_probability_within(middle, degrees_of_freedom) < confidence:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _t_probability_within(t: float, degrees_of_freedom: int) -> float:
    """P(|T| < t) for Student's t with integer df: Abramowitz & Stegun 26.7.3 and 26.7.4."""
    theta = math.atan(t / math.sqrt(degrees_of_freedom))
    cos_squared = math.cos(theta) ** 2
    if degrees_of_freedom % 2 == 1:
        # (2/pi) (theta + sin cos [1 + 2/3 cos^2 + 2*4/(3*5) cos^4 + ... up to cos^(df-3)])
        series, term = 0.0, math.sin(theta) * math.cos(theta)
        for k in range(1, (degrees_of_freedom - 1) // 2 + 1):
            series += term
            term *= 2 * k / (2 * k + 1) * cos_squared
        return 2 / math.pi * (theta + series)
    # sin [1 + 1/2 cos^2 + 1*3/(2*4) cos^4 + ... up to cos^(df-2)]
    series, term = 0.0, 1.0
    for k in range(1, degrees_of_freedom // 2 + 1):
        series += term
        term *= (2 * k - 1) / (2 * k) * cos_squared
    return math.sin(theta) * series


def reduction_ci95_points(
    pruned: float, pruned_ci95: float, baseline: float, baseline_ci95: float
) -> float:
    """95 % half-width, in percentage points, of the reduction ``100 - 100 * pruned / baseline``.

    First-order propagation of two independent half-widths, the relative errors adding in
    quadrature: ``100 * (Ep / Eb) * sqrt((ci_p / Ep)^2 + (ci_b / Eb)^2)``, written as
    ``100 * hypot(ci_p, (Ep / Eb) * ci_b) / Eb`` so that Ep = 0 does not divide by zero.
    The caller makes sure ``baseline`` is positive.
    """
    return 100.0 * math.hypot(pruned_ci95, pruned / baseline * baseline_ci95) / baseline


def ci95_of_mean(ci95s: Sequence[float]) -> float:
    """The 95 % half-width of a mean of independent values with these half-widths."""
    return math.sqrt(sum(ci * ci for ci in ci95s)) / len(ci95s)


def stdev_or_nan(values: Sequence[float]) -> float:
    """The sample SD; NaN for fewer than two values (never 0: one value shows no spread)."""
    return statistics.stdev(values) if len(values) > 1 else math.nan


def half_width_or_inf(values: Sequence[float]) -> float:
    """The 95 % CI half-width of the mean; infinite for fewer than two values."""
    return confidence_half_width(values) if len(values) > 1 else math.inf
