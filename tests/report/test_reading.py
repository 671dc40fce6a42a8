"""Results CSVs read as our table: ours, and the seed tool's three forms (tests/data/seed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pytest_pruneenergy.report.reading import (
    FORM_OURS,
    SEED_RAW_COLUMNS,
    ResultsFileError,
    from_seed_table,
    read_results_file,
)
from pytest_pruneenergy.report.schema import COLUMNS, SEED_METRIC, is_unpruned_label

SEED = Path(__file__).parents[1] / "data" / "seed"
RAW = SEED / "results.csv"
PREPARED = SEED / "prepared_results.csv"
WITH_RATIOS = SEED / "results_with_compression_ratios.csv"
REDUCTIONS = ["CR (%) measured in Parameters", "CR (%) measured in FLOPs", "Energy Reduction (%)"]


@pytest.mark.parametrize(("path", "columns"), [(RAW, 9), (PREPARED, 13), (WITH_RATIOS, 16)])
def test_each_of_the_seeds_forms_reads_with_every_derived_column(path, columns):
    read = read_results_file(path)

    assert read.form == f"PruneEnergyAnalyzer ({columns} columns)"
    assert read.notes == ()  # the derivation reproduces whatever the file already had
    assert list(read.table.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert len(read.table) == 990
    assert read.table[["GPR", "Architecture", *REDUCTIONS, "Baseline Model"]].notna().all().all()


def test_the_derived_columns_equal_the_published_ones_to_the_seeds_rounding():
    derived = read_results_file(RAW).table
    published = pd.read_csv(WITH_RATIOS)
    for column in REDUCTIONS:
        assert (np.round(derived[column]) == published[column]).all(), column
    assert (derived["GPR"] == published["GPR"]).all()
    assert (derived["Architecture"] == published["Architecture"]).all()
    unpruned = published["Pruning Distribution"].map(is_unpruned_label)
    assert (derived["Pruning Distribution"][unpruned] == "N/A").all()
    assert (
        derived["Pruning Distribution"][~unpruned] == published["Pruning Distribution"][~unpruned]
    ).all()


def test_derived_reductions_are_not_rounded_and_pair_with_the_unpruned_file():
    table = read_results_file(WITH_RATIOS).table
    row = table[
        (table["MODEL_NAME"] == "AlexNet_DATASET_random_PD3_GPR-40_PRUNED_SEED_23.pth")
        & (table["BATCH_SIZE"] == 1)
    ].iloc[0]
    assert row["Baseline Model"] == "AlexNet_DATASET_UNPRUNED.pth"
    # 100 - 100 * 0.1792715 / 0.2658843 J; the file has it rounded to 33.
    assert row["Energy Reduction (%)"] == pytest.approx(32.575, abs=1e-3)
    assert (row["Dataset"], row["Method"], row["Seed"], row["PD Shape"]) == (
        "DATASET",
        "random",
        23,
        "top-down",
    )


def test_the_metadata_metric_of_the_seeds_csv_is_kept_after_our_columns():
    table = read_results_file(PREPARED).table
    assert list(table.columns) == [*COLUMNS, SEED_METRIC]


def test_published_values_the_derivation_does_not_reproduce_are_counted_in_a_note(tmp_path):
    changed = pd.read_csv(WITH_RATIOS)
    changed.loc[[0, 1], "Energy Reduction (%)"] += 3  # beyond the seed's rounding
    joules = changed["Mean Energy per Sample (J)"]
    unpruned = changed[
        (changed["MODEL_NAME"] == "AlexNet_DATASET_UNPRUNED.pth")
        & (changed["BATCH_SIZE"] == changed.loc[2, "BATCH_SIZE"])
    ].index[0]
    exact = 100 - 100 * joules[2] / joules[unpruned]
    changed.loc[2, "Energy Reduction (%)"] = exact + 0.45  # within it
    changed.loc[3, "Architecture"] = "VGG19"
    changed.to_csv(tmp_path / "changed.csv", index=False)

    notes = read_results_file(tmp_path / "changed.csv").notes

    assert notes == (
        "changed.csv: 1 of 990 rows' published 'Architecture' differ from the value derived "
        "from the names and raw columns; the derived values are used",
        "changed.csv: 2 of 990 rows' published 'Energy Reduction (%)' differ from the value "
        "derived from the names and raw columns by more than the seed's rounding (0.5 points); "
        "the derived values are used",
    )


def test_rows_without_a_name_or_a_baseline_are_named_in_notes():
    raw = pd.read_csv(RAW)
    first_batch = raw[raw["BATCH_SIZE"] == 1].copy()
    first_batch = first_batch[first_batch["MODEL_NAME"] != "VGG11_DATASET_UNPRUNED.pth"]
    first_batch.loc[first_batch.index[0], "MODEL_NAME"] = "my_model.pth"

    table, notes = from_seed_table(first_batch.reset_index(drop=True))

    assert notes == [
        "1 rows have names that follow no naming convention (ARCH_DATASET_..._PDn_GPR-NN or "
        "ARCH_DATASET_UNPRUNED): no architecture, distribution or reductions",
        "65 pruned rows have no unpruned model of their architecture and dataset at their batch "
        "size: their reductions are empty",
    ]
    assert table.loc[0, ["Architecture", "Energy Reduction (%)"]].isna().all()


def test_our_own_csv_reads_as_it_is(tmp_path):
    ours = pd.DataFrame({column: [None] for column in COLUMNS})
    ours["MODEL_NAME"], ours["BATCH_SIZE"], ours["Status"] = "a.pth", 1, "failed"
    ours.to_csv(tmp_path / "ours.csv", index=False)
    read = read_results_file(tmp_path / "ours.csv")
    assert (read.form, read.notes, read.table["Status"].tolist()) == (FORM_OURS, (), ["failed"])


def test_figures_made_from_a_blank_energy_are_left_blank_and_said(tmp_path):
    ours = read_results_file(WITH_RATIOS).table
    ours["Status"] = "measured"
    ours["Energy per Million Inferences (kWh)"] = 1.0
    ours["Mean Energy per Sample (J)"] = ours["Mean Energy per Sample (J)"].astype(object)
    pruned = ours.index[ours["Energy Reduction (%)"].notna()][0]
    last = ours.index[-1]
    for row, energy in ((pruned, "n/a"), (last, None)):
        ours.loc[row, "Mean Energy per Sample (J)"] = energy
    ours.to_csv(tmp_path / "ours.csv", index=False)
    read = read_results_file(tmp_path / "ours.csv")
    assert len(read.notes) == 1 and read.notes[0].startswith("ours.csv: 2 row(s) without")
    cleared = read.table.loc[
        [pruned, last], ["Energy Reduction (%)", "Energy per Million Inferences (kWh)"]
    ]
    assert cleared.isna().all().all()
    others = read.table.drop(index=[pruned, last])
    assert (others["Energy per Million Inferences (kWh)"] == 1.0).all()  # the rest as written
    kept = ours.drop(index=[pruned, last])["Energy Reduction (%)"].astype(float)
    assert others["Energy Reduction (%)"].astype(float).equals(kept)


def test_reductions_against_a_baseline_whose_energy_is_blank_are_left_blank(tmp_path):
    ours = read_results_file(WITH_RATIOS).table
    ours["Status"] = "measured"
    baseline = ours.index[ours["MODEL_NAME"].astype(str).str.contains("_UNPRUNED")][0]
    name, size = ours.loc[baseline, ["MODEL_NAME", "BATCH_SIZE"]]
    ours["Mean Energy per Sample (J)"] = ours["Mean Energy per Sample (J)"].astype(object)
    ours.loc[baseline, "Mean Energy per Sample (J)"] = None
    ours.to_csv(tmp_path / "ours.csv", index=False)
    read = read_results_file(tmp_path / "ours.csv")
    against = (ours["Baseline Model"] == name) & (ours["BATCH_SIZE"] == size)
    pruned = against & (ours.index != baseline)
    assert pruned.sum() > 1
    assert read.table.loc[against, "Energy Reduction (%)"].isna().all()
    assert read.table.loc[~against, "Energy Reduction (%)"].notna().sum() == (
        ours.loc[~against, "Energy Reduction (%)"].notna().sum()
    )
    assert read.notes[-1].startswith(
        f"ours.csv: {pruned.sum()} row(s) held an 'Energy Reduction (%)' against a baseline "
        "without a number for 'Mean Energy per Sample (J)'"
    )


@pytest.mark.parametrize(("column", "other"), [("Dtype", "bfloat16"), ("Runtime", "compile")])
def test_items_of_another_format_or_runtime_are_no_repeat(tmp_path, column, other):
    ours = read_results_file(WITH_RATIOS).table
    ours["Status"] = "measured"
    pd.concat([ours, ours.assign(**{column: other})]).to_csv(tmp_path / "ours.csv", index=False)
    assert len(read_results_file(tmp_path / "ours.csv").table) == 2 * len(ours)


def test_a_repeated_row_marked_measured_in_other_words_is_refused(tmp_path):
    # Any status but "failed" holds numbers, and is counted as measured by every finding.
    ours = read_results_file(WITH_RATIOS).table
    ours["Status"] = "measured"
    again = ours.iloc[[3]].assign(Status="MEASURED")
    pd.concat([ours, again]).to_csv(tmp_path / "ours.csv", index=False)
    with pytest.raises(ResultsFileError, match=r"1 item\(s\) have more than one row"):
        read_results_file(tmp_path / "ours.csv")


def test_a_csv_of_ours_with_no_rows_reads_as_an_empty_table(tmp_path):
    pd.DataFrame({column: [] for column in COLUMNS}).to_csv(tmp_path / "ours.csv", index=False)
    read = read_results_file(tmp_path / "ours.csv")
    assert (len(read.table), read.notes) == (0, ())


def test_failed_rows_of_one_model_are_no_repeat(tmp_path):
    # A file that cannot be read fails every batch size: rows of no figure, ranked nowhere.
    failed = pd.DataFrame({column: [None, None] for column in COLUMNS})
    failed["MODEL_NAME"], failed["Status"] = "broken.pth", "failed"
    failed.to_csv(tmp_path / "ours.csv", index=False)
    assert len(read_results_file(tmp_path / "ours.csv").table) == 2


def test_a_csv_without_the_seeds_raw_columns_names_them(tmp_path):
    pd.read_csv(RAW).drop(columns=["FLOPs", "Parameters"]).to_csv(tmp_path / "x.csv", index=False)
    with pytest.raises(ResultsFileError, match="missing columns: Parameters, FLOPs"):
        read_results_file(tmp_path / "x.csv")
    assert SEED_RAW_COLUMNS[-1] == "FLOPs"
