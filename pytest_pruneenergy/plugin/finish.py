"""The end of a run, on the controller: gates that need every measurement, what the summary says
about the run itself, and the run store (compare with a stored run, then store this one)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..common.shapes import format_shape
from ..items.measurement import ItemFailure, ItemKey, Measurement, baseline_measurements
from ..models.discovery import skipped_files
from ..settings import COMPARE_LATEST, Settings
from ..track.compare import compare_runs, comparison_lines, gate_failures
from ..track.gates import ItemThresholds, Verdict, gate_cells, judge_measurement
from ..track.store import (
    RunRecord,
    RunStoreError,
    build_record,
    current_machine,
    find_run,
    first_gpu,
    git_state,
    latest_comparable,
    load_runs,
    save_run,
)


def judge_gates(
    measurements: Sequence[Measurement], thresholds: Mapping[ItemKey, ItemThresholds]
) -> dict[ItemKey, tuple[Verdict, ...]]:
    """Every item's verdicts, once every measurement (the baselines' too) has arrived."""
    if not any(thresholds.values()):
        return {}
    baselines = baseline_measurements(measurements)
    gates = {}
    for measurement in measurements:
        key = measurement.key
        item_thresholds = thresholds.get(key)
        if item_thresholds:
            gates[key] = judge_measurement(
                measurement, item_thresholds, baseline=baselines.get(key)
            )
    return gates


def table_cells(
    gates: Mapping[ItemKey, Sequence[Verdict]],
) -> dict[ItemKey, tuple[str, str]]:
    """The gates as the result table shows them (track/gates.py ``gate_cells``)."""
    cells = {key: gate_cells(verdicts) for key, verdicts in gates.items()}
    return {key: cell for key, cell in cells.items() if cell is not None}


@dataclass(frozen=True)
class RunAccount:
    """What the controller knows of the run itself, for the summary's notes."""

    expected_items: int
    missing: Sequence[str]  # ids of collected items without a result
    interrupted: bool
    resumed_items: int = 0
    unreadable_journal_lines: int = 0


def run_notes(settings: Settings, account: RunAccount) -> list[str]:
    """Skipped files, items taken from the journal, and items left without a result."""
    notes = [
        f"skipped {item.path}: {item.reason}"
        for folder in settings.model_dirs
        if folder.is_dir()
        for item in skipped_files(folder)
    ]
    if account.resumed_items:
        notes.append(
            f"resumed: {account.resumed_items} item(s) taken from the journal of an earlier run "
            "(same files, settings and device), the rest measured now"
        )
    if account.unreadable_journal_lines:
        notes.append(
            f"journal: {account.unreadable_journal_lines} line(s) could not be read (cut short "
            "by a kill?); those items were measured again"
        )
    if account.interrupted:
        done = account.expected_items - len(account.missing)
        how = (
            "rerun the same command with --energy-resume to measure only the rest"
            if settings.report_dir is not None
            else "with --energy-report, a rerun with --energy-resume measures only the rest"
        )
        notes.append(
            f"INTERRUPTED: {done} of {account.expected_items} energy items have a result; {how}"
        )
        if account.missing:
            shown = ", ".join(account.missing[:3]) + (", ..." if len(account.missing) > 3 else "")
            notes.append(f"  without a result: {shown}")
    return notes


def settings_that_matter(settings: Settings) -> dict[str, Any]:
    """The settings that change the numbers: runs that differ here are flagged when compared."""
    shape = settings.input_shape
    return {
        "protocol": settings.protocol,
        "target_ci_fraction": settings.target_ci_fraction,
        "batch_sizes": list(settings.batch_sizes),
        "input_shape": None if shape is None else format_shape(shape),
        "meter": settings.meter,
        "cuda_graphs": settings.cuda_graphs,
    }


@dataclass(frozen=True)
class StoreOutcome:
    lines: list[str]
    # The lines (among ``lines``) of --energy-compare-fail gates that regressed items broke.
    gate_failures: tuple[str, ...] = ()
    # The line (among ``lines``) saying the run could not be stored: the session fails.
    save_failure: str | None = None


def compare_and_save(
    measurements: Sequence[Measurement],
    failures: Sequence[ItemFailure],
    settings: Settings,
    *,
    repository_dir: Path,
    now: datetime | None = None,
    interrupted: bool = False,
    recorded_settings: dict[str, Any] | None = None,
) -> StoreOutcome:
    """Compare this run with a stored one (before it is stored, so never with itself), then
    store it; the lines say what happened, for the terminal summary. ``recorded_settings``:
    the measuring settings to store, where they are not ``settings``' (a merge of shards)."""
    record = build_record(
        measurements,
        failures,
        settings_that_matter(settings) if recorded_settings is None else recorded_settings,
        git=git_state(repository_dir),
        machine=current_machine(first_gpu(measurements)),
        now=now or datetime.now(timezone.utc),
        interrupted=interrupted,
    )
    lines: list[str] = []
    gate_lines: list[str] = []
    save_failure = None
    if settings.compare_run is not None:
        lines, gate_lines = _compare_with_store(record, settings)
        lines += gate_lines
    if settings.save:
        try:
            path = save_run(record, settings.store_dir)
        except OSError as error:  # the report and the comparison above still count
            save_failure = f"RUN NOT SAVED to {settings.store_dir}: {error}"
            lines.append(save_failure)
        else:
            marked = " (marked interrupted: never the default baseline)" if interrupted else ""
            lines.append(f"run saved: {path}{marked}")
    return StoreOutcome(lines, tuple(gate_lines), save_failure)


def _compare_with_store(record: RunRecord, settings: Settings) -> tuple[list[str], list[str]]:
    """The comparison's lines, and apart from them the lines of the gates it broke."""
    store = settings.store_dir
    if settings.compare_run == COMPARE_LATEST:
        loaded = load_runs(store)
        lines = [f"skipped an unreadable stored run: {problem}" for problem in loaded.problems]
        baseline = latest_comparable(loaded.runs, record.machine_key)
        if baseline is None:
            lines.append(
                f"no complete stored run from this machine (machine_key {record.machine_key}) "
                f"in {store}: nothing to compare with (--energy-save stores runs)"
            )
            return lines, []
    else:
        lines = []
        try:
            baseline = find_run(str(settings.compare_run), store)
        except RunStoreError as error:
            return [f"nothing compared: {error}"], []
    joules_fraction = settings.compare_fail.get("joules")
    fps_fraction = settings.compare_fail.get("fps")
    comparisons = compare_runs(
        baseline,
        record,
        threshold_joules_fraction=joules_fraction,
        threshold_fps_fraction=fps_fraction,
    )
    lines += comparison_lines(baseline, record, comparisons)
    return lines, gate_failures(comparisons, joules_fraction, fps_fraction)


@dataclass
class CountedProblem:
    """An entry of pytest's terminal stats for a problem that failed the session (a gate, a
    report not written): plugins that read those stats (xdist, pytest-benchmark) expect
    objects with attributes, not strings."""

    message: str
    count_towards_summary: bool = True


def count_on_last_line(
    stats: dict[str, list[Any]], messages: Sequence[str], singular: str, plural: str
) -> None:
    """pytest's last line counts every key of its stats: "6 passed, 1 energy gate failed"
    instead of a bare "6 passed" over a run that exits with status 1."""
    if messages:
        key = singular if len(messages) == 1 else plural
        stats.setdefault(key, []).extend(CountedProblem(message) for message in messages)
