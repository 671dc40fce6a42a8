"""A model's energy across stored runs: rows for a CSV, and series for a page and a step gate.

Runs are taken in commit order: by the commit's date where the record has it (run format 2),
else by the run's own time, and runs of one commit by their time. A series holds one model at
one batch size on one machine (the store's ``machine_key``): runs of other machines never share
a line, since their levels differ by more than any step worth finding.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..items.measurement import item_label
from .steps import SeriesPoint, Step, find_steps
from .store import STATUS_MEASURED, MachineIdentity, RunRecord, sort_key

HISTORY_COLUMNS = (
    "run_id",
    "time_utc",
    "commit",
    "commit_time",
    "dirty",
    "branch",
    "machine_key",
    "model",
    "batch_size",
    "dtype",
    "joules_per_sample",
    "joules_per_sample_ci95",
    "fps",
    "status",
)

# What a series can be judged on; energy has a CI in every record, FPS none.
JOULES = "joules"
FPS = "fps"
METRICS = (JOULES, FPS)


def in_commit_order(runs: Iterable[RunRecord]) -> list[RunRecord]:
    """Oldest commit first (its date; the run's time where the record has none), then by run
    time."""
    return sorted(
        runs, key=lambda run: (run.git.commit_time or run.created_utc, run.created_utc, run.run_id)
    )


def history_rows(
    runs: Sequence[RunRecord], *, model_glob: str | None = None, batch_size: int | None = None
) -> list[dict[str, Any]]:
    """One row per run x model x batch size, in commit order."""
    rows = []
    for run in in_commit_order(runs):
        for item in run.items:
            if not selected(item.model, item.batch_size, model_glob, batch_size):
                continue
            rows.append(
                {
                    "run_id": run.run_id,
                    "time_utc": run.created_utc,
                    "commit": run.git.commit,
                    "commit_time": run.git.commit_time,
                    "dirty": run.git.dirty,
                    "branch": run.git.branch,
                    "machine_key": run.machine_key,
                    "model": item.model,
                    "batch_size": item.batch_size,
                    "dtype": item.dtype,
                    "joules_per_sample": item.joules_per_sample,
                    "joules_per_sample_ci95": item.joules_per_sample_ci95,
                    "fps": item.fps,
                    "status": item.status,
                }
            )
    return rows


def selected(model: str, size: int | None, model_glob: str | None, batch_size: int | None) -> bool:
    if model_glob is not None and not fnmatch.fnmatchcase(model, model_glob):
        return False
    return batch_size is None or size == batch_size


@dataclass(frozen=True)
class HistoryPoint:
    """One run's measurement of a series' model and batch size."""

    run_id: str
    commit: str | None
    # The commit's date where the record has it, else the run's time: what the order uses.
    time: str
    dirty: bool | None
    joules_per_sample: float
    joules_per_sample_ci95: float | None
    fps: float | None

    def value(self, metric: str) -> SeriesPoint | None:
        """The point a step is judged on; None where the run has no such number."""
        if metric == JOULES:
            return SeriesPoint(self.joules_per_sample, self.joules_per_sample_ci95)
        if metric == FPS:
            return None if self.fps is None else SeriesPoint(self.fps)
        raise ValueError(f"no metric {metric!r}: one of {', '.join(METRICS)}")


@dataclass(frozen=True)
class HistorySeries:
    machine_key: str
    model: str
    batch_size: int | None
    points: tuple[HistoryPoint, ...]  # commit order
    dtype: str | None = None  # the numeric format, where the runs had --prune-dtypes

    @property
    def label(self) -> str:
        return item_label((self.model, self.batch_size, self.dtype))

    def values(self, metric: str) -> tuple[list[SeriesPoint], list[int]]:
        """The metric's points, and for each the index of its point in ``points``."""
        values, indices = [], []
        for index, point in enumerate(self.points):
            value = point.value(metric)
            if value is not None:
                values.append(value)
                indices.append(index)
        return values, indices

    def steps(self, metric: str) -> list[Step]:
        """Steps of the metric, each ``index`` an index into ``points``."""
        values, indices = self.values(metric)
        return [_reindexed(step, indices[step.index]) for step in find_steps(values)]


def _reindexed(step: Step, index: int) -> Step:
    return Step(
        index, step.before_mean, step.after_mean, step.t_statistic, step.threshold, step.noise
    )


def history_series(
    runs: Iterable[RunRecord], *, model_glob: str | None = None, batch_size: int | None = None
) -> list[HistorySeries]:
    """One series per machine, model and batch size with a measured value, its points in the
    order of ``runs`` (``in_commit_order`` for a history; a gate appends the current run last);
    failed items leave no point."""
    points: dict[tuple[str, str, int | None, str | None], list[HistoryPoint]] = {}
    for run in runs:
        for item in run.items:
            if item.status != STATUS_MEASURED or not _finite(item.joules_per_sample):
                continue
            if not selected(item.model, item.batch_size, model_glob, batch_size):
                continue
            key = (run.machine_key, *item.key)
            points.setdefault(key, []).append(
                HistoryPoint(
                    run_id=run.run_id,
                    commit=run.git.commit,
                    time=run.git.commit_time or run.created_utc,
                    dirty=run.git.dirty,
                    joules_per_sample=float(item.joules_per_sample),  # type: ignore[arg-type]
                    joules_per_sample_ci95=_finite_or_none(item.joules_per_sample_ci95),
                    fps=_finite_or_none(item.fps),
                )
            )
    return [
        HistorySeries(machine, model, size, tuple(series), dtype)
        for (machine, model, size, dtype), series in sorted(
            points.items(), key=lambda entry: (sort_key(entry[0][1:]), entry[0][0])
        )
    ]


def machines_of(runs: Iterable[RunRecord]) -> dict[str, MachineIdentity]:
    """Each machine key with the machine of its newest run."""
    return {run.machine_key: run.machine for run in in_commit_order(runs)}


def machine_label(machine: MachineIdentity) -> str:
    """``NVIDIA H200, driver 580.1, 700.0 W, torch 2.5.1``: what makes a machine's key."""
    parts = [machine.gpu_name or machine.cpu or "unknown machine"]
    if machine.driver:
        parts.append(f"driver {machine.driver}")
    if machine.power_limit_watts:
        parts.append(f"{machine.power_limit_watts} W")
    if machine.torch_version:
        parts.append(f"torch {machine.torch_version}")
    return ", ".join(parts)


def runs_since(ordered: Sequence[RunRecord], commit: str | None) -> tuple[list[RunRecord], bool]:
    """Of runs in order, those from the first run of ``commit`` (a hash or its prefix) on, and
    whether such a run was found (if not, every run)."""
    if commit is None:
        return list(ordered), True
    for index, run in enumerate(ordered):
        if run.git.commit is not None and run.git.commit.startswith(commit):
            return list(ordered[index:]), True
    return list(ordered), False


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _finite_or_none(value: float | None) -> float | None:
    return float(value) if _finite(value) else None  # type: ignore[arg-type]


# -- the step gate ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StepFinding:
    """A step in one series: where, by how much, and whether it broke a gate."""

    series: HistorySeries
    metric: str
    step: Step
    failed: bool = False


def regressed(metric: str, change_fraction: float) -> bool:
    """Energy regresses upwards, FPS downwards."""
    return change_fraction > 0 if metric == JOULES else change_fraction < 0


def step_findings(
    series: Sequence[HistorySeries],
    fractions: Mapping[str, float],
    *,
    current_run_id: str | None = None,
) -> list[StepFinding]:
    """Every step of every series in the measures of ``fractions``; a finding fails when it is
    its series' newest step, a regression beyond the fraction, and the current run (the last
    point; every series' last point without ``current_run_id``) is still beyond the fraction
    from the level before the step. So a step that was fixed since, or that is older than a
    later step back down, fails nothing."""
    findings = []
    for one in series:
        if current_run_id is not None and one.points[-1].run_id != current_run_id:
            continue  # a series the current run has no point in: not this run's to judge
        for metric, fraction in fractions.items():
            steps = one.steps(metric)
            for number, step in enumerate(steps):
                newest = number == len(steps) - 1
                failed = newest and _still_regressed(one, metric, step, fraction)
                findings.append(StepFinding(one, metric, step, failed))
    return findings


def _still_regressed(series: HistorySeries, metric: str, step: Step, fraction: float) -> bool:
    change = step.change_fraction
    last = series.points[-1].value(metric)
    if change is None or last is None or not regressed(metric, change) or abs(change) <= fraction:
        return False
    now = (last.value - step.before_mean) / abs(step.before_mean)
    return regressed(metric, now) and abs(now) > fraction


def describe_step(finding: StepFinding) -> str:
    """``VGG11_... bs64: energy +8.1 % from commit 1a2b3c4 (2025-05-01) on (t 12.0 > 6.4)``"""
    one, step = finding.series, finding.step
    point = one.points[step.index]
    commit = point.commit[:7] if point.commit else point.run_id
    what = "energy" if finding.metric == JOULES else "FPS"
    change = step.change_fraction
    size = "" if change is None else f" {100 * change:+.1f} %"
    return (
        f"{one.label}: {what}{size} from commit {commit} "
        f"({point.time[:10]}) on (t {step.t_statistic:.1f} > {step.threshold:.1f})"
    )


def step_gate_failures(
    findings: Sequence[StepFinding], fractions: Mapping[str, float]
) -> list[str]:
    """A line per gate (``--energy-step-fail``) that failed findings broke; empty: passed."""
    lines = []
    for metric, fraction in fractions.items():
        failed = [f for f in findings if f.failed and f.metric == metric]
        if failed:
            items = "; ".join(describe_step(finding) for finding in failed)
            lines.append(
                f"FAILED --energy-step-fail={metric}:{100 * fraction:g}%: {len(failed)} item(s) "
                f"on a new level: {items}"
            )
    return lines
