"""The paper's questions answered from result tables whose answers are worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pytest_pruneenergy.report.analysis import (
    BATCH_QUESTION,
    BEST_ENERGY_REDUCTION,
    BEST_ENERGY_REDUCTION_UNCERTAINTY,
    BEST_PRUNED_MODEL,
    BREAKS_QUESTION,
    ENERGY_QUESTION,
    MAX_PRUNED_JOULES_PER_SAMPLE,
    MIN_PRUNED_JOULES_PER_SAMPLE,
    PARETO_QUESTION,
    PD_QUESTION,
    PROPORTIONALITY_QUESTION,
    TIED_WITH_BEST,
    UNKNOWN_WITH_BEST,
    UNPRUNED_JOULES_PER_SAMPLE,
    UNPRUNED_JOULES_PER_SAMPLE_CI95,
    architecture_energy,
    findings,
    findings_by_question,
    pareto_front,
    read_metadata,
    recommend_batch_size,
    recommend_within_tolerance,
    summary,
)
from pytest_pruneenergy.report.schema import (
    ARCHITECTURE,
    BATCH_SIZE,
    DATASET,
    JOULES_PER_SAMPLE_CI95,
    MODEL_NAME,
    SEED_COLUMNS,
    SEED_METRIC,
)

from .tables import DATASET_NAME, curve, pruned, table, unpruned

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
    assert row[BEST_PRUNED_MODEL] == "VGG16_ImageNet_random_PD2_GPR-30_PRUNED.pth"


def batch_sweep() -> pd.DataFrame:
    """One model at batch 1, 8 and 64: energy falls and FPS rises with the batch size."""
    return table(
        unpruned(batch_size=1, joules=0.9, fps=50.0),
        unpruned(batch_size=8, joules=0.5, fps=300.0),
        unpruned(batch_size=64, joules=0.3, fps=900.0),
    )


def test_the_smallest_batch_size_meeting_the_budget_is_recommended():
    (recommendation,) = recommend_batch_size(batch_sweep(), max_joules=0.6, min_fps=200.0)

    assert recommendation.model == "VGG16_ImageNet_UNPRUNED.pth"
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

    assert architecture_energy(seed_csv)[DATASET].tolist() == [""]
    assert findings(seed_csv)  # every question is answered without the CI and dataset columns
    assert summary(seed_csv)


def test_findings_come_per_question_in_report_order(tmp_path):
    results = table(
        unpruned(ci95=0.01),
        unpruned(ci95=0.01, batch_size=1, joules=2.0),
        *curve([-5, 0, 15, 30, 45, 60, 75], ci95=0.01),
        *curve([-5, 0, 15, 30, 45, 60, 75], ci95=0.01, batch_size=1, unpruned_joules=2.0),
        pruned(2, 50, cr_percent=45, reduction_percent=31.1),
    )

    sections = findings_by_question(results, max_joules=0.7)

    assert [question for question, _ in sections] == [
        ENERGY_QUESTION,
        PROPORTIONALITY_QUESTION,
        BREAKS_QUESTION,
        PD_QUESTION,
        BATCH_QUESTION,
    ]
    assert sections[0][1][0].startswith(f"VGG16 ({DATASET_NAME}), batch 1: unpruned 2 J/sample")
    assert sections[-1][1][-1].startswith(
        "VGG16_ImageNet_random_PD2_GPR-50_PRUNED.pth: batch 8 is the smallest measured batch"
    )
    assert findings(results, max_joules=0.7) == [s for _, found in sections for s in found]


def test_findings_name_the_pareto_front_per_batch_size(tmp_path):
    metadata = read_metadata(write_zoo_metadata(tmp_path))

    sections = findings_by_question(zoo_table(), metadata)

    assert sections[-1] == (
        PARETO_QUESTION,
        [
            "Pareto front at batch 8, energy per sample against accuracy (higher is better): "
            "A (0.2 J/sample, accuracy 0.7), B (0.4 J/sample, accuracy 0.8), "
            "D (0.8 J/sample, accuracy 0.9); 1 of 4 models are dominated"
        ],
    )


def test_metadata_names_match_with_or_without_the_file_extension(tmp_path):
    path = tmp_path / "metadata.csv"
    path.write_text("MODEL_NAME,accuracy\nA.pth,0.7\nB.pth,0.8\nC,0.75\nD.pt,0.9\n")

    front = pareto_front(zoo_table(), read_metadata(path), "accuracy", batch_size=8)

    assert list(front[MODEL_NAME]) == ["A", "B", "D"]


def test_a_metric_the_table_carries_needs_no_metadata_file():
    results = zoo_table()
    results[SEED_METRIC] = results[MODEL_NAME].map({name: acc for name, (_, acc) in ZOO.items()})

    (question, (sentence,)) = findings_by_question(results)[-1]

    assert question == PARETO_QUESTION
    assert sentence.startswith("Pareto front at batch 8, energy per sample against YOUR_METRIC")


def test_a_metric_without_metadata_is_an_error():
    with pytest.raises(ValueError, match="without metadata"):
        findings(zoo_table(), metric="accuracy")


def test_the_best_reduction_says_its_uncertainty_and_the_models_tied_with_it():
    def results(ci95: float) -> pd.DataFrame:
        return table(
            unpruned(ci95=0.001, joules=1.0),
            pruned(1, 30, cr_percent=30, reduction_percent=20.0, ci95=ci95),
            pruned(2, 30, cr_percent=35, reduction_percent=44.0, ci95=ci95),
            pruned(3, 30, cr_percent=35, reduction_percent=45.0, ci95=ci95),
        )

    # CIs of 0.02 J on 0.55 J: about +-2 points of reduction, so 45 % and 44 % overlap.
    (row,) = [row for _, row in architecture_energy(results(0.02)).iterrows()]
    assert row[BEST_PRUNED_MODEL] == "VGG16_ImageNet_random_PD3_GPR-30_PRUNED.pth"
    assert 1.5 < row[BEST_ENERGY_REDUCTION_UNCERTAINTY] < 2.5
    assert row[TIED_WITH_BEST] == 1
    sentence = findings_by_question(results(0.02))[0][1][0]
    assert "best energy reduction 45.0 ± 2." in sentence
    assert sentence.endswith("GPR-30_PRUNED.pth), indistinguishable from 1 other pruned model(s)")
    # Tight CIs: the best stands apart.
    sentence = findings_by_question(results(0.0001))[0][1][0]
    assert sentence.endswith("), beyond the uncertainty of every other pruned model")
    # No CI at all: said, not hidden, and no count of ties that nothing could tell.
    sentence = findings_by_question(results(None))[0][1][0]
    assert sentence.endswith("; its uncertainty is unknown)")
    (row,) = [row for _, row in architecture_energy(results(None)).iterrows()]
    assert pd.isna(row[TIED_WITH_BEST]) and row[UNKNOWN_WITH_BEST] == 2


def test_a_model_of_unknown_uncertainty_is_neither_tied_with_the_best_nor_beyond_it():
    # It read "beyond the uncertainty of every other pruned model" beside a 44.9 % of unknown CI.
    results = table(
        unpruned(ci95=0.001, joules=1.0),
        pruned(1, 30, cr_percent=30, reduction_percent=20.0, ci95=0.0001),
        pruned(2, 30, cr_percent=35, reduction_percent=44.9),
        pruned(3, 30, cr_percent=35, reduction_percent=45.0, ci95=0.0001),
    )
    (row,) = [row for _, row in architecture_energy(results).iterrows()]
    assert (row[TIED_WITH_BEST], row[UNKNOWN_WITH_BEST]) == (0, 1)
    sentence = findings_by_question(results)[0][1][0]
    assert sentence.endswith(
        "), beyond the uncertainty of every other pruned model whose uncertainty is known; "
        "1 other pruned model(s) of unknown uncertainty"
    )
    tied = table(
        *results.to_dict("records"),
        pruned(4, 30, cr_percent=35, reduction_percent=44.99, ci95=0.0001),
    )
    assert findings_by_question(tied)[0][1][0].endswith(
        "indistinguishable from 1 other pruned model(s); 1 other pruned model(s) of unknown "
        "uncertainty"
    )
    # Every other model's uncertainty unknown: none is beyond it, however vacuously.
    records = results.to_dict("records")
    records[1][JOULES_PER_SAMPLE_CI95] = None
    assert findings_by_question(table(*records))[0][1][0].endswith(
        "GPR-30_PRUNED.pth), 2 other pruned model(s) of unknown uncertainty"
    )
    only = table(records[0], records[3])
    assert findings_by_question(only)[0][1][0].endswith("PRUNED.pth), the only pruned model")


def test_findings_and_summary_are_made_per_numeric_format_and_runtime():
    from pytest_pruneenergy.report.analysis import summary, variant_parts
    from pytest_pruneenergy.report.schema import DTYPE, RUNTIME

    def variant(rows, dtype, runtime):
        return [{**row, DTYPE: dtype, RUNTIME: runtime} for row in rows]

    # Eager, pruning saves; compiled, the same models cost more than the unpruned one.
    eager = variant([unpruned(), *curve([10.0, 20.0, 30.0])], "float32", "eager")
    compiled = variant([unpruned(), *curve([-10.0, -20.0, -30.0])], "float32", "compile")
    results = table(*eager, *compiled)
    assert [label for label, _ in variant_parts(results)] == ["float32 compile", "float32 eager"]
    breaks = dict(findings_by_question(results))[BREAKS_QUESTION]
    assert (
        "float32 compile: All architectures: 3 of 3 pruned rows use more energy per sample"
        in " ".join(breaks)
    )
    assert "float32 eager: All architectures: no pruned model uses more energy" in " ".join(breaks)
    assert all(s.startswith(("float32 compile: ", "float32 eager: ")) for s in summary(results))
    # One format and runtime: the sentences as they were, without a label.
    alone = table(*eager)
    assert variant_parts(alone)[0][0] == ""
    assert dict(findings_by_question(alone)) == dict(
        findings_by_question(alone.drop(columns=[DTYPE, RUNTIME]))
    )
