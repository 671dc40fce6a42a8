"""The plugin end to end, as a user runs it: items, failures, the CSV, figures and summary.

Most runs happen in this process (``run_in_process``, see conftest.py); a run whose conftest
changes torch for good, or that must start a fresh interpreter, happens in a subprocess.
Scenarios that share a run are grouped in module-scoped fixtures.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from pytest_pruneenergy.measure.window_stats import STOP_REASONS

from ..conftest import (
    shared_run,
    tiny_alexnet,
    write_second_family,
    write_tiny_model,
    write_tiny_zoo,
)
from ..report.figure_names import ALL_FIGURES
from .conftest import (
    CSV_NAME,
    FAST_WITH_CACHE,
    RUN_CSV_NAME,
    STEM,
    TINY_STEMS,
    TWO_WORKERS,
    Run,
    run_in_process,
    with_stems,
    write_hooked_zoo,
)
from .conftest_texts import MAKE_SAMPLE_METER, SAMPLE_METER_HEAD

pytestmark = pytest.mark.slow


def run(folder: Path, *args: str) -> pytest.RunResult:
    """A run in this process, read as pytester reads one."""
    return run_in_process(folder, *args).result


# -- options and collection -------------------------------------------------------------------


@pytest.mark.pytest_api
def test_help_lists_the_options_under_one_heading_without_importing_torch(tmp_path):
    code = (
        "import sys, pytest, contextlib, io\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    pytest.main(['--help'])\n"
        "print(out.getvalue())\n"
        "heavy = ('torch', 'pandas', 'numpy', 'matplotlib', 'pynvml')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "print('HEAVY:', heavy)\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    ).stdout
    heading = output.index("energy of pruned models (pytest-pruneenergy):")
    section = output[heading : output.index("\n\n", heading)]
    for option in (
        "--prune-models",
        "--prune-batch-sizes",
        "--prune-input-shape",
        "--prune-device",
        "--prune-allow-pickle",
        "--energy-report",
        "--energy-meter",
        "--energy-max-seconds",
        "--energy-protocol",
        "--energy-target-ci",
        "--energy-idle-seconds",
        "--energy-cuda-graphs",
        "--energy-min-reduction",
        "--energy-max-joules",
        "--energy-min-fps",
        "--energy-strict",
        "--energy-store",
        "--energy-save",
        "--energy-compare",
        "--energy-compare-fail",
        "--energy-step-fail",
        "--energy-step-since",
        "--energy-markdown",
    ):
        assert option in section
    assert "HEAVY: []" in output


@pytest.mark.pytest_api
def test_without_prune_models_an_ordinary_suite_is_untouched(tmp_path: Path, zoo):
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    assert True\n")
    result = run_in_process(tmp_path, "--energy-report", options=("-p", "no:cacheprovider")).result
    result.assert_outcomes(passed=1)
    assert "= pruneenergy =" not in result.stdout.str()
    assert not (tmp_path / "pruneenergy-report").exists()


@pytest.mark.pytest_api
def test_collect_only_lists_one_item_per_model_and_batch_size(tmp_path: Path, zoo):
    result = run(
        tmp_path, "--prune-models=models", "--prune-batch-sizes=1,4", "--collect-only", "-q"
    )
    lines = [line for line in result.stdout.lines if "::test_energy[" in line]
    assert lines == [
        f"models/{stem}.pth::test_energy[{stem}-bs{size}]" for stem in TINY_STEMS for size in (1, 4)
    ]


@shared_run
def xdist_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("xdist")
    write_tiny_zoo(folder / "models")
    return run_in_process(
        folder, *TWO_WORKERS, "--prune-models=models", "--prune-batch-sizes=1,4", "--energy-report"
    )


@pytest.mark.pytest_api
def test_each_batch_size_is_an_item_of_its_own_under_xdist(xdist_run: Run):
    # pytest 9.2 gave every batch size of a file one id, and xdist then ran half the items.
    xdist_run.result.assert_outcomes(passed=6)


@pytest.mark.pytest_api
def test_two_model_files_of_one_name_stop_collection(tmp_path: Path, zoo):
    other = tmp_path / "more"
    other.mkdir()
    write_tiny_model(other / "AlexNet_TINY_UNPRUNED.pth")
    result = run(tmp_path, "--prune-models=models", "--prune-models=more")
    assert result.ret != pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        ["*another model file has the name AlexNet_TINY_UNPRUNED*rename one of them*"]
    )
    result.assert_outcomes(errors=2)


@pytest.mark.pytest_api
def test_k_selects_energy_items(tmp_path: Path, zoo):
    result = run(tmp_path, "--prune-models=models", "--prune-batch-sizes=1,4", "-k", "PD1 and bs4")
    result.assert_outcomes(passed=1, deselected=5)


@pytest.mark.pytest_api
def test_lf_reruns_only_the_energy_items_that_failed(tmp_path: Path) -> None:
    # pytest 9.2 read a stored id back as a name and parameters, never equal to our items' ids,
    # and so reran every item.
    models = tmp_path / "models"
    models.mkdir()
    write_tiny_model(models / "AlexNet_TINY_UNPRUNED.pth")
    (models / "AlexNet_TINY_random_PD1_GPR-50_PRUNED.pth").write_bytes(b"\x00\x01 not a model")
    arguments = ("models", "--prune-models=models", "--prune-batch-sizes=1,2")
    # With pytest's cache, which --lf reads.
    first = run_in_process(tmp_path, *arguments, options=FAST_WITH_CACHE).result
    first.assert_outcomes(passed=2, failed=2)
    again = run_in_process(tmp_path, *arguments, "--lf", "-v", options=FAST_WITH_CACHE).result
    outcomes = again.parseoutcomes()
    assert (outcomes.get("failed"), outcomes.get("passed")) == (2, None), again.stdout.str()
    again.stdout.fnmatch_lines(["*run-last-failure: rerun previous 2 failures*"])


@pytest.mark.pytest_api
def test_options_can_come_from_the_ini_file(tmp_path: Path, zoo):
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\n"
        "prune_models = models\n"
        "prune_batch_sizes = 2\n"
        "energy_report = true\n"
        "energy_meter = estimate\n"
        "energy_max_seconds = 0.2\n"
    )
    result = run_in_process(tmp_path, options=("-p", "no:cacheprovider")).result
    result.assert_outcomes(passed=3)
    table = pd.read_csv(tmp_path / "pruneenergy-report" / CSV_NAME)
    assert set(table["BATCH_SIZE"]) == {2}


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--prune-batch-sizes=1,zero", "--prune-batch-sizes: 'zero' is not a whole number"),
        ("--energy-protocol=fixed", "--energy-protocol: 'fixed' is not one of adaptive, seed"),
        ("--energy-target-ci=0", "--energy-target-ci: '0' must be a percentage above 0 and *"),
        ("--energy-idle-seconds=-3", "--energy-idle-seconds: '-3' must be 0 or more"),
    ],
)
@pytest.mark.pytest_api
def test_a_bad_option_value_is_a_usage_error(tmp_path: Path, zoo, option, message):
    result = run(tmp_path, "--prune-models=models", option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])


# -- a normal run --------------------------------------------------------------------------


@shared_run
def good_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("good")
    write_tiny_zoo(folder / "models")
    accuracy = "\n".join(f"{stem},{0.9 - 0.1 * i}" for i, stem in enumerate(TINY_STEMS))
    (folder / "metadata.csv").write_text(f"MODEL_NAME,accuracy\n{accuracy}\n")
    return run_in_process(
        folder,
        "--prune-models=models",
        "--prune-batch-sizes=1,2",
        "--energy-report=out/report",
        "--benchmark-json=bench.json",
        "--energy-recommend-fps=1",
        "--energy-metadata=metadata.csv",
        figures=True,
    )


@pytest.mark.pytest_api
def test_every_item_passes_and_lands_in_the_csv(good_run: Run):
    assert good_run.returncode == 0, good_run.output
    table = good_run.table("out/report")
    assert sorted(zip(table[STEM], table["BATCH_SIZE"], strict=False)) == [
        (stem, size) for stem in TINY_STEMS for size in (1, 2)
    ]
    assert set(table["MODEL_NAME"]) == {f"{stem}.pth" for stem in TINY_STEMS}  # file names
    # --energy-metadata's metric comes after our columns (STEM is this test's own).
    assert table.drop(columns=STEM).columns[-1] == "accuracy"
    assert set(table["Status"]) == {"measured"}
    assert (table["Mean Energy per Sample (J)"] > 0).all()
    assert (table["FPS"] > 0).all()
    assert set(table["Meter"]) == {"estimate"}
    assert set(table["Protocol"]) == {"adaptive"}


def test_an_estimate_has_no_idle_power_and_so_no_dynamic_energy(good_run: Run):
    table = good_run.table("out/report")
    assert table["Idle Power (W)"].isna().all()
    assert table["Dynamic Energy per Sample (J)"].isna().all()
    assert "idle power, cpu (" in good_run.summary()
    assert ": not measured" in good_run.summary()


def test_the_run_metadata_is_one_row_for_the_device(good_run: Run):
    run = good_run.run_table("out/report")
    assert len(run) == 1
    row = run.iloc[0]
    assert row["Device"].startswith("cpu (")
    assert (row["Meter"], row["Items Measured"]) == ("estimate", 6)
    table = good_run.table("out/report")
    assert row["Seconds Measured"] == pytest.approx(table["Seconds Measured"].sum())
    assert f"out/report/{RUN_CSV_NAME}" in good_run.summary()


def test_pruned_models_are_compared_with_their_baseline(good_run: Run):
    table = good_run.table("out/report")
    pruned = table[table[STEM] == "AlexNet_TINY_random_PD1_GPR-50_PRUNED"]
    assert (pruned["Baseline Model"] == "AlexNet_TINY_UNPRUNED.pth").all()
    baseline = table[table[STEM] == "AlexNet_TINY_UNPRUNED"].iloc[0]
    expected_cr = 100 - 100 * pruned["Parameters"].iloc[0] / baseline["Parameters"]
    assert pruned["CR (%) measured in Parameters"].iloc[0] == pytest.approx(expected_cr)
    assert (pruned["FLOPs per Sample (2 x MACs)"] == 2 * pruned["MACs"]).all()
    # The seed's FLOPs: fvcore's count of one batch, the pool's elements on top of the MACs.
    per_sample = pruned["FLOPs"] / pruned["BATCH_SIZE"]
    assert (per_sample > pruned["MACs"]).all() and per_sample.nunique() == 1


def test_pass_time_percentiles_reach_the_csv_and_terminal_and_a_p99_gate_fails_its_item(
    tmp_path: Path,
):
    # Tiny linear models: thousands of passes even on a busy machine, each timed on the host.
    write_hooked_zoo(tmp_path, METERED_MODELS, METERED_STEMS)
    result = run_in_process(
        tmp_path,
        "--prune-models=models",
        "--prune-batch-sizes=1",
        "--prune-input-shape=8",
        "--energy-max-seconds=0.5",
        "--energy-report=out",
        "--energy-max-p99-ms=0.000001",
        # Other processes on a busy machine make a verdict inconclusive (disturbed): it fails too.
        "--energy-strict",
        "-p",
        "no:benchmark",
    )
    assert result.returncode == 1, result.output
    table = result.table("out")
    assert len(table) == len(METERED_STEMS)  # failed by the gate, kept in the CSV
    assert (table["Samples Measured"] >= 102).all()
    p50, p90, p99 = (table[f"Latency p{q} (ms)"] for q in (50, 90, 99))
    assert p50.gt(0).all() and (p90 >= p50).all() and (p99 >= p90).all()
    assert "2 failed" in result.output
    assert "is above max_p99_ms=1e-06 set by command line" in result.output
    assert "p99 ms" in result.output


def test_figures_are_written(good_run: Run):
    pngs = {p.name for p in (good_run.folder / "out/report").glob("*.png")}
    assert pngs >= ALL_FIGURES


@pytest.mark.pytest_api
def test_terminal_summary_shows_results_and_says_energy_is_estimated(good_run: Run):
    summary = good_run.summary()
    for stem in ("AlexNet_TINY_UNPRUNED", "AlexNet_TINY_random_PD1_GPR-50_PRUNED"):
        assert stem in summary
    assert "ESTIMATED energy" in summary
    assert "out/report" in summary


@pytest.mark.pytest_api
def test_energy_lands_in_pytest_benchmark_extra_info(good_run: Run):
    benchmarks = json.loads((good_run.folder / "bench.json").read_text())["benchmarks"]
    assert len(benchmarks) == 6
    for bench in benchmarks:
        info = bench["extra_info"]
        assert info["joules_per_sample"] > 0
        assert info["fps"] > 0
        assert info["flops"] == 2 * info["macs"] > 0
        assert info["meter"] == "estimate"
        assert info["protocol"] == "adaptive"
        assert isinstance(info["ci_target_met"], bool)
        assert info["stop_reason"] in STOP_REASONS
        assert info["idle_watts"] is info["dynamic_joules_per_sample"] is info["gpu_name"] is None
        assert bench["stats"]["rounds"] >= 3


# -- the seed protocol, with a meter that has idle power ----------------------------------------

# A board drawing IDLE_WATTS always, plus BUSY_WATTS per CPU-second of this process: idle power
# and dynamic energy both mean something, unlike with the estimate meter.
METERED_MODELS = """
import time
import torch

IDLE_WATTS = 40.0
BUSY_WATTS = 10.0

class BoardMeter:
    name = "board"
    is_estimate = False
    description = "board: idle draw plus CPU time"
    gpu_facts = {"gpu_name": "Test Board", "driver": "580.95.05", "power_limit_watts": "123.5"}

    def read_joules(self):
        return IDLE_WATTS * time.perf_counter() + BUSY_WATTS * time.process_time()

    def close(self):
        pass

class Raises(torch.nn.Module):
    def forward(self, x):
        raise ValueError("this model is broken on purpose")

def pytest_pruneenergy_make_meter(device, kind, estimate_watts_per_core):
    return BoardMeter()

def pytest_pruneenergy_load_model(path, allow_pickle):
    if path.stem == "raises":
        return Raises()
    torch.manual_seed(0)
    width = 16 if "UNPRUNED" in path.stem else 8
    layers = [torch.nn.Linear(8, width), torch.nn.ReLU(), torch.nn.Linear(width, 2)]
    return torch.nn.Sequential(*layers)
"""
METERED_STEMS = ("Lin_TINY_UNPRUNED", "Lin_TINY_random_PD1_GPR-50_PRUNED")


@shared_run
def seed_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("seed")
    write_hooked_zoo(folder, METERED_MODELS, (*METERED_STEMS, "raises"))
    return run_in_process(
        folder,
        "--prune-models=models",
        "--prune-batch-sizes=1,2",
        "--prune-input-shape=8",
        "--energy-protocol=seed",
        "--energy-idle-seconds=0.3",
        "--energy-report",
        "--benchmark-json=bench.json",
    )


def test_the_seed_protocol_measures_every_item_in_twenty_trials(seed_run: Run):
    outcomes = seed_run.outcomes()
    assert (outcomes["passed"], outcomes["failed"]) == (4, 2), seed_run.output
    table = seed_run.table()
    measured = table[table["Status"] == "measured"]
    assert sorted(zip(measured[STEM], measured["BATCH_SIZE"], strict=True)) == [
        (stem, size) for stem in METERED_STEMS for size in (1, 2)
    ]
    assert set(measured["Protocol"]) == {"seed"}
    assert set(measured["Windows"]) == {20}
    assert measured["CI Target Met"].isna().all()  # the seed protocol has no target


def test_idle_power_is_measured_once_and_subtracted_for_dynamic_energy(seed_run: Run):
    measured = seed_run.table().query("Status == 'measured'")
    idle_watts = measured["Idle Power (W)"]
    assert idle_watts.nunique() == 1  # one measurement for the device, not one per item
    assert 40.0 <= idle_watts.iloc[0] <= 50.0  # the board's idle draw and the poller's CPU time
    expected = (
        measured["Mean Energy per Sample (J)"] - idle_watts * measured["Mean Time per Sample (s)"]
    )
    dynamic = measured["Dynamic Energy per Sample (J)"]
    assert list(dynamic) == pytest.approx(list(expected))
    assert (dynamic > 0).all()


def test_cuda_graphs_asked_for_on_a_cpu_fail_each_item_with_the_reason_in_the_csv(
    tmp_path: Path,
):
    write_hooked_zoo(tmp_path, METERED_MODELS, METERED_STEMS[:1])
    result = run_in_process(
        tmp_path,
        "--prune-models=models",
        "--prune-batch-sizes=1",
        "--prune-input-shape=8",
        "--prune-device=cpu",
        "--energy-cuda-graphs",
        "--energy-report",
    )
    assert result.outcomes().get("failed") == 1, result.output
    row = result.table().iloc[0]
    assert row["Status"] == "failed"
    assert "CUDA graphs need a CUDA device" in row["Error"]


def test_the_meters_gpu_facts_land_in_every_row_and_in_the_run_metadata(seed_run: Run):
    measured = seed_run.table().query("Status == 'measured'")
    assert set(measured["GPU"]) == {"Test Board"}
    assert set(measured["Driver"]) == {"580.95.05"}
    assert set(measured["Power Limit (W)"]) == {123.5}
    run = seed_run.run_table()
    assert len(run) == 1
    row = run.iloc[0]
    assert (row["Meter"], row["GPU"], row["Power Limit (W)"]) == ("board", "Test Board", 123.5)
    assert row["Idle Power (W)"] == measured["Idle Power (W)"].iloc[0]
    assert row["Items Measured"] == 4


def test_the_summary_gives_the_devices_idle_power(seed_run: Run):
    idle_watts = seed_run.table()["Idle Power (W)"].dropna().iloc[0]
    lines = [line for line in seed_run.summary().splitlines() if line.startswith("idle power")]
    assert len(lines) == 1
    assert lines[0].startswith("idle power, cpu (")
    assert lines[0].endswith(f": {idle_watts:.1f} W")


def test_seed_protocol_figures_land_in_pytest_benchmark_extra_info(seed_run: Run):
    report = json.loads((seed_run.folder / "bench.json").read_text())
    assert report["machine_info"]["pruneenergy"] == {
        "cpu": {"name": "Test Board", "driver": "580.95.05", "power_limit_watts": 123.5}
    }
    benchmarks = report["benchmarks"]
    assert len(benchmarks) == 4
    for bench in benchmarks:
        info = bench["extra_info"]
        assert (info["protocol"], info["ci_target_met"]) == ("seed", None)
        assert info["stop_reason"] is None  # fixed trials: nothing decides when to stop
        assert info["idle_watts"] > 0
        assert info["dynamic_joules_per_sample"] is not None
        assert (info["gpu_name"], info["driver"]) == ("Test Board", "580.95.05")
        assert info["power_limit_watts"] == 123.5


@pytest.mark.pytest_api
def test_a_failing_benchmark_fixture_costs_its_timing_not_the_measurement(tmp_path: Path, zoo):
    # What pytest-benchmark 5.2 does under pytest 9.2: its fixture raises at setup.
    (tmp_path / "conftest.py").write_text(
        "import pytest\n"
        "@pytest.fixture\n"
        "def benchmark():\n"
        "    raise AttributeError(\"'EnergyItem' object has no attribute '_nodeid'\")\n"
    )
    result = run(tmp_path, "--prune-models=models", "--prune-batch-sizes=1", "--energy-report")
    result.assert_outcomes(passed=3, warnings=3)
    result.stdout.fnmatch_lines(["*pytest-benchmark's fixture failed (AttributeError: *"])
    table = pd.read_csv(tmp_path / "pruneenergy-report" / CSV_NAME)
    assert set(table["Status"]) == {"measured"}


@pytest.mark.pytest_api
def test_a_failed_item_draws_no_benchmark_warning(seed_run: Run):
    assert "this model is broken on purpose" in seed_run.output
    assert "Benchmark fixture was not used" not in seed_run.output


# -- bad inputs: each fails its own items, every other result is kept ---------------------------

HOOKED_MODELS = """
import torch

class Raises(torch.nn.Module):
    def forward(self, x):
        raise ValueError("this model is broken on purpose")

class OutOfMemoryAbove2(torch.nn.Module):
    def forward(self, x):
        if x.shape[0] > 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 80.00 GiB")
        return x.mean()

def pytest_pruneenergy_load_model(path, allow_pickle):
    if path.stem == "raises":
        return Raises()
    if path.stem == "oom":
        return OutOfMemoryAbove2()
    if path.stem == "gray":
        return torch.nn.Conv2d(1, 2, 3)  # wants one channel; the input has three
    return None
"""
GOOD_ITEMS = 2 * len(TINY_STEMS)


class LinearOnFive(torch.nn.Module):
    """Scripted, it fails inside the TorchScript interpreter on any input not ending in 5."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(5, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


class RaisesInScript(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > 0:
            raise ValueError("scripted model broken on purpose")
        return x


class Doubles(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 2 * x


def write_bad_files(models: Path) -> None:
    """One file of each kind that cannot be measured, and files beside them that are skipped."""
    import warnings

    from pytest_pruneenergy.models.architectures import build_model

    (models / "AlexNet_TINY_random_PD2_GPR-50_PRUNED.pth").write_bytes(b"\x00garbage")
    torch.save(build_model(tiny_alexnet()), models / "AlexNet_TINY_random_PD4_GPR-10_PRUNED.pth")
    (models / "zero_bytes.pth").write_bytes(b"")
    (models / "notes.pth").write_text("hello, these are not weights\n")
    exported = torch.export.export(Doubles(), (torch.randn(1, 3, 8, 8),))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.export warns about the .pt suffix
        torch.export.save(exported, models / "exported.pt")
        torch.jit.save(torch.jit.script(LinearOnFive()), models / "scripted_shape.pt")
        torch.jit.save(torch.jit.script(RaisesInScript()), models / "scripted_raises.pt")
    for name in ("model.onnx", "weights.safetensors", "program.pt2"):
        (models / name).write_bytes(b"not read")
    (models / "gone.pth").symlink_to(models.parent / "nowhere.pth")


@shared_run
def bad_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("bad")
    models = folder / "models"
    write_tiny_zoo(models)
    (folder / "empty").mkdir()
    (folder / "conftest.py").write_text(HOOKED_MODELS)
    write_bad_files(models)
    for stem in ("raises", "oom", "gray"):
        (models / f"{stem}.pth").write_bytes(b"loaded by the conftest hook")
    return run_in_process(
        folder,
        "--prune-models=models",
        "--prune-models=absent",
        "--prune-models=empty",
        "--prune-batch-sizes=1,4",
        "--prune-input-shape=3,64,64",
        "--energy-report",
        "-p",
        "no:benchmark",
    )


def failed_rows(run: Run, model: str) -> pd.DataFrame:
    table = run.table()
    return table[(table[STEM] == model) & (table["Status"] == "failed")]


@pytest.mark.pytest_api
def test_bad_inputs_fail_only_their_own_items(bad_run: Run):
    outcomes = bad_run.outcomes()
    assert outcomes["passed"] == GOOD_ITEMS + 1  # the tiny zoo, and "oom" at batch size 1
    # Two batch sizes each: corrupt, pickle, zero bytes, text, exported, two scripted, raises,
    # gray; then oom at bs 4, the missing folder and the empty folder.
    assert outcomes["failed"] == 2 * 9 + 3
    table = bad_run.table()
    measured = table[table["Status"] == "measured"]
    for stem in TINY_STEMS:
        assert sorted(measured.loc[measured[STEM] == stem, "BATCH_SIZE"]) == [1, 4]


def test_missing_folder_is_one_failed_item_with_a_clear_error(bad_run: Run):
    assert "--prune-models folder" in bad_run.output
    assert "absent does not exist" in bad_run.output


def test_empty_folder_is_one_failed_item_with_a_clear_error(bad_run: Run):
    assert "empty holds no model files (.pth, .pt, .ts, .jit)" in bad_run.output


@pytest.mark.parametrize(
    ("model", "reason"),
    [
        (
            "AlexNet_TINY_random_PD2_GPR-50_PRUNED",
            "PD2_GPR-50_PRUNED.pth: not a model file: neither a torch.save archive, a pickle nor "
            "TorchScript (it begins with bytes 00 67 61 72 62 61 67 65); is it corrupted or cut "
            "short?",
        ),
        ("zero_bytes", "zero_bytes.pth: the file is empty (0 bytes)"),
        ("notes", "notes.pth: a text file, not a model (it begins 'hello, these are not"),
        ("exported", "exported.pt: a torch.export archive (torch.export.save), which"),
    ],
)
def test_a_file_that_is_no_model_says_what_it_is_and_what_to_do(bad_run: Run, model, reason):
    rows = failed_rows(bad_run, model)
    assert sorted(rows["BATCH_SIZE"]) == [1, 4]
    assert rows["Error"].str.contains(reason, regex=False).all(), rows["Error"].iloc[0]
    assert not rows["Error"].str.contains("weights_only set to False").any()


def test_a_failing_torchscript_model_says_the_real_cause_and_the_shape_hint(bad_run: Run):
    rows = failed_rows(bad_run, "scripted_shape")
    assert sorted(rows["BATCH_SIZE"]) == [1, 4]
    error = rows["Error"].iloc[0]
    assert "RuntimeError: mat1 and mat2 shapes cannot be multiplied (192x64 and 5x2)" in error
    assert "TorchScript interpreter" not in error
    assert "set --prune-input-shape" in error
    summary = " ".join(bad_run.summary().split())  # long reasons wrap, never get cut
    assert "(RuntimeError: mat1 and mat2 shapes cannot be multiplied (192x64 and 5x2))" in summary


def test_an_error_that_is_not_about_shape_gets_no_shape_hint(bad_run: Run):
    for model, cause in (
        ("scripted_raises", "ValueError: scripted model broken on purpose"),
        ("raises", "ValueError: this model is broken on purpose"),
    ):
        error = failed_rows(bad_run, model)["Error"].iloc[0]
        assert cause in error
        assert "--prune-input-shape" not in error


@pytest.mark.pytest_api
def test_skipped_files_are_listed_with_the_reason(bad_run: Run):
    summary = bad_run.summary()
    assert "model.onnx: an ONNX model: measure the PyTorch model it was exported from" in summary
    assert "weights.safetensors: weights without an architecture" in summary
    assert "program.pt2: a torch.export archive, not loaded" in summary
    assert "gone.pth: a link to" in summary and "nowhere.pth, which does not exist" in summary


def test_pickle_without_the_opt_in_fails_naming_the_file_and_the_option(bad_run: Run):
    rows = failed_rows(bad_run, "AlexNet_TINY_random_PD4_GPR-10_PRUNED")
    assert sorted(rows["BATCH_SIZE"]) == [1, 4]
    assert rows["Error"].str.contains("PD4_GPR-10_PRUNED.pth: this file is a pickled").all()
    assert rows["Error"].str.contains("--prune-allow-pickle").all()


def test_model_whose_forward_raises_fails_with_its_error(bad_run: Run):
    rows = failed_rows(bad_run, "raises")
    assert sorted(rows["BATCH_SIZE"]) == [1, 4]
    assert rows["Error"].str.contains("ValueError: this model is broken on purpose").all()


def test_input_shape_the_model_rejects_points_at_the_option(bad_run: Run):
    rows = failed_rows(bad_run, "gray")
    assert sorted(rows["BATCH_SIZE"]) == [1, 4]
    assert rows["Error"].str.contains("set --prune-input-shape").all()


def test_batch_size_that_runs_out_of_memory_fails_alone(bad_run: Run):
    table = bad_run.table()
    oom = table[table[STEM] == "oom"].set_index("BATCH_SIZE")
    assert oom.loc[1, "Status"] == "measured"
    assert oom.loc[4, "Status"] == "failed"
    assert "batch size 4 does not fit in cpu memory" in oom.loc[4, "Error"]


LOST_MODULE = """
import torch

class Lost(torch.nn.Module):
    def forward(self, x):
        return x.mean()
"""


def pickle_of_a_class_that_will_be_gone(path: Path) -> None:
    """A pickled module whose class lives in a module that no longer exists when loaded."""
    import importlib.util

    source = path.parent / "lost_module.py"
    source.write_text(LOST_MODULE)
    spec = importlib.util.spec_from_file_location("lost_module", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["lost_module"] = module
    try:
        spec.loader.exec_module(module)
        torch.save(module.Lost(), path)
    finally:
        del sys.modules["lost_module"]
        source.unlink()


def test_pickle_loads_with_the_opt_in(tmp_path: Path, zoo):
    from pytest_pruneenergy.models.architectures import build_model

    torch.save(build_model(tiny_alexnet()), zoo / "AlexNet_TINY_random_PD2_GPR-10_PRUNED.pth")
    pickle_of_a_class_that_will_be_gone(zoo / "unimportable.pth")
    result = run(
        tmp_path,
        "--prune-models=models",
        "--prune-batch-sizes=1",
        "--prune-input-shape=3,64,64",
        "--prune-allow-pickle",
        "--energy-report",
    )
    result.assert_outcomes(passed=4, failed=1)
    table = with_stems(pd.read_csv(tmp_path / "pruneenergy-report" / CSV_NAME))
    (error,) = table.loc[table[STEM] == "unimportable", "Error"]
    assert "could not unpickle: the class of the pickled model cannot be imported here" in error
    assert "No module named 'lost_module'" in error


@pytest.mark.pytest_api
def test_an_unparsed_name_is_measured_and_warned_about_once(tmp_path: Path, zoo):
    write_tiny_model(zoo / "my_experiment.pth")
    result = run(tmp_path, "--prune-models=models", "--prune-batch-sizes=1,2", "--energy-report")
    result.assert_outcomes(passed=8, warnings=1)
    assert result.stdout.str().count("my_experiment.pth: name follows neither") == 1
    table = pd.read_csv(tmp_path / "pruneenergy-report" / CSV_NAME)
    row = table[table["MODEL_NAME"] == "my_experiment.pth"]
    assert len(row) == 2
    assert row["Energy Reduction (%)"].isna().all()


# -- xdist and fixtures ---------------------------------------------------------------------------


@pytest.mark.pytest_api
def test_results_travel_from_xdist_workers_to_the_report(xdist_run: Run):
    assert xdist_run.returncode == 0, xdist_run.output
    table = xdist_run.table()
    assert sorted(zip(table[STEM], table["BATCH_SIZE"], strict=False)) == [
        (stem, size) for stem in TINY_STEMS for size in (1, 4)
    ]


@pytest.mark.pytest_api
def test_loadgroup_keeps_each_family_on_one_worker(tmp_path: Path, zoo):
    write_second_family(zoo)
    result = run(
        tmp_path,
        *TWO_WORKERS,
        "--dist",
        "loadgroup",
        "-v",
        "--prune-models=models",
        "--prune-batch-sizes=1,2",
        "--energy-report",
    )
    result.assert_outcomes(passed=10)
    assert "::test_energy[AlexNet_TINY_UNPRUNED-bs1]@alexnet_tiny" in result.stdout.str()
    workers_by_family: dict[str, set[str]] = {}
    for worker, family in re.findall(r"\[(gw\d)\].*PASSED .*@(\w+)", result.stdout.str()):
        workers_by_family.setdefault(family, set()).add(worker)
    assert sorted(workers_by_family) == ["alexnet_other", "alexnet_tiny"]
    assert all(len(workers) == 1 for workers in workers_by_family.values()), workers_by_family
    table = pd.read_csv(tmp_path / "pruneenergy-report" / CSV_NAME)
    assert len(table) == 10
    assert "without --dist loadgroup" not in result.stdout.str()
    assert "will measure nothing" not in result.stdout.str()  # two workers, two families


def test_loadgroup_deals_the_largest_family_first_and_says_when_workers_will_idle(
    tmp_path: Path, zoo
):
    write_second_family(zoo)
    # xdist hands groups out in the order it meets them: TINY (3 models) before OTHER (2),
    # though OTHER's files sort first.
    listed = run(
        tmp_path,
        "-p",
        "xdist",
        "--dist",
        "loadgroup",
        "--prune-models=models",
        "--prune-batch-sizes=1",
        "--co",
        "-q",
    )
    families = re.findall(r"@(\w+)$", listed.stdout.str(), flags=re.MULTILINE)
    assert families == ["alexnet_tiny"] * 3 + ["alexnet_other"] * 2, listed.stdout.str()
    plain = run(tmp_path, "--prune-models=models", "--prune-batch-sizes=1", "--co", "-q")
    assert plain.stdout.lines[0].startswith("models/AlexNet_OTHER_UNPRUNED.pth::")
    result = run(
        tmp_path,
        "-p",
        "xdist",
        "-n",
        "3",
        "--dist",
        "loadgroup",
        "--prune-models=models",
        "--prune-batch-sizes=1",
    )
    result.assert_outcomes(passed=5)
    assert (
        "WARNING: 3 workers for 2 model families: under --dist loadgroup a family runs whole on "
        "one worker" in " ".join(result.stdout.str().split())
    )
    assert "1 worker(s) will measure nothing; run -n 2" in " ".join(result.stdout.str().split())


def test_workers_without_loadgroup_are_warned_that_families_may_split(tmp_path: Path, zoo):
    result = run(tmp_path, *TWO_WORKERS, "--prune-models=models", "--co")
    assert "without --dist loadgroup" in result.stdout.str()
    for quiet in ((), ("-p", "xdist", "-n", "1"), ("-p", "xdist", "-n", "0")):
        plain = run(tmp_path, *quiet, "--prune-models=models", "--co")
        assert "without --dist loadgroup" not in plain.stdout.str(), quiet
    specs = run(
        tmp_path,
        "-p",
        "xdist",
        "--tx",
        "2*popen",
        "--dist",
        "load",
        "--co",
        "--prune-models=models",
    )
    assert "without --dist loadgroup" in specs.stdout.str()


# Pretends to the xdist workers, and only to them (the controller runs in this process), that
# the machine has one GPU.
FAKE_ONE_GPU = """
import os
import torch

if "PYTEST_XDIST_WORKER" in os.environ:
    torch.cuda.is_available = lambda: True
    torch.cuda.device_count = lambda: 1
"""


def test_workers_given_one_gpu_each_by_slot_warn_where_they_must_share(tmp_path: Path, zoo):
    # Every item deselected: none runs on the pretended GPU, but each worker picks its device.
    (tmp_path / "conftest.py").write_text(FAKE_ONE_GPU)
    none = ("--dist", "loadgroup", "--prune-models=models", "-k", "no_such_item")
    shared = run(tmp_path, *TWO_WORKERS, *none)
    assert "2 xdist workers share 1 GPU(s)" in shared.stdout.str(), shared.stdout.str()
    one = run(tmp_path, "-p", "xdist", "-n", "1", *none)
    assert "xdist workers share" not in one.stdout.str()


@pytest.mark.pytest_api
def test_workers_with_their_own_ids_still_measure(tmp_path: Path, zoo):
    result = run(
        tmp_path,
        "-p",
        "xdist",
        "--tx",
        "popen//id=alpha",
        "--tx",
        "popen//id=beta",
        "--dist",
        "loadgroup",
        "--prune-models=models",
        "--prune-batch-sizes=1",
    )
    result.assert_outcomes(passed=3)


@pytest.mark.pytest_api
def test_fixtures_describe_the_item_to_a_conftest(tmp_path: Path, zoo):
    (tmp_path / "conftest.py").write_text(
        "import pytest\n"
        "@pytest.fixture(autouse=True)\n"
        "def record(request):\n"
        "    if 'prune_model' in request.fixturenames:\n"
        "        model = request.getfixturevalue('prune_model')\n"
        "        size = request.getfixturevalue('batch_size')\n"
        "        meter = request.getfixturevalue('energy_meter')\n"
        "        print(f'SEEN {model.stem} {size} {meter.name}')\n"
    )
    result = run(tmp_path, "--prune-models=models", "--prune-batch-sizes=2", "-s", "-k", "PD1")
    result.assert_outcomes(passed=1, deselected=2)
    result.stdout.fnmatch_lines(["*SEEN AlexNet_TINY_random_PD1_GPR-50_PRUNED 2 estimate*"])


@pytest.mark.pytest_api
def test_fixtures_outside_energy_items_say_where_they_exist(tmp_path: Path, zoo):
    (tmp_path / "test_mine.py").write_text("def test_mine(batch_size):\n    pass\n")
    result = run(tmp_path, "--prune-models=models", "--prune-batch-sizes=1", "test_mine.py")
    result.assert_outcomes(passed=3, errors=1)  # the energy items themselves still pass
    result.stdout.fnmatch_lines(
        ["*the batch_size fixture exists only in pytest-pruneenergy's energy items*"]
    )


@pytest.mark.pytest_api
def test_an_unwritable_report_folder_stops_the_run_before_anything_is_measured(tmp_path):
    write_tiny_zoo(tmp_path / "models")
    (tmp_path / "taken").write_text("a file where the report folder should go")
    result = run_in_process(tmp_path, "--prune-models=models", "--energy-report=taken/report")
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.output
    assert "--energy-report folder" in result.output
    assert "taken/report cannot be written (Not a directory)" in result.output
    assert "Nothing was measured." in result.output
    assert "= pruneenergy =" not in result.output


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("--energy-markdown=taken", "--energy-markdown {taken} is a folder; name the file"),
        ("--energy-metadata=nofile.csv", "--energy-metadata {nofile}: no such file."),
    ],
)
def test_a_summary_path_that_is_a_folder_or_metadata_not_there_stops_the_run_at_once(
    tmp_path, option, message
):
    # Both were found only at the end: after every item had been measured.
    write_tiny_zoo(tmp_path / "models")
    (tmp_path / "taken").mkdir()
    result = run_in_process(tmp_path, "--prune-models=models", option)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.output
    paths = {"taken": tmp_path / "taken", "nofile": tmp_path / "nofile.csv"}
    assert message.format(**paths) in result.output
    assert "Nothing was measured." in result.output


@pytest.mark.pytest_api
def test_a_compare_run_that_is_not_stored_stops_the_run_before_anything_is_measured(tmp_path):
    # A gate against a misspelt run compared nothing and passed, after measuring everything.
    write_tiny_zoo(tmp_path / "models")
    result = run_in_process(
        tmp_path,
        "--prune-models=models",
        "--energy-compare=nosuch",
        "--energy-compare-fail=joules:5%",
        "--energy-store=store",
    )
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.output
    assert "--energy-compare: no run 'nosuch': neither a file nor a run id in" in result.output
    assert "Nothing was measured." in result.output
    assert "= pruneenergy =" not in result.output


def test_a_gpu_asked_for_on_a_machine_without_one_stops_the_run_at_once(tmp_path: Path, zoo):
    result = run(tmp_path, "--prune-models=models", "--prune-device=cuda")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--prune-device=cuda:0, but torch sees no CUDA device; use --prune-device=auto or cpu*"]
    )


@pytest.mark.parametrize(
    ("option", "what", "reason"),
    [
        (
            "--energy-store=taken",
            "--energy-store folder (for --energy-save)",
            "cannot be written (a file of that name is in the way)",
        ),
        (
            "--energy-markdown=taken/summary.md",
            "--energy-markdown file's folder",
            "cannot be written (a file of that name is in the way)",
        ),
    ],
)
def test_an_unwritable_store_or_summary_stops_the_run_before_anything_is_measured(
    tmp_path, option, what, reason
):
    write_tiny_zoo(tmp_path / "models")
    (tmp_path / "taken").write_text("a file where a folder should go")
    result = run_in_process(tmp_path, "--prune-models=models", "--energy-save", option)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.output
    assert f"{what} {tmp_path / 'taken'} {reason}" in result.output
    assert "Nothing was measured." in result.output


# The report folder is taken away while the items run: the CSV can then not be written.
REPORT_TAKEN_AWAY = """
import shutil
from pathlib import Path

def pytest_runtest_teardown(item):
    report = Path("report")
    if report.is_dir():
        shutil.rmtree(report)
        report.write_text("a file where the report folder was")
"""


def test_a_report_that_cannot_be_written_fails_the_run_and_a_failing_meter_close_costs_nothing(
    tmp_path,
):
    (tmp_path / "models").mkdir()
    conftest = METERED_MODELS.replace(
        "    def close(self):\n        pass",
        "    def close(self):\n        raise RuntimeError('NVML_ERROR_UNINITIALIZED')",
    )
    (tmp_path / "conftest.py").write_text(conftest + REPORT_TAKEN_AWAY)
    (tmp_path / "models" / f"{METERED_STEMS[0]}.pth").write_bytes(b"loaded by the hook")
    result = run_in_process(
        tmp_path,
        "--prune-models=models",
        "--prune-batch-sizes=1",
        "--prune-input-shape=8",
        "--energy-idle-seconds=0",
        "--energy-report=report",
        "-p",
        "no:benchmark",
    )
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.output
    assert METERED_STEMS[0] in result.summary()
    assert "REPORT NOT WRITTEN to" in result.output
    assert re.search(r"1 passed, .*1 energy run problem in", result.output)  # pytest's last line
    assert "closing the board meter failed: NVML_ERROR_UNINITIALIZED" in result.output


# -- what else ran meanwhile --------------------------------------------------------------------

# Keeps one core busy for at most a minute (the test ends it sooner).
BUSY_LOOP = "import time\nend = time.monotonic() + 60\nwhile time.monotonic() < end:\n    pass\n"


def test_an_item_measured_beside_busy_processes_says_so_and_strict_fails_the_run(tmp_path):
    (tmp_path / "models").mkdir()
    write_tiny_model(tmp_path / "models" / "AlexNet_TINY_UNPRUNED.pth")
    busy = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(os.cpu_count() or 1)]
    try:
        result = run_in_process(
            tmp_path,
            "--prune-models=models",
            "--prune-batch-sizes=1",
            "--energy-max-seconds=0.5",
            "--energy-report",
            "--energy-strict",
            "--energy-remeasure=true",
        )
    finally:
        for process in busy:
            process.kill()
            process.wait()
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.output
    (disturbances,) = result.table()["Disturbances"]
    assert re.fullmatch(r"other processes kept \d+\.\d\d CPU cores busy of \d+", disturbances)
    # Measured again at the end of the run, with the busy loops still running: disturbed too.
    (remeasured,) = result.table()["Remeasured"]
    assert "the rerun was disturbed too (other processes kept" in remeasured
    assert "DISTURBED: 1 of 1 item(s) were measured while something could have" in result.summary()
    assert "1 energy item(s) measured while disturbed (--energy-strict)" in result.output
    html = (tmp_path / "pruneenergy-report" / "report.html").read_text()
    assert "DISTURBED: 1 of 1 item(s)" in html


# -- the run store -------------------------------------------------------------------------------


def test_saved_runs_are_compared_and_a_regression_beyond_the_gate_fails_the_session(tmp_path):
    # Models whose energy is counted exactly (COUNTED_MODELS): every CI is 0, so a planted
    # regression lies outside the current CI as well as the stored one.
    write_hooked_zoo(tmp_path, COUNTED_MODELS, (*COUNTED_STEMS, COUNTED_THIRD_STEM))
    first = run_in_process(tmp_path, *COUNTED_ARGS, "--energy-save")
    assert first.returncode == 0, first.output
    [stored] = (tmp_path / ".pruneenergy" / "runs").glob("*.json")
    assert f"run saved: {stored}" in first.summary()
    # Plant a baseline against which the next run must read as one regression, one improvement
    # and one unchanged item, by factors far beyond any noise.
    record = json.loads(stored.read_text())
    regressed, improved, noisy = record["items"]
    regressed.update(
        joules_per_sample=regressed["joules_per_sample"] / 1e6, joules_per_sample_ci95=0
    )
    improved.update(joules_per_sample=improved["joules_per_sample"] * 1e6, joules_per_sample_ci95=0)
    noisy.update(joules_per_sample_ci95=1e6 * noisy["joules_per_sample"])
    stored.write_text(json.dumps(record))

    second = run_in_process(
        tmp_path,
        *TWO_WORKERS,  # a stored run compares with one measured by workers
        *COUNTED_ARGS,
        "--energy-save",
        "--energy-compare",
        "--energy-compare-fail=joules:5%",
    )

    assert second.returncode == 1, second.output
    assert re.search(r"=+ 3 passed, (.*, )?1 energy gate failed in ", second.output), second.output
    summary = second.summary()
    assert "1 regressed, 1 improved, 1 unchanged, 0 new, 0 missing" in summary
    verdict_of = {
        line.split()[1]: line.split()[0]
        for line in summary.splitlines()[1:]
        if line.split() and line.split()[0] in ("regressed", "improved", "unchanged")
    }
    assert verdict_of == {
        regressed["model"]: "regressed",
        improved["model"]: "improved",
        noisy["model"]: "unchanged",
    }
    assert (
        f"FAILED --energy-compare-fail=joules:5%: 1 item(s) regressed: {regressed['model']} (bs 1)"
        in summary
    )
    assert len(list((tmp_path / ".pruneenergy" / "runs").glob("*.json"))) == 2  # the controller's


# Each model's forward pass adds exactly its JOULES_PER_SAMPLE to the counter the meter reads:
# with the seed protocol every trial measures the same, so levels are exact and CIs 0.
COUNTED_MODELS = (
    """
import torch

STATE = {"joules": 0.0}
JOULES_PER_SAMPLE = {"UNPRUNED": 1.0, "PD1": 0.5, "PD3": 0.25}

"""
    + SAMPLE_METER_HEAD
    + """
    def read_joules(self):
        return STATE["joules"]

    def close(self):
        pass

class Counted(torch.nn.Module):
    def __init__(self, joules_per_sample):
        super().__init__()
        self.linear = torch.nn.Linear(8, 2)
        self.joules_per_sample = joules_per_sample

    def forward(self, x):
        STATE["joules"] += self.joules_per_sample * x.shape[0]
        return self.linear(x)

"""
    + MAKE_SAMPLE_METER
    + """
def pytest_pruneenergy_load_model(path, allow_pickle):
    return Counted(next(j for key, j in JOULES_PER_SAMPLE.items() if key in path.stem))
"""
)
COUNTED_STEMS = ("Lin_TINY_UNPRUNED", "Lin_TINY_random_PD1_GPR-50_PRUNED")
COUNTED_THIRD_STEM = "Lin_TINY_random_PD3_GPR-75_PRUNED"
COUNTED_ARGS = (
    "--prune-models=models",
    "--prune-batch-sizes=1",
    "--prune-input-shape=8",
    "--energy-protocol=seed",
    "--energy-idle-seconds=0",
    "-p",
    "no:benchmark",
)


@pytest.mark.pytest_api
def test_a_run_on_a_new_level_fails_the_step_gate_and_says_so_in_markdown_and_junit(tmp_path):
    import xml.etree.ElementTree as ElementTree

    write_hooked_zoo(tmp_path, COUNTED_MODELS, COUNTED_STEMS)
    first = run_in_process(tmp_path, *COUNTED_ARGS, "--energy-save")
    assert first.returncode == 0, first.output
    [stored] = (tmp_path / ".pruneenergy" / "runs").glob("*.json")
    # A history before it on this machine: the pruned model at half its energy (so this run and
    # the one stored above are a new level), the baseline at its own (nothing changed).
    record = json.loads(stored.read_text())
    steady, risen = record["items"]
    assert (steady["model"], risen["model"]) == COUNTED_STEMS
    for number in range(14):
        older = json.loads(json.dumps(record))
        older["run_id"] = f"20200101T{number:02d}0000.000000Z-older{number:03d}"
        older["created_utc"] = f"2020-01-01T{number:02d}:00:00+00:00"
        older["items"][1]["joules_per_sample"] = risen["joules_per_sample"] / 2
        (stored.parent / f"{older['run_id']}.json").write_text(json.dumps(older))
    (tmp_path / "step.md").write_text("an earlier step's summary\n")

    second = run_in_process(
        tmp_path,
        *COUNTED_ARGS,
        "--energy-step-fail=joules:50%",
        "--energy-markdown=out/summary.md",
        "--junitxml=junit.xml",
        env={"GITHUB_STEP_SUMMARY": str(tmp_path / "step.md")},
    )

    assert second.returncode == 1, second.output
    assert re.search(r"=+ 2 passed, (.*, )?1 energy gate failed in ", second.output), second.output
    summary = second.summary()
    assert "steps: 1 found in 2 series of this machine (15 stored runs and this one" in summary
    failure = f"FAILED --energy-step-fail=joules:50%: 1 item(s) on a new level: {risen['model']}"
    assert failure in summary and "(bs 1): energy +100.0 % from commit " in summary
    markdown = (tmp_path / "out" / "summary.md").read_text()
    assert markdown.startswith("### Energy of pruned models\n\n2 items measured, 0 failed.")
    assert f"- {failure.replace('_', chr(92) + '_')}" in markdown
    assert len([line for line in markdown.splitlines() if line.startswith("| `")]) == 2
    assert (tmp_path / "step.md").read_text() == "an earlier step's summary\n" + markdown
    assert "(appended)" in summary
    assert len(list(stored.parent.glob("*.json"))) == 15  # the gate reads, it does not store
    cases = ElementTree.parse(tmp_path / "junit.xml").getroot().iter("testcase")
    properties = {
        case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
        for case in cases
    }
    pruned = properties[f"test_energy[{COUNTED_STEMS[1]}-bs1]"]
    assert float(pruned["pruneenergy_joules_per_sample"]) == pytest.approx(0.5)
    assert float(pruned["pruneenergy_energy_reduction_percent"]) == pytest.approx(50.0)
    assert float(pruned["pruneenergy_fps"]) > 0
    assert pruned["pruneenergy_meter"] == "samples"
    baseline = properties[f"test_energy[{COUNTED_STEMS[0]}-bs1]"]
    assert float(baseline["pruneenergy_energy_reduction_percent"]) == 0


def test_comparing_without_a_stored_run_says_so_and_passes(tmp_path):
    (tmp_path / "models").mkdir()
    write_tiny_model(tmp_path / "models" / "AlexNet_TINY_UNPRUNED.pth")
    result = run_in_process(
        tmp_path, "--prune-models=models", "--prune-batch-sizes=1", "--energy-compare-fail=fps:5%"
    )
    assert result.returncode == 0, result.output
    assert "nothing to compare with (--energy-save stores runs)" in result.summary()
    assert not (tmp_path / ".pruneenergy").exists()


# -- energy gates ---------------------------------------------------------------------------------

# Each model's forward pass adds exactly JOULES_PER_SAMPLE per sample to a counter the meter reads,
# so energies are known. The meter reads SPREAD more of every other seed trial's energy (each item
# reads it twice per trial, 40 times in all): PD2's trials alternate between J and 1.2 J, which
# gives it a mean of 0.7 J and a 95 % CI of about +-0.03 J; the others have a CI of 0.
GATED_MODELS = (
    """
import pytest
import torch

STATE = {"joules": 0.0, "spread": 0.0}
JOULES_PER_SAMPLE = {"UNPRUNED": 1.0, "PD1": 0.5, "PD2": 0.7 / 1.1}
SPREAD = {"PD2": 0.2}

"""
    + SAMPLE_METER_HEAD
    + """
    def __init__(self):
        self.reads = 0
        self.true_joules = 0.0
        self.extra_joules = 0.0

    def read_joules(self):
        true_joules = STATE["joules"]
        if self.reads % 4 == 3:  # the end of every other trial
            self.extra_joules += STATE["spread"] * (true_joules - self.true_joules)
        self.reads += 1
        self.true_joules = true_joules
        return true_joules + self.extra_joules

    def close(self):
        pass

class Counted(torch.nn.Module):
    def __init__(self, key):
        super().__init__()
        self.linear = torch.nn.Linear(8, 2)
        self.joules_per_sample = JOULES_PER_SAMPLE[key]
        self.spread = SPREAD.get(key, 0.0)

    def forward(self, x):
        STATE["joules"] += self.joules_per_sample * x.shape[0]
        STATE["spread"] = self.spread
        return self.linear(x)

"""
    + MAKE_SAMPLE_METER
    + """
def pytest_pruneenergy_load_model(path, allow_pickle):
    return Counted(next(key for key in JOULES_PER_SAMPLE if key in path.stem))

def pytest_collection_modifyitems(items):
    for item in items:
        if "UNPRUNED" in item.name:
            item.add_marker(pytest.mark.pruneenergy_thresholds(max_joules=None))
        MARK_PD2_BS2
"""
)
GATED_STEMS = (
    "Lin_TINY_UNPRUNED",
    "Lin_TINY_random_PD1_GPR-50_PRUNED",
    "Lin_TINY_random_PD2_GPR-50_PRUNED",
)
PD1_STEM, PD2_STEM = GATED_STEMS[1], GATED_STEMS[2]
PD1_BS2_RULE = "Lin_*_PD1_*:bs2:min_reduction=60"
GATES_INI = f"""[pytest]
energy_thresholds =
    {PD1_BS2_RULE}
    Lin_*_PD1_*:min_reduction=40
    Lin_*_PD2_*:max_joules=0.75
energy_min_reduction = 30
energy_min_fps = 1
"""
PD2_BS2_MARKER = (
    'if item.name.endswith("PD2_GPR-50_PRUNED-bs2]"):\n'
    "            item.add_marker(pytest.mark.pruneenergy_thresholds(max_joules=0.6, min_fps=1e12))"
)


def gated_run(folder: Path, *args: str, marker: str = "pass") -> Run:
    write_hooked_zoo(folder, GATED_MODELS.replace("MARK_PD2_BS2", marker), GATED_STEMS)
    (folder / "pytest.ini").write_text(GATES_INI)
    return run_in_process(
        folder,
        "--prune-models=models",
        "--prune-batch-sizes=1,2",
        "--prune-input-shape=8",
        "--energy-protocol=seed",
        "--energy-idle-seconds=0",
        "--energy-report",
        "-p",
        "no:benchmark",
        *args,
    )


def gate_of(run: Run, stem: str, batch_size: int) -> pd.Series:
    table = run.table()
    rows = table[(table[STEM] == stem) & (table["BATCH_SIZE"] == batch_size)]
    assert len(rows) == 1, run.output
    return rows.iloc[0]


@shared_run
def ini_gates_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    # Under xdist: a baseline measured on one worker still gates a model measured on the other.
    return gated_run(tmp_path_factory.mktemp("ini_gates"), *TWO_WORKERS)


@shared_run
def strict_gates_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return gated_run(
        tmp_path_factory.mktemp("strict_gates"),
        "--energy-min-reduction=30",
        "--energy-max-joules=0.71",
        "--energy-strict",
        marker=PD2_BS2_MARKER,
    )


def test_a_failed_reduction_gate_fails_the_run_though_every_item_passed(ini_gates_run: Run):
    assert ini_gates_run.outcomes()["passed"] == 6, ini_gates_run.output
    assert "failed" not in ini_gates_run.outcomes()
    assert ini_gates_run.returncode == pytest.ExitCode.TESTS_FAILED
    message = (
        "energy reduction 50.0 % (95 % CI 50.0 to 50.0) is below min_reduction=60 set by "
        f"ini rule '{PD1_BS2_RULE}'"
    )
    assert f"GATE FAILED {PD1_STEM} (bs 2): {message}" in ini_gates_run.summary()
    assert "energy gates failed: the run fails (exit status 1)" in ini_gates_run.summary()
    # pytest's last line says it too, not a bare "6 passed" over exit status 1.
    assert re.search(r"=+ 6 passed, (.*, )?\d+ energy gates? failed in ", ini_gates_run.output)
    row = gate_of(ini_gates_run, PD1_STEM, 2)
    assert (row["Gate"], row["Gate Message"].split("; ")[0]) == ("fail", message)


def test_an_ini_rule_beats_the_ini_option_and_a_met_gate_passes(ini_gates_run: Run):
    row = gate_of(ini_gates_run, PD1_STEM, 1)
    assert row["Gate"] == "pass"
    assert (
        "meets min_reduction=40 set by ini rule 'Lin_*_PD1_*:min_reduction=40'"
        in (row["Gate Message"])
    )
    assert "meets min_fps=1 set by ini" in row["Gate Message"]
    baseline = gate_of(ini_gates_run, GATED_STEMS[0], 1)
    assert baseline["Gate"] == "pass"  # min_fps only: a baseline has no reduction gate


def test_a_reduction_whose_ci_straddles_the_threshold_warns(ini_gates_run: Run):
    row = gate_of(ini_gates_run, PD2_STEM, 1)
    assert row["Gate"] == "inconclusive"
    assert row["Mean Energy per Sample (J)"] == pytest.approx(0.7)
    assert 0.02 < row["CI95 Energy per Sample (J)"] < 0.04
    assert "is within max_joules=0.75 set by ini rule" in row["Gate Message"]
    # PD2 at both batch sizes, and -n without --dist loadgroup (this run splits families on
    # purpose: a baseline on one worker still gates a model on the other).
    assert ini_gates_run.outcomes()["warnings"] == 3
    assert "EnergyGateWarning" in ini_gates_run.output
    assert "is inconclusive against min_reduction=30 set by ini" in ini_gates_run.output
    assert f"gate inconclusive {PD2_STEM} (bs 1)" in ini_gates_run.summary()


@pytest.mark.pytest_api
def test_marker_beats_command_line_beats_ini_rule(strict_gates_run: Run):
    outcomes = strict_gates_run.outcomes()
    assert (outcomes["passed"], outcomes["failed"]) == (4, 2), strict_gates_run.output
    # The command line's 30 % replaces the ini rule's 60 %, which failed PD1 at bs 2 above.
    assert gate_of(strict_gates_run, PD1_STEM, 2)["Gate"] == "pass"
    marked = gate_of(strict_gates_run, PD2_STEM, 2)["Gate Message"]
    assert "is above max_joules=0.6 set by marker" in marked
    assert "is below min_fps=1e+12 set by marker" in marked
    # The marker's max_joules=None lifts the command line's gate from the baseline.
    assert "max_joules" not in gate_of(strict_gates_run, GATED_STEMS[0], 1)["Gate Message"]


def test_with_energy_strict_an_inconclusive_gate_fails(strict_gates_run: Run):
    assert strict_gates_run.returncode == pytest.ExitCode.TESTS_FAILED
    assert "EnergyGateWarning" not in strict_gates_run.output
    assert (
        "is inconclusive against max_joules=0.71 set by command line" in strict_gates_run.output
    )  # the item's own failure
    summary = strict_gates_run.summary()
    assert f"GATE FAILED {PD2_STEM} (bs 1): energy reduction 30.0 %" in summary
    assert "is inconclusive against min_reduction=30 set by command line" in summary
    assert "(inconclusive fails: --energy-strict)" in summary


def test_advice_on_batch_size_and_the_pareto_front_reach_summary_and_html(good_run: Run):
    summary = good_run.summary()
    for stem in TINY_STEMS:
        assert f"advice: {stem}: " in summary
    html = (good_run.folder / "out" / "report" / "report.html").read_text()
    assert "Pareto front at batch" in html
    assert "accuracy" in html


@pytest.mark.pytest_api
def test_old_spellings_of_renamed_options_are_still_read(pytester: pytest.Pytester):
    from pytest_pruneenergy.plugin.options import raw_options

    pytester.makeini(
        "[pytest]\nrecommend_joules = 0.5\nrecommend_fps = 10\nenergy_recommend_fps = 20\n"
    )
    config = pytester.parseconfig("--min-fps=5", "--recommend-joules=0.25")
    raw = raw_options(config)
    cli = raw.command_line
    assert (cli["min_fps"], cli["recommend_joules"]) == ("5", "0.25")
    assert raw.ini["recommend_joules"] == "0.5"
    assert raw.ini["recommend_fps"] == "20"  # the current name wins over the old one
    assert raw.ini_old_names == {"recommend_joules": "recommend_joules"}
    new = raw_options(pytester.parseconfig("--energy-min-fps=6", "--energy-recommend-fps=7"))
    assert (new.command_line["min_fps"], new.command_line["recommend_fps"]) == ("6", "7")


@pytest.mark.pytest_api
def test_a_toml_list_reaches_the_settings_as_a_list(pytester: pytest.Pytester) -> None:
    from pytest_pruneenergy.plugin.options import raw_options

    pytester.makepyprojecttoml(
        '[tool.pytest.ini_options]\nprune_batch_sizes = [1, 8]\nprune_dtypes = "bf16"\n'
    )
    raw = raw_options(pytester.parseconfig())
    assert (raw.ini["batch_sizes"], raw.ini["dtypes"]) == ([1, 8], "bf16")
