"""The run store and comparisons, from run records written by hand as JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

from pytest_pruneenergy import cli
from pytest_pruneenergy.items.measurement import ItemFailure
from pytest_pruneenergy.measure.meters import GpuFacts
from pytest_pruneenergy.settings import (
    RawOptions,
    Settings,
    SettingsError,
    parse_compare_fail,
    resolve_settings,
)
from pytest_pruneenergy.track.compare import (
    IMPROVED,
    MISSING,
    NEW,
    NOT_JUDGED,
    REGRESSED,
    UNCHANGED,
    compare_runs,
    comparison_lines,
    format_comparison_table,
    gate_failures,
    stored_joules_text,
)
from pytest_pruneenergy.track.store import (
    FORMAT_NAME,
    FORMAT_VERSION,
    GitState,
    MachineIdentity,
    RunRecord,
    RunStoreError,
    build_record,
    current_machine,
    find_run,
    git_state,
    latest_comparable,
    load_runs,
    read_run,
    save_run,
)

from ..factories import make_measurement

MODEL = "AlexNet_TINY_random_PD1_GPR-50_PRUNED"
H100 = {"gpu_name": "NVIDIA H100", "driver": "550.54", "power_limit_watts": "700.0"}


def item(
    model=MODEL, batch_size=8, joules=1.0, ci95=0.01, fps=1000.0, status="measured", dtype=None
):
    # Without a dtype the item is written as records before --prune-dtypes were: no such key.
    return ({} if dtype is None else {"dtype": dtype}) | {
        "model": model,
        "batch_size": batch_size,
        "joules_per_sample": joules,
        "joules_per_sample_ci95": ci95,
        "fps": fps,
        "params": 1000,
        "macs": 20000,
        "meter": "nvml-counter",
        "device": "cuda:0",
        "status": status,
    }


def run_dict(run_id="20240101T000000.000000Z-aaaa0000", items=(), machine=H100, **overrides):
    data = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "run_id": run_id,
        "created_utc": f"{run_id[:4]}-{run_id[4:6]}-{run_id[6:8]}T{run_id[9:11]}:00:00+00:00",
        "git": {"commit": "c0ffee" + run_id[-4:], "dirty": False, "branch": "main"},
        "machine": {**machine, "cpu": "EPYC", "torch_version": "2.4.0", "hostname": "ci-1"},
        "machine_key": MachineIdentity(**machine, cpu="EPYC", torch_version="2.4.0").machine_key,
        "settings": {"protocol": "adaptive", "target_ci_fraction": 0.01, "meter": "auto"},
        "items": [item()] if not items else list(items),
    }
    data.update(overrides)
    return data


def write_run(store: Path, data: dict) -> Path:
    store.mkdir(parents=True, exist_ok=True)
    path = store / f"{data['run_id']}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def record(**kwargs) -> RunRecord:
    data = run_dict(**kwargs)
    return RunRecord.from_dict(data, "test")


def verdicts(comparisons) -> dict:
    return {(c.model, c.batch_size): c.verdict for c in comparisons}


# -- comparison ----------------------------------------------------------------------------------


def test_a_10_percent_energy_rise_with_tight_cis_is_a_regression():
    before = record(items=[item(joules=1.00, ci95=0.01)])
    after = record(items=[item(joules=1.10, ci95=0.01)])
    [comparison] = compare_runs(before, after, threshold_joules_fraction=0.05)
    assert comparison.verdict == REGRESSED
    assert comparison.joules_change_fraction == pytest.approx(0.10)
    assert comparison.joules_regressed


def test_a_10_percent_difference_within_wide_cis_is_noise():
    # |1.10 - 1.00| = 0.10 < 0.06 + 0.06: the intervals overlap, however large the change.
    before = record(items=[item(joules=1.00, ci95=0.06)])
    after = record(items=[item(joules=1.10, ci95=0.06)])
    [comparison] = compare_runs(before, after, threshold_joules_fraction=0.05)
    assert comparison.verdict == UNCHANGED
    assert comparison.joules_outside_cis is False


def test_a_change_outside_the_cis_but_within_the_threshold_is_unchanged():
    before = record(items=[item(joules=1.00, ci95=0.001)])
    after = record(items=[item(joules=1.03, ci95=0.001)])
    [comparison] = compare_runs(before, after, threshold_joules_fraction=0.05)
    assert comparison.verdict == UNCHANGED


def test_less_energy_outside_the_cis_is_an_improvement():
    before = record(items=[item(joules=1.00, ci95=0.01)])
    after = record(items=[item(joules=0.90, ci95=0.01)])
    assert compare_runs(before, after)[0].verdict == IMPROVED


@pytest.mark.parametrize("unknown", [None, float("nan")])
def test_energy_with_an_unknown_ci_is_judged_on_its_threshold_alone_and_only_when_given(unknown):
    # Read as a zero interval, a CI that is missing made any difference a regression; read as
    # NaN, none ever was.
    before = record(items=[item(joules=1.00, ci95=unknown)])
    small, large = (record(items=[item(joules=j, ci95=0.001)]) for j in (1.03, 1.10))
    assert compare_runs(before, large)[0].verdict == NOT_JUDGED  # no threshold: not judged
    assert compare_runs(before, small, threshold_joules_fraction=0.05)[0].verdict == UNCHANGED
    [comparison] = compare_runs(before, large, threshold_joules_fraction=0.05)
    assert comparison.verdict == REGRESSED and comparison.joules_regressed
    assert comparison.joules_outside_cis is None
    assert stored_joules_text(comparison.baseline) == "1 ± ?"
    assert stored_joules_text(comparison.current) == "1.1 ± 0.001"
    header, rule = comparison_lines(before, large, compare_runs(before, large))[:2]
    assert header.endswith(": 0 regressed, 0 improved, 0 unchanged, 1 not judged, 0 new, 0 missing")
    assert "where a CI is unknown, beyond the threshold alone, and not judged without one" in rule
    # "not judged" is said only where an item was
    assert "not judged" not in comparison_lines(large, large, compare_runs(large, large))[0]


@pytest.mark.parametrize("unknown", [None, float("nan")])
def test_an_item_measured_in_both_runs_whose_energy_one_lacks_is_not_judged_not_missing(unknown):
    # It read "missing" (or "new"), as if the item had not been measured.
    known, lacking = record(items=[item(joules=1.0)]), record(items=[item(joules=unknown)])
    for before, after in ((known, lacking), (lacking, known), (lacking, lacking)):
        assert verdicts(compare_runs(before, after)) == {(MODEL, 8): NOT_JUDGED}


def test_fps_is_judged_on_its_threshold_alone_and_only_when_given():
    before = record(items=[item(fps=1000.0)])
    after = record(items=[item(fps=900.0)])
    assert compare_runs(before, after)[0].verdict == UNCHANGED
    [comparison] = compare_runs(before, after, threshold_fps_fraction=0.05)
    assert comparison.verdict == REGRESSED
    assert comparison.fps_regressed and not comparison.joules_regressed


def test_items_in_one_run_only_are_new_or_missing_and_failed_items_count_as_absent():
    before = record(items=[item(batch_size=1), item(batch_size=8)])
    after = record(items=[item(batch_size=8, status="failed", joules=None), item(batch_size=16)])
    assert verdicts(compare_runs(before, after)) == {
        (MODEL, 1): MISSING,
        (MODEL, 8): MISSING,
        (MODEL, 16): NEW,
    }


def test_a_gate_fails_only_on_the_measure_it_names():
    before = record(items=[item(joules=1.0, fps=1000.0)])
    after = record(items=[item(joules=1.2, fps=1000.0)])
    comparisons = compare_runs(before, after, threshold_fps_fraction=0.05)
    assert comparisons[0].verdict == REGRESSED  # energy, outside the CIs
    assert gate_failures(comparisons, None, 0.05) == []
    [line] = gate_failures(comparisons, 0.05, 0.05)
    assert line.startswith("FAILED --energy-compare-fail=joules:5%: 1 item(s) regressed")


def test_compare_fail_accepts_repeated_and_comma_separated_gates():
    assert parse_compare_fail(["joules:5%", "fps:10"]) == {"joules": 0.05, "fps": 0.10}
    assert parse_compare_fail(["joules:5%,fps:2.5%"]) == {"joules": 0.05, "fps": 0.025}
    with pytest.raises(SettingsError, match="'watts:5%' is not MEASURE:PERCENT"):
        parse_compare_fail(["watts:5%"])


# -- the store -----------------------------------------------------------------------------------


def test_a_saved_record_reads_back_equal_and_leaves_no_temporary_file(tmp_path):
    now = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    saved = build_record(
        [make_measurement(MODEL, 8)],
        [ItemFailure(MODEL, "m.pth", 16, "out of memory")],
        {"protocol": "adaptive"},
        git=GitState("abc", True, "main"),
        machine=MachineIdentity(gpu_name="NVIDIA H100", cpu="EPYC"),
        now=now,
    )
    path = save_run(saved, tmp_path / "runs")
    assert path.name.startswith("20240501T120000.000000Z-")
    assert read_run(path) == saved
    assert [item.status for item in saved.items] == ["measured", "failed"]
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [path.name]


def test_each_numeric_format_is_stored_and_compared_with_its_own_format(tmp_path):
    saved = build_record(
        [make_measurement(MODEL, 8, dtype="float32"), make_measurement(MODEL, 8, dtype="bfloat16")],
        [ItemFailure(MODEL, "m.pth", 16, "out of memory", dtype="bfloat16")],
        {},
        git=GitState(),
        machine=MachineIdentity(),
        now=datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc),
    )
    assert read_run(save_run(saved, tmp_path / "runs")) == saved
    assert [item.key for item in saved.items] == [
        (MODEL, 8, "bfloat16"),
        (MODEL, 8, "float32"),
        (MODEL, 16, "bfloat16"),
    ]
    before = record(items=[item(joules=1.0, dtype="float32"), item(joules=0.5, dtype="bfloat16")])
    after = record(items=[item(joules=1.0, dtype="float32"), item(joules=0.6, dtype="bfloat16")])
    comparisons = compare_runs(before, after, threshold_joules_fraction=0.05)
    assert {(c.dtype, c.verdict) for c in comparisons} == {
        ("bfloat16", REGRESSED),
        ("float32", UNCHANGED),
    }
    table = format_comparison_table(comparisons)
    assert table[0].split()[:4] == ["verdict", "model", "bs", "dtype"]
    assert table[1].split()[:4] == [REGRESSED, MODEL, "8", "bfloat16"]
    assert gate_failures(comparisons, 0.05, None) == [
        f"FAILED --energy-compare-fail=joules:5%: 1 item(s) regressed: {MODEL} (bs 8, bfloat16)"
    ]


def test_a_record_without_formats_has_no_dtype_column():
    comparisons = compare_runs(record(items=[item()]), record(items=[item()]))
    assert comparisons[0].dtype is None
    assert "dtype" not in format_comparison_table(comparisons)[0]


WRITER = """
import sys
from datetime import datetime, timezone
from pathlib import Path
from pytest_pruneenergy.track.store import GitState, MachineIdentity, build_record, save_run
for _ in range(20):
    record = build_record([], [], {}, git=GitState(), machine=MachineIdentity(),
                          now=datetime.now(timezone.utc))
    save_run(record, Path(sys.argv[1]))
"""


def test_two_concurrent_writers_lose_no_run(tmp_path):
    store = tmp_path / "runs"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(store)]) for _ in range(2)]
    assert [writer.wait(timeout=60) for writer in writers] == [0, 0]
    loaded = load_runs(store)
    assert loaded.problems == []
    assert len({run.run_id for run in loaded.runs}) == 40
    assert len(list(store.iterdir())) == 40


def test_unreadable_runs_are_reported_by_name_and_left_alone_while_the_others_load(tmp_path):
    store = tmp_path / "runs"
    good = write_run(store, run_dict())
    corrupt = store / "20240102T000000.000000Z-bbbb0000.json"
    corrupt.write_text('{"format": "pytest-pruneenergy-run", "run_', encoding="utf-8")
    newer = write_run(store, run_dict(run_id="20240103T000000.000000Z-cccc0000", format_version=99))
    before = {path: path.read_bytes() for path in store.iterdir()}

    loaded = load_runs(store)

    assert [run.run_id for run in loaded.runs] == [good.stem]
    messages = sorted(str(problem) for problem in loaded.problems)
    assert messages[0].startswith(f"{corrupt}: not valid JSON")
    assert messages[1].startswith(f"{newer}: written by a newer pytest-pruneenergy")
    assert "upgrade pytest-pruneenergy" in messages[1]
    assert {path: path.read_bytes() for path in store.iterdir()} == before


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("joules_per_sample", "abc", "joules_per_sample 'abc' is not a number"),
        ("fps", True, "fps True is not a number"),
        ("batch_size", "x", "batch_size 'x' is not a whole number"),
    ],
)
def test_a_stored_item_whose_figures_are_no_numbers_is_named_and_its_run_left_out(
    tmp_path, field, value, message
):
    # compare and history failed with a traceback on the first such value they met.
    store = tmp_path / "runs"
    good = write_run(store, run_dict())
    edited = write_run(
        store,
        run_dict(run_id="20240102T000000.000000Z-bbbb0000", items=[{**item(), field: value}]),
    )
    loaded = load_runs(store)
    assert [run.run_id for run in loaded.runs] == [good.stem]
    [problem] = [str(problem) for problem in loaded.problems]
    assert problem.startswith(f"{edited}: not a valid run record: item") and message in problem


def test_a_record_missing_a_field_names_the_file_and_the_field(tmp_path):
    data = run_dict()
    del data["items"]
    path = write_run(tmp_path, data)
    with pytest.raises(RunStoreError) as error:
        read_run(path)
    assert str(error.value) == f"{path}: not a valid run record: missing field 'items'"


def test_the_default_baseline_is_the_latest_run_from_the_same_machine(tmp_path):
    a100 = {**H100, "gpu_name": "NVIDIA A100"}
    write_run(tmp_path, run_dict(run_id="20240101T000000.000000Z-aaaa0001"))
    write_run(tmp_path, run_dict(run_id="20240102T000000.000000Z-aaaa0002"))
    write_run(tmp_path, run_dict(run_id="20240103T000000.000000Z-aaaa0003", machine=a100))
    runs = load_runs(tmp_path).runs
    h100_key = runs[0].machine_key
    assert latest_comparable(runs, h100_key).run_id == "20240102T000000.000000Z-aaaa0002"
    assert latest_comparable(runs, "another machine") is None


def test_a_run_is_found_by_id_or_path_and_an_unknown_one_says_where_it_looked(tmp_path):
    path = write_run(tmp_path, run_dict())
    assert find_run(path.stem, tmp_path).run_id == path.stem
    assert find_run(str(path), tmp_path / "elsewhere").run_id == path.stem
    with pytest.raises(RunStoreError, match="no run 'nope': neither a file nor a run id in"):
        find_run("nope", tmp_path)


def test_outside_a_git_checkout_the_git_fields_are_none(tmp_path):
    assert git_state(tmp_path) == GitState(None, None, None, None)


def test_in_a_git_checkout_the_commit_its_date_and_the_dirty_flag_are_recorded(tmp_path):
    def git(*arguments: str) -> str:
        command = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *arguments]
        environment = {"GIT_COMMITTER_DATE": "2024-05-01T12:00:00+02:00", "PATH": "/usr/bin:/bin"}
        done = subprocess.run(
            command, cwd=tmp_path, capture_output=True, text=True, check=True, env=environment
        )
        return done.stdout.strip()

    git("init", "-q", "-b", "main")
    (tmp_path / "f").write_text("1")
    git("add", "f")
    git("commit", "-qm", "one")
    state = git_state(tmp_path)
    assert state == GitState(git("rev-parse", "HEAD"), False, "main", "2024-05-01T12:00:00+02:00")
    (tmp_path / "f").write_text("2")
    (tmp_path / "untracked").write_text("a report, say")
    assert git_state(tmp_path).dirty is True


def test_a_record_of_run_format_1_reads_without_a_commit_date(tmp_path):
    data = run_dict(format_version=1)
    assert "commit_time" not in data["git"]
    assert read_run(write_run(tmp_path, data)).git.commit_time is None


# -- the command line ----------------------------------------------------------------------------


def three_runs(store: Path) -> None:
    for day, joules in ((1, 1.0), (2, 1.1), (3, 0.9)):
        items = [item(joules=joules), item(model="VGG11_X_UNPRUNED", batch_size=1)]
        write_run(store, run_dict(run_id=f"2024010{day}T000000.000000Z-aaaa000{day}", items=items))


def test_history_writes_a_row_per_run_model_and_batch_and_a_figure(tmp_path, capsys):
    three_runs(tmp_path / "runs")
    out = tmp_path / "out"
    code = cli.main(["history", "--store", str(tmp_path / "runs"), "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    table = pd.read_csv(out / "energy_history.csv")
    assert len(table) == 6
    assert list(table["joules_per_sample"][table["model"] == MODEL]) == [1.0, 1.1, 0.9]
    assert {"time_utc", "commit", "dirty", "joules_per_sample_ci95", "fps"} <= set(table.columns)
    assert (out / "energy_history.png").stat().st_size > 0


def test_history_keeps_only_the_models_and_batch_size_asked_for(tmp_path):
    three_runs(tmp_path / "runs")
    args = ["history", "--store", str(tmp_path / "runs"), "--out", str(tmp_path)]
    assert cli.main([*args, "--model", "VGG*", "--batch", "1"]) == 0
    table = pd.read_csv(tmp_path / "energy_history.csv")
    assert set(table["model"]) == {"VGG11_X_UNPRUNED"}


def test_history_of_an_empty_store_says_so(tmp_path, capsys):
    assert cli.main(["history", "--store", str(tmp_path), "--out", str(tmp_path)]) == 1
    assert "no stored runs with matching items in" in capsys.readouterr().err


def test_compare_prints_a_verdict_per_item(tmp_path, capsys):
    three_runs(tmp_path)
    run_a, run_b = "20240101T000000.000000Z-aaaa0001", "20240102T000000.000000Z-aaaa0002"
    code = cli.main(["compare", run_a, run_b, "--store", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "1 regressed, 0 improved, 1 unchanged, 0 new, 0 missing" in out
    regressed = next(line for line in out.splitlines() if line.startswith("regressed "))
    assert MODEL in regressed and "+10.0%" in regressed


def test_compare_of_an_unknown_run_is_a_usage_error(tmp_path, capsys):
    assert cli.main(["compare", "a", "b", "--store", str(tmp_path)]) == 2
    assert "no run 'a'" in capsys.readouterr().err
    # a store that is not there is said to be the cause
    assert cli.main(["compare", "a", "b", "--store", str(tmp_path / "nostore")]) == 2
    assert "(that store folder does not exist: is --store right?)" in capsys.readouterr().err


def test_compare_of_a_run_with_itself_is_a_usage_error(tmp_path, capsys):
    # It printed every item "unchanged": true, and worth nothing.
    three_runs(tmp_path)
    run = "20240101T000000.000000Z-aaaa0001"
    path = str(tmp_path / f"{run}.json")
    assert cli.main(["compare", run, path, "--store", str(tmp_path)]) == 2
    assert f"RUN_A and RUN_B are the same run, {run}" in capsys.readouterr().err


# -- options ---------------------------------------------------------------------------------------


def resolve(tmp_path: Path, **raw) -> Settings:
    return resolve_settings(
        RawOptions(**raw), invocation_dir=tmp_path / "here", ini_dir=tmp_path / "ini"
    )


def test_the_store_sits_beside_the_ini_file_unless_the_command_line_says_otherwise(tmp_path):
    assert resolve(tmp_path).store_dir == tmp_path / "ini" / ".pruneenergy" / "runs"
    assert resolve(tmp_path, ini_store_dir="s").store_dir == tmp_path / "ini" / "s"
    assert resolve(tmp_path, cli_store_dir="s", ini_store_dir="t").store_dir == tmp_path / "here/s"


def test_a_gate_alone_compares_with_the_latest_run_and_nothing_is_saved_unless_asked(tmp_path):
    settings = resolve(tmp_path, cli_compare_fail=["joules:5%"])
    assert (settings.compare_run, settings.compare_fail) == ("latest", {"joules": 0.05})
    assert not settings.save
    assert resolve(tmp_path, ini_save="true").save
    assert resolve(tmp_path).compare_run is None


def test_typed_gpu_facts_keep_the_machine_key_of_earlier_runs():
    # Records stored the power limit as the text NVML's float gave ("700.0"): the key of a run
    # stored before the facts were typed must still match this machine's.
    machine = current_machine(GpuFacts("NVIDIA H100", "550.54", 700.0))
    earlier = MachineIdentity(
        **{**H100, "cpu": machine.cpu, "torch_version": machine.torch_version}
    )
    assert machine.power_limit_watts == "700.0"
    assert machine.machine_key == earlier.machine_key


def test_runs_compare_their_settings_only_where_both_recorded_them():
    from types import SimpleNamespace

    from pytest_pruneenergy.track.compare import settings_differences

    older = SimpleNamespace(settings={"protocol": "adaptive", "batch_sizes": [1, 8]})
    newer = SimpleNamespace(settings={"protocol": "seed", "idle_seconds": 3.0})
    assert settings_differences(older, newer) == ["protocol"]
    assert settings_differences(older, SimpleNamespace(settings={"protocol": "adaptive"})) == []
