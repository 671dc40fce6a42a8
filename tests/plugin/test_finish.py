"""The end of a run, without pytest: the step check against the store, the compare column and
the markdown summary's files."""

from __future__ import annotations

from pytest_pruneenergy.plugin.finish import write_markdown
from pytest_pruneenergy.track.compare import compare_runs
from pytest_pruneenergy.track.run_end import compare_cells, judge_steps
from pytest_pruneenergy.track.store import RunRecord, load_runs

from ..track.test_history import stored_history
from ..track.test_store import MODEL, item, record


def current(joules: float, **overrides) -> RunRecord:
    """This run: an hour after the stored history, on the same machine."""
    git = {"commit": "f" * 40, "dirty": True, "branch": None}
    return record(
        run_id="20240102T000000.000000Z-current0",
        items=[item(joules=joules, ci95=0.01, fps=1000 / joules)],
        git=git,
        **overrides,
    )


def test_this_run_on_a_new_level_breaks_the_step_gate(tmp_path):
    commits = stored_history(tmp_path, [1.0] * 6 + [1.1] * 5, seed=1)
    outcome = judge_steps(current(1.1), load_runs(tmp_path).runs, {"joules": 0.05}, None)
    assert outcome.lines[0] == (
        "steps: 1 found in 1 series of this machine (11 stored runs and this one, commit order)"
    )
    assert outcome.lines[1].startswith(f"  {MODEL} (bs 8): energy +")
    assert f"from commit {commits[6][:7]}" in outcome.lines[1]
    assert outcome.lines[1].endswith("(this run is still on it)")
    [failure] = outcome.gate_failures
    assert failure.startswith("FAILED --energy-step-fail=joules:5%: 1 item(s) on a new level")
    assert outcome.verdicts == (outcome.lines[0],)


def test_runs_since_an_accepted_commit_hold_no_step(tmp_path):
    commits = stored_history(tmp_path, [1.0] * 6 + [1.1] * 5, seed=1)
    runs = load_runs(tmp_path).runs
    accepted = judge_steps(current(1.1), runs, {"joules": 0.05}, commits[6][:9])
    assert accepted.gate_failures == ()
    assert accepted.lines == [
        "steps: 0 found in 1 series of this machine (5 stored runs and this one, commit order)"
    ]
    unknown = judge_steps(current(1.1), runs, {"joules": 0.05}, "0badc0de")
    assert unknown.lines[0] == (
        "--energy-step-since=0badc0de: no stored run of that commit from this machine; all its "
        "stored runs judged"
    )
    assert unknown.gate_failures


def test_other_machines_and_interrupted_runs_are_not_this_runs_history(tmp_path):
    stored_history(tmp_path, [1.0] * 6 + [1.1] * 5, seed=1)
    other = {"gpu_name": "NVIDIA A100", "driver": "1", "power_limit_watts": "400.0"}
    outcome = judge_steps(
        current(1.1, machine=other), load_runs(tmp_path).runs, {"joules": 0.05}, None
    )
    assert outcome.lines == [
        "steps: no verdict: 1 run(s) of this machine (0 stored runs and this one, commit "
        "order); a step needs at least 5"
    ]
    interrupted = [
        RunRecord(**{**vars(run), "interrupted": True}) for run in load_runs(tmp_path).runs
    ]
    assert judge_steps(current(1.1), interrupted, {"joules": 0.05}, None).gate_failures == ()


def test_too_few_runs_for_a_step_are_no_verdict_rather_than_none_found(tmp_path):
    stored_history(tmp_path, [1.0, 1.0, 1.1])
    outcome = judge_steps(current(1.1), load_runs(tmp_path).runs, {"joules": 0.05}, None)
    assert outcome.lines == [
        "steps: no verdict: 4 run(s) of this machine (3 stored runs and this one, commit "
        "order); a step needs at least 5"
    ]
    assert outcome.verdicts == (outcome.lines[0],)
    assert outcome.gate_failures == ()


def test_series_too_short_to_judge_are_counted_apart_from_those_judged(tmp_path):
    stored_history(tmp_path, [1.0] * 6)
    with_a_new_model = record(
        run_id="20240102T000000.000000Z-current0",
        items=[item(joules=1.0), item(model="AlexNet_TINY_UNPRUNED")],
        git={"commit": "f" * 40, "dirty": True, "branch": None},
    )
    outcome = judge_steps(with_a_new_model, load_runs(tmp_path).runs, {"joules": 0.05}, None)
    assert outcome.lines == [
        "steps: 0 found in 1 series of this machine (6 stored runs and this one, commit "
        "order); 1 series with fewer than 5 runs not judged"
    ]


def test_the_compare_column_says_the_verdict_and_the_energy_change():
    before = record(items=[item(joules=1.0), item(batch_size=1)])
    after = record(items=[item(joules=1.2), item(batch_size=16)])
    cells = compare_cells(compare_runs(before, after, threshold_joules_fraction=0.05))
    assert cells == {
        (MODEL, 1, None): "missing",
        (MODEL, 8, None): "regressed +20.0%",
        (MODEL, 16, None): "new",
    }


def test_the_summary_replaces_its_file_and_is_appended_to_the_step_summary(tmp_path):
    (tmp_path / "summary.md").write_text("an older run\n", encoding="utf-8")
    (tmp_path / "step.md").write_text("another step\n", encoding="utf-8")
    lines, problems = write_markdown(
        "### run\n", tmp_path / "summary.md", str(tmp_path / "step.md")
    )
    assert problems == []
    assert lines == [
        f"markdown summary: {tmp_path / 'summary.md'}",
        f"markdown summary: {tmp_path / 'step.md'} (appended)",
    ]
    assert (tmp_path / "summary.md").read_text(encoding="utf-8") == "### run\n"
    assert (tmp_path / "step.md").read_text(encoding="utf-8") == "another step\n### run\n"


def test_a_summary_that_cannot_be_written_is_a_problem(tmp_path):
    (tmp_path / "taken").write_text("a file where a folder should be", encoding="utf-8")
    target = tmp_path / "taken" / "summary.md"
    lines, problems = write_markdown("### run\n", target, None)
    [problem] = problems
    assert problem.startswith(f"MARKDOWN SUMMARY NOT WRITTEN to {target}: ")
    assert lines == problems
    assert write_markdown("x", None, None) == ([], [])
