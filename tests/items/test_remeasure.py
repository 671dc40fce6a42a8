"""Which items are in doubt, and how a second measurement settles their row."""

from __future__ import annotations

import pytest

from pytest_pruneenergy.items.measurement import AT_POWER_LIMIT, Measurement, disturbances_against
from pytest_pruneenergy.items.remeasure import (
    AGREES,
    DISAGREES,
    KEPT_RERUN,
    RERUN_DISTURBED,
    RERUN_FAILED,
    contradictions,
    differ_beyond_cis,
    remeasure_words,
    rerun_failed,
    settle,
    suspicious_items,
)

from ..factories import make_measurement, make_stats

MODEL = "VGG16_CIFAR10_UNPRUNED"
NEIGHBOUR = "other process(es) on the GPU (pid 4242)"
POWER_CAP = "clocks held back (power cap)"


def at(batch_size: int, joules: float, ci95: float = 0.01, **fields) -> Measurement:
    stats = make_stats(joules_per_sample_mean=joules, joules_per_sample_ci95=ci95)
    return make_measurement(MODEL, batch_size, stats=stats, **fields)


# -- telling two figures apart ------------------------------------------------------------------


def test_two_figures_differ_beyond_their_cis_added_in_quadrature() -> None:
    # CIs of 0.03 and 0.04: their difference's half-width is 0.05.
    assert not differ_beyond_cis(at(8, 1.00, 0.03), at(8, 1.049, 0.04))
    assert differ_beyond_cis(at(8, 1.00, 0.03), at(8, 1.051, 0.04))


def test_figures_within_half_a_percent_agree_whatever_their_cis() -> None:
    assert not differ_beyond_cis(at(8, 1.000, 0.0), at(8, 1.004, 0.0))
    assert differ_beyond_cis(at(8, 1.000, 0.0), at(8, 1.006, 0.0))


# -- contradictions -----------------------------------------------------------------------------


def test_a_spike_above_both_neighbours_beyond_the_cis_is_a_contradiction() -> None:
    assert contradictions([at(1, 4.0), at(8, 1.5), at(16, 1.0), at(32, 0.9)]) == {}
    found = contradictions([at(1, 4.0), at(8, 1.0), at(16, 1.5), at(32, 0.9)])
    # Where energy falls with the batch, a spike leaves its smaller neighbour below both of its
    # own: both are measured again, since one reading alone cannot say which is off.
    assert found == {
        (MODEL, 8, None): "energy per sample below its model's at bs 1 and 16 beyond the CIs",
        (MODEL, 16, None): "energy per sample above its model's at bs 8 and 32 beyond the CIs",
    }


def test_a_dip_below_both_neighbours_is_a_contradiction_too() -> None:
    found = contradictions([at(1, 4.0), at(8, 1.0), at(16, 0.5), at(32, 0.9)])
    assert found == {
        (MODEL, 16, None): "energy per sample below its model's at bs 8 and 32 beyond the CIs"
    }


def test_a_spike_within_the_cis_is_no_contradiction() -> None:
    assert contradictions([at(8, 1.0, 0.1), at(16, 1.1, 0.1), at(32, 0.9, 0.1)]) == {}


def test_the_smallest_and_largest_batch_sizes_are_not_judged() -> None:
    # bs 1 lies below bs 8 and bs 32 above it: each has one neighbour only.
    assert contradictions([at(1, 0.1), at(8, 1.0), at(32, 5.0)]) == {}
    assert contradictions([at(8, 1.0), at(32, 5.0)]) == {}


def test_a_triple_with_a_disturbed_member_is_not_judged() -> None:
    measurements = [at(1, 4.0), at(8, 1.0), at(16, 9.0, disturbances=(NEIGHBOUR,)), at(32, 0.9)]
    assert contradictions(measurements) == {}


def test_models_and_numeric_formats_are_judged_apart() -> None:
    other = make_measurement("VGG11_CIFAR10_UNPRUNED", 8, stats=make_stats())
    bf16 = at(8, 3.0, dtype="bfloat16")
    assert contradictions([at(1, 4.0), other, at(16, 1.0), bf16, at(32, 0.9)]) == {}


# -- which items are measured again -------------------------------------------------------------


def test_disturbed_items_and_contradictions_are_in_doubt_with_their_reasons() -> None:
    measurements = [
        at(1, 4.0, disturbances=(NEIGHBOUR,)),
        at(8, 1.0),
        at(16, 1.5),
        at(32, 1.6),
        at(64, 0.9),
    ]
    assert suspicious_items(measurements) == {
        (MODEL, 1, None): f"measured while disturbed: {NEIGHBOUR}",
        (MODEL, 32, None): "energy per sample above its model's at bs 16 and 64 beyond the CIs",
    }


def test_an_item_measured_twice_already_is_not_measured_again() -> None:
    settled = settle(at(1, 4.0, disturbances=(NEIGHBOUR,)), at(1, 3.0), "measured while disturbed")
    assert suspicious_items([settled, at(8, 1.0)]) == {}


def test_nothing_is_in_doubt_in_a_quiet_consistent_run() -> None:
    assert suspicious_items([at(1, 4.0), at(8, 1.0), at(16, 0.9)]) == {}


# -- settling a row -----------------------------------------------------------------------------


def test_a_disturbed_first_and_a_clean_rerun_keep_the_rerun_and_set_the_first_aside() -> None:
    first = at(8, 2.0, 0.02, disturbances=(NEIGHBOUR,), item_seconds=3.0)
    rerun = at(8, 1.0, 0.01)
    row = settle(first, rerun, "measured while disturbed")
    assert row.stats.joules_per_sample_mean == 1.0
    assert row.disturbances == ()
    assert row.item_seconds == 3.0
    assert row.remeasure is not None
    assert row.remeasure.outcome == KEPT_RERUN
    assert row.remeasure.set_aside_joules_per_sample == 2.0
    assert row.remeasure.set_aside_joules_per_sample_ci95 == 0.02
    assert row.remeasure.set_aside_frames_per_second == first.stats.frames_per_second


def test_a_clean_rerun_that_agrees_keeps_the_first_and_says_so() -> None:
    first, rerun = at(16, 1.5, 0.01), at(16, 1.505, 0.01)
    row = settle(first, rerun, "a contradiction")
    assert row.stats == first.stats
    assert row.disturbances == ()
    assert row.remeasure is not None
    assert (row.remeasure.outcome, row.remeasure.set_aside_joules_per_sample) == (AGREES, 1.505)


def test_a_clean_rerun_that_disagrees_flags_the_row_and_keeps_both() -> None:
    first, rerun = at(16, 1.5, 0.01), at(16, 1.0, 0.01)
    row = settle(first, rerun, "a contradiction")
    assert row.stats == first.stats
    assert row.remeasure is not None
    assert (row.remeasure.outcome, row.remeasure.set_aside_joules_per_sample) == (DISAGREES, 1.0)
    assert row.disturbances == (
        "measured again at the end of the run: 1 J +- 0.01 against 1.5 J +- 0.01 (-33.3 %), "
        "beyond the CIs",
    )


def test_a_disturbed_rerun_leaves_the_first_as_it_was_and_says_what_it_saw() -> None:
    first = at(8, 2.0, disturbances=(NEIGHBOUR,))
    row = settle(first, at(8, 1.9, disturbances=("clocks held back (thermal slowdown)",)), "why")
    assert (row.stats, row.disturbances) == (first.stats, first.disturbances)
    assert row.remeasure is not None
    assert row.remeasure.outcome == RERUN_DISTURBED
    assert row.remeasure.rerun_note == "clocks held back (thermal slowdown)"
    assert row.remeasure.set_aside_joules_per_sample == 1.9


def test_a_model_at_its_own_power_limit_twice_alike_is_its_operating_point_not_a_disturbance():
    first = at(64, 2.0, 0.01, disturbances=(POWER_CAP,))
    row = settle(first, at(64, 2.004, 0.01, disturbances=(POWER_CAP,)), "measured while disturbed")
    assert (row.stats, row.disturbances) == (first.stats, ())
    assert row.at_own_power_limit
    assert row.remeasure is not None
    assert (row.remeasure.outcome, row.remeasure.set_aside_joules_per_sample) == (
        AT_POWER_LIMIT,
        2.004,
    )
    words = remeasure_words(row)
    assert words is not None and "held at the power limit again, and agrees" in words


@pytest.mark.parametrize(
    ("first_saw", "rerun_saw", "rerun_joules"),
    [
        ((POWER_CAP,), (POWER_CAP,), 2.5),  # capped twice, but the two disagree
        ((POWER_CAP, NEIGHBOUR), (POWER_CAP,), 2.0),  # a neighbour beside the cap the first time
        ((POWER_CAP,), (POWER_CAP, NEIGHBOUR), 2.0),  # and the second
        (("clocks held back (power cap, thermal slowdown)",), (POWER_CAP,), 2.0),  # heat too
    ],
)
def test_a_power_cap_with_anything_else_or_a_disagreement_stays_a_disturbance(
    first_saw, rerun_saw, rerun_joules
) -> None:
    first = at(64, 2.0, 0.01, disturbances=first_saw)
    row = settle(first, at(64, rerun_joules, 0.01, disturbances=rerun_saw), "why")
    assert row.disturbances == first_saw
    assert not row.at_own_power_limit
    assert row.remeasure is not None and row.remeasure.outcome == RERUN_DISTURBED


def test_an_sm_clock_set_by_a_models_own_power_limit_is_no_disturbance_of_the_other() -> None:
    capped, clocks = (POWER_CAP,), {"sm_clock_start_mhz": 1760.0, "sm_clock_end_mhz": 1764.0}
    baseline = make_measurement(MODEL, 64, stats=make_stats(**clocks), disturbances=capped)
    pruned_stats = make_stats(sm_clock_start_mhz=1980.0, sm_clock_end_mhz=1980.0)
    pruned = make_measurement("VGG16_CIFAR10_random_PD1_GPR-50_PRUNED", 64, stats=pruned_stats)
    assert disturbances_against(pruned, baseline) == (
        f"its baseline: {POWER_CAP}",
        "SM clock 1980 MHz against its baseline's 1762 MHz",
    )
    settled = settle(baseline, baseline, "measured while disturbed")
    assert disturbances_against(pruned, settled) == ()


def test_a_failed_rerun_leaves_the_first_and_says_why() -> None:
    first = at(8, 2.0, disturbances=(NEIGHBOUR,))
    row = rerun_failed(first, "measured while disturbed", "CUDA out of memory")
    assert (row.stats, row.disturbances) == (first.stats, first.disturbances)
    assert row.remeasure is not None
    assert row.remeasure.outcome == RERUN_FAILED
    assert row.remeasure.set_aside_joules_per_sample is None
    assert remeasure_words(row) == (
        "measured while disturbed. Measured again at the end of the run: the rerun failed "
        "(CUDA out of memory); the row shows the first"
    )


@pytest.mark.parametrize(
    ("first", "rerun", "said"),
    [
        (at(8, 2.0, disturbances=(NEIGHBOUR,)), at(8, 1.0), "the row shows the clean rerun"),
        (at(8, 1.0), at(8, 1.001), "the rerun agrees within the CIs"),
        (at(8, 1.0), at(8, 2.0), "the rerun disagrees beyond the CIs"),
    ],
)
def test_the_remeasured_cell_says_why_and_what_the_rerun_said(first, rerun, said) -> None:
    words = remeasure_words(settle(first, rerun, "the reason"))
    assert words is not None
    assert words.startswith("the reason. Measured again at the end of the run: ")
    assert said in words


def test_an_item_measured_once_has_no_remeasured_cell() -> None:
    assert remeasure_words(at(8, 1.0)) is None


def test_a_settled_measurement_travels_whole() -> None:
    row = settle(at(8, 2.0, disturbances=(NEIGHBOUR,)), at(8, 1.0), "measured while disturbed")
    assert Measurement.from_dict(row.to_dict()) == row
