"""Energy tracked across commits: a store of runs, one JSON file each, and their comparison.

The store is a folder (default ``.pruneenergy/runs``). Each run is one new file named by its run
id (UTC time + a random suffix), written to a temporary file in the same folder and renamed into
place (``os.replace``), never rewritten. So concurrent pytest runs cannot corrupt or lose each
other's records: no two writers ever share a file, and a reader sees a whole file or none. Under
xdist only the controller writes; the workers' results reach it on their reports.

Reading never deletes or rewrites: a file that cannot be read (not JSON, a field missing, a
newer format) is reported as a ``RunStoreError`` naming it, and the other runs still load.

Comparison (``compare_runs``) is pure. Energy regresses (or improves) only when BOTH the relative
change passes the threshold AND the difference lies outside the two confidence intervals,
``|J_b - J_a| > CI95_a + CI95_b``. That rule is conservative: two means whose 95 % intervals do
not overlap differ at well below the 5 % level, so a real change a little larger than the noise
may pass as "unchanged", but noise alone is very unlikely to fail a build. FPS has no CI in a
record, so it is compared on its threshold alone, and only when one is given.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import math
import platform
import secrets
import socket
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .files import write_atomically
from .measurement import ItemFailure, Measurement, format_shape

if TYPE_CHECKING:
    from .settings import Settings

FORMAT_NAME = "pytest-pruneenergy-run"
FORMAT_VERSION = 1
DEFAULT_STORE_DIR = ".pruneenergy/runs"
RUN_SUFFIX = ".json"
GIT_TIMEOUT_SECONDS = 10.0

STATUS_MEASURED = "measured"
STATUS_FAILED = "failed"

IMPROVED = "improved"
REGRESSED = "regressed"
UNCHANGED = "unchanged"
NEW = "new"
MISSING = "missing"
VERDICTS = (REGRESSED, IMPROVED, UNCHANGED, NEW, MISSING)

# The identity fields that change energy per sample: another GPU, driver, power limit, CPU or
# torch build makes earlier runs incomparable. Hostname and CUDA version are recorded but left
# out, so that identical machines in a CI pool share a baseline.
MACHINE_KEY_FIELDS = ("gpu_name", "driver", "power_limit_watts", "cpu", "torch_version")


class RunStoreError(Exception):
    """A stored run that cannot be used; the message names the file and what to do."""


@dataclass(frozen=True)
class GitState:
    """Where the code stood; all None outside a git checkout or without git."""

    commit: str | None = None
    dirty: bool | None = None
    branch: str | None = None


@dataclass(frozen=True)
class MachineIdentity:
    gpu_name: str | None = None
    driver: str | None = None
    power_limit_watts: str | None = None
    cpu: str | None = None
    torch_version: str | None = None
    cuda_version: str | None = None
    hostname: str | None = None

    @property
    def machine_key(self) -> str:
        """A short stable hash of the fields that matter for comparing energy."""
        fields = {name: getattr(self, name) for name in MACHINE_KEY_FIELDS}
        text = json.dumps(fields, sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class StoredItem:
    """One (model, batch size) of a run; the numbers are None for a failed item."""

    model: str
    batch_size: int | None
    joules_per_sample: float | None
    joules_per_sample_ci95: float | None
    fps: float | None
    params: int | None
    macs: int | None
    meter: str | None
    device: str | None
    status: str

    @property
    def key(self) -> tuple[str, int | None]:
        return (self.model, self.batch_size)


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    created_utc: str  # ISO 8601 with offset, so that runs sort by time
    git: GitState
    machine: MachineIdentity
    machine_key: str
    settings: dict[str, Any]
    items: tuple[StoredItem, ...]
    # The run ended before every collected item had a result (Ctrl-C, SIGTERM, -x, a crashed
    # worker): stored, but never the default baseline of a comparison.
    interrupted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "run_id": self.run_id,
            "created_utc": self.created_utc,
            "git": vars(self.git).copy(),
            "machine": vars(self.machine).copy(),
            "machine_key": self.machine_key,
            "settings": self.settings,
            "items": [vars(item).copy() for item in self.items],
            "interrupted": self.interrupted,
        }

    @classmethod
    def from_dict(cls, data: Any, source: str) -> RunRecord:
        """Raise RunStoreError naming ``source`` for anything that is not a record we read."""
        if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
            raise RunStoreError(f"{source}: not a pytest-pruneenergy run record")
        version = data.get("format_version")
        if not isinstance(version, int):
            raise RunStoreError(f"{source}: not a valid run record: no format_version")
        if version > FORMAT_VERSION:
            raise RunStoreError(
                f"{source}: written by a newer pytest-pruneenergy (run format {version}; this "
                f"version reads up to {FORMAT_VERSION}): upgrade pytest-pruneenergy to read it"
            )
        try:
            return cls(
                run_id=str(data["run_id"]),
                created_utc=str(data["created_utc"]),
                git=GitState(**data["git"]),
                machine=MachineIdentity(**data["machine"]),
                machine_key=str(data["machine_key"]),
                settings=dict(data["settings"]),
                items=tuple(StoredItem(**item) for item in data["items"]),
                interrupted=bool(data.get("interrupted", False)),
            )
        except KeyError as error:
            raise RunStoreError(
                f"{source}: not a valid run record: missing field {error}"
            ) from None
        except (TypeError, ValueError) as error:
            raise RunStoreError(f"{source}: not a valid run record: {error}") from None


# -- making a record -------------------------------------------------------------------------


def new_run_id(now: datetime) -> str:
    """UTC time to the microsecond, then a random suffix: unique across concurrent writers, and
    sorting by name sorts by time."""
    stamp = now.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    return f"{stamp}-{secrets.token_hex(4)}"


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


def items_of(
    measurements: Iterable[Measurement], failures: Iterable[ItemFailure]
) -> list[StoredItem]:
    items = [
        StoredItem(
            model=m.model,
            batch_size=m.batch_size,
            joules_per_sample=m.stats.joules_per_sample_mean,
            joules_per_sample_ci95=m.stats.joules_per_sample_ci95,
            fps=m.stats.frames_per_second,
            params=m.params,
            macs=m.macs,
            meter=m.meter,
            device=m.device,
            status=STATUS_MEASURED,
        )
        for m in measurements
    ]
    items += [
        StoredItem(f.model, f.batch_size, None, None, None, None, None, None, None, STATUS_FAILED)
        for f in failures
    ]
    return sorted(items, key=lambda item: (item.model, item.batch_size or 0))


def build_record(
    measurements: Sequence[Measurement],
    failures: Sequence[ItemFailure],
    settings: dict[str, Any],
    *,
    git: GitState,
    machine: MachineIdentity,
    now: datetime,
    interrupted: bool = False,
) -> RunRecord:
    return RunRecord(
        run_id=new_run_id(now),
        created_utc=now.astimezone(timezone.utc).isoformat(),
        git=git,
        machine=machine,
        machine_key=machine.machine_key,
        settings=settings,
        items=tuple(items_of(measurements, failures)),
        interrupted=interrupted,
    )


def git_state(folder: Path) -> GitState:
    """The checkout's commit, dirty flag and branch; None for whatever git cannot tell."""
    commit = _git(folder, "rev-parse", "HEAD")
    if commit is None:
        return GitState()
    # Tracked files only: the store and report folders are untracked and must not mark a run dirty.
    status = _git(folder, "status", "--porcelain", "--untracked-files=no")
    branch = _git(folder, "rev-parse", "--abbrev-ref", "HEAD")
    return GitState(
        commit=commit,
        dirty=None if status is None else bool(status),
        branch=None if branch in (None, "HEAD") else branch,  # HEAD: a detached checkout
    )


def _git(folder: Path, *args: str) -> str | None:
    try:
        completed = subprocess.run(
            ["git", *args],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):  # no git, no folder, a hung git
        return None
    return completed.stdout.strip() if completed.returncode == 0 else None


def current_machine(gpu_facts: dict[str, str]) -> MachineIdentity:
    """This machine; the GPU's facts come from the meter (empty for CPU meters)."""
    import torch

    return MachineIdentity(
        gpu_name=gpu_facts.get("gpu_name") or None,
        driver=gpu_facts.get("driver") or None,
        power_limit_watts=gpu_facts.get("power_limit_watts") or None,
        cpu=cpu_model(),
        torch_version=str(torch.__version__),
        cuda_version=torch.version.cuda,
        hostname=socket.gethostname() or None,
    )


def cpu_model() -> str | None:
    """The CPU's marketing name; platform.processor() is often just the architecture on Linux."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or None


def first_gpu_facts(measurements: Iterable[Measurement]) -> dict[str, str]:
    return next((m.gpu_facts for m in measurements if m.gpu_facts), {})


# -- the store -------------------------------------------------------------------------------


def save_run(record: RunRecord, store_dir: Path) -> Path:
    """Write ``record`` as a new file; readers see the whole file or none."""
    # A run id is unique (time to the microsecond and a random suffix): never an overwrite.
    return write_atomically(
        store_dir / f"{record.run_id}{RUN_SUFFIX}",
        lambda handle: json.dump(record.to_dict(), handle, indent=1, sort_keys=True),
    )


def read_run(path: Path) -> RunRecord:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise RunStoreError(f"{path}: cannot be read: {error}") from None
    try:
        data = json.loads(text)
    except ValueError as error:
        raise RunStoreError(
            f"{path}: not valid JSON ({error}); move it out of the store to silence this"
        ) from None
    return RunRecord.from_dict(data, str(path))


@dataclass(frozen=True)
class LoadedRuns:
    runs: list[RunRecord]  # oldest first
    problems: list[RunStoreError] = field(default_factory=list)


def load_runs(store_dir: Path) -> LoadedRuns:
    """Every readable run, oldest first; the unreadable ones as problems, left where they are."""
    if not store_dir.is_dir():
        return LoadedRuns([])
    runs: list[RunRecord] = []
    problems: list[RunStoreError] = []
    for path in sorted(store_dir.glob(f"*{RUN_SUFFIX}")):
        if path.name.startswith("."):
            continue
        try:
            runs.append(read_run(path))
        except RunStoreError as error:
            problems.append(error)
    runs.sort(key=lambda run: (run.created_utc, run.run_id))
    return LoadedRuns(runs, problems)


def latest_comparable(
    runs: Sequence[RunRecord], machine_key: str, *, exclude_run_id: str | None = None
) -> RunRecord | None:
    """The newest complete run measured on a machine with the same key."""
    same = [
        r
        for r in runs
        if r.machine_key == machine_key and r.run_id != exclude_run_id and not r.interrupted
    ]
    return max(same, key=lambda run: (run.created_utc, run.run_id), default=None)


def find_run(reference: str, store_dir: Path) -> RunRecord:
    """A run by id (its file name without ``.json``) in the store, or by a path to its file."""
    path = Path(reference)
    if path.is_file():
        return read_run(path)
    in_store = store_dir / f"{reference.removesuffix(RUN_SUFFIX)}{RUN_SUFFIX}"
    if in_store.is_file():
        return read_run(in_store)
    raise RunStoreError(
        f"no run {reference!r}: neither a file nor a run id in {store_dir} "
        "(run ids are the file names there, without .json)"
    )


# -- comparison ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemComparison:
    model: str
    batch_size: int | None
    verdict: str
    baseline: StoredItem | None
    current: StoredItem | None
    joules_change_fraction: float | None = None
    # |delta| > ci_a + ci_b: the two 95 % intervals do not overlap.
    joules_outside_cis: bool | None = None
    fps_change_fraction: float | None = None
    # Which measure made the verdict, so that a gate on one of them ignores the other.
    joules_regressed: bool = False
    fps_regressed: bool = False


def compare_runs(
    baseline_run: RunRecord,
    current_run: RunRecord,
    *,
    threshold_joules_fraction: float | None = None,
    threshold_fps_fraction: float | None = None,
) -> list[ItemComparison]:
    """A verdict per (model, batch size) of either run; see the module's docstring for the rule.

    Without an energy threshold any change outside the CIs counts. Without an FPS threshold FPS
    is not judged: with no CI, any difference would count, and FPS always differs a little.
    A failed item has no numbers: measured only in the current run it is ``new``, only in the
    baseline ``missing``.
    """
    baseline = {item.key: item for item in baseline_run.items if _measured(item)}
    current = {item.key: item for item in current_run.items if _measured(item)}
    keys = sorted(baseline.keys() | current.keys(), key=lambda key: (key[0], key[1] or 0))
    comparisons = []
    for key in keys:
        before, after = baseline.get(key), current.get(key)
        if before is None or after is None:
            verdict = NEW if before is None else MISSING
            comparisons.append(ItemComparison(key[0], key[1], verdict, before, after))
            continue
        comparisons.append(
            _compare_item(before, after, threshold_joules_fraction, threshold_fps_fraction)
        )
    return comparisons


def _measured(item: StoredItem) -> bool:
    return item.status == STATUS_MEASURED and _finite(item.joules_per_sample)


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _change(before: float | None, after: float | None) -> float | None:
    if not (_finite(before) and _finite(after)) or before == 0:
        return None
    return (after - before) / before  # type: ignore[operator]


def _compare_item(
    before: StoredItem,
    after: StoredItem,
    threshold_joules_fraction: float | None,
    threshold_fps_fraction: float | None,
) -> ItemComparison:
    joules_change = _change(before.joules_per_sample, after.joules_per_sample)
    ci_sum = (before.joules_per_sample_ci95 or 0.0) + (after.joules_per_sample_ci95 or 0.0)
    delta = after.joules_per_sample - before.joules_per_sample  # type: ignore[operator]
    outside_cis = abs(delta) > ci_sum
    joules_threshold = threshold_joules_fraction or 0.0
    # +1 worse, -1 better, 0 not judged or within the noise. Energy: higher is worse.
    joules_sign = 0
    if joules_change is not None and outside_cis and abs(joules_change) > joules_threshold:
        joules_sign = 1 if joules_change > 0 else -1
    # FPS: lower is worse.
    fps_sign = 0
    fps_change = _change(before.fps, after.fps)
    if (
        threshold_fps_fraction is not None
        and fps_change is not None
        and abs(fps_change) > threshold_fps_fraction
    ):
        fps_sign = 1 if fps_change < 0 else -1
    if 1 in (joules_sign, fps_sign):
        verdict = REGRESSED
    elif -1 in (joules_sign, fps_sign):
        verdict = IMPROVED
    else:
        verdict = UNCHANGED
    return ItemComparison(
        before.model,
        before.batch_size,
        verdict,
        before,
        after,
        joules_change_fraction=joules_change,
        joules_outside_cis=outside_cis,
        fps_change_fraction=fps_change,
        joules_regressed=joules_sign == 1,
        fps_regressed=fps_sign == 1,
    )


def settings_differences(baseline_run: RunRecord, current_run: RunRecord) -> list[str]:
    """Names of the settings that differ: numbers measured differently compare less well."""
    names = baseline_run.settings.keys() | current_run.settings.keys()
    return sorted(
        name for name in names if baseline_run.settings.get(name) != current_run.settings.get(name)
    )


def count_verdicts(comparisons: Iterable[ItemComparison]) -> dict[str, int]:
    counts = dict.fromkeys(VERDICTS, 0)
    for comparison in comparisons:
        counts[comparison.verdict] += 1
    return counts


def describe_run(run: RunRecord) -> str:
    commit = f"commit {run.git.commit[:12]}" if run.git.commit else "no git commit"
    dirty = " (dirty)" if run.git.dirty else ""
    interrupted = ", interrupted" if run.interrupted else ""
    return f"{run.run_id} ({commit}{dirty}, {run.created_utc}{interrupted})"


def comparison_lines(
    baseline_run: RunRecord, current_run: RunRecord, comparisons: Sequence[ItemComparison]
) -> list[str]:
    """A header, warnings where the runs differ in machine or settings, then a table."""
    counts = count_verdicts(comparisons)
    lines = [
        f"compared with run {describe_run(baseline_run)}: "
        + ", ".join(f"{counts[verdict]} {verdict}" for verdict in VERDICTS),
        "rule: regressed/improved = energy change beyond the threshold AND outside both 95 % "
        "CIs (|dJ| > CI_a + CI_b); FPS on its threshold alone (no CI)",
    ]
    if baseline_run.machine_key != current_run.machine_key:
        lines.append(
            "WARNING: the runs were measured on different machines (machine_key "
            f"{baseline_run.machine_key} vs {current_run.machine_key}); energy differences "
            "may be the machine's, not the code's"
        )
    differing = settings_differences(baseline_run, current_run)
    if differing:
        lines.append(f"WARNING: the runs were measured with different settings: {differing}")
    lines.extend(format_comparison_table(comparisons))
    return lines


def format_comparison_table(comparisons: Sequence[ItemComparison]) -> list[str]:
    """One line per item, worst verdicts first."""
    header = ("verdict", "model", "bs", "J/sample before", "J/sample after", "dJ", "dFPS")
    order = {verdict: index for index, verdict in enumerate(VERDICTS)}
    rows = [
        (
            c.verdict,
            c.model,
            "" if c.batch_size is None else str(c.batch_size),
            stored_joules_text(c.baseline),
            stored_joules_text(c.current),
            change_percent_text(c.joules_change_fraction),
            change_percent_text(c.fps_change_fraction),
        )
        for c in sorted(comparisons, key=lambda c: order[c.verdict])
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]


def stored_joules_text(item: StoredItem | None) -> str:
    """``0.1234 ± 0.0012``: a stored item's J/sample with its CI; ``-`` for none."""
    if item is None or item.joules_per_sample is None:
        return "-"
    return f"{item.joules_per_sample:.4g} ± {item.joules_per_sample_ci95 or 0.0:.2g}"


def change_percent_text(fraction: float | None) -> str:
    """``+4.1%``: a relative change with its sign; ``-`` for none."""
    return "-" if fraction is None else f"{100 * fraction:+.1f}%"


# -- history ---------------------------------------------------------------------------------

HISTORY_COLUMNS = (
    "run_id",
    "time_utc",
    "commit",
    "dirty",
    "branch",
    "machine_key",
    "model",
    "batch_size",
    "joules_per_sample",
    "joules_per_sample_ci95",
    "fps",
    "status",
)


def history_rows(
    runs: Sequence[RunRecord], *, model_glob: str | None = None, batch_size: int | None = None
) -> list[dict[str, Any]]:
    """One row per run x model x batch size, oldest run first."""
    rows = []
    for run in runs:
        for item in run.items:
            if model_glob is not None and not fnmatch.fnmatchcase(item.model, model_glob):
                continue
            if batch_size is not None and item.batch_size != batch_size:
                continue
            rows.append(
                {
                    "run_id": run.run_id,
                    "time_utc": run.created_utc,
                    "commit": run.git.commit,
                    "dirty": run.git.dirty,
                    "branch": run.git.branch,
                    "machine_key": run.machine_key,
                    "model": item.model,
                    "batch_size": item.batch_size,
                    "joules_per_sample": item.joules_per_sample,
                    "joules_per_sample_ci95": item.joules_per_sample_ci95,
                    "fps": item.fps,
                    "status": item.status,
                }
            )
    return rows


# -- a pytest session's part -----------------------------------------------------------------

# ``--energy-compare`` without a run: the newest stored run with this machine's key.
COMPARE_LATEST = "latest"


@dataclass(frozen=True)
class HistoryOutcome:
    lines: list[str]
    # The lines (among ``lines``) of --energy-compare-fail gates that regressed items broke.
    gate_failures: tuple[str, ...] = ()
    # The line (among ``lines``) saying the run could not be stored: the session fails.
    save_failure: str | None = None

    @property
    def gate_failed(self) -> bool:
        """A gate broke: the session fails."""
        return bool(self.gate_failures)


def record_compare_save(
    measurements: Sequence[Measurement],
    failures: Sequence[ItemFailure],
    settings: Settings,
    *,
    repository_dir: Path,
    now: datetime | None = None,
    interrupted: bool = False,
) -> HistoryOutcome:
    """Compare this run with a stored one (before it is stored, so never with itself), then
    store it; the lines say what happened, for the terminal summary."""
    record = build_record(
        measurements,
        failures,
        settings_that_matter(settings),
        git=git_state(repository_dir),
        machine=current_machine(first_gpu_facts(measurements)),
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
    return HistoryOutcome(lines, tuple(gate_lines), save_failure)


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
    comparisons = compare_runs(
        baseline,
        record,
        threshold_joules_fraction=settings.compare_fail_joules_fraction,
        threshold_fps_fraction=settings.compare_fail_fps_fraction,
    )
    lines += comparison_lines(baseline, record, comparisons)
    gate_lines = gate_failures(
        comparisons, settings.compare_fail_joules_fraction, settings.compare_fail_fps_fraction
    )
    return lines, gate_lines


def gate_failures(
    comparisons: Sequence[ItemComparison],
    joules_fraction: float | None,
    fps_fraction: float | None,
) -> list[str]:
    """A line per gate (``--energy-compare-fail``) that regressed items broke; empty: passed."""
    lines = []
    gates = (
        ("joules", joules_fraction, [c for c in comparisons if c.joules_regressed]),
        ("fps", fps_fraction, [c for c in comparisons if c.fps_regressed]),
    )
    for name, fraction, regressed in gates:
        if fraction is not None and regressed:
            items = ", ".join(f"{c.model} bs{c.batch_size}" for c in regressed)
            lines.append(
                f"FAILED --energy-compare-fail={name}:{100 * fraction:g}%: "
                f"{len(regressed)} item(s) regressed: {items}"
            )
    return lines
