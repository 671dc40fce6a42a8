"""Values with their uncertainty, and the one rule for comparing them.

An ``Estimate`` is a value and the half-width of its interval: a 95 % CI for our tables, one
standard deviation for the seed tool's, which has no CI (``rows.reduction_uncertainty`` says which
kind a table has). Two estimates whose intervals overlap are indistinguishable: the data do not
say which is larger, and a finding must not pick one by a tie-break. Where an uncertainty is
unknown, only exact ties are indistinguishable, and sentences say that the uncertainty is unknown.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ...measure.stats import ci95_of_mean

CI95 = "95 % CI"
STD = "one STD"


@dataclass(frozen=True)
class Estimate:
    """``value`` ± ``half_width`` (None: unknown)."""

    value: float
    half_width: float | None = None

    def text(self, spec: str = ".1f", unit: str = "") -> str:
        """``12.3 ± 0.4 %``, or ``12.3 %`` where the half-width is unknown; a half-width that
        ``spec`` would show as 0 gets one significant digit instead."""
        if self.half_width is None:
            return f"{self.value:{spec}}{unit}"
        width = f"{self.half_width:{spec}}"
        if self.half_width > 0 and float(width) == 0:
            width = f"{self.half_width:.1g}"
        return f"{self.value:{spec}} ± {width}{unit}"


def known(half_width: float | None) -> float | None:
    """A half-width, or None where it is missing or not finite."""
    if half_width is None or not math.isfinite(half_width):
        return None
    return float(half_width)


def any_unknown(estimates: Iterable[Estimate]) -> bool:
    """Whether the uncertainty of any of ``estimates`` is unknown: a comparison resting on it
    can tell only an exact tie from a difference, and its sentence must say so."""
    return any(estimate.half_width is None for estimate in estimates)


def indistinguishable(a: Estimate, b: Estimate) -> bool:
    """Whether the intervals of ``a`` and ``b`` overlap (touching counts); with an unknown
    half-width, whether the values are equal."""
    if a.value == b.value:
        return True
    if a.half_width is None or b.half_width is None:
        return False
    return abs(a.value - b.value) <= a.half_width + b.half_width


def mean_estimate(estimates: Sequence[Estimate]) -> Estimate:
    """The mean of independent estimates, its half-width from theirs; unknown if any is."""
    if not estimates:
        raise ValueError("the mean of no estimates is not defined")
    value = sum(estimate.value for estimate in estimates) / len(estimates)
    widths = [estimate.half_width for estimate in estimates]
    if any(width is None for width in widths):
        return Estimate(value, None)
    return Estimate(value, ci95_of_mean([float(width) for width in widths if width is not None]))


def leaders(estimates: Mapping[str, Estimate], *, highest: bool = True) -> list[str]:
    """The labels whose estimate is indistinguishable from the highest one (or the lowest),
    highest first (lowest first); several where the data cannot tell them apart."""
    if not estimates:
        return []
    ordered = sorted(estimates, key=lambda label: (-estimates[label].value, label))
    if not highest:
        ordered.reverse()
    top = estimates[ordered[0]]
    return [label for label in ordered if indistinguishable(top, estimates[label])]


def listed(items: Iterable[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    words = list(items)
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def span(values: Iterable[float], spec: str = ".2f", unit: str = "") -> str:
    """``0.86-0.91`` (or one value where all are equal), for a range over several fits."""
    numbers = [value for value in values if math.isfinite(value)]
    if not numbers:
        return "unknown"
    low, high = min(numbers), max(numbers)
    if f"{low:{spec}}" == f"{high:{spec}}":
        return f"{low:{spec}}{unit}"
    separator = " to " if low < 0 else "-"
    return f"{low:{spec}}{separator}{high:{spec}}{unit}"


def kind_text(kind: str | None) -> str:
    """How a sentence names the uncertainty it quotes."""
    if kind == CI95:
        return "± 95 % CI"
    if kind == STD:
        return "± one STD of the trials; the CSV has no CI"
    return "uncertainty unknown"
