"""The plugin end to end, as a user runs it: items, failures, the CSV, figures and summary.

Runs happen in subprocesses (pytester's in-process runs unload modules that torch cannot import
twice). Scenarios that share a run are grouped in module-scoped fixtures to keep CI short.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from .conftest import tiny_alexnet, write_tiny_model, write_tiny_zoo

FAST = ("--energy-meter=estimate", "--energy-max-seconds=0.2", "-p", "no:cacheprovider")
CSV_NAME = "pruneenergy_results.csv"
RUN_CSV_NAME = "pruneenergy_run.csv"
TINY_STEMS = (
    "AlexNet_TINY_UNPRUNED",
    "AlexNet_TINY_random_PD1_GPR-50_PRUNED",
    "AlexNet_TINY_random_PD3_GPR-50_PRUNED_SEED_1",
)


@dataclass
class Run:
    folder: Path
    returncode: int
    output: str

    def table(self, report_dir: str = "pruneenergy-report") -> pd.DataFrame:
        return pd.read_csv(self.folder / report_dir / CSV_NAME)

    def run_table(self, report_dir: str = "pruneenergy-report") -> pd.DataFrame:
        return pd.read_csv(self.folder / report_dir / RUN_CSV_NAME)

    def summary(self) -> str:
        return self.output[self.output.index("= pruneenergy =") :]

    def outcomes(self) -> dict[str, int]:
        return pytest.RunResult(self.returncode, self.output.splitlines(), [], 0).parseoutcomes()


def clean_environment() -> dict[str, str]:
    """Our environment, less the marks of an xdist worker (when this suite runs under -n):
    an inner run that inherits them believes it is a worker and, e.g., writes no benchmark JSON.
    """
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST_")}


@pytest.fixture(autouse=True)
def _not_an_xdist_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("PYTEST_XDIST_"):
            monkeypatch.delenv(name)


def run_pytest(folder: Path, *args: str) -> Run:
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", *FAST, *args],
        cwd=folder,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return Run(folder, completed.returncode, completed.stdout + completed.stderr)


@pytest.fixture
def zoo(pytester: pytest.Pytester) -> Path:
    write_tiny_zoo(pytester.path / "models")
    return pytester.path / "models"


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(*FAST, *args)


# -- options and collection -------------------------------------------------------------------


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
    ):
        assert option in section
    assert "HEAVY: []" in output


def test_without_prune_models_an_ordinary_suite_is_untouched(pytester: pytest.Pytester, zoo):
    pytester.makepyfile("def test_plain():\n    assert True\n")
    result = pytester.runpytest_subprocess("--energy-report", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "= pruneenergy =" not in result.stdout.str()
    assert not (pytester.path / "pruneenergy-report").exists()


def test_collect_only_lists_one_item_per_model_and_batch_size(pytester: pytest.Pytester, zoo):
    result = run(
        pytester, "--prune-models=models", "--prune-batch-sizes=1,4", "--collect-only", "-q"
    )
    lines = [line for line in result.stdout.lines if "::test_energy[" in line]
    assert lines == [
        f"models/{stem}.pth::test_energy[{stem}-bs{size}]" for stem in TINY_STEMS for size in (1, 4)
    ]


def test_k_selects_energy_items(pytester: pytest.Pytester, zoo):
    result = run(pytester, "--prune-models=models", "--prune-batch-sizes=1,4", "-k", "PD1 and bs4")
    result.assert_outcomes(passed=1, deselected=5)


def test_options_can_come_from_the_ini_file(pytester: pytest.Pytester, zoo):
    pytester.makeini(
        "[pytest]\n"
        "prune_models = models\n"
        "prune_batch_sizes = 2\n"
        "energy_report = true\n"
        "energy_meter = estimate\n"
        "energy_max_seconds = 0.2\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    table = pd.read_csv(pytester.path / "pruneenergy-report" / CSV_NAME)
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
def test_a_bad_option_value_is_a_usage_error(pytester: pytest.Pytester, zoo, option, message):
    result = run(pytester, "--prune-models=models", option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])


# -- a normal run --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("good")
    write_tiny_zoo(folder / "models")
    return run_pytest(
        folder,
        "--prune-models=models",
        "--prune-batch-sizes=1,2",
        "--energy-report=out/report",
        "--benchmark-json=bench.json",
    )


def test_every_item_passes_and_lands_in_the_csv(good_run: Run):
    assert good_run.returncode == 0, good_run.output
    table = good_run.table("out/report")
    assert sorted(zip(table["MODEL_NAME"], table["BATCH_SIZE"], strict=False)) == [
        (stem, size) for stem in TINY_STEMS for size in (1, 2)
    ]
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
    pruned = table[table["MODEL_NAME"] == "AlexNet_TINY_random_PD1_GPR-50_PRUNED"]
    assert (pruned["Baseline Model"] == "AlexNet_TINY_UNPRUNED").all()
    baseline = table[table["MODEL_NAME"] == "AlexNet_TINY_UNPRUNED"].iloc[0]
    expected_cr = 100 - 100 * pruned["Parameters"].iloc[0] / baseline["Parameters"]
    assert pruned["CR (%) measured in Parameters"].iloc[0] == pytest.approx(expected_cr)
    assert (pruned["FLOPs (2 x MACs)"] == 2 * pruned["MACs"]).all()


def test_figures_are_written(good_run: Run):
    pngs = {p.name for p in (good_run.folder / "out/report").glob("*.png")}
    assert {
        "cr_vs_energy_reduction_flops.png",
        "cr_vs_energy_reduction_params.png",
        "pd_vs_energy_reduction.png",
        "architecture_vs_energy.png",
        "batch_size_vs_energy.png",
        "batch_size_vs_fps.png",
    } <= pngs


def test_terminal_summary_shows_results_and_says_energy_is_estimated(good_run: Run):
    summary = good_run.summary()
    for stem in ("AlexNet_TINY_UNPRUNED", "AlexNet_TINY_random_PD1_GPR-50_PRUNED"):
        assert stem in summary
    assert "ESTIMATED energy" in summary
    assert "out/report" in summary


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


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = tmp_path_factory.mktemp("seed")
    (folder / "models").mkdir()
    (folder / "conftest.py").write_text(METERED_MODELS)
    for stem in (*METERED_STEMS, "raises"):
        (folder / "models" / f"{stem}.pth").write_bytes(b"loaded by the conftest hook")
    return run_pytest(
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
    assert sorted(zip(measured["MODEL_NAME"], measured["BATCH_SIZE"], strict=True)) == [
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
        "cpu": {"gpu_name": "Test Board", "driver": "580.95.05", "power_limit_watts": "123.5"}
    }
    benchmarks = report["benchmarks"]
    assert len(benchmarks) == 4
    for bench in benchmarks:
        info = bench["extra_info"]
        assert (info["protocol"], info["ci_target_met"]) == ("seed", None)
        assert info["idle_watts"] > 0
        assert info["dynamic_joules_per_sample"] is not None
        assert (info["gpu_name"], info["driver"]) == ("Test Board", "580.95.05")
        assert info["power_limit_watts"] == 123.5


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


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    import torch

    from pytest_pruneenergy.architectures import build_model

    folder = tmp_path_factory.mktemp("bad")
    models = folder / "models"
    write_tiny_zoo(models)
    (folder / "empty").mkdir()
    (folder / "conftest.py").write_text(HOOKED_MODELS)
    (models / "AlexNet_TINY_random_PD2_GPR-50_PRUNED.pth").write_bytes(b"\x00garbage")
    torch.save(build_model(tiny_alexnet()), models / "AlexNet_TINY_random_PD4_GPR-10_PRUNED.pth")
    for stem in ("raises", "oom", "gray"):
        (models / f"{stem}.pth").write_bytes(b"loaded by the conftest hook")
    return run_pytest(
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
    return table[(table["MODEL_NAME"] == model) & (table["Status"] == "failed")]


def test_bad_inputs_fail_only_their_own_items(bad_run: Run):
    outcomes = bad_run.outcomes()
    assert outcomes["passed"] == GOOD_ITEMS + 1  # the tiny zoo, and "oom" at batch size 1
    # corrupt 2, pickle 2, raises 2, gray 2, oom at bs 4 1, missing folder 1, empty folder 1
    assert outcomes["failed"] == 11
    table = bad_run.table()
    measured = table[table["Status"] == "measured"]
    for stem in TINY_STEMS:
        assert sorted(measured.loc[measured["MODEL_NAME"] == stem, "BATCH_SIZE"]) == [1, 4]


def test_missing_folder_is_one_failed_item_with_a_clear_error(bad_run: Run):
    assert "--prune-models folder" in bad_run.output
    assert "absent does not exist" in bad_run.output


def test_empty_folder_is_one_failed_item_with_a_clear_error(bad_run: Run):
    assert "empty holds no model files (.pth, .pt, .ts, .jit)" in bad_run.output


def test_corrupt_file_fails_its_items_with_a_clear_error(bad_run: Run):
    rows = failed_rows(bad_run, "AlexNet_TINY_random_PD2_GPR-50_PRUNED")
    assert sorted(rows["BATCH_SIZE"]) == [1, 4]
    assert rows["Error"].str.contains("PD2_GPR-50_PRUNED.pth: not a readable PyTorch file").all()


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
    oom = table[table["MODEL_NAME"] == "oom"].set_index("BATCH_SIZE")
    assert oom.loc[1, "Status"] == "measured"
    assert oom.loc[4, "Status"] == "failed"
    assert "batch size 4 does not fit in cpu memory" in oom.loc[4, "Error"]


def test_pickle_loads_with_the_opt_in(pytester: pytest.Pytester, zoo):
    import torch

    from pytest_pruneenergy.architectures import build_model

    torch.save(build_model(tiny_alexnet()), zoo / "AlexNet_TINY_random_PD2_GPR-10_PRUNED.pth")
    result = run(
        pytester,
        "--prune-models=models",
        "--prune-batch-sizes=1",
        "--prune-input-shape=3,64,64",
        "--prune-allow-pickle",
    )
    result.assert_outcomes(passed=4)


def test_an_unparsed_name_is_measured_and_warned_about_once(pytester: pytest.Pytester, zoo):
    write_tiny_model(zoo / "my_experiment.pth")
    result = run(pytester, "--prune-models=models", "--prune-batch-sizes=1,2", "--energy-report")
    result.assert_outcomes(passed=8, warnings=1)
    assert result.stdout.str().count("my_experiment.pth: name follows neither") == 1
    table = pd.read_csv(pytester.path / "pruneenergy-report" / CSV_NAME)
    row = table[table["MODEL_NAME"] == "my_experiment"]
    assert len(row) == 2
    assert row["Energy Reduction (%)"].isna().all()


# -- xdist and fixtures ---------------------------------------------------------------------------


def test_results_travel_from_xdist_workers_to_the_report(pytester: pytest.Pytester, zoo):
    result = run(
        pytester,
        "-p",
        "xdist",
        "-n",
        "2",
        "--prune-models=models",
        "--prune-batch-sizes=1,2",
        "--energy-report",
    )
    result.assert_outcomes(passed=6)
    table = pd.read_csv(pytester.path / "pruneenergy-report" / CSV_NAME)
    assert sorted(zip(table["MODEL_NAME"], table["BATCH_SIZE"], strict=False)) == [
        (stem, size) for stem in TINY_STEMS for size in (1, 2)
    ]


def test_fixtures_describe_the_item_to_a_conftest(pytester: pytest.Pytester, zoo):
    pytester.makeconftest(
        "import pytest\n"
        "@pytest.fixture(autouse=True)\n"
        "def record(request):\n"
        "    if 'prune_model' in request.fixturenames:\n"
        "        model = request.getfixturevalue('prune_model')\n"
        "        size = request.getfixturevalue('batch_size')\n"
        "        meter = request.getfixturevalue('energy_meter')\n"
        "        print(f'SEEN {model.stem} {size} {meter.name}')\n"
    )
    result = run(pytester, "--prune-models=models", "--prune-batch-sizes=2", "-s", "-k", "PD1")
    result.assert_outcomes(passed=1, deselected=2)
    result.stdout.fnmatch_lines(["*SEEN AlexNet_TINY_random_PD1_GPR-50_PRUNED 2 estimate*"])


def test_fixtures_outside_energy_items_say_where_they_exist(pytester: pytest.Pytester, zoo):
    pytester.makepyfile(test_mine="def test_mine(batch_size):\n    pass\n")
    result = run(pytester, "--prune-models=models", "--prune-batch-sizes=1", "test_mine.py")
    result.assert_outcomes(passed=3, errors=1)  # the energy items themselves still pass
    result.stdout.fnmatch_lines(
        ["*the batch_size fixture exists only in pytest-pruneenergy's energy items*"]
    )


def test_an_unwritable_report_folder_and_a_failing_meter_close_keep_the_summary(tmp_path):
    (tmp_path / "models").mkdir()
    conftest = METERED_MODELS.replace(
        "    def close(self):\n        pass",
        "    def close(self):\n        raise RuntimeError('NVML_ERROR_UNINITIALIZED')",
    )
    (tmp_path / "conftest.py").write_text(conftest)
    (tmp_path / "models" / f"{METERED_STEMS[0]}.pth").write_bytes(b"loaded by the hook")
    (tmp_path / "taken").write_text("a file where the report folder should go")
    result = run_pytest(
        tmp_path,
        "--prune-models=models",
        "--prune-batch-sizes=1",
        "--prune-input-shape=8",
        "--energy-idle-seconds=0",
        "--energy-report=taken/report",
        "-p",
        "no:benchmark",
    )
    assert result.returncode == 0, result.output
    assert METERED_STEMS[0] in result.output[result.output.index("= pruneenergy =") :]
    assert "REPORT NOT WRITTEN to" in result.output
    assert "closing the board meter failed: NVML_ERROR_UNINITIALIZED" in result.output
