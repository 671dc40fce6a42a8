import numpy as np
import pytest

from pytest_pruneenergy.report.findings.breaks import (
    best_bend,
    beyond_text,
    breaking_points,
    breaking_sentences,
    dip_sentences,
    low_compression_dip,
)
from pytest_pruneenergy.report.schema import JOULES_PER_SAMPLE_CI95

from ..tables import curve, pruned, table, unpruned

CRS = np.arange(0.0, 80.0, 10.0)  # the unpruned model at 0, then CR 10..70
NO_NOISE = np.zeros(len(CRS))


def test_a_bend_in_an_exact_curve_is_a_breaking_point_at_its_cr():
    # Flat up to CR 20, then 1.5 points per point.
    reductions = np.where(CRS <= 20, 0.0, 1.5 * (CRS - 20))
    bend = best_bend(CRS, reductions, NO_NOISE)

    assert bend.at_cr_percent == 20.0
    assert (bend.slope_before, bend.slope_after) == pytest.approx((0.0, 1.5), abs=1e-9)
    assert bend.breaks


def test_a_straight_line_has_no_breaking_point():
    assert not best_bend(CRS, 0.8 * CRS, NO_NOISE).breaks


def test_wiggles_within_the_data_uncertainty_make_no_breaking_point():
    # +-1 point around a line, each point measured to +-2 points: no bend beyond that.
    wiggles = 0.8 * CRS + np.array([0, 1, -1, 1, -1, 1, -1, 1])
    bend = best_bend(CRS, wiggles, np.full(len(CRS), 2.0))
    assert not bend.breaks


def test_the_same_bend_is_no_breaking_point_when_the_data_are_that_uncertain():
    reductions = np.where(CRS <= 20, 0.0, 0.3 * (CRS - 20))
    assert best_bend(CRS, reductions, NO_NOISE).breaks
    assert not best_bend(CRS, reductions, np.full(len(CRS), 10.0)).breaks


def test_a_curve_too_short_for_a_bend_has_none():
    assert best_bend(CRS[:4], CRS[:4], NO_NOISE[:4]) is None


def test_a_curve_breaks_once_and_the_sentence_says_where():
    results = table(unpruned(), *curve([-5, 0, 15, 30, 45, 60, 75]))

    (found,) = breaking_points(results)
    (sentence,) = breaking_sentences(results)

    assert (found.pruning_distribution, found.bend.at_cr_percent) == ("PD1", 20.0)
    assert sentence.startswith(
        "VGG16, batch 8: 1 of 1 curves against FLOPs CR break beyond their uncertainty, at "
        "FLOPs CR 20 % (PD1): slope"
    )


def test_the_dip_counts_the_pruned_rows_that_cost_energy_and_where_they_are():
    results = table(
        unpruned(ci95=0.01),
        pruned(1, 5, cr_percent=8, reduction_percent=-10.0, ci95=0.01),  # beyond its CI
        pruned(1, 10, cr_percent=15, reduction_percent=-0.5, ci95=0.01),  # within its CI
        pruned(2, 5, cr_percent=9, reduction_percent=-3.0, ci95=0.01),
        pruned(1, 40, cr_percent=50, reduction_percent=30.0, ci95=0.01),
        pruned(1, 30, cr_percent=40, reduction_percent=-2.0, ci95=0.01),
    )

    dip, of_vgg16 = low_compression_dip(results)

    assert (dip.architecture, of_vgg16.architecture) == (None, "VGG16")
    assert (dip.pruned_rows, dip.costing_rows, dip.beyond_uncertainty) == (5, 4, 3)
    assert dip.gprs == (5.0, 30.0)
    assert (dip.main_gprs, dip.in_main_gprs) == ((5.0, 30.0), 4)  # 90 % of 4 needs all 4
    assert dip.flops_crs == (8.0, 40.0)
    assert dip.worst == ("VGG16_ImageNet_random_PD1_GPR-5_PRUNED", 8, -10.0)
    assert dip_sentences(results)[0].startswith(
        "All architectures: 4 of 5 pruned rows use more energy per sample than their unpruned "
        "model at the same batch size (3 of them by more than the uncertainty, 95 % CI)"
    )


def test_a_dip_row_of_unknown_uncertainty_is_never_counted_as_within_it():
    # Counted as not beyond, a table without CIs said "0 of them by more than the uncertainty".
    rows = [
        pruned(1, 5, cr_percent=8, reduction_percent=-10.0, ci95=0.01),  # beyond its CI
        pruned(1, 10, cr_percent=15, reduction_percent=-0.5, ci95=0.01),  # within its CI
        pruned(2, 5, cr_percent=9, reduction_percent=-3.0),  # its CI unknown
    ]
    mixed = low_compression_dip(table(unpruned(ci95=0.01), *rows))[0]
    assert (mixed.costing_rows, mixed.with_known_uncertainty, mixed.beyond_uncertainty) == (3, 2, 1)
    assert beyond_text(mixed, "95 % CI") == (
        "1 of the 2 with a known uncertainty by more than it, 95 % CI"
    )
    assert beyond_text(mixed, brief=True) == "1 of the 2 with a known uncertainty beyond it"

    unknown = table(unpruned(), *(dict(row, **{JOULES_PER_SAMPLE_CI95: None}) for row in rows))
    dip = low_compression_dip(unknown)[0]
    assert (dip.costing_rows, dip.with_known_uncertainty, dip.beyond_uncertainty) == (3, 0, None)
    assert dip_sentences(unknown)[0].startswith(
        "All architectures: 3 of 3 pruned rows use more energy per sample than their unpruned "
        "model at the same batch size (the uncertainty unknown)"
    )
    assert beyond_text(dip, brief=True) == "uncertainty unknown"


def test_the_main_range_holds_nine_in_ten_of_the_dip():
    rows = [pruned(1, 5, cr_percent=8, reduction_percent=-1.0, batch_size=b) for b in range(9)]
    results = table(
        *[unpruned(batch_size=b) for b in range(10)],
        *rows,
        pruned(1, 35, cr_percent=40, reduction_percent=-1.0, batch_size=9),
    )
    dip = low_compression_dip(results)[0]
    assert (dip.main_gprs, dip.in_main_gprs, dip.gprs) == ((5.0, 5.0), 9, (5.0, 35.0))


def test_no_dip_is_said_so():
    results = table(unpruned(), *curve([10, 20]))
    assert dip_sentences(results)[0] == (
        "All architectures: no pruned model uses more energy per sample than its unpruned one"
    )
