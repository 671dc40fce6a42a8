import pytest

from pytest_pruneenergy.report.findings.pd_ranking import (
    across_sentence,
    compare_pds,
    compare_pds_per_gpr,
    comparison_sentence,
    ranking_sentences,
)
from pytest_pruneenergy.report.schema import (
    BATCH_SIZE,
    ERROR,
    JOULES_PER_SAMPLE_CI95,
    STATUS,
    STATUS_FAILED,
)

from ..tables import as_seed_tool, pruned, table, unpruned


def at_gpr_50(*reductions_and_ci95: tuple[float, float | None], **kwargs) -> list[dict]:
    return [
        pruned(number, 50, cr_percent=50, reduction_percent=reduction, ci95=ci95, **kwargs)
        for number, (reduction, ci95) in enumerate(reductions_and_ci95, start=1)
    ]


def test_a_pd_clear_of_the_others_saves_most_alone():
    # 100 * 0.59 * hypot(0.001 / 0.59, 0.001) ~ 0.12 points on each reduction.
    results = table(unpruned(ci95=0.001), *at_gpr_50((40.0, 0.001), (45.0, 0.001), (30.0, 0.001)))

    (comparison,) = compare_pds_per_gpr(results)

    assert [s.pruning_distribution for s in comparison.standings] == ["PD2", "PD1", "PD3"]
    assert (comparison.best, comparison.worst) == (("PD2",), ("PD3",))
    assert comparison.standings[0].reduction.value == pytest.approx(45.0)


def test_overlapping_cis_make_pds_indistinguishable_not_a_winner():
    # PD1 40.0 and PD2 41.0, each +- 1.2: their intervals overlap.
    results = table(unpruned(ci95=0.01), *at_gpr_50((40.0, 0.01), (41.0, 0.01), (20.0, 0.01)))

    (comparison,) = compare_pds_per_gpr(results)

    assert comparison.best == ("PD2", "PD1")
    assert comparison_sentence(comparison) == (
        "VGG16, batch 8, GPR 50: PD2 (41.0 ± 1.2 % at FLOPs CR 50 %) and PD1 (40.0 ± 1.2 % at "
        "FLOPs CR 50 %), indistinguishable, save most; PD3 (20.0 ± 1.3 % at FLOPs CR 50 %) "
        "saves least"
    )


def test_an_exact_tie_is_no_win_even_without_a_ci():
    results = table(unpruned(), *at_gpr_50((40.0, None), (40.0, None)))
    (comparison,) = compare_pds_per_gpr(results)
    assert comparison.best == ("PD1", "PD2")
    assert comparison_sentence(comparison).startswith(
        "VGG16, batch 8, GPR 50: all PDs save indistinguishably much"
    )


def test_the_seeds_std_is_the_uncertainty_where_there_is_no_ci():
    # The same reductions as above, with STDs ten times apart: 41 +- 1.2 vs 40 +- 1.2 overlap.
    results = as_seed_tool(
        table(unpruned(std=0.01), *at_gpr_50((40.0, None), (41.0, None), std=0.01))
    )
    (comparison,) = compare_pds_per_gpr(results)
    assert comparison.best == ("PD2", "PD1")


def test_over_all_gprs_pds_are_compared_on_the_gprs_they_share():
    results = table(
        unpruned(ci95=0.001),
        pruned(1, 10, cr_percent=10, reduction_percent=10.0, ci95=0.001),
        pruned(1, 20, cr_percent=20, reduction_percent=20.0, ci95=0.001),
        pruned(1, 30, cr_percent=30, reduction_percent=90.0, ci95=0.001),  # PD2 has no GPR 30
        pruned(2, 10, cr_percent=12, reduction_percent=14.0, ci95=0.001),
        pruned(2, 20, cr_percent=22, reduction_percent=24.0, ci95=0.001),
    )

    (comparison,) = compare_pds(results)

    assert comparison.gprs == (10.0, 20.0)
    assert comparison.best == ("PD2",)
    by_label = {s.pruning_distribution: s for s in comparison.standings}
    assert by_label["PD1"].reduction.value == pytest.approx(15.0)
    assert by_label["PD2"].flops_cr_percent == pytest.approx(17.0)


def test_rows_that_were_not_measured_are_ignored():
    failed = {
        **pruned(4, 50, cr_percent=50, reduction_percent=99.0),
        STATUS: STATUS_FAILED,
        ERROR: "out of memory",
    }
    results = table(unpruned(), pruned(1, 50, cr_percent=48, reduction_percent=40.0), failed)
    (comparison,) = compare_pds_per_gpr(results)
    assert [s.pruning_distribution for s in comparison.standings] == ["PD1"]


def test_across_groups_each_pd_is_counted_where_it_is_among_the_best_and_the_worst():
    results = table(
        unpruned(ci95=0.001),
        unpruned(ci95=0.001, batch_size=1),
        *at_gpr_50((40.0, 0.001), (45.0, 0.001)),
        *at_gpr_50((40.0, 0.01), (40.5, 0.01), batch_size=1),
    )
    assert across_sentence(compare_pds(results)) == (
        "Across the 2 architecture x batch-size groups, over all GPRs: among the PDs saving "
        "most: PD2 in 2 and PD1 in 1; among those saving least: PD1 in 2 and PD2 in 1"
    )


def two_gprs(pd2_at_20: float, pd1_at_20_ci95: float | None = 0.001):
    """PD1 and PD2 at GPR 10 (PD2 clearly ahead) and 20, tight CIs but where given."""
    return table(
        unpruned(ci95=0.001),
        pruned(1, 10, cr_percent=10, reduction_percent=10.0, ci95=0.001),
        pruned(2, 10, cr_percent=10, reduction_percent=20.0, ci95=0.001),
        pruned(1, 20, cr_percent=20, reduction_percent=20.0, ci95=pd1_at_20_ci95),
        pruned(2, 20, cr_percent=20, reduction_percent=pd2_at_20, ci95=0.001),
    )


def test_per_gpr_the_sentence_counts_clear_winners_and_ties():
    results = two_gprs(pd2_at_20=20.0)
    assert ranking_sentences(results)[-1] == (
        "VGG16, batch 8, per GPR: one PD saves most beyond the uncertainty at 1 of 2 GPRs (PD2 "
        "at 10); at 1 (20) two or more PDs save most indistinguishably (± 95 % CI)"
    )


def test_per_gpr_a_gpr_whose_uncertainty_is_unknown_is_not_judged():
    # It read "one PD saves most beyond the uncertainty at 2 of 2 GPRs" of a table with no CI.
    results = two_gprs(pd2_at_20=25.0, pd1_at_20_ci95=None)
    over_gprs, per_gpr = ranking_sentences(results)
    assert per_gpr == (
        "VGG16, batch 8, per GPR: one PD saves most beyond the uncertainty at 1 of 2 GPRs (PD2 "
        "at 10); at 1 (20) a PD's uncertainty is unknown, so none is judged"
    )
    assert over_gprs.endswith("saves least (a PD's uncertainty is unknown: ranked by value alone)")
    # a group ranked by value alone is no count of who saves most
    two_groups = table(
        *results.to_dict("records"),
        *(dict(row, **{BATCH_SIZE: 64}) for row in results.to_dict("records")[:3]),
    )
    assert across_sentence(compare_pds(two_groups)) == (
        "Across the 2 architecture x batch-size groups, over all GPRs (of which 1 with a PD of "
        "unknown uncertainty, not counted): among the PDs saving most: PD2 in 1; among those "
        "saving least: PD1 in 1"
    )
    without_any = table(
        *(dict(row, **{JOULES_PER_SAMPLE_CI95: None}) for row in results.to_dict("records"))
    )
    assert ranking_sentences(without_any)[-1] == (
        "VGG16, batch 8, per GPR: at 2 (10, 20) a PD's uncertainty is unknown, so none is judged"
    )


def test_a_mean_over_gprs_says_how_far_the_gprs_spread_around_it():
    # PD1 saves 20 % at GPR 30 and 40 % at GPR 50: mean 30, SD 14.1; tight measurements.
    rows = [
        pruned(1, 30, cr_percent=30, reduction_percent=20.0, ci95=0.0001),
        pruned(1, 50, cr_percent=50, reduction_percent=40.0, ci95=0.0001),
        pruned(2, 30, cr_percent=30, reduction_percent=10.0, ci95=0.0001),
        pruned(2, 50, cr_percent=50, reduction_percent=30.0, ci95=0.0001),
    ]
    (comparison,) = compare_pds(table(unpruned(ci95=0.0001), *rows))
    assert comparison.standings[0].gpr_spread == pytest.approx(14.142, abs=1e-3)
    sentence = comparison_sentence(comparison)
    assert sentence.startswith("VGG16, batch 8, over GPR 30-50: PD1 (mean 30.0 ± 0.0")
    assert "%, the GPRs spread SD 14.1 points around it at FLOPs CR 40 %) saves most" in sentence
