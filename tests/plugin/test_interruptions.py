"""Runs that end early lose at most the item in flight: SIGKILL, SIGTERM, Ctrl-C, a crashed
xdist worker, ``-x``. And ``--energy-resume`` finishes them.

A run that a signal ends runs in a subprocess of its own; every other run, resumed ones
included, runs in this process (``run_in_process``).
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pandas as pd
import pytest

from pytest_pruneenergy.track.store import load_runs

from ..conftest import shared_run, write_tiny_zoo
from .conftest import STEM, TINY_STEMS, TWO_WORKERS, Run, run_in_process, run_pytest

pytestmark = pytest.mark.slow

# Sends ``signal`` to its own process when the item numbered in kill_at.txt sets up (1 = first).
KILLER = """
import os
import signal
from pathlib import Path

def pytest_runtest_setup(item):
    started = Path("started.txt")
    count = int(started.read_text()) + 1 if started.exists() else 1
    started.write_text(str(count))
    kill_at = Path("kill_at.txt")
    if kill_at.exists() and int(kill_at.read_text().split()[0]) == count:
        name = kill_at.read_text().split()[1]
        if name == "SIGINT":  # Python's own Ctrl-C handler, even where a parent ignored SIGINT
            signal.signal(signal.SIGINT, signal.default_int_handler)
        os.kill(os.getpid(), getattr(signal, name))
"""
ITEMS = [(stem, size) for stem in TINY_STEMS for size in (1, 4)]
ARGS = ("--prune-models=models", "--prune-batch-sizes=1,4", "--energy-report=report")


def prepare(folder: Path, *, kill_at: int | None = None, signal_name: str = "SIGKILL") -> Path:
    write_tiny_zoo(folder / "models")
    (folder / "conftest.py").write_text(KILLER)
    if kill_at is not None:
        (folder / "kill_at.txt").write_text(f"{kill_at} {signal_name}")
    return folder


def journal_lines(folder: Path) -> list[dict]:
    lines = []
    for path in sorted((folder / "report" / "journal").glob("*.jsonl")):
        lines += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return lines


def rows(table: pd.DataFrame) -> list[tuple[str, int]]:
    return sorted(zip(table[STEM], table["BATCH_SIZE"], strict=True))


@shared_run
def killed_then_resumed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, list, Run]:
    folder = prepare(tmp_path_factory.mktemp("killed"), kill_at=4)
    killed = run_pytest(folder, *ARGS)
    assert not (folder / "report" / "pruneenergy_results.csv").exists()  # nothing at the end
    journaled = journal_lines(folder)
    (folder / "kill_at.txt").unlink()
    resumed = run_in_process(folder, *ARGS, "--energy-resume")
    return killed, journaled, resumed


def test_sigkill_loses_only_the_item_in_flight(killed_then_resumed) -> None:
    killed, journaled, _ = killed_then_resumed
    assert killed.returncode == -signal.SIGKILL, killed.output
    measured = [
        (line["measurement"]["model"], line["measurement"]["batch_size"]) for line in journaled
    ]
    assert measured == ITEMS[:3]


def test_resume_measures_only_the_rest_and_reuses_the_journal_as_it_is(killed_then_resumed):
    _, journaled, resumed = killed_then_resumed
    assert resumed.returncode == 0, resumed.output
    assert "resumed: 3 item(s) taken from the journal" in resumed.summary()
    table = resumed.table("report")
    assert rows(table) == sorted(ITEMS)
    for line in journaled:
        measurement = line["measurement"]
        row = table[
            (table[STEM] == measurement["model"])
            & (table["BATCH_SIZE"] == measurement["batch_size"])
        ]
        joules = measurement["stats"]["joules_per_sample_mean"]
        assert row["Mean Energy per Sample (J)"].item() == pytest.approx(joules, rel=1e-12)
    # Items 1-3 came from the journal; 4-6 were measured, and journaled, now.
    measured_now = [
        (line["measurement"]["model"], line["measurement"]["batch_size"])
        for line in journal_lines(resumed.folder)[len(journaled) :]
    ]
    assert measured_now == ITEMS[3:]


def test_items_taken_from_the_journal_raise_no_benchmark_fixture_warning(killed_then_resumed):
    """They are not timed again, by design; pytest-benchmark would call that an unused
    fixture, once per resumed item."""
    _, _, resumed = killed_then_resumed
    assert "resumed: 3 item(s)" in resumed.summary()
    assert "Benchmark fixture was not used" not in resumed.output


def test_a_resumed_report_has_the_rows_and_columns_of_an_uninterrupted_one(
    killed_then_resumed, tmp_path: Path
) -> None:
    _, _, resumed = killed_then_resumed
    whole = run_in_process(prepare(tmp_path), *ARGS)
    assert whole.returncode == 0, whole.output
    assert list(resumed.table("report").columns) == list(whole.table("report").columns)
    assert rows(resumed.table("report")) == rows(whole.table("report"))


def test_a_journal_resumes_on_the_board_that_measured_it_and_on_no_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cuda:0 names whichever board a process sees first, and lent machines share a host name:
    only the board's UUID in the key keeps one board's figures from standing for another's.
    The boards are named here for the CPU items, where the plugin reads none."""
    from pytest_pruneenergy.plugin import running

    folder = prepare(tmp_path)
    monkeypatch.setattr(running, "gpu_uuid_of", lambda device: "board-a")
    assert run_in_process(folder, *ARGS).returncode == 0
    assert {line["key"]["gpu_uuid"] for line in journal_lines(folder)} == {"board-a"}
    monkeypatch.setattr(running, "gpu_uuid_of", lambda device: "board-b")
    elsewhere = run_in_process(folder, *ARGS, "--energy-resume")
    assert elsewhere.returncode == 0, elsewhere.output
    assert "resumed:" not in elsewhere.summary()
    again = run_in_process(folder, *ARGS, "--energy-resume")
    assert f"resumed: {len(ITEMS)} item(s) taken from the journal" in again.summary()


def test_an_unreadable_board_is_said_and_its_items_are_measured_but_not_journaled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pytest_pruneenergy.plugin import running

    def unreadable(device: str) -> str:
        raise RuntimeError("CUDA error: unspecified launch failure")

    folder = prepare(tmp_path)
    monkeypatch.setattr(running, "gpu_uuid_of", unreadable)
    run = run_in_process(folder, *ARGS, "-W", "default")
    assert run.returncode == 0, run.output
    assert rows(run.table("report")) == sorted(ITEMS)
    assert "which GPU cpu is could not be read (CUDA error: unspecified launch failure)" in (
        run.output
    )
    assert journal_lines(folder) == []


def test_a_run_without_resume_starts_a_new_journal_and_keeps_the_last(tmp_path: Path) -> None:
    folder = prepare(tmp_path)
    # The last run measured two items (as one killed at its third would have).
    run_in_process(folder, *ARGS, "-k", "UNPRUNED")
    fresh = run_in_process(folder, *ARGS)
    assert fresh.returncode == 0, fresh.output
    assert "resumed:" not in fresh.summary()
    assert len(journal_lines(folder)) == 6
    previous = folder / "report" / "journal.previous"
    assert len((previous / "main.jsonl").read_text().splitlines()) == 2


def test_resume_measures_again_what_changed_since(tmp_path: Path) -> None:
    folder = prepare(tmp_path)
    run_in_process(folder, *ARGS, "-k", "UNPRUNED")
    longer = run_in_process(folder, *ARGS, "--energy-resume", "--energy-max-seconds=0.3")
    assert longer.returncode == 0, longer.output
    assert "resumed:" not in longer.summary()  # another time cap: nothing is reused


def test_resume_needs_a_report_folder(tmp_path: Path) -> None:
    result = run_in_process(prepare(tmp_path), "--prune-models=models", "--energy-resume")
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "--energy-resume continues from the journal in the report folder" in result.output


@shared_run
def terminated(tmp_path_factory: pytest.TempPathFactory) -> Run:
    folder = prepare(tmp_path_factory.mktemp("terminated"), kill_at=4, signal_name="SIGTERM")
    return run_pytest(folder, *ARGS, "--energy-save", "--energy-store=store")


def test_sigterm_ends_the_run_with_a_report_of_what_was_measured(terminated: Run) -> None:
    assert terminated.returncode == pytest.ExitCode.INTERRUPTED, terminated.output
    assert rows(terminated.table("report")) == sorted(ITEMS[:3])
    summary = terminated.summary()
    assert "INTERRUPTED: 3 of 6 energy items have a result" in summary
    assert "rerun the same command with --energy-resume" in summary


def test_an_interrupted_run_is_stored_so_and_never_the_default_baseline(terminated: Run) -> None:
    (run,) = load_runs(terminated.folder / "store").runs
    assert run.interrupted
    assert "marked interrupted: never the default baseline" in terminated.output
    (terminated.folder / "kill_at.txt").unlink()
    compared = run_in_process(terminated.folder, *ARGS, "--energy-compare", "--energy-store=store")
    assert compared.returncode == 0, compared.output
    assert "no complete stored run from this machine" in compared.output


@pytest.mark.pytest_api
def test_ctrl_c_keeps_the_measured_items_as_sigterm_does(tmp_path: Path) -> None:
    folder = prepare(tmp_path, kill_at=2, signal_name="SIGINT")
    result = run_pytest(folder, *ARGS)
    assert result.returncode == pytest.ExitCode.INTERRUPTED, result.output
    assert rows(result.table("report")) == sorted(ITEMS[:1])
    assert "INTERRUPTED: 1 of 6 energy items have a result" in result.summary()


def test_stopping_at_the_first_failure_is_an_interrupted_run(tmp_path: Path) -> None:
    folder = prepare(tmp_path)
    (folder / "models" / "AlexNet_TINY_random_PD1_GPR-50_PRUNED.pth").write_bytes(b"corrupt")
    result = run_in_process(folder, *ARGS, "-x")
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.output
    assert len(result.table("report")) == 3  # 2 measured, 1 failed, 3 never run
    assert "INTERRUPTED: 3 of 6 energy items have a result" in result.summary()


# A worker that dies in the middle of one item.
CRASHER = """
import os

def pytest_runtest_call(item):
    if "PD1" in item.name and "-bs4]" in item.name:
        os._exit(3)
"""


@pytest.mark.pytest_api
def test_an_item_whose_xdist_worker_crashed_is_a_failed_row_and_fails_the_run(tmp_path) -> None:
    write_tiny_zoo(tmp_path / "models")
    (tmp_path / "conftest.py").write_text(CRASHER)
    result = run_in_process(tmp_path, *TWO_WORKERS, *ARGS)
    assert result.returncode == pytest.ExitCode.TESTS_FAILED, result.output
    table = result.table("report")
    assert rows(table) == sorted(ITEMS)
    crashed = table[table["Status"] == "failed"]
    assert list(crashed["MODEL_NAME"]) == ["AlexNet_TINY_random_PD1_GPR-50_PRUNED.pth"]
    assert "crashed" in crashed["Error"].item()
