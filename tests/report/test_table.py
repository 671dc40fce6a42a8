"""The result table: seed-compatible columns, reductions against the baseline, CSV, summary."""

from __future__ import annotations

import dataclasses
import itertools
import math
import random
from pathlib import Path

import pandas as pd
import pytest

from pytest_pruneenergy.items.measurement import ItemFailure, Measurement, baseline_measurements
from pytest_pruneenergy.measure.meters import GpuFacts
from pytest_pruneenergy.report import schema
from pytest_pruneenergy.report.html import findings_or_reason
from pytest_pruneenergy.report.labels import shorten_names
from pytest_pruneenergy.report.schema import stopped_for, write_csv
from pytest_pruneenergy.report.table import build_run_table, build_table, reduction_percent
from pytest_pruneenergy.report.terminal import terminal_table_lines
from pytest_pruneenergy.report.writer import write_report

from ..factories import make_measurement, make_stats

SEED_COLUMNS_IN_ORDER = [
    "MODEL_NAME",
    "BATCH_SIZE",
    "Mean Time per Sample (s)",
    "FPS",
    "STD Time per Sample (s)",
    "Mean Energy per Sample (J)",
    "STD Energy per Sample (J)",
    "Parameters",
    "FLOPs",
    "GPR",
    "Architecture",
    "Pruning Distribution",
    "CR (%) measured in Parameters",
    "CR (%) measured in FLOPs",
    "Energy Reduction (%)",
]

ALEXNET = "AlexNet_CIFAR10_UNPRUNED"
ALEXNET_PD1 = "AlexNet_CIFAR10_random_PD1_GPR-30_PRUNED"
ALEXNET_IMAGENET = "AlexNet_ImageNet_UNPRUNED"
VGG11 = "VGG11_CIFAR10_UNPRUNED"
VGG11_PD3 = "VGG11_CIFAR10_random_PD3_GPR-50_PRUNED_SEED_7"
UNPARSEABLE = "my_custom_model"
FAILED = "VGG11_CIFAR10_random_PD2_GPR-20_PRUNED"
LONG_NAME = "ResNet-152-wide_SomeDataset_magnitude_PD3_GPR-45_PRUNED_FT_SEED_42"
ADDED_COLUMNS_IN_ORDER = [
    "Dynamic Energy per Sample (J)",
    "Idle Power (W)",
    "Protocol",
    "CI Target Met",
    "Naive Two-Read Energy per Sample (J)",
    "Meter Update Period (s)",
    "Temperature Start (C)",
    "Temperature End (C)",
    "SM Clock Start (MHz)",
    "SM Clock End (MHz)",
    "GPU",
    "Driver",
    "Power Limit (W)",
    "Gate",
    "Gate Message",
    "CUDA Graph",
    "Load Seconds",
    "Warm-up Seconds",
    "Item Seconds",
    "Rounds",
    "Dtype",
    "Channels Last",
    "Zero Weights (%)",
    "Disturbances",
    "Remeasured",
    "Set-Aside Energy per Sample (J)",
    "Set-Aside CI95 Energy per Sample (J)",
    "Set-Aside FPS",
    "Energy per Million Inferences (kWh)",
    "CO2e per Million Inferences (g)",
    "Cost per Million Inferences",
    "Widths Not x8 (%)",
    "Widths Not x16 (%)",
    "Widths Not x64 (%)",
    "Latency p50 (ms)",
    "Latency p90 (ms)",
    "Latency p99 (ms)",
    "Runtime",
    "Compile Seconds",
    "Stop Reason",
]
H100_FACTS = GpuFacts("NVIDIA H100", "580.159", 700.0)


def measurement(
    model: str,
    batch_size: int = 8,
    *,
    joules_per_sample: float = 1.0,
    frames_per_second: float = 100.0,
    params: int = 1000,
    macs: int = 400,
    is_estimate: bool = False,
    device: str = "Test GPU",
    idle_watts: float | None = None,
    protocol: str = "adaptive",
    converged: bool = True,
    stop_reason: str | None = None,
    gpu_facts: GpuFacts | None = None,
    seconds_per_sample_std: float = 1e-5,
    cuda_graph: bool = False,
    fvcore_flops: int | None = None,
    rounds: int = 1,
) -> Measurement:
    """A row's measurement: every value the table's columns and the summary are checked for."""
    return make_measurement(
        model,
        batch_size,
        path=f"/models/{model}.pt",
        input_shape=(3, 224, 224),
        device=device,
        meter="estimate" if is_estimate else "nvml-counter",
        meter_description="estimate: 10 W per busy CPU core" if is_estimate else "NVML counter",
        meter_is_estimate=is_estimate,
        params=params,
        macs=macs,
        idle_watts=idle_watts,
        gpu=gpu_facts,
        cuda_graph=cuda_graph,
        fvcore_flops=fvcore_flops,
        rounds=rounds,
        stats=make_stats(
            joules_per_sample_mean=joules_per_sample,
            joules_per_sample_ci95=joules_per_sample / 100,
            seconds_per_sample_mean=1 / frames_per_second,
            seconds_per_sample_std=seconds_per_sample_std,
            frames_per_second=frames_per_second,
            windows=4,
            samples_measured=4000,
            seconds_measured=3.5,
            warmup_seconds=1.0,
            protocol=protocol,
            converged=converged,
            stop_reason=stop_reason,
            naive_joules_per_sample=joules_per_sample * 1.2,
            update_period_seconds=0.1,
            temperature_start_celsius=40.0,
            temperature_end_celsius=55.0,
            sm_clock_start_mhz=1980.0,
            sm_clock_end_mhz=1755.0,
        ),
    )


def file_name(model: str) -> str:
    """A model's MODEL_NAME: its file's name (``measurement`` puts it in ``/models/X.pt``)."""
    return f"{model}.pt"


def zoo_measurements() -> list[Measurement]:
    return [
        measurement(ALEXNET, joules_per_sample=2.0, frames_per_second=1000.0),
        measurement(
            ALEXNET_PD1, joules_per_sample=1.5, frames_per_second=1250.0, params=700, macs=300
        ),
        measurement(ALEXNET_IMAGENET, joules_per_sample=4.0, frames_per_second=500.0),
        measurement(VGG11, joules_per_sample=8.0, params=2000, macs=1000),
        measurement(VGG11_PD3, joules_per_sample=2.0, params=500, macs=250),
        measurement(UNPARSEABLE, joules_per_sample=1.0),
    ]


def zoo_failures() -> list[ItemFailure]:
    return [ItemFailure(FAILED, f"/models/{FAILED}.pt", 8, "RuntimeError: out of memory")]


@pytest.fixture
def table() -> pd.DataFrame:
    return build_table(zoo_measurements(), zoo_failures())


def row_of(table: pd.DataFrame, model: str, batch_size: int = 8) -> pd.Series:
    rows = table[(table["MODEL_NAME"] == file_name(model)) & (table["BATCH_SIZE"] == batch_size)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_seed_columns_come_first_in_the_seed_order(table: pd.DataFrame) -> None:
    assert list(table.columns[: len(SEED_COLUMNS_IN_ORDER)]) == SEED_COLUMNS_IN_ORDER


def test_our_columns_follow_the_seed_columns(table: pd.DataFrame) -> None:
    assert list(table.columns) == list(schema.COLUMNS)
    assert table.columns[len(SEED_COLUMNS_IN_ORDER)] == "CI95 Energy per Sample (J)"


def test_where_the_items_time_went_is_in_its_columns() -> None:
    timed = dataclasses.replace(measurement(ALEXNET), load_seconds=0.8, item_seconds=4.2)
    row = build_table([timed], []).iloc[0]
    assert (row["Load Seconds"], row["Warm-up Seconds"], row["Item Seconds"]) == (0.8, 1.0, 4.2)


def test_columns_added_later_come_after_the_earlier_ones(table: pd.DataFrame) -> None:
    # Earlier CSVs ended at "Error"; scripts that index columns by position keep working.
    first_added = list(table.columns).index("Error") + 1
    assert list(table.columns[first_added:]) == ADDED_COLUMNS_IN_ORDER


def test_one_row_per_model_and_batch_size_measured_or_failed(table: pd.DataFrame) -> None:
    assert len(table) == len(zoo_measurements()) + len(zoo_failures())


def test_energy_reduction_is_against_the_unpruned_model(table: pd.DataFrame) -> None:
    assert row_of(table, ALEXNET_PD1)["Energy Reduction (%)"] == 25.0
    assert row_of(table, VGG11_PD3)["Energy Reduction (%)"] == 75.0


def test_compression_ratios_in_parameters_and_flops(table: pd.DataFrame) -> None:
    row = row_of(table, ALEXNET_PD1)
    assert row["CR (%) measured in Parameters"] == 30.0
    assert row["CR (%) measured in FLOPs"] == 25.0


def test_fps_reduction_is_negative_when_the_pruned_model_is_faster(table: pd.DataFrame) -> None:
    assert row_of(table, ALEXNET_PD1)["FPS Reduction (%)"] == -25.0


def test_baseline_of_another_dataset_is_never_used(table: pd.DataFrame) -> None:
    # Against the ImageNet AlexNet (4.0 J) the reduction would read 62.5 %.
    row = row_of(table, ALEXNET_PD1)
    assert row["Baseline Model"] == file_name(ALEXNET)
    assert row["Energy Reduction (%)"] == 25.0


def test_baseline_is_matched_case_insensitively() -> None:
    table = build_table(
        [
            measurement("alexnet_cifar10_UNPRUNED", joules_per_sample=2.0),
            measurement(ALEXNET_PD1, joules_per_sample=1.0),
        ],
        [],
    )
    assert row_of(table, ALEXNET_PD1)["Energy Reduction (%)"] == 50.0


def test_baseline_must_be_measured_at_the_same_batch_size() -> None:
    table = build_table(
        [
            measurement(ALEXNET, batch_size=8, joules_per_sample=2.0),
            measurement(ALEXNET_PD1, batch_size=16, joules_per_sample=1.0),
        ],
        [],
    )
    row = row_of(table, ALEXNET_PD1, batch_size=16)
    assert math.isnan(row["Energy Reduction (%)"])
    assert pd.isna(row["Baseline Model"])


def test_baseline_measurements_pair_each_pruned_model_as_the_reductions_do() -> None:
    measurements = zoo_measurements()
    paired = baseline_measurements(measurements)
    assert {key: baseline.model for key, baseline in paired.items()} == {
        (ALEXNET_PD1, 8, None): ALEXNET,
        (VGG11_PD3, 8, None): VGG11,
    }


def test_gate_columns_give_the_worst_outcome_and_every_message() -> None:
    from pytest_pruneenergy.track.gates import (
        FAIL,
        PASS,
        Verdict,
        gate_cells,
    )
    from pytest_pruneenergy.track.thresholds import (
        Threshold,
    )

    threshold = Threshold("min_fps", 1.0, "command line")
    verdicts = [Verdict(threshold, PASS, "fast"), Verdict(threshold, FAIL, "bad")]
    table = build_table(
        zoo_measurements(), zoo_failures(), {(ALEXNET_PD1, 8, None): gate_cells(verdicts)}
    )
    gated = row_of(table, ALEXNET_PD1)
    assert (gated["Gate"], gated["Gate Message"]) == ("fail", "bad; fast")
    assert table.loc[table["MODEL_NAME"] != file_name(ALEXNET_PD1), "Gate"].isna().all()


def test_baseline_rows_have_zero_reductions_and_the_seed_labels(table: pd.DataFrame) -> None:
    row = row_of(table, ALEXNET)
    reductions = [
        "CR (%) measured in Parameters",
        "CR (%) measured in FLOPs",
        "Energy Reduction (%)",
        "FPS Reduction (%)",
    ]
    assert [row[column] for column in reductions] == [0.0, 0.0, 0.0, 0.0]
    # As the seed's notebook 2 writes them (pandas reads "N/A", like its empty cells, as NaN).
    assert (row["GPR"], row["Pruning Distribution"]) == (0.0, "N/A")
    assert row["Baseline Model"] == row["MODEL_NAME"] == file_name(ALEXNET)


def test_pruned_row_carries_what_its_name_says(table: pd.DataFrame) -> None:
    row = row_of(table, VGG11_PD3)
    said = [row[c] for c in ("Architecture", "Dataset", "Method", "Pruning Distribution")]
    assert said == ["VGG11", "CIFAR10", "random", "PD3"]
    assert (row["GPR"], row["Seed"], row["PD Shape"]) == (50.0, 7, "top-down")


def test_unparseable_name_is_kept_without_group_or_reductions(table: pd.DataFrame) -> None:
    row = row_of(table, UNPARSEABLE)
    assert row["Mean Energy per Sample (J)"] == 1.0
    assert pd.isna(row["Architecture"]) and pd.isna(row["GPR"])
    assert math.isnan(row["Energy Reduction (%)"])


def test_failure_is_a_row_with_status_reason_and_no_numbers(table: pd.DataFrame) -> None:
    row = row_of(table, FAILED)
    assert (row["Status"], row["Error"]) == ("failed", "RuntimeError: out of memory")
    assert pd.isna(row["Mean Energy per Sample (J)"]) and pd.isna(row["Parameters"])


def test_measured_rows_have_status_measured_and_no_error(table: pd.DataFrame) -> None:
    row = row_of(table, ALEXNET_PD1)
    assert row["Status"] == "measured"
    assert pd.isna(row["Error"])


def test_flops_are_fvcores_count_of_one_batch_as_the_seed_has_them() -> None:
    table = build_table(
        [
            measurement(ALEXNET, batch_size=8, macs=400, fvcore_flops=410),
            measurement(ALEXNET_PD1, batch_size=8, macs=300, fvcore_flops=307),
        ],
        [],
    )
    row = row_of(table, ALEXNET_PD1)
    assert row["FLOPs"] == 8 * 307
    assert (row["MACs"], row["FLOPs per Sample (2 x MACs)"]) == (300, 600)  # ours: per sample
    assert row["CR (%) measured in FLOPs"] == pytest.approx(100 - 100 * 307 / 410)


def test_flops_are_empty_where_fvcores_count_is_unknown(table: pd.DataFrame) -> None:
    row = row_of(table, ALEXNET_PD1)
    assert pd.isna(row["FLOPs"])
    assert row["CR (%) measured in FLOPs"] == 25.0  # then of MACs: 300 against 400


def test_model_name_is_the_file_name_and_a_folder_problem_keeps_its_id() -> None:
    problem = ItemFailure("models::prune_models_folder", "/models", None, "no model files")
    table = build_table([measurement(ALEXNET)], [problem])
    assert list(table["MODEL_NAME"]) == [file_name(ALEXNET), "models::prune_models_folder"]


def test_measurement_details_are_in_their_columns(table: pd.DataFrame) -> None:
    row = row_of(table, ALEXNET_PD1)
    assert row["Input Shape"] == "3x224x224"
    assert row["CI95 Energy per Sample (J)"] == 0.015
    assert (row["Windows"], row["Samples Measured"], row["Seconds Measured"]) == (4, 4000, 3.5)
    assert (row["Meter"], row["Device"]) == ("nvml-counter", "Test GPU")
    assert row["Model Path"] == f"/models/{ALEXNET_PD1}.pt"


def test_dynamic_energy_is_gross_less_idle_power_times_seconds_per_sample() -> None:
    # 2.0 J per sample at 100 samples/s: 0.01 s per sample, of which 50 W idle draw is 0.5 J.
    table = build_table(
        [measurement(ALEXNET, joules_per_sample=2.0, frames_per_second=100.0, idle_watts=50.0)],
        [],
    )
    row = row_of(table, ALEXNET)
    assert row["Idle Power (W)"] == 50.0
    assert row["Dynamic Energy per Sample (J)"] == pytest.approx(1.5)
    assert row["Mean Energy per Sample (J)"] == 2.0  # gross stays in the seed's column


def test_dynamic_energy_is_empty_where_idle_power_was_not_measured(table: pd.DataFrame) -> None:
    row = row_of(table, ALEXNET_PD1)
    assert pd.isna(row["Idle Power (W)"]) and pd.isna(row["Dynamic Energy per Sample (J)"])


def test_protocol_whether_the_ci_target_was_met_and_why_measuring_stopped() -> None:
    table = build_table(
        [
            measurement(ALEXNET, converged=True, stop_reason="target"),
            measurement(ALEXNET_PD1, converged=False, stop_reason="out of reach"),
            measurement(VGG11, protocol="seed", converged=False),
        ],
        [],
    )
    columns = ["Protocol", "CI Target Met", "Stop Reason"]
    assert list(row_of(table, ALEXNET)[columns]) == ["adaptive", True, "target"]
    assert list(row_of(table, ALEXNET_PD1)[columns]) == ["adaptive", False, "out of reach"]
    seed = row_of(table, VGG11)
    assert seed["Protocol"] == "seed"
    # The seed protocol has no target to meet, and nothing decides when it stops.
    assert pd.isna(seed["CI Target Met"]) and pd.isna(seed["Stop Reason"])


def test_naive_energy_meter_period_and_device_state_are_in_their_columns(
    table: pd.DataFrame,
) -> None:
    row = row_of(table, ALEXNET_PD1)
    assert row["Naive Two-Read Energy per Sample (J)"] == pytest.approx(1.8)
    assert row["Meter Update Period (s)"] == 0.1
    assert (row["Temperature Start (C)"], row["Temperature End (C)"]) == (40.0, 55.0)
    assert (row["SM Clock Start (MHz)"], row["SM Clock End (MHz)"]) == (1980.0, 1755.0)


def test_gpu_facts_are_in_their_columns_and_the_power_limit_is_a_number() -> None:
    table = build_table([measurement(ALEXNET, gpu_facts=H100_FACTS)], [])
    row = row_of(table, ALEXNET)
    assert (row["GPU"], row["Driver"], row["Power Limit (W)"]) == ("NVIDIA H100", "580.159", 700.0)


def test_gpu_facts_a_meter_does_not_give_are_empty(table: pd.DataFrame) -> None:
    row = row_of(table, ALEXNET)
    assert pd.isna(row["GPU"]) and pd.isna(row["Driver"]) and pd.isna(row["Power Limit (W)"])


def test_rows_sort_by_group_baseline_first_then_pd_and_gpr(table: pd.DataFrame) -> None:
    assert list(table["MODEL_NAME"]) == [
        file_name(model)
        for model in (ALEXNET, ALEXNET_PD1, ALEXNET_IMAGENET, VGG11, FAILED, VGG11_PD3, UNPARSEABLE)
    ]


def test_order_does_not_depend_on_the_order_measured(table: pd.DataFrame) -> None:
    shuffled = zoo_measurements()
    random.Random(3).shuffle(shuffled)
    pd.testing.assert_frame_equal(build_table(shuffled, zoo_failures()), table)


def test_batch_sizes_of_one_model_sort_numerically() -> None:
    table = build_table([measurement(ALEXNET, batch_size=size) for size in (64, 8, 16)], [])
    assert list(table["BATCH_SIZE"]) == [8, 16, 64]


def test_empty_input_gives_an_empty_table_with_every_column() -> None:
    table = build_table([], [])
    assert table.empty
    assert list(table.columns) == list(schema.COLUMNS)


def test_reduction_percent_is_nan_for_a_zero_baseline() -> None:
    assert math.isnan(reduction_percent(1.0, 0.0))


def test_reduction_percent_hand_computed() -> None:
    assert reduction_percent(1.5, 2.0) == 25.0


def test_csv_round_trip_keeps_names_and_numbers(table: pd.DataFrame, tmp_path: Path) -> None:
    read = pd.read_csv(write_csv(table, tmp_path / "results.csv"))
    assert list(read.columns) == list(schema.COLUMNS)
    assert list(read["MODEL_NAME"]) == list(table["MODEL_NAME"])
    pruned = read[read["MODEL_NAME"] == file_name(ALEXNET_PD1)].iloc[0]
    assert pruned["Energy Reduction (%)"] == 25.0
    assert pruned["MACs"] == 300


def test_write_csv_creates_parent_directories(table: pd.DataFrame, tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "results.csv"
    assert write_csv(table, target) == target
    assert target.is_file()


def test_write_csv_leaves_no_temporary_file(table: pd.DataFrame, tmp_path: Path) -> None:
    write_csv(table, tmp_path / "results.csv")
    assert [path.name for path in tmp_path.iterdir()] == ["results.csv"]


def test_failed_write_keeps_the_old_csv_whole(
    table: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "results.csv"
    target.write_text("old,complete\n1,2\n")

    def crash_midway(self: pd.DataFrame, handle, **_: object) -> None:
        handle.write("MODEL_NAME,BATCH")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", crash_midway)
    with pytest.raises(OSError, match="disk full"):
        write_csv(table, target)
    assert target.read_text() == "old,complete\n1,2\n"
    assert [path.name for path in tmp_path.iterdir()] == ["results.csv"]


def test_summary_has_one_line_per_measured_row_in_table_order(table: pd.DataFrame) -> None:
    # The summary names models by stem, as item ids and gates do.
    measured = table[table["Status"] == "measured"]["MODEL_NAME"].map(schema.model_stem)
    rows = terminal_table_lines(table)[2 : 2 + len(measured)]
    labels = shorten_names(measured, 40)
    assert [row.split()[0] for row in rows] == [labels[m] for m in measured]
    assert ALEXNET_PD1 in labels


def test_summary_shows_energy_with_ci_and_reduction(table: pd.DataFrame) -> None:
    line = next(line for line in terminal_table_lines(table) if line.startswith(ALEXNET_PD1))
    assert "1.500 ± 0.015" in line
    assert " 25.0 " in line


def test_summary_warns_loudly_when_a_row_is_estimated() -> None:
    table = build_table(
        [measurement(ALEXNET, is_estimate=True, device="cpu"), measurement(VGG11)], []
    )
    warnings = [line for line in terminal_table_lines(table) if "ESTIMATED energy" in line]
    assert warnings == [
        "!! ESTIMATED energy: no energy counter readable on cpu; figures are not measurements:"
    ]


def test_summary_names_the_estimate_formula() -> None:
    table = build_table([measurement(ALEXNET, is_estimate=True)], [])
    assert "!!   estimate: 10 W per busy CPU core" in terminal_table_lines(table)


def test_summary_has_no_estimate_warning_without_an_estimate(table: pd.DataFrame) -> None:
    assert not any("ESTIMATED" in line for line in terminal_table_lines(table))


def test_summary_warns_about_an_estimate_read_back_from_csv(tmp_path: Path) -> None:
    table = build_table([measurement(ALEXNET, is_estimate=True)], [])
    read = pd.read_csv(write_csv(table, tmp_path / "results.csv"))
    assert any("ESTIMATED energy" in line for line in terminal_table_lines(read))


def test_summary_marks_an_item_whose_ci_missed_its_target_and_explains_the_mark() -> None:
    table = build_table(
        [
            measurement(ALEXNET, joules_per_sample=2.0, converged=True, stop_reason="target"),
            measurement(
                ALEXNET_PD1, joules_per_sample=1.5, converged=False, stop_reason="out of reach"
            ),
        ],
        [],
    )
    lines = terminal_table_lines(table)
    assert "2.000 ± 0.02 " in next(line for line in lines if line.startswith(ALEXNET))
    assert "1.500 ± 0.015~" in next(line for line in lines if line.startswith(ALEXNET_PD1))
    explanations = [line for line in lines if line.startswith("~ ")]
    assert explanations == [
        "~ CI target (--energy-target-ci) not met: 1 item out of its reach, stopped early; "
        "a longer cap narrows the CI"
    ]


@pytest.mark.parametrize(
    ("reasons", "rounds", "said"),
    [
        (
            ["time cap", "out of reach", "time cap"],
            [1, 1, 1],
            "1 item out of its reach, stopped early; 2 items at the time cap "
            "(--energy-max-seconds)",
        ),
        # Rounds: one item whose rounds stopped both ways, one whose rounds each met it.
        (
            ["target, out of reach", "target", None],
            [3, 3, 1],
            "1 item out of its reach, stopped early; 1 item met it round by round, not "
            "combined; 1 item for a reason not recorded",
        ),
        # One round: the check that stopped it saw the target, the final windows did not.
        (
            ["target", "time cap", "target"],
            [1, 1, 2],
            "1 item at the time cap (--energy-max-seconds); 1 item met it round by round, not "
            "combined; 1 item met it when it stopped, not over its final windows",
        ),
    ],
)
def test_the_ci_mark_counts_the_items_by_why_they_missed(
    reasons: list[str | None], rounds: list[int], said: str, tmp_path: Path
) -> None:
    models = [ALEXNET, ALEXNET_PD1, VGG11]
    table = build_table(
        [
            measurement(model, converged=False, stop_reason=reason, rounds=count)
            for model, reason, count in zip(models, reasons, rounds, strict=True)
        ],
        [],
    )
    read = pd.read_csv(write_csv(table, tmp_path / "results.csv"))
    for summary in (table, read):  # as built, and as read back from the CSV
        explanations = [line for line in terminal_table_lines(summary) if line.startswith("~ ")]
        assert explanations == [
            f"~ CI target (--energy-target-ci) not met: {said}; a longer cap narrows the CI"
        ]


def test_summary_has_no_ci_mark_when_every_target_was_met_or_there_was_none() -> None:
    table = build_table(
        [measurement(ALEXNET), measurement(VGG11, protocol="seed", converged=False)], []
    )
    assert not any("~" in line for line in terminal_table_lines(table))


def test_summary_marks_a_missed_ci_target_read_back_from_csv(tmp_path: Path) -> None:
    table = build_table([measurement(ALEXNET, converged=False)], [])
    read = pd.read_csv(write_csv(table, tmp_path / "results.csv"))
    assert "1.000 ± 0.01~" in terminal_table_lines(read)[2]


def test_summary_gives_the_idle_power_of_each_device() -> None:
    table = build_table(
        [
            measurement(ALEXNET, device="cuda:0 (NVIDIA H100)", idle_watts=76.25),
            measurement(ALEXNET_PD1, device="cuda:0 (NVIDIA H100)", idle_watts=76.25),
            measurement(VGG11, device="cpu (x86_64)", is_estimate=True),
        ],
        [],
    )
    idle = [line for line in terminal_table_lines(table) if line.startswith("idle power")]
    assert idle == [
        "idle power, cuda:0 (NVIDIA H100): 76.2 W",
        "idle power, cpu (x86_64): not measured",
    ]


def test_summary_lists_failures_with_their_reason(table: pd.DataFrame) -> None:
    assert f"FAILED {FAILED} (bs 8): RuntimeError: out of memory" in terminal_table_lines(table)


def test_summary_stays_within_120_columns() -> None:
    failure = ItemFailure(LONG_NAME, "p", None, "ValueError: " + "x" * 300 + "\nsecond line")
    lines = terminal_table_lines(build_table([measurement(LONG_NAME, is_estimate=True)], [failure]))
    assert max(len(line) for line in lines) <= 120


def test_summary_keeps_both_ends_of_a_long_model_name() -> None:
    row = terminal_table_lines(build_table([measurement(LONG_NAME)], []))[2]
    assert row.startswith("ResNet-152") and "SEED_42" in row


def test_summary_keeps_the_part_that_tells_two_long_names_apart() -> None:
    names = [
        "RESNET18_CIFAR10_l1-normed_PD1_GPR-30_PRUNED",
        "RESNET18_CIFAR10_random_PD1_GPR-30_PRUNED",
    ]
    lines = terminal_table_lines(build_table([measurement(name) for name in names], []))
    assert any("l1-normed_PD1_GPR-30_PRUNED" in line for line in lines)
    assert any("random_PD1_GPR-30_PRUNED" in line for line in lines)


def test_run_table_has_one_row_per_device_with_its_facts_and_idle_power() -> None:
    gpu = "cuda:0 (NVIDIA H100)"
    table = build_table(
        [
            measurement(ALEXNET, device=gpu, idle_watts=76.0, gpu_facts=H100_FACTS),
            measurement(ALEXNET_PD1, device=gpu, idle_watts=76.0, gpu_facts=H100_FACTS),
            measurement(VGG11, device="cpu (x86_64)", is_estimate=True),
        ],
        zoo_failures(),
    )
    run = build_run_table(table).set_index("Device")
    assert list(run.index) == ["cpu (x86_64)", gpu]
    h100 = run.loc[gpu]
    assert (h100["Meter"], h100["Meter Description"]) == ("nvml-counter", "NVML counter")
    assert (h100["GPU"], h100["Driver"], h100["Power Limit (W)"]) == ("NVIDIA H100", "580.159", 700)
    assert h100["Idle Power (W)"] == 76.0
    assert (h100["Items Measured"], h100["Seconds Measured"]) == (2, 7.0)  # 2 x 3.5 s
    cpu = run.loc["cpu (x86_64)"]
    assert (cpu["Meter"], cpu["Items Measured"]) == ("estimate", 1)
    assert pd.isna(cpu["Idle Power (W)"]) and pd.isna(cpu["GPU"])


def test_run_table_of_a_run_that_measured_nothing_is_empty() -> None:
    run = build_run_table(build_table([], zoo_failures()))
    assert run.empty
    assert list(run.columns) == list(schema.RUN_COLUMNS)


# At 100 FPS a sample takes 0.01 s: a per-window std of 5e-4 s is 5 % drift, 1e-5 s is 0.1 %.
H100 = "cuda:0 (NVIDIA H100)"


def note_lines(table: pd.DataFrame, label: str) -> list[str]:
    """The three lines of the terminal's note that starts with ``label``; none without it."""
    lines = terminal_table_lines(table)
    start = next((i for i, line in enumerate(lines) if line.startswith(label)), None)
    return [] if start is None else lines[start : start + 3]


def test_summary_names_items_that_ran_at_the_hosts_pace_and_what_to_compare_instead() -> None:
    table = build_table(
        [
            measurement(ALEXNET, batch_size=1, seconds_per_sample_std=5e-4, device=H100),
            measurement(ALEXNET_PD1, batch_size=1, seconds_per_sample_std=3e-4, device=H100),
            measurement(VGG11, device=H100),
        ],
        [],
    )
    assert note_lines(table, "host-bound:") == [
        "host-bound: 2 items ran at the host's pace, throughput varying 3.0-5.0 % between windows",
        f"  (most: {ALEXNET} at batch 1); their gross energy follows the host's speed:",
        "  compare their Dynamic Energy per Sample, or measure with --energy-cuda-graphs",
    ]
    assert all(len(line) <= 120 for line in note_lines(table, "host-bound:"))


def test_no_host_bound_note_for_steady_items_graphs_the_seed_protocol_or_a_cpu() -> None:
    table = build_table(
        [
            measurement(ALEXNET, device=H100),
            measurement(ALEXNET_PD1, seconds_per_sample_std=5e-4, cuda_graph=True, device=H100),
            measurement(
                VGG11, seconds_per_sample_std=5e-4, protocol="seed", converged=False, device=H100
            ),
            # On a CPU the host is the device: nothing to point at.
            measurement(VGG11_PD3, seconds_per_sample_std=5e-4, device="cpu (x86_64)"),
            # An estimate has its own warning, and windows too short to judge pace by.
            measurement(
                ALEXNET_IMAGENET, seconds_per_sample_std=5e-4, is_estimate=True, device=H100
            ),
        ],
        [],
    )
    assert note_lines(table, "host-bound:") == []


def test_host_bound_note_survives_a_csv_round_trip(tmp_path: Path) -> None:
    table = build_table([measurement(ALEXNET, seconds_per_sample_std=5e-4, device=H100)], [])
    read = pd.read_csv(write_csv(table, tmp_path / "results.csv"))
    assert note_lines(read, "host-bound:")[0].startswith(
        "host-bound: 1 item ran at the host's pace, "
    )
    assert "varying 5.0 % between windows" in note_lines(read, "host-bound:")[0]


def test_summary_says_what_the_seed_protocols_ci_does_not_cover() -> None:
    table = build_table(
        [
            measurement(ALEXNET, protocol="seed", converged=False, device=H100),
            measurement(ALEXNET_PD1, protocol="seed", converged=False, device=H100),
            measurement(VGG11, device=H100),
        ],
        [],
    )
    lines = note_lines(table, "seed protocol:")
    assert lines[0].startswith("seed protocol: 2 items; its CI covers one run's trials")
    assert "--energy-protocol=adaptive" in lines[2]
    assert all(len(line) <= 120 for line in lines)
    # The other rows are all still there.
    rows = [
        line
        for line in terminal_table_lines(table)
        if line.startswith((ALEXNET, ALEXNET_PD1, VGG11))
    ]
    assert len(rows) == 3


def test_no_seed_protocol_note_for_adaptive_items_a_cpu_or_an_estimate() -> None:
    table = build_table(
        [
            measurement(ALEXNET, device=H100),
            measurement(VGG11, protocol="seed", converged=False, device="cpu (x86_64)"),
            measurement(VGG11_PD3, protocol="seed", converged=False, is_estimate=True, device=H100),
        ],
        [],
    )
    assert note_lines(table, "seed protocol:") == []


def test_summary_names_reductions_whose_baseline_ran_on_another_device(tmp_path: Path) -> None:
    other = "cuda:1 (NVIDIA H100)"
    table = build_table(
        [
            measurement(ALEXNET, device=H100),
            measurement(ALEXNET_PD1, device=other),
            measurement(VGG11, device=H100),
            measurement(VGG11_PD3, device=H100),  # same device as its baseline: fine
        ],
        [],
    )
    expected = [
        "cross-device: 1 reduction sets a model against a baseline measured on another device "
        "(boards differ by several %)",
        f"  (e.g. {ALEXNET_PD1} at batch 8: {other} against {H100})",
        "  measure each family on one device (under pytest-xdist: --dist loadgroup)",
    ]
    assert note_lines(table, "cross-device:") == expected
    read = pd.read_csv(write_csv(table, tmp_path / "results.csv"))
    assert note_lines(read, "cross-device:") == expected


def test_no_cross_device_note_where_every_family_ran_on_one_device() -> None:
    table = build_table(
        [
            measurement(ALEXNET, device=H100),
            measurement(ALEXNET_PD1, device=H100),
            measurement(VGG11_PD3, device="cuda:1 (NVIDIA H100)"),  # no baseline measured
        ],
        [],
    )
    assert note_lines(table, "cross-device:") == []


@pytest.mark.parametrize(
    ("mean", "std", "expected"), [(0.01, 5e-4, 0.05), (0.0, 1e-4, None), (0.01, None, None)]
)
def test_throughput_drift_is_the_window_std_over_the_mean(mean, std, expected) -> None:
    from pytest_pruneenergy.report.schema import SECONDS_PER_SAMPLE, SECONDS_PER_SAMPLE_STD
    from pytest_pruneenergy.report.terminal import throughput_drift_fraction

    drift = throughput_drift_fraction(
        pd.Series({SECONDS_PER_SAMPLE: mean, SECONDS_PER_SAMPLE_STD: std})
    )
    if expected is None:
        assert math.isnan(drift)
    else:
        assert drift == pytest.approx(expected)


def test_the_summary_says_masked_zeros_save_nothing_and_names_a_model_not_pruned() -> None:
    masked = dataclasses.replace(measurement(ALEXNET_PD1), zero_weight_percent=50.0)
    same_size = measurement(VGG11_PD3, params=1000, macs=400)  # as big as its baseline
    table = build_table([measurement(ALEXNET), masked, measurement(VGG11), same_size], [])
    text = "\n".join(terminal_table_lines(table))
    assert "zero weights: 1 model(s) are 20 % zeros or more" in text
    assert "50.0 %" in text and "dense kernels multiply zeros like any weight" in text
    assert (
        f"named GPR-50 but no smaller than its baseline: {VGG11_PD3}.pt "
        "(parameters and FLOPs as the unpruned model's)"
    ) in " ".join(text.split())
    plain = "\n".join(terminal_table_lines(build_table(zoo_measurements(), [])))
    assert "zero weights" not in plain and "no smaller than its baseline" not in plain


def test_zero_weights_that_cannot_be_known_are_an_empty_cell_never_zero(tmp_path: Path) -> None:
    unknown = dataclasses.replace(measurement(ALEXNET_PD1), zero_weight_percent=None)
    table = build_table([measurement(ALEXNET), unknown], [])
    write_csv(table, tmp_path / "results.csv")
    cells = pd.read_csv(tmp_path / "results.csv", keep_default_na=False)["Zero Weights (%)"]
    assert list(cells) == ["", ""]
    assert "zero weights" not in "\n".join(terminal_table_lines(table))


def test_models_named_as_pruned_but_no_smaller_are_listed_whole_in_the_summary_and_page():
    from pytest_pruneenergy.report.html import findings_or_reason
    from pytest_pruneenergy.report.terminal import TERMINAL_WIDTH

    names = [
        f"VGG11_CIFAR10_magnitude-unstructured-{kind}_PD{pd}_GPR-50_PRUNED_SEED_{pd}"
        for pd, kind in enumerate(["global-l1", "layerwise-l2", "random-masks", "movement"], 1)
    ]
    unchanged = [measurement(name, params=1000, macs=400) for name in names]
    table = build_table([measurement(VGG11, params=1000, macs=400), *unchanged], [])
    sentence = (
        "named GPR-50 but no smaller than their baselines: "
        + ", ".join(f"{name}.pt" for name in names)
        + " (parameters and FLOPs as the unpruned models')"
    )
    lines = terminal_table_lines(table)
    first = next(i for i, line in enumerate(lines) if line.startswith("named GPR-50"))
    rest = itertools.takewhile(lambda line: line.startswith("  "), lines[first + 1 :])
    note = [lines[first], *rest]
    assert len(note) > 1 and all(len(line) <= TERMINAL_WIDTH for line in note)
    assert " ".join(line.strip() for line in note) == sentence
    assert sentence in findings_or_reason(table).summary


@pytest.mark.parametrize("said_by", ["Baseline Model", "names"])
def test_reduction_cis_pair_each_format_with_its_own_baseline(said_by: str) -> None:
    from pytest_pruneenergy.report.table import reduction_ci95_column

    rows = [
        dataclasses.replace(
            measurement(model, joules_per_sample=joules), dtype=dtype, weights_dtype=dtype
        )
        for model, joules, dtype in (
            (ALEXNET, 2.0, "float32"),
            (ALEXNET, 1.0, "bfloat16"),
            (ALEXNET_PD1, 1.5, "float32"),
            (ALEXNET_PD1, 0.5, "bfloat16"),
        )
    ]
    table = build_table(rows, [])
    if said_by == "names":
        table = table.drop(columns=["Baseline Model"])
    cis = reduction_ci95_column(table)
    pruned = table["MODEL_NAME"].str.contains("PRUNED")
    by_dtype = dict(zip(table.loc[pruned, "Dtype"], cis[pruned], strict=True))
    # Each half-width from its own pair: stats.reduction_ci95_points of 1.5 vs 2.0 and 0.5 vs 1.0.
    from pytest_pruneenergy.measure.stats import reduction_ci95_points

    assert by_dtype["float32"] == pytest.approx(reduction_ci95_points(1.5, 0.015, 2.0, 0.02))
    assert by_dtype["bfloat16"] == pytest.approx(reduction_ci95_points(0.5, 0.005, 1.0, 0.01))


def test_text_or_blank_keeps_text_and_blanks_missing_values_without_a_pandas_warning() -> None:
    import warnings

    from pytest_pruneenergy.report.schema import text_or_blank

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        all_missing = text_or_blank(pd.Series([float("nan"), None]))
        mixed = text_or_blank(pd.Series(["bfloat16", None]))
    assert list(all_missing) == ["", ""]
    assert list(mixed) == ["bfloat16", ""]


def in_format(one: Measurement, dtype: str) -> Measurement:
    """``one`` measured in ``dtype`` under --prune-dtypes: cast, so its weights are too."""
    return dataclasses.replace(one, dtype=dtype, weights_dtype=dtype)


def test_under_prune_dtypes_the_terminal_table_tells_the_formats_apart() -> None:
    measurements = [in_format(measurement(ALEXNET), dtype) for dtype in ("float32", "bfloat16")]
    lines = write_report(measurements, [], None).lines
    assert lines[0].startswith(f"{'model':<34} {'bs':>4} dtype ")
    rows = [line for line in lines if line.startswith(ALEXNET)]
    assert [row[34:45] for row in rows] == ["    8 bf16 ", "    8 fp32 "]
    assert max(len(line) for line in lines[:4]) <= 120


def test_without_prune_dtypes_the_terminal_table_has_no_dtype_column() -> None:
    plain = dataclasses.replace(measurement(ALEXNET), weights_dtype="float32")
    lines = write_report([plain], [], None).lines
    assert "dtype" not in lines[0]
    assert "float32" not in lines[2] and "fp32" not in lines[2]


# -- disturbances --------------------------------------------------------------------------------


def with_clock(item: Measurement, mhz: float) -> Measurement:
    return dataclasses.replace(
        item, stats=dataclasses.replace(item.stats, sm_clock_start_mhz=mhz, sm_clock_end_mhz=mhz)
    )


def test_a_row_says_what_disturbed_it_or_its_baseline_and_is_blank_otherwise() -> None:
    baseline = dataclasses.replace(
        measurement(ALEXNET), disturbances=("1 other process(es) on the GPU",)
    )
    pruned = dataclasses.replace(
        measurement(ALEXNET_PD1), disturbances=("clocks held back (power cap)",)
    )
    built = build_table([baseline, pruned, measurement(VGG11)], [])
    assert row_of(built, ALEXNET)["Disturbances"] == "1 other process(es) on the GPU"
    assert row_of(built, ALEXNET_PD1)["Disturbances"] == (
        "clocks held back (power cap); its baseline: 1 other process(es) on the GPU"
    )
    assert pd.isna(row_of(built, VGG11)["Disturbances"])


def test_a_pruned_item_at_other_clocks_than_its_baseline_says_so_within_5_percent_not() -> None:
    baseline = with_clock(measurement(ALEXNET), 1980)
    near = with_clock(measurement(ALEXNET_PD1), 1900)  # 4 % below
    far = with_clock(measurement(ALEXNET_PD1, 16), 1410)
    built = build_table([baseline, with_clock(measurement(ALEXNET, 16), 1980), near, far], [])
    assert pd.isna(row_of(built, ALEXNET_PD1)["Disturbances"])
    assert row_of(built, ALEXNET_PD1, 16)["Disturbances"] == (
        "SM clock 1410 MHz against its baseline's 1980 MHz"
    )


def test_the_summary_lists_disturbed_items_whole_and_counts_them() -> None:
    long_reason = "other processes kept 1.90 CPU cores busy of 2; " + " ".join(["and more"] * 20)
    items = [
        dataclasses.replace(measurement(ALEXNET), disturbances=(long_reason,)),
        measurement(VGG11),
    ]
    lines = terminal_table_lines(build_table(items, []))
    start = next(i for i, line in enumerate(lines) if line.startswith("DISTURBED: 1 of 2 item"))
    listed = " ".join(line.strip() for line in lines[start:])
    assert f"{ALEXNET} (bs 8): {long_reason}" in listed  # wrapped, not cut
    assert all(len(line) <= 120 for line in lines[start:])


def test_a_run_without_disturbances_has_no_such_lines() -> None:
    lines = terminal_table_lines(build_table([measurement(ALEXNET), measurement(VGG11)], []))
    assert not [line for line in lines if "DISTURBED" in line]


def with_temperatures(item: Measurement, start: float | None, end: float | None) -> Measurement:
    stats = dataclasses.replace(
        item.stats, temperature_start_celsius=start, temperature_end_celsius=end
    )
    return dataclasses.replace(item, stats=stats)


def test_items_measured_while_the_gpu_warmed_by_2_degrees_are_listed_with_their_temperatures():
    items = [
        with_temperatures(measurement(ALEXNET), 51.0, 54.0),  # still heating
        with_temperatures(measurement(ALEXNET, 16), 55.0, 57.0),  # 2 degrees: listed
        with_temperatures(measurement(ALEXNET_PD1), 55.0, 56.0),  # warm: 1 degree
        with_temperatures(measurement(VGG11), None, None),  # no temperature read
        with_temperatures(measurement(VGG11, 16), 60.0, 57.0),  # cooling
    ]
    table = build_table(items, [])
    lines = terminal_table_lines(table)
    start = next(i for i, line in enumerate(lines) if line.startswith("WARMING: 2 of 5 item"))
    listed = " ".join(line.strip() for line in lines[start:])
    assert f"{ALEXNET} (bs 8): 51 to 54 C" in listed
    assert f"{ALEXNET} (bs 16): 55 to 57 C" in listed
    assert ALEXNET_PD1 not in listed and VGG11 not in listed
    assert all(len(line) <= 120 for line in lines)
    # report.html's notes say the same.
    notes = " ".join(findings_or_reason(table).summary)
    assert "WARMING: 2 of 5 item(s)" in notes and f"{ALEXNET} (bs 8): 51 to 54 C" in notes


def test_a_run_whose_gpu_stayed_warm_or_read_no_temperature_has_no_warming_lines():
    items = [
        with_temperatures(measurement(ALEXNET), 55.0, 56.0),
        with_temperatures(measurement(VGG11), None, None),
    ]
    lines = terminal_table_lines(build_table(items, []))
    assert not [line for line in lines if "WARMING" in line]


def test_the_csv_columns_in_the_reports_doc_are_the_schemas_in_order():
    import re
    from pathlib import Path

    from pytest_pruneenergy.report.schema import COLUMNS, SEED_COLUMNS

    doc = (Path(__file__).resolve().parents[2] / "docs" / "report.md").read_text()
    section = doc[doc.index("## CSV columns") :].split("\n## ")[0]
    documented = []
    for first, last, names in re.findall(r"^\| (\d+)(?:-(\d+))? \| (`.+?`) \|", section, re.M):
        listed = re.findall(r"`([^`]+)`", names)
        assert len(listed) == int(last or first) - int(first) + 1, names
        assert int(first) == len(documented) + 1, names  # numbered in order, none skipped
        documented += listed
    assert documented == list(COLUMNS)
    assert f"the other {len(COLUMNS) - len(SEED_COLUMNS)} follow" in section


def test_a_stop_reason_is_named_alone_or_among_its_rounds_and_never_by_a_part_of_it() -> None:
    reasons = pd.Series(["time cap", "target, out of reach", "", None, "time capped"])
    assert list(stopped_for(reasons, "time cap")) == [True, False, False, False, False]
    assert list(stopped_for(reasons, "out of reach")) == [False, True, False, False, False]
    assert list(stopped_for(reasons, "target")) == [False, True, False, False, False]
