import math

import pandas as pd
import pytest

from pytest_pruneenergy.report.findings.rows import (
    REDUCTION_HALF_WIDTH,
    analysis_rows,
    from_seed_tool,
    is_baseline,
    reduction_uncertainty,
    sigma,
)
from pytest_pruneenergy.report.findings.uncertainty import CI95, STD
from pytest_pruneenergy.report.schema import is_unpruned_label

from ..tables import as_seed_tool, pruned, table, unpruned


@pytest.mark.parametrize("label", ["N/A", "", None, math.nan, pd.NA, "UNPRUNED", "unpruned"])
def test_the_seeds_and_our_unpruned_labels_all_say_unpruned(label):
    assert is_unpruned_label(label)


def test_a_pd_label_is_not_unpruned():
    assert not is_unpruned_label("PD3")


def test_reductions_carry_their_ci_where_the_table_has_cis():
    rows = analysis_rows(
        table(
            unpruned(ci95=0.01), pruned(1, 50, cr_percent=50, reduction_percent=56.0, ci95=0.0044)
        )
    )
    assert reduction_uncertainty(rows)[1] == CI95
    # 1 % relative error on each: 100 * 0.44 * sqrt(2) * 0.01 points.
    assert rows[REDUCTION_HALF_WIDTH].iloc[1] == pytest.approx(0.62225, rel=1e-4)
    assert math.isnan(rows[REDUCTION_HALF_WIDTH].iloc[0])  # a baseline against itself


def test_the_seed_tools_reductions_carry_its_propagated_std():
    results = as_seed_tool(
        table(unpruned(std=0.01), pruned(1, 50, cr_percent=50, reduction_percent=56.0, std=0.0044))
    )
    rows = analysis_rows(results)
    assert reduction_uncertainty(rows)[1] == STD
    assert rows[REDUCTION_HALF_WIDTH].iloc[1] == pytest.approx(0.62225, rel=1e-4)
    assert from_seed_tool(rows)
    assert not from_seed_tool(analysis_rows(table(unpruned())))


def test_without_any_spread_the_uncertainty_is_unknown():
    rows = analysis_rows(table(unpruned(), pruned(1, 50, cr_percent=50, reduction_percent=56.0)))
    assert reduction_uncertainty(rows)[1] is None
    assert rows[REDUCTION_HALF_WIDTH].isna().all()


def test_baselines_are_found_by_their_label_whichever_the_form():
    results = table(unpruned(), pruned(1, 50, cr_percent=50, reduction_percent=56.0))
    results.loc[0, "Pruning Distribution"] = None  # the seed's notebook 3 leaves it empty
    assert is_baseline(analysis_rows(results)).tolist() == [True, False]


def test_a_ci_is_put_on_the_scale_of_one_standard_deviation():
    assert sigma(1.96, CI95) == pytest.approx(1.0)
    assert sigma(1.0, STD) == 1.0
