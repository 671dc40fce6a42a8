"""Latency percentiles from completion times: known gaps give known percentiles, and what
cannot be known is None."""

from __future__ import annotations

import itertools

import pytest

from pytest_pruneenergy.measure.latency import (
    UNKNOWN,
    PassTimePercentiles,
    gaps_needed,
    nearest_rank,
    pass_time_percentiles,
    worst_of,
)


def completions_of(gaps: list[float], start: float = 10.0) -> list[float]:
    return [start, *itertools.accumulate(gaps, initial=start)][1:]


def test_nearest_rank_is_a_value_that_was_seen():
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert nearest_rank(values, 0.50) == 50.0
    assert nearest_rank(values, 0.90) == 90.0
    assert nearest_rank(values, 0.99) == 99.0


@pytest.mark.parametrize(("quantile", "needed"), [(0.50, 2), (0.90, 10), (0.99, 100)])
def test_too_few_gaps_leave_a_percentile_unknown(quantile, needed):
    assert gaps_needed(quantile) == needed
    assert nearest_rank([1.0] * (needed - 1), quantile) is None
    assert nearest_rank([1.0] * needed, quantile) == 1.0


def test_percentiles_of_the_gaps_inside_the_span_only():
    # 200 passes of 1 ms with every 20th taking 5 ms (5 %): p50 and p90 1 ms, p99 5 ms.
    gaps = [0.005 if i % 20 == 19 else 0.001 for i in range(200)]
    completions = completions_of(gaps)
    # A long stall before the span and one after it must not count.
    before, after = completions[0] - 1.0, completions[-1] + 1.0
    percentiles = pass_time_percentiles(
        [before, *completions, after],
        start_seconds=completions[0],
        end_seconds=completions[-1],
        passes_per_reading=1,
    )
    assert percentiles.p50_seconds == pytest.approx(0.001)
    assert percentiles.p90_seconds == pytest.approx(0.001)
    assert percentiles.p99_seconds == pytest.approx(0.005)


def test_passes_timed_in_groups_give_no_percentiles():
    completions = completions_of([0.001] * 500)
    percentiles = pass_time_percentiles(
        completions,
        start_seconds=completions[0],
        end_seconds=completions[-1],
        passes_per_reading=4,
    )
    assert percentiles == UNKNOWN
    assert percentiles.p99_seconds is None


def test_fifty_passes_give_p50_and_p90_but_no_p99():
    completions = completions_of([0.002] * 50)
    percentiles = pass_time_percentiles(
        completions, start_seconds=0.0, end_seconds=100.0, passes_per_reading=1
    )
    assert percentiles.p50_seconds == pytest.approx(0.002)
    assert percentiles.p90_seconds == pytest.approx(0.002)
    assert percentiles.p99_seconds is None


def test_rounds_combine_to_each_percentiles_largest():
    one = PassTimePercentiles(0.001, 0.002, 0.004)
    two = PassTimePercentiles(0.0012, 0.0015, 0.006)
    assert worst_of([one, two]) == PassTimePercentiles(0.0012, 0.002, 0.006)


def test_a_round_without_a_percentile_leaves_the_combined_one_unknown():
    one = PassTimePercentiles(0.001, 0.002, 0.004)
    two = PassTimePercentiles(0.001, 0.002, None)
    assert worst_of([one, two]) == PassTimePercentiles(0.001, 0.002, None)
