"""Does the plugin work on this GPU, end to end? One command, a record with the code's commit
(issue 23, item 5).

    python benchmarks/gpu_check.py --out DIR [--skip-tests] [--skip-accuracy] [--strict-accuracy]

Needs an NVIDIA GPU with NVML's energy counter, and the package installed with its test
dependencies (``pip install -e ".[dev]"``), since it runs the test suite and pytest with the
plugin. Run it from anywhere; on a machine where torch sees no CUDA device it refuses (exit
status 2, one line). Steps, each in a process of its own:

1. **tests**: ``python -m pytest -m gpu tests -p no:cacheprovider -q -rA`` in the repository:
   every gpu-marked test. Passed, failed and skipped counts, the failed tests' ids and the
   skip reasons; it fails unless pytest exits 0 with at least one test passed.
2. **plugin**: a small zoo (``build_zoo``: VGG11 unpruned and PD1 at GPR 50, 224x224) measured
   by ``pytest --prune-models`` as a user runs it, with ``--prune-device=cuda
   --energy-meter=nvml-counter --prune-batch-sizes=1,32 --energy-max-seconds=3``, three ways:
   eager FP32; ``--energy-cuda-graphs``; ``--prune-dtypes=bf16 --prune-channels-last``. Each
   must exit 0 with every row ``Status`` measured, ``Meter`` nvml-counter, energy per sample
   above 0, the way's own columns set (``CUDA Graph``; ``Dtype`` and ``Channels Last``) and the
   pruned model using less energy per sample than its baseline at batch 32, where the GPU,
   not the host, sets the pace (``check_results``); and its journal must keep every item's
   windows, whose joules over samples give the item's figure (``check_journal_windows``).
   Each row's figures go into the record.
3. **accuracy**: ``benchmarks/accuracy.py run`` in short (VGG16 at batch 1 and 32, eager and
   graphs, a 4 s reference) and its page. It fails where it cannot measure every arm; a
   missed target (energy within max(0.5 %, CI) at batch 32, FPS within 2 % at batch 1) is
   reported in the verdict and fails the check only with ``--strict-accuracy``: four energy
   comparisons against 95 % CIs, with the reference's own scatter added, fall outside by
   chance now and then, and the accuracy study (accuracy.py's full grid) is where a bias is
   settled.

``DIR`` receives six files (a GPU machine returns at most eight): ``gpu_check.json`` (the
record: the code's commit, GPU, driver, torch, each step's status, figures and seconds, the
verdict), ``gpu_tests.txt`` and ``plugin_runs.txt`` (the pytest runs' output),
``accuracy.jsonl``, ``accuracy.md`` and ``accuracy.txt`` (its data, page and output). The zoo
and the plugin's reports are written in a temporary folder and removed. Exit status: 0 when
every step run passed, 1 when one failed, 2 when it cannot run here.

Time on an H100, an estimate from the settings, not a measurement: tests ~1 min (collecting
the suite, then a few seconds a gpu test); plugin ~1.5 min (a zoo in seconds; per way ~10 s
to start pytest and torch, 3 s of idle power, 2 loads and 4 items of at most 3 s: ~25-30 s);
accuracy ~1.5 min (~15 s to start and build VGG16; per item two plugin arms of ~3.5 s, up to
the plugin's 10 s cap where the CI never reaches 1 %, and ~7 s of reference): ~4 min in all,
about 5.5 min at worst. The commit is git's where the copy has its history, else
``$PRUNEENERGY_CODE_COMMIT`` where set; the record always has a digest of the code
(``benchlib.code_commit``).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchlib import REPOSITORY, code_commit, plugin_pytest_command, read_json_lines

RECORD = "gpu_check.json"
TESTS_LOG = "gpu_tests.txt"
PLUGIN_LOG = "plugin_runs.txt"
ACCURACY_DATA = "accuracy.jsonl"
ACCURACY_PAGE = "accuracy.md"
ACCURACY_LOG = "accuracy.txt"

TESTS_COMMAND = ("-m", "pytest", "-m", "gpu", "tests", "-p", "no:cacheprovider", "-q", "-rA")
ZOO = {"layouts": ("vgg11",), "pds": (1,), "gprs": (50,), "input_size": 224}
PLUGIN_BATCH_SIZES = (1, 32)
PLUGIN_MAX_SECONDS = 3.0
# The ways the plugin runs, by name: the options each adds to the common ones.
WAYS: dict[str, tuple[str, ...]] = {
    "eager-fp32": (),
    "cuda-graphs": ("--energy-cuda-graphs",),
    "bf16-channels-last": ("--prune-dtypes=bf16", "--prune-channels-last"),
}
ACCURACY_OPTIONS = (
    "--layouts",
    "vgg16",
    "--batch-sizes",
    "1,32",
    "--modes",
    "eager,graphs",
    "--reference-seconds",
    "4",
)
# No step may hang the check: pytest's gpu tests, a plugin run, the accuracy run.
STEP_TIMEOUT_SECONDS = {"tests": 300, "plugin": 180, "accuracy": 300}
PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


# -- reading pytest's output (pure) --------------------------------------------------------------

_OUTCOMES = ("passed", "failed", "skipped", "deselected", "xfailed", "xpassed", "error", "errors")
_COUNT = re.compile(r"(\d+) (" + "|".join(_OUTCOMES) + r")\b")
_SUMMARY_LINE = re.compile(r"(\d+ \w+.*|no tests ran) in [\d.]+s")


def pytest_counts(output: str) -> dict[str, int]:
    """Passed, failed, skipped, deselected and errors from pytest's last summary line
    (``1 failed, 2 passed, 1 skipped, 1 warning, 1 error in 1.13s``); zeros where absent."""
    counts = dict.fromkeys(("passed", "failed", "skipped", "deselected", "errors"), 0)
    lines = [line.strip(" =") for line in output.splitlines()]
    summary = next((line for line in reversed(lines) if _SUMMARY_LINE.search(line)), "")
    for number, outcome in _COUNT.findall(summary):
        key = "errors" if outcome in ("error", "errors") else outcome
        if key in counts:
            counts[key] = int(number)
    return counts


def pytest_failures(output: str) -> list[str]:
    """The ids of failed and erroring tests, from ``-rA``'s short summary
    (``FAILED tests/x.py::test_y - AssertionError: ...``)."""
    failures = []
    for line in output.splitlines():
        for outcome in ("FAILED", "ERROR"):
            if line.startswith(f"{outcome} "):
                failures.append(line.removeprefix(f"{outcome} ").split(" - ", 1)[0])
    return failures


def pytest_skips(output: str) -> list[str]:
    """The skip lines of ``-rA``'s short summary, where and why (``tests/x.py:4: no GPU``)."""
    return [
        re.sub(r"^SKIPPED \[\d+\] ", "", line)
        for line in output.splitlines()
        if line.startswith("SKIPPED [")
    ]


def tests_status(returncode: int, counts: dict[str, int]) -> str:
    """Passed where pytest exited 0 and ran at least one test that passed."""
    ok = returncode == 0 and counts["passed"] > 0
    return PASSED if ok and not counts["failed"] and not counts["errors"] else FAILED


# -- checking a plugin run's results (pure) -------------------------------------------------------


def check_results(
    table: Any,
    *,
    meter: str,
    batch_sizes: Sequence[int],
    models: int,
    way: Sequence[str] = (),
) -> list[str]:
    """What is wrong with a plugin run's results table (``read_results_csv``), in words; empty
    where nothing is. ``models``: model files measured; ``way``: the run's extra options, whose
    columns must say they were applied."""
    from pytest_pruneenergy.measure.window_stats import STOP_REASONS
    from pytest_pruneenergy.report import schema

    problems = []
    expected_rows = models * len(batch_sizes)
    if len(table) != expected_rows:
        problems.append(f"{len(table)} rows, expected {expected_rows}")
    for _, row in table.iterrows():
        name = f"{row[schema.MODEL_NAME]} at batch {row[schema.BATCH_SIZE]}"
        status = str(row[schema.STATUS])
        if status != schema.STATUS_MEASURED:
            problems.append(f"{name}: status {status} ({row.get(schema.ERROR)})")
            continue
        if str(row[schema.METER]) != meter:
            problems.append(f"{name}: meter {row[schema.METER]}, expected {meter}")
        joules = float(row[schema.JOULES_PER_SAMPLE])
        if not (math.isfinite(joules) and joules > 0):
            problems.append(f"{name}: energy per sample {joules}")
        reason = row.get(schema.STOP_REASON)
        if not isinstance(reason, str):
            problems.append(f"{name}: Stop Reason is empty, expected one of the protocol's")
        elif reason not in STOP_REASONS:
            problems.append(f"{name}: Stop Reason is {reason}, expected one of the protocol's")
        if "--energy-cuda-graphs" in way and not schema.is_true(row[schema.CUDA_GRAPH]):
            problems.append(f"{name}: CUDA Graph is {row[schema.CUDA_GRAPH]}, expected True")
        if "--prune-dtypes=bf16" in way and str(row[schema.DTYPE]) != "bfloat16":
            problems.append(f"{name}: Dtype is {row[schema.DTYPE]}, expected bfloat16")
        if "--prune-channels-last" in way and not schema.is_true(row[schema.CHANNELS_LAST]):
            problems.append(f"{name}: Channels Last is {row[schema.CHANNELS_LAST]}, expected True")
    largest = max(batch_sizes)
    pruned = table[
        table[schema.MODEL_NAME].astype(str).str.contains("_PRUNED")
        & (table[schema.BATCH_SIZE] == largest)
    ]
    if pruned.empty:
        problems.append(f"no pruned model measured at batch {largest}")
    for _, row in pruned.iterrows():
        reduction = float(row[schema.ENERGY_REDUCTION])
        if not reduction > 0:
            problems.append(
                f"{row[schema.MODEL_NAME]} at batch {largest}: energy reduction {reduction} %, "
                "expected a reduction"
            )
    return problems


def check_journal_windows(journal: Path) -> list[str]:
    """What is wrong with the windows a plugin run journaled, in words; empty where nothing is:
    every adaptive item keeps as many windows as it counted, timed from the first, and its
    figure is their joules over their samples (the raw record stop_rules.py replays)."""
    from pytest_pruneenergy.items.journal import read_journal
    from pytest_pruneenergy.measure.protocol.adaptive import energy_per_sample

    contents = read_journal(journal)
    if not contents.measurements:
        return [f"no journaled item in {journal}"]
    problems = []
    for measurement in contents.measurements.values():
        stats, windows = measurement.stats, measurement.windows
        if stats.protocol != "adaptive":
            continue
        name = f"{measurement.model} at batch {measurement.batch_size}"
        if len(windows) != stats.windows:
            problems.append(f"{name}: {len(windows)} windows journaled, {stats.windows} counted")
            continue
        joules = energy_per_sample(windows, measurement.batch_size).value
        if windows[0].start_seconds != 0 or not math.isclose(
            joules, stats.joules_per_sample_mean, rel_tol=1e-9
        ):
            problems.append(
                f"{name}: windows give {joules!r} J/sample from {windows[0].start_seconds!r} s, "
                f"the figure is {stats.joules_per_sample_mean!r} J/sample"
            )
    return problems


def result_rows(table: Any) -> list[dict[str, Any]]:
    """Each row's figures for the record."""
    from pytest_pruneenergy.report import schema

    columns = {
        "model": schema.MODEL_NAME,
        "batch": schema.BATCH_SIZE,
        "status": schema.STATUS,
        "meter": schema.METER,
        "joules_per_sample": schema.JOULES_PER_SAMPLE,
        "ci95": schema.JOULES_PER_SAMPLE_CI95,
        "fps": schema.FPS,
        "energy_reduction_percent": schema.ENERGY_REDUCTION,
        "ci_target_met": schema.CI_TARGET_MET,
        "stop_reason": schema.STOP_REASON,
        "item_seconds": schema.ITEM_SECONDS,
    }
    return [
        {key: _plain_value(row[column]) for key, column in columns.items()}
        for _, row in table.iterrows()
    ]


def _plain_value(value: Any) -> Any:
    """A value as JSON holds it: numbers as numbers, missing ones as None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):  # numpy and pandas scalars
        value = value.item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value if isinstance(value, (bool, int, float)) else str(value)


# -- the record (pure) ----------------------------------------------------------------------------


def verdict(steps: dict[str, dict[str, Any]], *, strict_accuracy: bool) -> str:
    """``passed``, ``passed; accuracy target missed`` or ``failed: STEP, ...``."""
    failed = [name for name, step in steps.items() if step["status"] == FAILED]
    missed = steps.get("accuracy", {}).get("targets_met") is False
    if strict_accuracy and missed:
        failed.append("accuracy (targets)")
    if failed:
        return "failed: " + ", ".join(failed)
    return "passed; accuracy target missed" if missed else PASSED


def summary_lines(record: dict[str, Any]) -> list[str]:
    """The check in a few lines, for the terminal."""
    code = record["code"]
    commit = (code.get("commit") or "unknown commit")[:12] + (" (dirty)" if code["dirty"] else "")
    gpu = record["gpu"]
    lines = [
        f"GPU check of {commit} on {gpu['name']} (driver {gpu['driver']}), torch {record['torch']}:"
    ]
    for name, step in record["steps"].items():
        lines.append(f"  {name:<9} {step['status']:<8} {step.get('summary', '')}")
    lines.append(f"verdict: {record['verdict']} ({record['seconds']:.0f} s)")
    return lines


# -- the steps -------------------------------------------------------------------------------------


def _run_logged(
    command: Sequence[str], log: Path, *, cwd: Path, timeout: float, header: str = ""
) -> tuple[int, str, float]:
    """Run ``command``, its output appended to ``log`` and returned; exit status -9 and a note
    where it ran past ``timeout``."""
    began = time.perf_counter()
    try:
        done = subprocess.run(
            list(command),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        returncode, output = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as expired:
        partial = expired.stdout or b""
        text = partial.decode(errors="replace") if isinstance(partial, bytes) else partial
        returncode, output = -9, f"{text}\nTIMED OUT after {timeout:g} s\n"
    with log.open("a") as handle:
        handle.write(f"{header}$ {' '.join(command)}\n{output}\n")
    return returncode, output, time.perf_counter() - began


def tests_step(out: Path) -> dict[str, Any]:
    """Step 1: every gpu-marked test of the suite."""
    command = [sys.executable, *TESTS_COMMAND]
    returncode, output, seconds = _run_logged(
        command, out / TESTS_LOG, cwd=REPOSITORY, timeout=STEP_TIMEOUT_SECONDS["tests"]
    )
    counts = pytest_counts(output)
    status = tests_status(returncode, counts)
    failures = pytest_failures(output)
    summary = (
        f"{counts['passed']} passed, {counts['failed']} failed, {counts['errors']} errors, "
        f"{counts['skipped']} skipped"
    )
    if failures:
        summary += f" ({', '.join(failures)})"
    return {
        "status": status,
        "summary": summary,
        "command": " ".join(["python", *TESTS_COMMAND]),
        "exit_status": returncode,
        "counts": counts,
        "failed_tests": failures,
        "skipped": pytest_skips(output),
        "seconds": seconds,
    }


def plugin_command(
    models: Path,
    report: Path,
    *,
    device: str,
    meter: str,
    batch_sizes: Sequence[int],
    max_seconds: float = PLUGIN_MAX_SECONDS,
) -> list[str]:
    """pytest with the plugin, as a user runs it, on ``models`` (the ways add to it)."""
    options = [
        f"--prune-device={device}",
        f"--energy-meter={meter}",
        f"--prune-batch-sizes={','.join(map(str, batch_sizes))}",
        f"--energy-max-seconds={max_seconds:g}",
    ]
    return plugin_pytest_command(models, report, options)


def plugin_step(
    models: Path,
    work: Path,
    log: Path,
    *,
    device: str = "cuda",
    meter: str = "nvml-counter",
    batch_sizes: Sequence[int] = PLUGIN_BATCH_SIZES,
    ways: dict[str, tuple[str, ...]] = WAYS,
    max_seconds: float = PLUGIN_MAX_SECONDS,
) -> dict[str, Any]:
    """Step 2: the plugin run on ``models`` in each way, in ``work`` (no ini file of the
    repository applies there), each run's results checked."""
    from pytest_pruneenergy.report.reading import read_results_csv
    from pytest_pruneenergy.report.schema import CSV_NAME

    model_files = sorted(models.glob("*.pth"))
    options = {
        "device": device,
        "meter": meter,
        "batch_sizes": batch_sizes,
        "max_seconds": max_seconds,
    }
    runs = {}
    for name, extra in ways.items():
        report = work / f"report-{name}"
        command = plugin_command(models, report, **options)
        returncode, _, seconds = _run_logged(
            [*command, *extra],
            log,
            cwd=work,
            timeout=STEP_TIMEOUT_SECONDS["plugin"],
            header=f"=== {name} ===\n",
        )
        problems = [] if returncode == 0 else [f"pytest exited with {returncode}"]
        rows: list[dict[str, Any]] = []
        results = report / CSV_NAME
        if results.is_file():
            table = read_results_csv(results)
            problems += check_results(
                table, meter=meter, batch_sizes=batch_sizes, models=len(model_files), way=extra
            )
            rows = result_rows(table)
            problems += check_journal_windows(report / "journal")
        else:
            problems.append(f"no {CSV_NAME} written")
        runs[name] = {
            "status": PASSED if not problems else FAILED,
            "options": list(extra),
            "exit_status": returncode,
            "problems": problems,
            "rows": rows,
            "seconds": seconds,
        }
        print(f"plugin, {name}: {runs[name]['status']} ({seconds:.0f} s)", flush=True)
    failed = [name for name, run in runs.items() if run["status"] == FAILED]
    return {
        "status": FAILED if failed else PASSED,
        "summary": ", ".join(
            f"{name} {run['status']}" + (f" ({run['problems'][0]})" if run["problems"] else "")
            for name, run in runs.items()
        ),
        # The command as a user types it (without the interpreter), with placeholders.
        "command": " ".join(
            ["pytest", *plugin_command(Path("MODELS"), Path("REPORT"), **options)[3:]]
        ),
        "models": [path.name for path in model_files],
        "runs": runs,
        "seconds": sum(run["seconds"] for run in runs.values()),
    }


def accuracy_step(out: Path, *, options: Sequence[str] = ACCURACY_OPTIONS) -> dict[str, Any]:
    """Step 3: accuracy.py's A-B-A in short, its page rendered; its verdict on the targets."""
    from accuracy import ARMS, answer, comparisons, page

    data = out / ACCURACY_DATA
    data.unlink(missing_ok=True)  # accuracy.py appends
    command = [sys.executable, str(REPOSITORY / "benchmarks" / "accuracy.py"), "run"]
    command += ["--out", str(data), *options]
    returncode, _, seconds = _run_logged(
        command, out / ACCURACY_LOG, cwd=REPOSITORY, timeout=STEP_TIMEOUT_SECONDS["accuracy"]
    )
    records = read_json_lines([data]) if data.is_file() else []
    rows = comparisons(records)
    expected_items = math.prod(len(_option(options, name).split(",")) for name in _GRID_OPTIONS)
    complete = [row for row in rows if all(arm in row.arms for arm in ARMS)]
    problems = [] if returncode == 0 else [f"accuracy.py exited with {returncode}"]
    if len(complete) != expected_items:
        problems.append(f"{len(complete)} of {expected_items} items have all of A1, B and A2")
    verdicts = [
        verdict
        for row in complete
        for arm in ("A1", "A2")
        for verdict in (row.energy_within(arm), row.fps_within(arm))
        if verdict is not None
    ]
    if records:
        render = ["python", "benchmarks/accuracy.py", "render", ACCURACY_DATA, ACCURACY_PAGE]
        (out / ACCURACY_PAGE).write_text("\n".join(page(records, " ".join(render))) + "\n")
    said = " ".join(answer(complete)).replace("**", "")
    return {
        "status": PASSED if not problems else FAILED,
        "summary": "; ".join(problems) if problems else said,
        "command": " ".join(["python", "benchmarks/accuracy.py", "run", *options]),
        "exit_status": returncode,
        "problems": problems,
        "targets_met": all(verdicts) if verdicts and not problems else None,
        "answer": said,
        "items": [
            {
                "layout": row.layout,
                "batch": row.batch,
                "mode": row.mode,
                "energy_off_percent": [row.energy_off_percent(arm) for arm in ("A1", "A2")],
                "ci_percent": [row.ci_percent(arm) for arm in ("A1", "A2")],
                "fps_percent": [row.fps_percent(arm) for arm in ("A1", "A2")],
            }
            for row in complete
        ],
        "seconds": seconds,
    }


_GRID_OPTIONS = ("--layouts", "--batch-sizes", "--modes")


def _option(options: Sequence[str], name: str) -> str:
    return options[list(options).index(name) + 1]


def guarded(step: Callable[[], dict[str, Any]] | None) -> dict[str, Any]:
    """A step's result; ``skipped`` where it is None, ``failed`` with the error where it
    raised, so that one broken step leaves the others and the record."""
    if step is None:
        return {"status": SKIPPED, "summary": "", "seconds": 0.0}
    began = time.perf_counter()
    try:
        return step()
    except Exception as error:
        return {
            "status": FAILED,
            "summary": f"{type(error).__name__}: {error}",
            "seconds": time.perf_counter() - began,
        }


# -- the command ---------------------------------------------------------------------------------


def refusal() -> str | None:
    """Why the check cannot run here, in one line; None where it can."""
    from importlib.metadata import entry_points

    import torch

    if not torch.cuda.is_available():
        return (
            f"gpu_check: torch {torch.__version__} sees no CUDA GPU (CUDA build: "
            f"{torch.version.cuda or 'none'}); run it on a machine with an NVIDIA GPU"
        )
    if not any(ep.name == "pruneenergy" for ep in entry_points(group="pytest11")):
        return 'gpu_check: the plugin is not installed; run python -m pip install -e ".[dev]" first'
    return None


def gpu_facts() -> dict[str, Any]:
    """cuda:0's name, driver and power limit, as the plugin's NVML meter reads them."""
    from pytest_pruneenergy.measure.meters import MeterUnavailable, NvmlCounterMeter

    try:
        meter = NvmlCounterMeter(0)
    except MeterUnavailable as error:
        import torch

        return {"name": torch.cuda.get_device_name(0), "driver": "", "meter_error": str(error)}
    try:
        return {
            "name": meter.gpu_name,
            "driver": meter.driver_version,
            "power_limit_watts": meter.power_limit_watts,
        }
    finally:
        meter.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the record and logs")
    parser.add_argument("--skip-tests", action="store_true", help="leave out the gpu tests")
    parser.add_argument("--skip-plugin", action="store_true", help="leave out the plugin runs")
    parser.add_argument("--skip-accuracy", action="store_true", help="leave out the A-B-A")
    parser.add_argument(
        "--strict-accuracy", action="store_true", help="a missed accuracy target fails the check"
    )
    args = parser.parse_args(argv)
    refused = refusal()
    if refused is not None:
        print(refused, file=sys.stderr)
        return 2
    import torch

    from pytest_pruneenergy.models.zoo import build_zoo

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for name in (TESTS_LOG, PLUGIN_LOG, ACCURACY_LOG):
        (out / name).unlink(missing_ok=True)
    began = time.perf_counter()
    record: dict[str, Any] = {
        "command": " ".join(["python", "benchmarks/gpu_check.py", *(argv or sys.argv[1:])]),
        "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "code": code_commit(),
        "gpu": gpu_facts(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": sys.version.split()[0],
        "steps": {},
    }
    steps: dict[str, dict[str, Any]] = record["steps"]

    def plugin() -> dict[str, Any]:
        work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
        try:
            build_zoo(work / "models", **ZOO)
            return plugin_step(work / "models", work, out / PLUGIN_LOG)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    chosen = {
        "tests": None if args.skip_tests else lambda: tests_step(out),
        "plugin": None if args.skip_plugin else plugin,
        "accuracy": None if args.skip_accuracy else lambda: accuracy_step(out),
    }
    for name, step in chosen.items():
        steps[name] = guarded(step)
        print(f"{name}: {steps[name]['status']} {steps[name]['summary']}", flush=True)
        record["seconds"] = time.perf_counter() - began
        record["verdict"] = "running"  # a check cut short keeps the steps it finished
        (out / RECORD).write_text(json.dumps(record, indent=1) + "\n")
    record["seconds"] = time.perf_counter() - began
    record["verdict"] = verdict(steps, strict_accuracy=args.strict_accuracy)
    (out / RECORD).write_text(json.dumps(record, indent=1) + "\n")
    print("\n".join(summary_lines(record)))
    print(f"wrote {out / RECORD}")
    return 1 if record["verdict"].startswith(FAILED) else 0


if __name__ == "__main__":
    sys.exit(main())
