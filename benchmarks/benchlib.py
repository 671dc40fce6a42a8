"""Pieces the benchmark scripts share: the bare timing loop they hold the harness against,
reading their JSON-lines results back, and the commit of the code that made a record."""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parent.parent
# Where a copy of the code has no git history (a GPU machine given the working tree as files),
# the commit can be named here: PRUNEENERGY_CODE_COMMIT=<sha> python benchmarks/...
COMMIT_VARIABLE = "PRUNEENERGY_CODE_COMMIT"
# The code a measurement depends on, digested where git cannot say which commit it is.
SOURCE_FOLDERS = ("pytest_pruneenergy", "benchmarks")
# The code an item's figures are made by: the protocol, the item, the model's load, the
# settings and the plugin that runs them. Two commits with the same digest of these measured
# alike, whatever else (reports, the CLI, benchmarks, docs) changed between them.
MEASURING_PATHS = tuple(
    f"pytest_pruneenergy/{name}"
    for name in (
        "__init__.py",
        "hookspecs.py",
        "common",
        "items",
        "measure",
        "models",
        "plugin",
        "settings",
    )
)


def passes_per_second(
    run_pass: Callable[[], object], synchronize: Callable[[], None], seconds: float
) -> float:
    """Back-to-back passes for ``seconds``, bracketed by two synchronizations: nothing else
    runs in the loop, so this is the speed the harness must not reduce."""
    synchronize()
    start = time.perf_counter()
    passes = 0
    while time.perf_counter() - start < seconds:
        run_pass()
        passes += 1
    synchronize()
    return passes / (time.perf_counter() - start)


def read_json_lines(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Every record of every file, in order; blank lines skipped."""
    return [
        json.loads(line)
        for path in paths
        for line in Path(path).read_text().splitlines()
        if line.strip()
    ]


def run_for_at_most(
    command: Sequence[str], stop_after: float | None, **popen: Any
) -> tuple[int, float]:
    """Run ``command``; after ``stop_after`` seconds (None: never) end it with SIGTERM, as a CI
    job's time limit would. Its exit status and the seconds it ran."""
    began = time.perf_counter()
    process = subprocess.Popen(list(command), **popen)
    try:
        status = process.wait(timeout=stop_after)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)
        status = process.wait()
    return status, time.perf_counter() - began


def int_list(text: str) -> list[int]:
    """``"1,8,32"`` -> ``[1, 8, 32]``: a comma-separated argument or option value."""
    return [int(part) for part in text.split(",") if part.strip()]


def option_value(command: Sequence[str], name: str) -> str | None:
    """The value of ``--name=VALUE`` in a recorded command line; None where it is absent."""
    prefix = f"{name}="
    return next((part[len(prefix) :] for part in command if part.startswith(prefix)), None)


def plugin_pytest_command(
    models: Path, report: Path, options: Sequence[str], *, benchmark: bool = False
) -> list[str]:
    """pytest with the plugin on the model files of ``models``, as a user runs it: the plugin's
    ``options``, the report written to ``report``, quiet, without pytest's cache, and without
    pytest-benchmark's timing unless ``benchmark`` (where it is installed)."""
    return [
        sys.executable,
        "-m",
        "pytest",
        str(models),  # named, so that pytest collects nothing else
        f"--prune-models={models}",
        *options,
        f"--energy-report={report}",
        "-p",
        "no:cacheprovider",
        *([] if benchmark else ["-p", "no:benchmark"]),
        "-q",
    ]


def plugin_study_parser(
    description: str,
    run: Callable[[argparse.Namespace], int],
    render: Callable[[argparse.Namespace], int],
    *,
    batch_sizes: str,
    dtypes: str,
) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """A study's command line: ``run`` (models built, then measured by the plugin into
    ``--out``, cut by ``--stop-after`` and continued by ``--resume``) and ``render FOLDER
    PAGE``; the parser and its ``run`` parser, for a study's own options."""
    parser = argparse.ArgumentParser(description=description)
    commands = parser.add_subparsers(required=True)
    run_parser = commands.add_parser("run", help="build the models and measure them")
    run_parser.add_argument("--out", type=Path, required=True)
    run_parser.add_argument("--batch-sizes", default=batch_sizes)
    run_parser.add_argument("--dtypes", default=dtypes)
    run_parser.add_argument("--max-seconds", type=float, default=10.0)
    run_parser.add_argument("--device", default="cuda")
    run_parser.add_argument("--stop-after", type=float, default=None, help="seconds, then SIGTERM")
    run_parser.add_argument("--resume", action="store_true", help="continue the run in --out")
    run_parser.set_defaults(handler=run)
    render_parser = commands.add_parser("render", help="the page from a run folder")
    render_parser.add_argument("folder", type=Path)
    render_parser.add_argument("page", type=Path)
    render_parser.set_defaults(handler=render)
    return parser, run_parser


def plugin_study_options(args: argparse.Namespace, out: Path, *more: str) -> list[str]:
    """The plugin's options that ``plugin_study_parser``'s ``run`` arguments stand for, with a
    study's ``more`` and the JUnit XML in ``out``; ``--energy-resume`` where ``--resume``."""
    return [
        f"--prune-batch-sizes={args.batch_sizes}",
        f"--prune-dtypes={args.dtypes}",
        *more,
        f"--prune-device={args.device}",
        f"--energy-max-seconds={args.max_seconds:g}",
        f"--junitxml={out / 'junit.xml'}",
    ] + (["--energy-resume"] if args.resume else [])


# A plugin study's run folder (real_models.py, deployed.py): the plugin's report folder in it,
# the run's record, and the column its results gain: each pruned row's reduction CI.
STUDY_REPORT = "report"
STUDY_RUN_JSON = "run.json"
REDUCTION_CI = "Energy Reduction CI95 (points)"


def study_results(folder: Path) -> Any:
    """A plugin study's measured rows, each pruned row with its energy reduction's 95 % CI in
    points (``REDUCTION_CI``) as the report computes it."""
    import pandas as pd

    from pytest_pruneenergy.report.schema import CSV_NAME, STATUS, STATUS_MEASURED
    from pytest_pruneenergy.report.table import reduction_ci95_column

    table = pd.read_csv(folder / STUDY_REPORT / CSV_NAME)
    table[REDUCTION_CI] = reduction_ci95_column(table)
    return table[table[STATUS] == STATUS_MEASURED].copy()


def study_gpus(folder: Path) -> str:
    """The GPUs a plugin study ran on, from its run CSV; "unknown GPU" where it names none."""
    import pandas as pd

    from pytest_pruneenergy.report.schema import GPU, RUN_CSV_NAME

    run_table = pd.read_csv(folder / STUDY_REPORT / RUN_CSV_NAME)
    return ", ".join(sorted(run_table[GPU].dropna().astype(str).unique())) or "unknown GPU"


def recorded_options(command: Sequence[str], prefixes: tuple[str, ...]) -> str:
    """The options of a recorded pytest ``command`` that start with one of ``prefixes`` (those
    that shape a study's numbers), as Markdown code: ```--a=1` `--b=2```."""
    return " ".join(f"`{part}`" for part in command if part.startswith(prefixes))


def signed(value: float, digits: int = 1) -> str:
    """``+12.3``; "n/a" where the value is unknown (an empty cell)."""
    return "n/a" if not math.isfinite(value) else f"{value:+.{digits}f}"


def with_ci(value: float, ci: float) -> str:
    """``+12.3 ± 1.4``, the CI left out where it is unknown."""
    return signed(value) if not math.isfinite(ci) else f"{signed(value)} ± {ci:.1f}"


def median_ci_percent(rows: Any) -> float:
    """The median over a results table's ``rows`` of energy per sample's 95 % CI half-width,
    in percent of the energy per sample."""
    from pytest_pruneenergy.report.schema import JOULES_PER_SAMPLE, JOULES_PER_SAMPLE_CI95

    return float((100 * rows[JOULES_PER_SAMPLE_CI95] / rows[JOULES_PER_SAMPLE]).median())


def listed(values: Sequence[object]) -> str:
    """``1``, ``8 and 64``, ``1, 8 and 64``."""
    words = [str(value) for value in values]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def write_page(out: str | Path, lines: Sequence[str]) -> None:
    """Write a rendered Markdown page (its folder made where missing) and say where."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    print(f"wrote {path}")


def gpus_of(records: Iterable[dict[str, Any]]) -> str:
    """The GPUs (with drivers) that a results file's records were measured on, for its page."""
    return ", ".join(sorted({f"{r['gpu']} (driver {r['driver']})" for r in records}))


def add_model_grid_arguments(
    parser: argparse.ArgumentParser, layouts: Sequence[str], batch_sizes: Sequence[int]
) -> None:
    """``--repeats``, ``--layouts`` and ``--batch-sizes``: which rows a GPU run measures."""
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--layouts", type=lambda t: t.split(","), default=list(layouts))
    parser.add_argument(
        "--batch-sizes", type=lambda t: [int(v) for v in t.split(",")], default=list(batch_sizes)
    )


def current_cpu() -> int | None:
    """The CPU this thread last ran on (field 39 of /proc/thread-self/stat), where Linux says."""
    try:
        fields = Path("/proc/thread-self/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[36])


@dataclass(frozen=True)
class Pinning:
    """The calling thread held on one CPU; threads it starts inside ``elsewhere()`` run on
    the others, so that a poller started from it never competes for the pinned CPU."""

    cpu: int
    others: frozenset[int]
    allowed: frozenset[int]  # the thread's CPUs before pinning, given back by release()

    @contextmanager
    def elsewhere(self) -> Iterator[None]:
        # A new thread takes its creator's affinity: create it while that is the others.
        os.sched_setaffinity(0, self.others)
        try:
            yield
        finally:
            os.sched_setaffinity(0, {self.cpu})

    def release(self) -> None:
        os.sched_setaffinity(0, self.allowed)


def pin_to_current_cpu() -> Pinning | None:
    """Pin the calling thread to the CPU it is on; None where Linux affinity is not available
    or there is no other CPU for the threads it starts."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = frozenset(os.sched_getaffinity(0))
    cpu = current_cpu()
    if cpu is None or cpu not in allowed or len(allowed) < 2:
        return None
    os.sched_setaffinity(0, {cpu})
    return Pinning(cpu=cpu, others=allowed - {cpu}, allowed=allowed)


def code_commit(repository: Path = REPOSITORY) -> dict[str, Any]:
    """Which code made a record: ``commit`` (``git rev-parse HEAD``), ``dirty`` (tracked files
    changed since it; untracked ones do not count) and ``source_sha256``.

    ``$PRUNEENERGY_CODE_COMMIT``, where set, is the commit (``dirty`` then unknown: None): it is
    how a copy of a checkout sent to another machine says what it is, and such a copy may carry
    a ``.git`` of an older state (seen on the GPU machines: HEAD at the session's first commit,
    every file changed). Without it, git's, else None. ``source_sha256`` (``source_digest``) is
    always there: a checkout of the commit a record names gives the same digest where the code
    was clean.
    """
    named = os.environ.get(COMMIT_VARIABLE)
    if named:
        return {"commit": named, "dirty": None, "source_sha256": source_digest(repository)}
    top = _git(repository, "rev-parse", "--show-toplevel")
    ours = top is not None and Path(top).resolve() == repository.resolve()  # not an outer repo's
    commit = _git(repository, "rev-parse", "HEAD") if ours else None
    status = _git(repository, "status", "--porcelain", "--untracked-files=no") if ours else None
    dirty: bool | None = bool(status) if commit is not None and status is not None else None
    return {"commit": commit, "dirty": dirty, "source_sha256": source_digest(repository)}


def source_digest(repository: Path = REPOSITORY, paths: Sequence[str] = SOURCE_FOLDERS) -> str:
    """SHA-256 over the path and bytes of every ``.py`` file of ``paths`` (folders or files;
    the package and the benchmarks unless told), in path order: the same for the same code,
    with or without git. ``paths=MEASURING_PATHS``: the measuring code's digest."""
    digest = hashlib.sha256()
    for name in paths:
        top = repository / name
        for path in [top] if top.is_file() else sorted(top.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            digest.update(path.relative_to(repository).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _git(repository: Path, *arguments: str) -> str | None:
    """git's output in ``repository``, stripped; None where git or the repository is missing."""
    try:
        done = subprocess.run(
            ["git", "-C", str(repository), *arguments],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


class Progress:
    """Steps done of how many, seconds spent, and the seconds left at the pace so far."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.began = time.perf_counter()

    def line(self, what: str) -> str:
        self.done += 1
        elapsed = time.perf_counter() - self.began
        left = elapsed / self.done * (self.total - self.done)
        return f"{self.done}/{self.total} {what}: {elapsed:.0f} s elapsed, ~{left:.0f} s left"


def json_lines_appender(
    path: str | Path, common: dict[str, Any]
) -> Callable[[dict[str, Any]], None]:
    """A function that appends one record (``common`` and its own fields) as a JSON line to
    ``path`` at once: a run cut short keeps every record it made."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)

    def emit(record: dict[str, Any]) -> None:
        with out.open("a") as lines:
            lines.write(json.dumps({**common, **record}) + "\n")

    return emit
