import math

import pytest

from pytest_pruneenergy.measure.stats import student_t_critical
from pytest_pruneenergy.report.findings.proportionality import (
    CANNOT_TELL,
    DOUBLES,
    LESS_THAN_DOUBLES,
    MORE_THAN_DOUBLES,
    SEED_PARAMETERS_CAVEAT,
    doubling_range,
    doubling_ratio,
    doubling_verdict,
    fit_line,
    noise_variance,
    proportionality,
    proportionality_sentences,
)
from pytest_pruneenergy.report.findings.uncertainty import Estimate

from ..tables import as_seed_tool, curve, table, unpruned


def flops_fit(results):
    (fit,) = [fit for fit in proportionality(results) if fit.cr_kind == "flops"]
    return fit


def test_a_line_through_the_origin_doubles_the_saving_with_the_cr():
    fit = flops_fit(table(unpruned(), *curve([8, 16, 24, 32])))

    assert (fit.architecture, fit.pruning_distribution, fit.batch_size) == ("VGG16", "PD1", 8)
    assert fit.line.slope.value == pytest.approx(0.8)
    assert fit.line.intercept.value == pytest.approx(0.0, abs=1e-9)
    assert fit.line.r_squared == pytest.approx(1.0)
    assert fit.line.points == 5  # four pruned models and the unpruned one at (0, 0)
    assert fit.doubling_ratio == pytest.approx(1.0)
    assert fit.doubling == DOUBLES


# Reduction = CR - 10 at CR 10..100: with the unpruned model at (0, 0) the least-squares line
# has slope 0.95 and intercept -6.8, whose 95 % CI (+- 3.5 from the scatter) stays below 0.
BELOW_ORIGIN = [cr - 10 for cr in range(10, 101, 10)]


@pytest.mark.parametrize(
    ("intercept", "ratio_range", "verdict"),
    [
        (Estimate(-5.0, 2.0), None, MORE_THAN_DOUBLES),
        (Estimate(5.0, 2.0), None, LESS_THAN_DOUBLES),
        (Estimate(0.0, None), None, DOUBLES),  # exact: no uncertainty
        (Estimate(-1.0, 2.0), (0.95, 1.08), DOUBLES),  # the whole CI within 10 % of x1
        (Estimate(-1.0, 2.0), (0.8, 1.3), CANNOT_TELL),  # holds 0, but allows far from x1
        (Estimate(-1.0, 2.0), None, CANNOT_TELL),  # unbounded
    ],
)
def test_the_doubling_question_is_the_intercepts_and_needs_a_narrow_ci_to_say_doubles(
    intercept, ratio_range, verdict
):
    assert doubling_verdict(intercept, ratio_range) == verdict


def test_the_doubling_range_is_the_ratio_at_either_end_of_the_intercepts_ci():
    # Saving 0.5 % per %, intercept 0 +- 2, median CR 20: 10 % at the median.
    low, high = doubling_range(0.5, Estimate(0.0, 2.0), 20.0)
    assert low == pytest.approx((20 + 2) / (2 * (10 + 2)))
    assert high == pytest.approx((20 - 2) / (2 * (10 - 2)))
    # An intercept CI wide enough to make the saving at the median 0: unbounded.
    assert doubling_range(0.5, Estimate(0.0, 12.0), 20.0) is None


def test_a_line_below_the_origin_more_than_doubles_the_saving():
    fit = flops_fit(table(unpruned(), *curve(BELOW_ORIGIN)))

    assert fit.line.intercept.value == pytest.approx(-6.818, abs=1e-3)
    assert fit.doubling == MORE_THAN_DOUBLES
    assert fit.doubling_ratio > 1


def test_a_line_above_the_origin_less_than_doubles_the_saving():
    fit = flops_fit(table(unpruned(), *curve([cr + 10 for cr in range(10, 101, 10)])))

    assert fit.doubling == LESS_THAN_DOUBLES
    assert fit.doubling_ratio < 1


def test_an_intercept_whose_wide_ci_holds_zero_cannot_tell():
    # The same curve, but each point as uncertain as the intercept is far from 0.
    fit = flops_fit(table(unpruned(ci95=0.2), *curve(BELOW_ORIGIN, ci95=0.2)))

    assert fit.line.intercept.value < 0
    assert fit.doubling == CANNOT_TELL
    low, high = fit.doubling_range
    assert low < 1 - 0.1 or high > 1 + 0.1


def test_the_parameter_fit_uses_the_parameter_cr():
    fits = {fit.cr_kind: fit for fit in proportionality(table(unpruned(), *curve([8, 16, 24])))}

    assert fits["params"].line.slope.value == pytest.approx(0.4)  # parameter CR = 2 x FLOPs CR
    assert fits["flops"].line.slope.value == pytest.approx(0.8)


def test_the_cis_come_from_the_larger_of_the_scatter_and_the_points_uncertainty():
    exact = fit_line([0, 1, 2], [0, 1, 2])
    assert exact.slope.half_width == 0.0
    measured = fit_line([0, 1, 2], [0, 1, 2], [1.0, 1.0, 1.0])
    # variance 1, x spread 2, t at 1 degree of freedom.
    assert measured.slope.half_width == pytest.approx(student_t_critical(0.95, 1) / math.sqrt(2))
    assert noise_variance(4.0, [1.0, math.nan]) == 4.0
    assert noise_variance(0.5, [1.0, 3.0]) == pytest.approx(5.0)


def test_too_few_points_or_one_cr_make_no_line():
    assert fit_line([0, 1], [0, 1]) is None
    assert fit_line([2, 2, 2], [0, 1, 2]) is None


def test_the_doubling_ratio_is_below_one_when_the_line_starts_above_zero():
    # 10 % + 0.5 % per %: 20 % at CR 20, 30 % at CR 40; 30 / (2 * 20) = 0.75.
    assert doubling_ratio(0.5, 10.0, 20.0) == pytest.approx(0.75)
    assert doubling_ratio(0.0, 0.0, 20.0) is None


def test_the_sentences_answer_the_doubling_question_per_architecture_and_batch_size():
    results = table(unpruned(), *curve(BELOW_ORIGIN), *curve([8, 16, 24, 32], 2))
    flops, params = proportionality_sentences(results)

    assert flops.startswith("VGG16, batch 8: energy reduction against FLOPs CR is ")
    assert "doubling the CR more than doubles the saving for PD1" in flops
    assert "doubling the CR doubles the saving for PD2 (x1.00-1.00 from the median CR" in flops
    assert params.startswith("VGG16, against parameter CR over 2 curves")
    assert SEED_PARAMETERS_CAVEAT not in params


def test_a_sentence_says_the_data_cannot_tell_where_the_intercepts_ci_is_wide():
    results = table(unpruned(ci95=0.2), *curve(BELOW_ORIGIN, ci95=0.2))
    flops = proportionality_sentences(results)[0]
    assert "the data cannot tell whether doubling the CR doubles the saving: the intercept's" in (
        flops
    )
    assert "doubles the saving (" not in flops


def test_parameter_findings_on_the_seeds_data_say_what_its_counts_hold():
    results = as_seed_tool(table(unpruned(std=0.01), *curve([8, 16, 24, 32], std=0.01)))
    assert proportionality_sentences(results)[-1].endswith(f"note: {SEED_PARAMETERS_CAVEAT}")
