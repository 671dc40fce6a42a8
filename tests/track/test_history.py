"""A model's energy over commits, from stored runs: series per machine, steps and their gate."""

from __future__ import annotations

import itertools
import random
import shutil
from pathlib import Path

import pytest

from pytest_pruneenergy.track.compare import compare_runs
from pytest_pruneenergy.track.history import (
    FPS,
    JOULES,
    history_rows,
    history_series,
    in_commit_order,
    machine_label,
    runs_since,
    step_findings,
    step_gate_failures,
)
from pytest_pruneenergy.track.store import MachineIdentity, load_runs, load_stores

from .test_store import H100, MODEL, item, run_dict, write_run

A100 = {**H100, "gpu_name": "NVIDIA A100"}


def commit_of(number: int) -> str:
    return f"{number:04d}" + "ab" * 18


def stored_history(
    store: Path,
    levels: list[float],
    *,
    seed: int = 0,
    machine: dict = H100,
    scatter: float = 0.005,
    first_hour: int = 0,
) -> list[str]:
    """One run per level, an hour apart, each of its own commit; J/sample scattered around the
    level with a 1 % CI, FPS its inverse. Returns the commits, oldest first."""
    generator = random.Random(seed)
    commits = []
    for number, level in enumerate(levels):
        hour = first_hour + number
        joules = level * (1 + generator.gauss(0, scatter))
        run_id = f"20240101T{hour:02d}0000.000000Z-{machine['gpu_name'][-4:]}{number:04d}"
        commit = commit_of(hour)
        git = {
            "commit": commit,
            "dirty": False,
            "branch": "main",
            "commit_time": f"2024-01-01T{hour:02d}:00:00+00:00",
        }
        items = [item(joules=joules, ci95=0.01 * level, fps=1000 / joules)]
        write_run(store, run_dict(run_id=run_id, items=items, machine=machine, git=git))
        commits.append(commit)
    return commits


def series_of(store: Path, machine: dict = H100):
    runs = in_commit_order(load_runs(store).runs)
    return [one for one in history_series(runs) if one.machine_key == key_of(machine)]


def key_of(machine: dict) -> str:
    return MachineIdentity(**machine, cpu="EPYC", torch_version="2.4.0").machine_key


# -- the three fixtures ------------------------------------------------------------------


def test_a_planted_8_percent_step_is_found_at_the_commit_that_made_it(tmp_path):
    commits = stored_history(tmp_path, [1.0] * 6 + [1.08] * 6, seed=1)
    [series] = series_of(tmp_path)
    [step] = series.steps(JOULES)
    assert series.points[step.index].commit == commits[6]
    assert step.change_fraction == pytest.approx(0.08, abs=0.01)
    # FPS, the inverse, falls at the same commit (judged on the series' scatter alone).
    [fps_step] = series.steps(FPS)
    assert fps_step.index == 6 and fps_step.change_fraction < 0
    [finding] = [f for f in step_findings([series], {JOULES: 0.05}) if f.failed]
    [line] = step_gate_failures([finding], {JOULES: 0.05})
    assert line.startswith("FAILED --energy-step-fail=joules:5%: 1 item(s) on a new level: ")
    assert f"{MODEL} (bs 8): energy +" in line and f"from commit {commits[6][:7]}" in line


def test_a_creep_of_1_percent_a_commit_passes_every_pairwise_gate_but_not_the_step_gate(tmp_path):
    stored_history(tmp_path, [1.01**commit for commit in range(11)], seed=2)
    runs = in_commit_order(load_runs(tmp_path).runs)
    for before, after in itertools.pairwise(runs):
        [comparison] = compare_runs(before, after, threshold_joules_fraction=0.05)
        assert not comparison.joules_regressed
    findings = step_findings(history_series(runs), {JOULES: 0.03})
    assert [finding.failed for finding in findings][-1]
    assert step_gate_failures(findings, {JOULES: 0.03})


@pytest.mark.parametrize("seed", range(10))
def test_noise_alone_is_never_flagged(tmp_path, seed):
    stored_history(tmp_path, [1.0] * 12, seed=seed)
    assert step_findings(series_of(tmp_path), {JOULES: 0.0, FPS: 0.0}) == []


# -- series ------------------------------------------------------------------------------------


def test_runs_are_in_commit_order_whatever_order_they_ran_in(tmp_path):
    stored_history(tmp_path, [1.0, 1.1], first_hour=5)
    # A run made later of an older commit (a backfill): it comes first.
    git = {"commit": commit_of(1), "dirty": False, "branch": "main"}
    git["commit_time"] = "2024-01-01T01:00:00+00:00"
    write_run(tmp_path, run_dict(run_id="20240101T090000.000000Z-late0001", git=git))
    ordered = in_commit_order(load_runs(tmp_path).runs)
    assert [run.git.commit for run in ordered] == [commit_of(1), commit_of(5), commit_of(6)]
    rows = history_rows(load_runs(tmp_path).runs)
    assert [row["commit"] for row in rows] == [commit_of(1), commit_of(5), commit_of(6)]


def test_a_record_without_a_commit_time_is_placed_by_its_run_time(tmp_path):
    stored_history(tmp_path, [1.0], first_hour=5)
    write_run(tmp_path, run_dict(run_id="20240101T030000.000000Z-oldformat"))  # no commit_time
    ordered = in_commit_order(load_runs(tmp_path).runs)
    assert [run.run_id.split("-")[-1] for run in ordered] == ["oldformat", "H1000000"]


def test_each_machine_has_its_own_line(tmp_path):
    stored_history(tmp_path, [1.0] * 3)
    stored_history(tmp_path, [2.0] * 3, machine=A100, first_hour=3)
    runs = in_commit_order(load_runs(tmp_path).runs)
    series = history_series(runs)
    assert {(one.machine_key, len(one.points)) for one in series} == {
        (key_of(H100), 3),
        (key_of(A100), 3),
    }


def test_failed_items_leave_no_point_and_fps_may_be_missing(tmp_path):
    items = [item(), item(batch_size=16, joules=None, status="failed"), item(batch_size=1)]
    items[2]["fps"] = None
    write_run(tmp_path, run_dict(items=items))
    series = history_series(load_runs(tmp_path).runs)
    assert [(one.batch_size, len(one.points)) for one in series] == [(1, 1), (8, 1)]
    assert series[0].values(FPS) == ([], [])
    with pytest.raises(ValueError, match="no metric 'watts': one of joules, fps"):
        series[0].points[0].value("watts")


def test_a_model_glob_and_a_batch_size_select_series(tmp_path):
    items = [item(), item(model="VGG11_X_UNPRUNED", batch_size=1)]
    write_run(tmp_path, run_dict(items=items))
    runs = load_runs(tmp_path).runs
    assert [one.model for one in history_series(runs, model_glob="VGG*")] == ["VGG11_X_UNPRUNED"]
    assert [one.batch_size for one in history_series(runs, batch_size=8)] == [8]


def test_several_stores_read_as_one_history_and_a_copied_run_counts_once(tmp_path):
    stored_history(tmp_path / "a", [1.0] * 3)
    stored_history(tmp_path / "b", [2.0] * 3, machine=A100, first_hour=3)
    copied = next((tmp_path / "a").iterdir())
    shutil.copy(copied, tmp_path / "b" / copied.name)
    (tmp_path / "b" / "broken.json").write_text("{", encoding="utf-8")
    loaded = load_stores([tmp_path / "a", tmp_path / "b", tmp_path / "missing"])
    assert len(loaded.runs) == 6
    assert [str(problem).split(":")[0] for problem in loaded.problems] == [
        str(tmp_path / "b" / "broken.json")
    ]


def test_a_machine_is_labelled_by_what_makes_its_key():
    machine = MachineIdentity(
        gpu_name="NVIDIA H200", driver="580.1", power_limit_watts="700.0", torch_version="2.5"
    )
    assert machine_label(machine) == "NVIDIA H200, driver 580.1, 700.0 W, torch 2.5"
    assert machine_label(MachineIdentity(cpu="EPYC 9654")) == "EPYC 9654"
    assert machine_label(MachineIdentity()) == "unknown machine"


def test_runs_since_a_commit_start_at_its_first_run(tmp_path):
    commits = stored_history(tmp_path, [1.0] * 4)
    ordered = in_commit_order(load_runs(tmp_path).runs)
    since, found = runs_since(ordered, commits[2][:7])
    assert found and [run.git.commit for run in since] == commits[2:]
    assert runs_since(ordered, "fedcba9") == (ordered, False)
    assert runs_since(ordered, None) == (ordered, True)


# -- the step gate -----------------------------------------------------------------------------


def test_a_step_that_was_fixed_since_fails_nothing(tmp_path):
    # Up at run 6, and the current (last) run back at the old level.
    stored_history(tmp_path, [1.0] * 6 + [1.08] * 6 + [1.0], seed=3)
    findings = step_findings(series_of(tmp_path), {JOULES: 0.05})
    assert findings and not any(finding.failed for finding in findings)


def test_a_step_up_followed_by_a_step_back_down_fails_nothing(tmp_path):
    stored_history(tmp_path, [1.0] * 6 + [1.1] * 6 + [1.0] * 6, seed=4)
    findings = step_findings(series_of(tmp_path), {JOULES: 0.05})
    assert [finding.step.index for finding in findings] == [6, 12]
    assert not any(finding.failed for finding in findings)


def test_a_step_smaller_than_the_gate_or_an_improvement_fails_nothing(tmp_path):
    stored_history(tmp_path / "small", [1.0] * 6 + [1.04] * 6, seed=5)
    assert not any(f.failed for f in step_findings(series_of(tmp_path / "small"), {JOULES: 0.05}))
    stored_history(tmp_path / "better", [1.0] * 6 + [0.9] * 6, seed=5)
    findings = step_findings(series_of(tmp_path / "better"), {JOULES: 0.05, FPS: 0.05})
    assert {finding.metric for finding in findings} == {JOULES, FPS}
    assert not any(finding.failed for finding in findings)


def test_fps_fails_on_a_fall(tmp_path):
    stored_history(tmp_path, [1.0] * 6 + [1.1] * 6, seed=6)  # FPS = 1000 / J falls 9 %
    [finding] = [f for f in step_findings(series_of(tmp_path), {FPS: 0.05}) if f.failed]
    assert finding.metric == FPS and finding.step.change_fraction < -0.05
    [line] = step_gate_failures([finding], {FPS: 0.05})
    assert line.startswith("FAILED --energy-step-fail=fps:5%: 1 item(s)") and ": FPS -" in line


def test_only_series_the_current_run_is_in_are_judged(tmp_path):
    stored_history(tmp_path, [1.0] * 6 + [1.08] * 6, seed=7)
    series = series_of(tmp_path)
    assert step_findings(series, {JOULES: 0.05}, current_run_id="another run") == []
    current = series[0].points[-1].run_id
    assert step_findings(series, {JOULES: 0.05}, current_run_id=current)


def test_each_numeric_format_is_a_series_of_its_own(tmp_path):
    for hour, (fp32, bf16) in enumerate([(1.0, 0.5), (1.0, 0.6)]):
        items = [item(joules=fp32, dtype="float32"), item(joules=bf16, dtype="bfloat16")]
        write_run(tmp_path, run_dict(f"20240101T0{hour}0000.000000Z-aaaa000{hour}", items))
    series = history_series(in_commit_order(load_runs(tmp_path).runs))
    assert [(one.label, [p.joules_per_sample for p in one.points]) for one in series] == [
        (f"{MODEL} (bs 8, bfloat16)", [0.5, 0.6]),
        (f"{MODEL} (bs 8, float32)", [1.0, 1.0]),
    ]
    assert {row["dtype"] for row in history_rows(load_runs(tmp_path).runs)} == {
        "bfloat16",
        "float32",
    }
