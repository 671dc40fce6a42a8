"""Step detection over a series: the method's edge cases and its false-alarm rate, simulated."""

from __future__ import annotations

import math
import random

import pytest

from pytest_pruneenergy.track.steps import (
    MIN_POINTS,
    SeriesPoint,
    best_split,
    find_steps,
    step_threshold,
)

# A 95 % CI of 1 % of the value (the adaptive protocol's default target) and a run-to-run scatter
# of 0.5 % of it: what a GPU history looks like.
CI_FRACTION = 0.01
SCATTER_FRACTION = 0.005


def series(levels: list[float], seed: int, *, ci: bool = True) -> list[SeriesPoint]:
    generator = random.Random(seed)
    return [
        SeriesPoint(
            level * (1 + generator.gauss(0, SCATTER_FRACTION)), CI_FRACTION * level if ci else None
        )
        for level in levels
    ]


def test_a_planted_8_percent_step_is_found_at_its_commit():
    points = series([1.0] * 6 + [1.08] * 6, seed=1)
    [step] = find_steps(points)
    assert step.index == 6
    assert step.change_fraction == pytest.approx(0.08, abs=0.01)
    assert step.t_statistic > step.threshold


def test_a_creep_of_1_percent_a_commit_over_ten_commits_is_flagged():
    points = series([1.01**commit for commit in range(11)], seed=2)
    steps = find_steps(points)
    assert steps
    assert all(step.change_fraction > 0.03 for step in steps)


@pytest.mark.parametrize("seed", range(20))
def test_noise_alone_is_not_a_step(seed):
    assert find_steps(series([1.0] * 12, seed=seed)) == []


def test_noise_alone_flags_well_under_1_percent_of_series_of_any_length():
    """The calibration the module doc quotes: pure noise without CIs (so that only the
    series' own scatter sets the noise: the worst case), 5,000 series of each length. Measured
    with this seed: at most 0.28 % (10 points), none at 5; over 40,000 series of each length the
    worst is 0.38 % (15 points)."""
    # A 1 % rate would give 50 flags in 5,000 series, and fewer than 25 (< 0.5 %) with p = 3e-5;
    # with 4,000 that p is 2e-4, with 3,000 it is 9e-4.
    series_per_length = 5000
    generator = random.Random(17)
    rates = {}
    for count in (5, 6, 8, 10, 15, 30):
        flagged = 0
        for _ in range(series_per_length):
            points = [SeriesPoint(generator.gauss(0, 1)) for _ in range(count)]
            step = best_split(points)
            flagged += step is not None and step.t_statistic > step.threshold
        rates[count] = flagged / series_per_length
    assert max(rates.values()) < 0.005, rates


def test_too_few_points_are_never_a_step():
    points = [SeriesPoint(1.0), SeriesPoint(1.0), SeriesPoint(2.0), SeriesPoint(2.0)]
    assert len(points) < MIN_POINTS
    assert best_split(points) is None
    assert find_steps(points) == []
    with pytest.raises(ValueError, match="a step needs at least 5 points, got 4"):
        step_threshold(4)


def test_without_cis_the_series_scatter_alone_judges():
    points = series([1.0] * 6 + [1.08] * 6, seed=3, ci=False)
    [step] = find_steps(points)
    assert step.index == 6


def test_wide_cis_hide_a_step_that_the_scatter_alone_would_show():
    levels = [1.0] * 6 + [1.08] * 6
    narrow = series(levels, seed=4)
    wide = [SeriesPoint(point.value, 0.3) for point in narrow]
    assert find_steps(narrow)
    assert find_steps(wide) == []


@pytest.mark.parametrize("where", [0, 5, 11])
def test_a_single_outlier_is_not_a_step(where):
    points = series([1.0] * 12, seed=5)
    points[where] = SeriesPoint(points[where].value * 1.5, points[where].ci95)
    assert find_steps(points) == []


def test_a_flat_series_without_scatter_or_cis_has_no_step_and_any_jump_is_one():
    assert find_steps([SeriesPoint(2.0)] * 8) == []
    [step] = find_steps([SeriesPoint(2.0)] * 4 + [SeriesPoint(2.5)] * 4)
    assert (step.index, step.t_statistic, step.change_fraction) == (4, math.inf, 0.25)


def test_a_step_up_and_a_step_back_down_are_both_found():
    points = series([1.0] * 8 + [1.2] * 8 + [1.0] * 8, seed=6)
    assert [step.index for step in find_steps(points)] == [8, 16]


def test_a_level_of_zero_has_no_relative_change():
    [step] = find_steps([SeriesPoint(0.0)] * 4 + [SeriesPoint(1.0)] * 4)
    assert step.change_fraction is None


@pytest.mark.parametrize(
    ("point", "message"),
    [
        (SeriesPoint(math.nan), "point 2: value nan is not a finite number"),
        (SeriesPoint(1.0, -0.1), "point 2: CI95 -0.1 is not a finite number >= 0"),
        (SeriesPoint(1.0, math.inf), "point 2: CI95 inf is not a finite number >= 0"),
    ],
)
def test_a_bad_point_is_refused_with_its_index(point, message):
    points = [SeriesPoint(1.0)] * 5
    points[2] = point
    with pytest.raises(ValueError, match=message):
        find_steps(points)


def test_the_threshold_falls_with_the_series_length():
    thresholds = [step_threshold(count) for count in (5, 6, 10, 30)]
    assert thresholds == sorted(thresholds, reverse=True)
    assert thresholds[-1] > 3  # never looser than a plain two-sided test at a few per mille
