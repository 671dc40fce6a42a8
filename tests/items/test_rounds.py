"""Rounds of one item, combined: a CI that covers drift between items minutes apart."""

from __future__ import annotations

import dataclasses
import random
import statistics

import pytest

from pytest_pruneenergy.items.measurement import Measurement
from pytest_pruneenergy.items.rounds import combine, combine_rounds, combined_ci95
from pytest_pruneenergy.measure.ticks import TickWindow
from pytest_pruneenergy.testing.simulated_clock import SimulatedClock, TickingMeter

from ..factories import make_measurement, make_stats
from ..measure.test_protocol import FAST, measure_on, passes_of


def a_round(joules: float, ci95: float, round_number: int) -> Measurement:
    """Round ``round_number`` of one item: its energy and CI, 5 windows, a 1 % CI target."""
    return make_measurement(
        "AlexNet_TINY_UNPRUNED",
        8,
        round_number=round_number,
        stats=make_stats(
            joules_per_sample_mean=joules,
            joules_per_sample_ci95=ci95,
            windows=5,
            target_ci_fraction=0.01,
        ),
    )


def test_rounds_that_agree_keep_their_own_precision():
    # Three rounds at one value: the between-round scatter is nil, the within-round CIs stay.
    assert combined_ci95([1.0, 1.0, 1.0], [0.03, 0.03, 0.03]) == pytest.approx(
        (3 * 0.03**2) ** 0.5 / 3
    )


def test_rounds_that_drift_widen_the_ci_to_the_drift():
    means = [1.00, 1.06, 0.97, 1.04]
    ci = combined_ci95(means, [0.005] * 4)
    assert ci > 0.05  # t(3) x sd / 2: the drift, not the 0.5 % each round reported


def test_one_rounds_ci_misses_drift_that_several_rounds_cover():
    """The host drifts between rounds by 4 % (sd); each round measures its moment to 0.5 %.
    The long-run value is 1.0: a single round's CI holds it rarely, five rounds' CI most often."""
    rng = random.Random(7)
    # A single round holds it 9.8 % of the time, five rounds 95 % (20,000 trials): over 350
    # trials the rates cross 20 % and 90 % with p = 7e-9 and 5e-5.
    single_hits = combined_hits = 0
    trials = 350
    for _ in range(trials):
        means = [1.0 + rng.gauss(0, 0.04) + rng.gauss(0, 0.0025) for _ in range(5)]
        cis = [0.005] * 5
        single_hits += abs(means[0] - 1.0) <= cis[0]
        combined_hits += abs(statistics.fmean(means) - 1.0) <= combined_ci95(means, cis)
    assert single_hits / trials < 0.2
    assert combined_hits / trials >= 0.9


def test_rounds_measured_with_a_drifting_board_cover_its_long_run_draw():
    """The real protocol, on a simulated clock, on a counter whose draw steps between rounds,
    as a host's pace or a board's clocks drift between items minutes apart."""
    # The first round's draw far from the others', so that its own CI cannot hold their mean.
    levels = [60.0, 120.0, 85.0, 112.0]
    rounds = []
    for number, watts in enumerate(levels, start=1):
        clock = SimulatedClock()
        stats = measure_on(clock, passes_of(clock), TickingMeter(clock, watts), FAST)
        rounds.append(
            dataclasses.replace(a_round(1.0, 0.0, number), stats=stats, round_number=number)
        )
    truth = statistics.fmean(
        watts * r.stats.seconds_per_sample_mean for watts, r in zip(levels, rounds, strict=True)
    )
    first = rounds[0].stats
    combined = combine(rounds).stats
    assert abs(first.joules_per_sample_mean - truth) > first.joules_per_sample_ci95
    assert abs(combined.joules_per_sample_mean - truth) <= combined.joules_per_sample_ci95
    # The CI is as wide as the scatter between the rounds says, not the rounds' own CIs.
    round_means = [r.stats.joules_per_sample_mean for r in rounds]
    between = statistics.stdev(round_means) / len(round_means) ** 0.5
    assert combined.joules_per_sample_ci95 >= 2 * between


def test_combined_rounds_keep_the_items_order_and_count_their_rounds():
    other = dataclasses.replace(a_round(2.0, 0.01, 1), model="AlexNet_TINY_random_PD1_GPR-50")
    measurements = [a_round(1.0, 0.01, 1), other, a_round(1.1, 0.01, 2)]
    combined = combine_rounds(measurements)
    assert [m.model for m in combined] == ["AlexNet_TINY_UNPRUNED", other.model]
    assert combined[0].rounds == 2 and combined[0].round_number is None
    assert combined[0].stats.joules_per_sample_mean == pytest.approx(1.05)
    assert combined[0].stats.windows == 10
    assert combined[1] is other  # one round: as it was


def test_combined_rounds_keep_no_windows_of_one_round_as_if_they_were_the_items():
    windows = (TickWindow(0.0, 0.2, 3.0, 1.0), TickWindow(0.2, 0.4, 3.0, 1.0))
    rounds = [dataclasses.replace(a_round(j, 0.01, j), windows=windows) for j in (1, 2)]
    assert combine(rounds).windows == ()


def test_a_combined_item_meets_its_target_only_if_the_combined_ci_does():
    drifting = combine([a_round(1.0, 0.001, 1), a_round(1.2, 0.001, 2)])
    steady = combine([a_round(1.0, 0.001, 1), a_round(1.0, 0.001, 2)])
    assert not drifting.stats.converged
    assert steady.stats.converged


def test_combined_latency_percentiles_are_the_rounds_largest():
    first = make_measurement(
        "M",
        stats=make_stats(pass_seconds_p50=0.001, pass_seconds_p90=0.003, pass_seconds_p99=0.004),
    )
    second = make_measurement(
        "M", stats=make_stats(pass_seconds_p50=0.002, pass_seconds_p90=0.002, pass_seconds_p99=None)
    )
    (combined,) = combine_rounds([first, second])
    assert combined.rounds == 2
    stats = combined.stats
    assert (stats.pass_seconds_p50, stats.pass_seconds_p90) == (0.002, 0.003)
    assert stats.pass_seconds_p99 is None  # unknown in one round: unknown combined


def test_combined_rounds_give_each_reason_their_rounds_stopped_for_once():
    def stopped(reason: str | None, round_number: int) -> Measurement:
        measurement = a_round(1.0, 0.001, round_number)
        return dataclasses.replace(
            measurement, stats=dataclasses.replace(measurement.stats, stop_reason=reason)
        )

    mixed = combine([stopped("target", 1), stopped("out of reach", 2), stopped("target", 3)])
    assert mixed.stats.stop_reason == "target, out of reach"
    assert combine([stopped(None, 1), stopped(None, 2)]).stats.stop_reason is None  # seed
