"""The end of a run that is not pytest's: what the run itself comes to (items without a result,
skipped files, resumed items), and the run store's part: compare this run with a stored one,
look for steps over the stored history, then store it.

The plugin and ``pruneenergy merge`` call the same code with plain values (``StoreRequest``):
the settings that asked for it stay with their callers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..items.measurement import ItemFailure, Measurement
from ..models.discovery import skipped_files
from .compare import (
    ItemComparison,
    change_percent_text,
    compare_runs,
    comparison_lines,
    gate_failures,
)
from .history import (
    describe_step,
    history_series,
    in_commit_order,
    runs_since,
    step_findings,
    step_gate_failures,
)
from .steps import MIN_POINTS
from .store import (
    COMPARE_LATEST,
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


@dataclass(frozen=True)
class StoreRequest:
    """What the run store is asked to do at the end of a run. No defaults: the options' are the
    option table's (settings/), and ``Settings.store_request`` fills every field."""

    store_dir: Path
    # Store this run.
    save: bool
    # The run to compare with: None, COMPARE_LATEST (the newest complete stored run of this
    # machine), a run id or the path of a run file.
    compare_run: str | None
    # Gates on the comparison and on steps, by measure, as fractions (0.05 for 5 %); the commit
    # whose runs the step check starts at.
    compare_fail: Mapping[str, float]
    step_fail: Mapping[str, float]
    step_since: str | None

    @classmethod
    def save_only(cls, store_dir: Path) -> StoreRequest:
        """Store the run and nothing else: no comparison, no gate (``pruneenergy merge``)."""
        return cls(store_dir, True, None, {}, {}, None)


@dataclass(frozen=True)
class RunAccount:
    """What the controller knows of the run itself, for the summary's notes."""

    expected_items: int
    missing: Sequence[str]  # ids of collected items without a result
    interrupted: bool
    resumed_items: int = 0
    unreadable_journal_lines: int = 0


def run_notes(
    model_dirs: Sequence[Path], report_dir: Path | None, account: RunAccount
) -> list[str]:
    """Skipped files of ``model_dirs``, items taken from the journal, and items left without a
    result (``report_dir``: where a rerun with --energy-resume would find the journal)."""
    notes = [
        f"skipped {item.path}: {item.reason}"
        for folder in model_dirs
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
            if report_dir is not None
            else "with --energy-report, a rerun with --energy-resume measures only the rest"
        )
        notes.append(
            f"INTERRUPTED: {done} of {account.expected_items} energy items have a result; {how}"
        )
        if account.missing:
            shown = ", ".join(account.missing[:3]) + (", ..." if len(account.missing) > 3 else "")
            notes.append(f"  without a result: {shown}")
    return notes


@dataclass(frozen=True)
class StoreOutcome:
    lines: list[str]
    # The lines (among ``lines``) of --energy-compare-fail and --energy-step-fail gates broken.
    gate_failures: tuple[str, ...] = ()
    # The line (among ``lines``) saying the run could not be stored: the session fails.
    save_failure: str | None = None
    # Against the compared run, item by item (none without a comparison).
    comparisons: tuple[ItemComparison, ...] = ()
    # What the comparison and the step check concluded, a line each, for the markdown summary.
    verdicts: tuple[str, ...] = ()


def compare_and_save(
    measurements: Sequence[Measurement],
    failures: Sequence[ItemFailure],
    request: StoreRequest,
    *,
    recorded_settings: Mapping[str, Any],
    repository_dir: Path,
    now: datetime | None = None,
    interrupted: bool = False,
) -> StoreOutcome:
    """Compare this run with a stored one and look for steps over the stored history (before it
    is stored, so never with itself), then store it; the lines say what happened, for the
    terminal summary. ``recorded_settings``: the settings that changed the numbers, stored with
    the run so that runs measured otherwise are flagged when compared."""
    record = build_record(
        measurements,
        failures,
        dict(recorded_settings),
        git=git_state(repository_dir),
        machine=current_machine(first_gpu(measurements)),
        now=now or datetime.now(timezone.utc),
        interrupted=interrupted,
    )
    lines: list[str] = []
    gate_lines: list[str] = []
    verdicts: list[str] = []
    comparisons: list[ItemComparison] = []
    stored: list[RunRecord] = []
    if request.compare_run == COMPARE_LATEST or request.step_fail:
        loaded = load_runs(request.store_dir)
        lines += [f"skipped an unreadable stored run: {problem}" for problem in loaded.problems]
        stored = loaded.runs
    if request.compare_run is not None:
        compared = _compare_with_store(record, request, stored)
        lines += compared.lines
        gate_lines += compared.gate_failures
        comparisons = list(compared.comparisons)
        verdicts += compared.verdicts
    if request.step_fail:
        found = judge_steps(record, stored, request.step_fail, request.step_since)
        lines += found.lines
        gate_lines += found.gate_failures
        verdicts += found.verdicts
    lines += gate_lines
    verdicts += gate_lines
    save_failure = None
    if request.save:
        try:
            path = save_run(record, request.store_dir)
        except OSError as error:  # the report and the comparison above still count
            save_failure = f"RUN NOT SAVED to {request.store_dir}: {error}"
            lines.append(save_failure)
            verdicts.append(save_failure)
        else:
            marked = " (marked interrupted: never the default baseline)" if interrupted else ""
            lines.append(f"run saved: {path}{marked}")
    return StoreOutcome(lines, tuple(gate_lines), save_failure, tuple(comparisons), tuple(verdicts))


def _compare_with_store(
    record: RunRecord, request: StoreRequest, stored: Sequence[RunRecord]
) -> StoreOutcome:
    """The comparison's lines, and apart from them the lines of the gates it broke; ``stored``:
    the store's runs where the comparison is with the latest."""
    store = request.store_dir
    if request.compare_run == COMPARE_LATEST:
        baseline = latest_comparable(stored, record.machine_key)
        if baseline is None:
            line = (
                f"no complete stored run from this machine (machine_key {record.machine_key}) "
                f"in {store}: nothing to compare with (--energy-save stores runs)"
            )
            return StoreOutcome([line], verdicts=(line,))
    else:
        try:
            baseline = find_run(str(request.compare_run), store)
        except RunStoreError as error:
            line = f"nothing compared: {error}"
            return StoreOutcome([line], verdicts=(line,))
    joules_fraction = request.compare_fail.get("joules")
    fps_fraction = request.compare_fail.get("fps")
    comparisons = compare_runs(
        baseline,
        record,
        threshold_joules_fraction=joules_fraction,
        threshold_fps_fraction=fps_fraction,
    )
    lines = comparison_lines(baseline, record, comparisons)
    failures = gate_failures(comparisons, joules_fraction, fps_fraction)
    # The counts and the warnings; the table itself is the markdown's own column.
    verdicts = [lines[0], *(line for line in lines if line.startswith("WARNING"))]
    return StoreOutcome(lines, tuple(failures), None, tuple(comparisons), tuple(verdicts))


def judge_steps(
    record: RunRecord,
    stored: Sequence[RunRecord],
    fractions: Mapping[str, float],
    since: str | None,
) -> StoreOutcome:
    """Steps over this machine's complete stored runs (from ``since`` on) with this run last;
    the lines of the gates (``--energy-step-fail``) that this run's level broke apart."""
    same = [run for run in stored if run.machine_key == record.machine_key and not run.interrupted]
    judged, found = runs_since(in_commit_order(same), since)
    lines = []
    if not found:
        lines.append(
            f"--energy-step-since={since}: no stored run of that commit from this machine; "
            "all its stored runs judged"
        )
    series = history_series([*judged, record])
    findings = step_findings(series, fractions, current_run_id=record.run_id)
    run_counts = [len(one.points) for one in series if one.points[-1].run_id == record.run_id]
    summary = steps_found_line(len(findings), run_counts, stored_runs=len(judged))
    lines.append(summary)
    lines += [
        f"  {describe_step(finding)}{' (this run is still on it)' if finding.failed else ''}"
        for finding in findings
    ]
    return StoreOutcome(lines, tuple(step_gate_failures(findings, fractions)), verdicts=(summary,))


def steps_found_line(found: int, run_counts: Sequence[int], *, stored_runs: int) -> str:
    """The step check's line: the steps found in the series this run is in (``run_counts``:
    each one's number of runs), or no verdict where none has the runs a step needs."""
    runs = f"{stored_runs} stored runs and this one, commit order"
    judged = [count for count in run_counts if count >= MIN_POINTS]
    if not judged:
        longest = max(run_counts, default=1)
        return (
            f"steps: no verdict: {longest} run(s) of this machine ({runs}); a step needs at "
            f"least {MIN_POINTS}"
        )
    summary = f"steps: {found} found in {len(judged)} series of this machine ({runs})"
    too_short = len(run_counts) - len(judged)
    if too_short:
        summary += f"; {too_short} series with fewer than {MIN_POINTS} runs not judged"
    return summary


def compare_cells(
    comparisons: Sequence[ItemComparison],
) -> dict[tuple[str, int, str | None], str]:
    """Per item, its verdict against the compared run and its energy change: the markdown
    summary's column."""
    cells = {}
    for comparison in comparisons:
        if comparison.batch_size is None:
            continue
        change = comparison.joules_change_fraction
        text = (
            comparison.verdict
            if change is None
            else (f"{comparison.verdict} {change_percent_text(change)}")
        )
        cells[(comparison.model, comparison.batch_size, comparison.dtype)] = text
    return cells
