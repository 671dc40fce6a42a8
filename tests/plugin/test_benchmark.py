"""pytest-benchmark's share of an item: how long its timing may take, how many passes."""

from __future__ import annotations

import pytest

from pytest_pruneenergy.plugin.benchmark import (
    MAX_BENCHMARK_SECONDS,
    MAX_ROUNDS,
    MIN_ROUNDS,
    benchmark_budget_seconds,
    benchmark_rounds,
)


@pytest.mark.parametrize(
    ("max_seconds", "budget_seconds"),
    [(1.0, 0.02), (2.5, MAX_BENCHMARK_SECONDS), (10.0, MAX_BENCHMARK_SECONDS)],
)
def test_the_timing_gets_a_share_of_the_cap_and_never_more_than_its_ceiling(
    max_seconds, budget_seconds
):
    assert benchmark_budget_seconds(max_seconds) == pytest.approx(budget_seconds)


@pytest.mark.parametrize(
    ("seconds_per_pass", "rounds"),
    [(0.001, 50), (0.03, MIN_ROUNDS), (1e-5, MAX_ROUNDS), (0.0, MAX_ROUNDS)],
)
def test_as_many_passes_as_fit_the_budget_within_the_bounds(seconds_per_pass, rounds):
    assert benchmark_rounds(seconds_per_pass, 0.05) == rounds
