"""Latency percentiles: the time one pass of the batch took, at p50, p90 and p99, over the
passes the energy windows cover.

A pass's time is the gap between its completion and the one before it, with passes running
back to back: the device's time for the pass where the device sets the pace, the host's time to
launch it where the host does (batch 1 on a GPU). It is the time per pass under load, not a lone
request's latency on an idle device (launch, queue and synchronize included), which a serving
benchmark such as MLPerf's single-stream scenario measures.

A gap is a reading only where each pass has a completion time of its own: on the host always,
on a GPU where a marker follows each pass (passes of at least half of
``ProtocolSettings.marker_spacing_seconds``). Where one marker closes several passes, the passes
between two markers are spaced evenly (measure/protocol/clocks.py), so their gaps are a group's
mean and the tail is smoothed away: the percentiles are then unknown, not guessed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

LATENCY_QUANTILES = (0.50, 0.90, 0.99)


@dataclass(frozen=True)
class PassTimePercentiles:
    """Seconds per pass at p50, p90 and p99; None where it could not be known."""

    p50_seconds: float | None = None
    p90_seconds: float | None = None
    p99_seconds: float | None = None


UNKNOWN = PassTimePercentiles()


def window_stats_fields(percentiles: PassTimePercentiles) -> dict[str, float | None]:
    """The percentiles as WindowStats holds them (``pass_seconds_p50`` and on)."""
    return {
        "pass_seconds_p50": percentiles.p50_seconds,
        "pass_seconds_p90": percentiles.p90_seconds,
        "pass_seconds_p99": percentiles.p99_seconds,
    }


def milliseconds_by_percentile(percentiles: PassTimePercentiles) -> dict[int, float | None]:
    """``{50: ms, 90: ms, 99: ms}``: the time of one pass at each percentile in milliseconds,
    None where it is not known."""
    seconds = (percentiles.p50_seconds, percentiles.p90_seconds, percentiles.p99_seconds)
    return {
        round(100 * quantile): None if value is None else value * 1000
        for quantile, value in zip(LATENCY_QUANTILES, seconds, strict=True)
    }


def gaps_needed(quantile: float) -> int:
    """The fewest gaps whose ``quantile`` is not simply their largest: 2 for p50, 10 for p90,
    100 for p99."""
    return round(1 / (1 - quantile))


def nearest_rank(sorted_values: Sequence[float], quantile: float) -> float | None:
    """The smallest value that at least ``quantile`` of ``sorted_values`` do not exceed (the
    nearest-rank percentile, always a value that was seen); None with fewer than
    ``gaps_needed(quantile)`` values."""
    if len(sorted_values) < gaps_needed(quantile):
        return None
    return sorted_values[math.ceil(quantile * len(sorted_values)) - 1]


def pass_time_percentiles(
    completions: Sequence[float],
    *,
    start_seconds: float,
    end_seconds: float,
    passes_per_reading: int,
) -> PassTimePercentiles:
    """The percentiles of the gaps between consecutive ``completions`` (host instants, in
    order) that both lie within [``start_seconds``, ``end_seconds``]; UNKNOWN where a reading
    spans more than one pass (see the module's docstring)."""
    if passes_per_reading != 1:
        return UNKNOWN
    inside = [seconds for seconds in completions if start_seconds <= seconds <= end_seconds]
    gaps = sorted(later - earlier for earlier, later in pairwise(inside))
    p50, p90, p99 = (nearest_rank(gaps, quantile) for quantile in LATENCY_QUANTILES)
    return PassTimePercentiles(p50, p90, p99)


def worst_of(percentiles: Sequence[PassTimePercentiles]) -> PassTimePercentiles:
    """Several measurements of one item as one: each percentile the largest of theirs, None
    where any is unknown. A pooled percentile lies between the smallest and the largest of the
    parts' (each part holds at least that share of its gaps below its own), so the largest is an
    upper bound of the pooled one, the side a latency gate must err on."""

    def largest(values: Sequence[float | None]) -> float | None:
        known = [value for value in values if value is not None]
        return max(known) if known and len(known) == len(values) else None

    return PassTimePercentiles(
        largest([p.p50_seconds for p in percentiles]),
        largest([p.p90_seconds for p in percentiles]),
        largest([p.p99_seconds for p in percentiles]),
    )
