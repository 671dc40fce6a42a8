"""The paper's questions answered from result tables whose answers are worked out by hand."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from pytest_pruneenergy.models.naming import format_model_name
from pytest_pruneenergy.report.analysis import (
    BEST_ENERGY_REDUCTION,
    BEST_PRUNED_MODEL,
    MAX_PRUNED_JOULES_PER_SAMPLE,
    MIN_PRUNED_JOULES_PER_SAMPLE,
    UNPRUNED_JOULES_PER_SAMPLE,
    UNPRUNED_JOULES_PER_SAMPLE_CI95,
    architecture_energy,
    breaking_points,
    doubling_ratio,
    findings,
    linearity,
    pareto_front,
    rank_pds,
    read_metadata,
    recommend_batch_size,
    recommend_within_tolerance,
)
from pytest_pruneenergy.report.schema import (
    ARCHITECTURE,
    BATCH_SIZE,
    COLUMNS,
    CR_FLOPS,
    CR_PARAMETERS,
    DATASET,
    ENERGY_REDUCTION,
    ERROR,
    FPS,
    GPR,
    JOULES_PER_SAMPLE,
    JOULES_PER_SAMPLE_CI95,
    MODEL_NAME,
    PRUNING_DISTRIBUTION,
    SEED_COLUMNS,
    STATUS,
    STATUS_FAILED,
    STATUS_MEASURED,
    UNPRUNED_LABEL,
)
from pytest_pruneenergy.report.table import reduction_ci95_or_nan

DATASET_NAME = "ImageNet"


def unpruned(
    architecture: str = "VGG16",
    *,
    batch_size: int = 8,
    joules: float = 1.0,
    ci95: float | None = None,
    fps: float = 100.0,
) -> dict:
    return {
        MODEL_NAME: format_model_name(architecture, DATASET_NAME),
        BATCH_SIZE: batch_size,
        JOULES_PER_SAMPLE: joules,
        JOULES_PER_SAMPLE_CI95: ci95,
        FPS: fps,
        GPR: 0,
        ARCHITECTURE: architecture,
        PRUNING_DISTRIBUTION: UNPRUNED_LABEL,
        DATASET: DATASET_NAME,
        CR_PARAMETERS: 0.0,
        CR_FLOPS: 0.0,
        ENERGY_REDUCTION: 0.0,
        STATUS: STATUS_MEASURED,
    }


def pruned(
    pd_number: int,
    gpr: float,
    *,
    cr_percent: float,
    reduction_percent: float,
    architecture: str = "VGG16",
    batch_size: int = 8,
    unpruned_joules: float = 1.0,
    ci95: float | None = None,
    fps: float = 100.0,
) -> dict:
    """A pruned row whose energy matches its reduction against ``unpruned_joules``; its
    parameter CR is twice its FLOPs CR, so that the two fits differ."""
    return {
        MODEL_NAME: format_model_name(
            architecture,
            DATASET_NAME,
            method="random",
            pruning_distribution=pd_number,
            global_pruning_rate_percent=gpr,
        ),
        BATCH_SIZE: batch_size,
        JOULES_PER_SAMPLE: unpruned_joules * (1 - reduction_percent / 100),
        JOULES_PER_SAMPLE_CI95: ci95,
        FPS: fps,
        GPR: gpr,
        ARCHITECTURE: architecture,
        PRUNING_DISTRIBUTION: f"PD{pd_number}",
        DATASET: DATASET_NAME,
        CR_PARAMETERS: 2 * cr_percent,
        CR_FLOPS: cr_percent,
        ENERGY_REDUCTION: reduction_percent,
        STATUS: STATUS_MEASURED,
    }


def table(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(COLUMNS))


def curve(reductions_percent: list[float], pd_number: int = 1) -> list[dict]:
    """Pruned rows at GPR and FLOPs CR 10, 20, 30... with the given reductions."""
    return [
        pruned(pd_number, 10 * step, cr_percent=10 * step, reduction_percent=reduction)
        for step, reduction in enumerate(reductions_percent, start=1)
    ]


def flops_fit(results: pd.DataFrame):
    (fit,) = [fit for fit in linearity(results) if fit.cr_kind == "flops"]
    return fit


# A model zoo for energy against accuracy at batch 8: C is dominated by B (more energy, lower
# accuracy); A, B and D each trade one against the other.
ZOO = {"A": (0.2, 0.70), "B": (0.4, 0.80), "C": (0.5, 0.75), "D": (0.8, 0.90)}


def zoo_table() -> pd.DataFrame:
    rows = []
    for gpr, (name, (joules, _)) in zip((60, 40, 30, 0), ZOO.items(), strict=True):
        row = pruned(1, gpr, cr_percent=gpr, reduction_percent=100 - 100 * joules)
        rows.append({**row, MODEL_NAME: name})
    return table(*rows)


def write_zoo_metadata(folder: Path) -> Path:
    path = folder / "metadata.csv"
    lines = ["MODEL_NAME,accuracy"] + [f"{name},{acc}" for name, (_, acc) in ZOO.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_linear_table_fits_exactly_with_doubling_ratio_one_and_no_break():
    fit = flops_fit(table(unpruned(), *curve([8, 16, 24, 32])))

    assert (fit.architecture, fit.pruning_distribution, fit.batch_size) == ("VGG16", "PD1", 8)
    assert fit.slope == pytest.approx(0.8)
    assert fit.intercept == pytest.approx(0.0, abs=1e-9)
    assert fit.r_squared == pytest.approx(1.0)
    assert fit.doubling_ratio == pytest.approx(1.0)
    assert fit.breaking_points == ()
    assert fit.points == 5  # four pruned models and the unpruned one at (0, 0)


def test_the_parameter_fit_uses_the_parameter_cr():
    fits = {fit.cr_kind: fit for fit in linearity(table(unpruned(), *curve([8, 16, 24])))}

    assert fits["params"].slope == pytest.approx(0.4)  # parameter CR is twice the FLOPs CR
    assert fits["flops"].slope == pytest.approx(0.8)


def test_the_unpruned_point_is_in_the_fit_even_without_an_unpruned_row():
    fit = flops_fit(table(*curve([8, 16])))

    assert fit.points == 3
    assert fit.slope == pytest.approx(0.8)


def test_a_slope_sign_change_is_a_breaking_point_at_its_cr():
    # Slopes 0.8, 0.8, 0.8, then -0.4 from CR 30 on: the reduction peaks at 30 % CR.
    fit = flops_fit(table(unpruned(), *curve([8, 16, 24, 20, 16])))

    assert fit.breaking_points == (30.0,)


def test_a_slope_falling_below_half_the_previous_is_a_breaking_point():
    # Slope 0.8 up to CR 10, then 0.3 (below 0.4); then 0.3 again, which is no further break.
    assert breaking_points([0, 10, 20, 30], [0, 8, 11, 14]) == (10.0,)


def test_points_of_equal_cr_are_averaged_before_the_slopes():
    assert breaking_points([0, 10, 10, 20], [0, 7, 9, 16]) == ()


def test_the_doubling_ratio_is_below_one_when_the_line_starts_above_zero():
    # 10 % + 0.5 % per %: 20 % at CR 20, 30 % at CR 40; 30 / (2 * 20) = 0.75.
    assert doubling_ratio(0.5, 10.0, 20.0) == pytest.approx(0.75)
    assert doubling_ratio(0.0, 0.0, 20.0) is None


def test_the_reduction_ci_adds_relative_errors_in_quadrature():
    # 1 % relative error on each: 100 * 0.44 * sqrt(2) * 0.01 = 0.6223 percentage points.
    assert reduction_ci95_or_nan(0.44, 0.0044, 1.0, 0.01) == pytest.approx(0.62225, rel=1e-4)
    assert math.isnan(reduction_ci95_or_nan(0.44, math.nan, 1.0, 0.01))


def test_pds_rank_best_first_with_their_cis():
    results = table(
        unpruned(ci95=0.01),
        pruned(1, 50, cr_percent=48, reduction_percent=40.0, ci95=0.006),
        pruned(2, 50, cr_percent=45, reduction_percent=31.1),
        pruned(3, 50, cr_percent=52, reduction_percent=56.0, ci95=0.0044),
    )

    (rank,) = rank_pds(results)

    assert (rank.architecture, rank.batch_size, rank.gpr) == ("VGG16", 8, 50.0)
    assert [label for label, _, _ in rank.ranking] == ["PD3", "PD1", "PD2"]
    (_, best, best_ci), (_, second, second_ci), (_, worst, worst_ci) = rank.ranking
    assert (best, second, worst) == pytest.approx((56.0, 40.0, 31.1))
    assert best_ci == pytest.approx(0.62225, rel=1e-4)
    assert second_ci == pytest.approx(100 * 0.6 * math.sqrt(2) * 0.01)
    assert worst_ci is None  # PD2 has no CI


def test_rows_that_were_not_measured_are_ignored():
    failed = {
        **pruned(4, 50, cr_percent=50, reduction_percent=99.0),
        STATUS: STATUS_FAILED,
        ERROR: "out of memory",
    }
    results = table(unpruned(), pruned(1, 50, cr_percent=48, reduction_percent=40.0), failed)

    (rank,) = rank_pds(results)

    assert [label for label, _, _ in rank.ranking] == ["PD1"]


def test_architecture_energy_has_the_unpruned_and_the_pruned_range():
    results = table(
        unpruned(ci95=0.02, joules=2.0),
        pruned(1, 30, cr_percent=30, reduction_percent=20.0, unpruned_joules=2.0),
        pruned(2, 30, cr_percent=35, reduction_percent=45.0, unpruned_joules=2.0),
    )

    (row,) = [row for _, row in architecture_energy(results).iterrows()]

    assert (row[ARCHITECTURE], row[DATASET], row[BATCH_SIZE]) == ("VGG16", DATASET_NAME, 8)
    assert row[UNPRUNED_JOULES_PER_SAMPLE] == pytest.approx(2.0)
    assert row[UNPRUNED_JOULES_PER_SAMPLE_CI95] == pytest.approx(0.02)
    assert row[MIN_PRUNED_JOULES_PER_SAMPLE] == pytest.approx(1.1)
    assert row[MAX_PRUNED_JOULES_PER_SAMPLE] == pytest.approx(1.6)
    assert row[BEST_ENERGY_REDUCTION] == pytest.approx(45.0)
    assert row[BEST_PRUNED_MODEL] == "VGG16_ImageNet_random_PD2_GPR-30_PRUNED"


def batch_sweep() -> pd.DataFrame:
    """One model at batch 1, 8 and 64: energy falls and FPS rises with the batch size."""
    return table(
        unpruned(batch_size=1, joules=0.9, fps=50.0),
        unpruned(batch_size=8, joules=0.5, fps=300.0),
        unpruned(batch_size=64, joules=0.3, fps=900.0),
    )


def test_the_smallest_batch_size_meeting_the_budget_is_recommended():
    (recommendation,) = recommend_batch_size(batch_sweep(), max_joules=0.6, min_fps=200.0)

    assert recommendation.model == "VGG16_ImageNet_UNPRUNED"
    assert recommendation.batch_size == 8
    assert recommendation.joules_per_sample == pytest.approx(0.5)
    assert recommendation.fps == pytest.approx(300.0)
    assert "batch 8" in recommendation.reason


def test_no_batch_size_is_recommended_when_none_meets_the_need():
    (recommendation,) = recommend_batch_size(batch_sweep(), min_fps=1000.0)

    assert recommendation.batch_size is None
    assert recommendation.joules_per_sample is None
    assert recommendation.reason == (
        "no measured batch size (1, 8, 64) meets ≥ 1000 FPS: "
        "the highest FPS is 900.0 FPS at batch 64"
    )


def test_a_failed_recommendation_says_which_need_no_batch_size_meets():
    (recommendation,) = recommend_batch_size(batch_sweep(), max_joules=0.2, min_fps=100.0)

    assert recommendation.reason == (
        "no measured batch size (1, 8, 64) meets ≤ 0.2 J/sample and ≥ 100 FPS: "
        "the lowest energy is 0.3 J/sample at batch 64"
    )


def test_a_batch_recommendation_needs_a_budget_or_an_fps():
    with pytest.raises(ValueError, match="max_joules"):
        recommend_batch_size(batch_sweep())


def test_the_pareto_front_leaves_out_the_dominated_model(tmp_path):
    metadata = read_metadata(write_zoo_metadata(tmp_path))

    front = pareto_front(zoo_table(), metadata, "accuracy", batch_size=8)

    assert list(front[MODEL_NAME]) == ["A", "B", "D"]
    assert list(front["accuracy"]) == pytest.approx([0.70, 0.80, 0.90])


def test_a_lower_is_better_metric_turns_the_front_around(tmp_path):
    metadata = read_metadata(write_zoo_metadata(tmp_path))

    front = pareto_front(zoo_table(), metadata, "accuracy", batch_size=8, higher_is_better=False)

    assert list(front[MODEL_NAME]) == ["A"]  # least energy and the lowest value


@pytest.mark.parametrize(("tolerance", "model"), [(0.0, "D"), (0.1, "B"), (0.25, "A")])
def test_the_lowest_energy_model_within_the_tolerance_is_recommended(tmp_path, tolerance, model):
    metadata = read_metadata(write_zoo_metadata(tmp_path))

    chosen = recommend_within_tolerance(
        zoo_table(), metadata, "accuracy", batch_size=8, tolerance=tolerance
    )

    assert chosen is not None
    assert chosen[MODEL_NAME] == model


def test_metadata_without_model_name_names_the_file(tmp_path):
    path = tmp_path / "metadata.csv"
    path.write_text("model,accuracy\nA,0.7\n")

    with pytest.raises(ValueError, match=r"metadata\.csv: no MODEL_NAME column"):
        read_metadata(path)


def test_an_unknown_metric_lists_the_metrics_there_are(tmp_path):
    metadata = read_metadata(write_zoo_metadata(tmp_path))

    with pytest.raises(ValueError, match="its metrics: accuracy"):
        pareto_front(zoo_table(), metadata, "top5", batch_size=8)


def test_a_table_with_only_the_seed_columns_is_analysed_with_unknown_cis():
    full = table(
        unpruned(ci95=0.01),
        *[
            pruned(1, gpr, cr_percent=gpr, reduction_percent=0.8 * gpr, ci95=0.01)
            for gpr in (10, 20, 30)
        ],
        pruned(2, 30, cr_percent=28, reduction_percent=20.0, ci95=0.01),
    )
    seed_csv = full[list(SEED_COLUMNS)]

    (rank_at_30,) = [rank for rank in rank_pds(seed_csv) if rank.gpr == 30]
    fits = [fit for fit in linearity(seed_csv) if fit.pruning_distribution == "PD1"]

    assert rank_at_30.ranking == (("PD1", pytest.approx(24.0), None), ("PD2", 20.0, None))
    assert fits[0].slope == pytest.approx(0.8)
    assert architecture_energy(seed_csv)[DATASET].tolist() == [""]
    assert findings(seed_csv)  # every question is answered without the CI and dataset columns


def test_findings_say_the_answers_in_words(tmp_path):
    results = table(
        unpruned(ci95=0.01),
        *curve([8, 16, 24, 20, 16]),
        pruned(2, 50, cr_percent=45, reduction_percent=31.1),
    )

    sentences = findings(results, max_joules=0.7)

    assert (
        "VGG16 PD1, batch 8: energy reduction does not follow FLOPs CR linearly "
        "(R² 0.58, slope 0.35 % per % over 6 points) up to a breaking point at 30 % CR"
    ) in sentences
    assert "At GPR 50, batch 8, PD2 saves most on VGG16 (31.1 %), PD1 least (16.0 %)" in sentences
    assert findings(results, max_joules=0.7) == sentences


def test_findings_say_when_the_two_best_pds_overlap_within_their_cis():
    # PD3: 100 * 0.59 * hypot(0.01 / 0.59, 0.01) = 1.16; PD1: 100 * 0.60 * hypot(...) = 1.17.
    results = table(
        unpruned(ci95=0.01),
        pruned(1, 50, cr_percent=48, reduction_percent=40.0, ci95=0.01),
        pruned(3, 50, cr_percent=52, reduction_percent=41.0, ci95=0.01),
    )

    assert findings(results)[-1] == (
        "At GPR 50, batch 8, PD3 saves most on VGG16 (41.0 ± 1.2 %), PD1 least (40.0 ± 1.2 %); "
        "PD3 and PD1 overlap within their 95 % CIs"
    )


def test_findings_name_the_pareto_front_per_batch_size(tmp_path):
    metadata = read_metadata(write_zoo_metadata(tmp_path))

    sentences = findings(zoo_table(), metadata)

    assert sentences[-1] == (
        "Pareto front at batch 8, energy per sample against accuracy (higher is better): "
        "A (0.2 J/sample, accuracy 0.7), B (0.4 J/sample, accuracy 0.8), "
        "D (0.8 J/sample, accuracy 0.9); 1 of 4 models are dominated"
    )
