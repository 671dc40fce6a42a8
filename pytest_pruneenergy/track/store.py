"""Runs stored across commits: one JSON file each, never rewritten.

The store is a folder (default ``.pruneenergy/runs``). Each run is one new file named by its run
id (UTC time + a random suffix), written to a temporary file in the same folder and renamed into
place (``os.replace``), never rewritten. So concurrent pytest runs cannot corrupt or lose each
other's records: no two writers ever share a file, and a reader sees a whole file or none. Under
xdist only the controller writes; the workers' results reach it on their reports.

Reading never deletes or rewrites: a file that cannot be read (not JSON, a field missing, a
newer format) is reported as a ``RunStoreError`` naming it, and the other runs still load.

Comparing two runs is ``compare.py``; a model's energy over many runs is ``history.py``.
"""

from __future__ import annotations

import hashlib
import json
import platform
import secrets
import socket
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..common.files import write_atomically
from ..common.numbers import is_number, is_whole_number
from ..items.measurement import ItemFailure, Measurement, item_label
from ..measure.meters.base import GpuFacts

FORMAT_NAME = "pytest-pruneenergy-run"
# 2: git.commit_time, so that a history can be drawn in commit order. Version 1 records (no
# commit time) are read as before.
FORMAT_VERSION = 2
DEFAULT_STORE_DIR = ".pruneenergy/runs"
# What --energy-compare (without a value) compares with: the newest complete stored run of this
# machine.
COMPARE_LATEST = "latest"
RUN_SUFFIX = ".json"
GIT_TIMEOUT_SECONDS = 10.0

STATUS_MEASURED = "measured"
STATUS_FAILED = "failed"

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
    # The commit's committer date, ISO 8601 with its offset: a history sorts runs by it.
    commit_time: str | None = None


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
    """One (model, batch size, variant) of a run; the numbers are None for a failed item.
    ``dtype`` is the item's variant as its key names it (items/runtimes.py:item_variant): its
    numeric format, and its runtime where not eager; None where the run had neither
    ``--prune-dtypes`` nor another runtime (and in older records)."""

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
    dtype: str | None = None

    def __post_init__(self) -> None:
        """A record edited by hand or damaged is refused by name when read, not met later as
        a string where a number must be (a comparison or a history would fail on it)."""
        for name in ("joules_per_sample", "joules_per_sample_ci95", "fps", "params", "macs"):
            value = getattr(self, name)
            if value is not None and not is_number(value):
                raise ValueError(f"item {self.model!r}: {name} {value!r} is not a number")
        size = self.batch_size
        if size is not None and not is_whole_number(size):
            raise ValueError(f"item {self.model!r}: batch_size {size!r} is not a whole number")

    @property
    def key(self) -> tuple[str, int | None, str | None]:
        return (self.model, self.batch_size, self.dtype)

    @property
    def label(self) -> str:
        return item_label(self.key)


def sort_key(key: tuple[str, int | None, str | None]) -> tuple[str, int, str]:
    """Items by model, batch size and format, where sizes and formats may be missing."""
    model, batch_size, dtype = key
    return (model, batch_size or 0, dtype or "")


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
            # The message can quote a key from the file; a key may hold a line break.
            detail = str(error).replace("\r", "\\r").replace("\n", "\\n")
            raise RunStoreError(f"{source}: not a valid run record: {detail}") from None


# -- making a record -------------------------------------------------------------------------


def new_run_id(now: datetime) -> str:
    """UTC time to the microsecond, then a random suffix: unique across concurrent writers, and
    sorting by name sorts by time."""
    stamp = now.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    return f"{stamp}-{secrets.token_hex(4)}"


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
            dtype=m.variant,
        )
        for m in measurements
    ]
    items += [
        StoredItem(
            model=f.model,
            batch_size=f.batch_size,
            joules_per_sample=None,
            joules_per_sample_ci95=None,
            fps=None,
            params=None,
            macs=None,
            meter=None,
            device=None,
            status=STATUS_FAILED,
            dtype=f.variant,
        )
        for f in failures
    ]
    return sorted(items, key=lambda item: sort_key(item.key))


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
        commit_time=_git(folder, "show", "-s", "--format=%cI", "HEAD") or None,
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


def current_machine(gpu: GpuFacts | None) -> MachineIdentity:
    """This machine; the GPU's facts come from the meter (None for CPU meters)."""
    import torch

    # Stored as text, as records always held it, so that machine keys stay what they were.
    limit = None if gpu is None or gpu.power_limit_watts is None else str(gpu.power_limit_watts)
    return MachineIdentity(
        gpu_name=None if gpu is None else gpu.name or None,
        driver=None if gpu is None else gpu.driver or None,
        power_limit_watts=limit,
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


def first_gpu(measurements: Iterable[Measurement]) -> GpuFacts | None:
    return next((m.gpu for m in measurements if m.gpu is not None), None)


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


def load_stores(store_dirs: Sequence[Path]) -> LoadedRuns:
    """The runs of several stores as one (several machines' stores, say), oldest first; a run
    found in more than one store (a copied file) counts once."""
    runs: dict[str, RunRecord] = {}
    problems: list[RunStoreError] = []
    for store_dir in store_dirs:
        loaded = load_runs(store_dir)
        problems += loaded.problems
        for run in loaded.runs:
            runs.setdefault(run.run_id, run)
    ordered = sorted(runs.values(), key=lambda run: (run.created_utc, run.run_id))
    return LoadedRuns(ordered, problems)


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
    where = (
        "(run ids are the file names there, without .json)"
        if store_dir.is_dir()
        else "(that store folder does not exist: is --store right?)"
    )
    raise RunStoreError(f"no run {reference!r}: neither a file nor a run id in {store_dir} {where}")
