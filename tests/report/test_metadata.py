import pandas as pd
import pytest

from pytest_pruneenergy.report.metadata import (
    metadata_in_table,
    metadata_note,
    metric_column,
    pareto_metric_problem,
    read_metadata,
    with_metadata_columns,
)
from pytest_pruneenergy.report.schema import COLUMNS, SEED_METRIC

from .tables import pruned, table, unpruned


def results() -> pd.DataFrame:
    return table(unpruned(), pruned(1, 50, cr_percent=50, reduction_percent=40.0))


def metadata(*rows: tuple[str, float]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["MODEL_NAME", SEED_METRIC])


def test_models_match_with_or_without_the_file_extension():
    given = metadata(
        ("VGG16_ImageNet_UNPRUNED", 0.9), ("VGG16_ImageNet_random_PD1_GPR-50_PRUNED.pt", 0.8)
    )
    assert metric_column(results(), given, SEED_METRIC).tolist() == [0.9, 0.8]
    assert metadata_note(results(), given) is None


def test_rows_without_a_partner_are_counted_on_both_sides():
    given = metadata(("VGG16_ImageNet_UNPRUNED.pth", 0.9), ("ResNet_X_UNPRUNED.pth", 0.5))
    assert metadata_note(results(), given) == (
        "metadata: 1 of 2 metadata rows name no model in the results (e.g. "
        "ResNet_X_UNPRUNED.pth); 1 of 2 models in the results have no metadata row (e.g. "
        "VGG16_ImageNet_random_PD1_GPR-50_PRUNED); models match by file name, extension or not"
    )


def test_the_metrics_become_columns_after_ours_as_the_seeds_csv_has_them():
    given = metadata(("VGG16_ImageNet_UNPRUNED.pth", 0.9))
    joined = with_metadata_columns(results(), given)
    assert list(joined.columns) == [*COLUMNS, SEED_METRIC]
    assert joined[SEED_METRIC].tolist()[0] == 0.9
    assert pd.isna(joined[SEED_METRIC].tolist()[1])
    carried = metadata_in_table(joined)
    assert carried.to_dict("list") == {
        "MODEL_NAME": [
            "VGG16_ImageNet_UNPRUNED.pth",
            "VGG16_ImageNet_random_PD1_GPR-50_PRUNED.pth",
        ],
        SEED_METRIC: [0.9, pytest.approx(float("nan"), nan_ok=True)],
    }
    assert metadata_in_table(results()) is None


def test_a_metric_named_like_a_results_column_is_refused():
    given = pd.DataFrame({"MODEL_NAME": ["a"], "FPS": [1.0]})
    with pytest.raises(ValueError, match="metadata columns named like results columns: FPS"):
        with_metadata_columns(results(), given)


def test_one_model_named_with_and_without_its_extension_is_named_twice(tmp_path):
    path = tmp_path / "metadata.csv"
    path.write_text("MODEL_NAME,acc\na.pth,0.1\na,0.2\n")
    with pytest.raises(ValueError, match=r"models named more than once: a, a\.pth"):
        read_metadata(path)


def test_the_analysis_working_columns_are_no_metric():
    carried = results().assign(_reduction_half_width=1.0)
    assert metadata_in_table(carried) is None


def two_metrics() -> pd.DataFrame:
    return pd.DataFrame({"MODEL_NAME": ["VGG16_ImageNet_UNPRUNED"], "top1": [0.7], "top5": [0.9]})


def test_two_metrics_and_none_named_ask_for_one_by_the_option_naming_both():
    problem = pareto_metric_problem(
        results(), two_metrics(), None, option="--metric", metadata_source="acc.csv"
    )
    assert problem == (
        "acc.csv has 2 metric columns (top1, top5) and no metric was named: choose one with "
        "--metric, e.g. --metric top1"
    )


def test_a_metric_the_metadata_lacks_names_the_ones_it_has():
    problem = pareto_metric_problem(
        results(), two_metrics(), "top3", option="--energy-metric", metadata_source="acc.csv"
    )
    assert problem == (
        "acc.csv has no metric column 'top3': choose one of its metric columns, top1 or top5, "
        "with --energy-metric"
    )


def test_a_metric_named_or_the_only_one_is_no_problem():
    def problem(given, metric):
        return pareto_metric_problem(results(), given, metric, option="-", metadata_source="m")

    assert problem(two_metrics(), "top1") is None and problem(two_metrics(), "top5") is None
    assert problem(metadata(("VGG16_ImageNet_UNPRUNED", 0.9)), None) is None
    assert problem(None, None) is None  # nothing to weigh: no Pareto findings, no problem


def test_metadata_without_a_metric_column_says_so():
    names_only = pd.DataFrame({"MODEL_NAME": ["VGG16_ImageNet_UNPRUNED"]})
    problem = pareto_metric_problem(
        results(), names_only, None, option="--metric", metadata_source="acc.csv"
    )
    assert problem == "acc.csv has no metric column besides MODEL_NAME: add one per metric"


def test_the_results_own_metric_columns_are_chosen_from_without_a_metadata_file():
    carried = results().assign(top1=[0.7, 0.6], top5=[0.9, 0.8])
    problem = pareto_metric_problem(carried, None, None, option="--metric", metadata_source="-")
    assert problem is not None and problem.startswith("the results have 2 metric columns")
    nowhere = pareto_metric_problem(results(), None, "top1", option="--metric", metadata_source="-")
    assert nowhere == (
        "--metric top1: there is no metadata file and the results have no metric column to "
        "read it from"
    )
