"""Where do an item's seconds go, outside its warm-up and its windows? (issue 25, item 2)

On the seed's grid an item spends a fraction of a second beyond loading its model, warming up
and its windows, more at a model's first batch size than at its later ones: the *rest*
([grid-cost](../docs/benchmarks/grid-cost/README.md)). This study says what that rest is made
of, so that what is waste can be cut.

``run`` builds a few of the seed's models (``--archs``, ``--pds``, ``--gprs``; 1000 classes,
``--input-size`` squared) and measures the same items with the plugin three times, as a user
would, each into a folder of its own:

- ``plain/``: as the grid is measured. Its results CSV gives each item's seconds, load, warm-up
  and windows, and so its rest, untouched by any profiler.
- ``plain-no-benchmark/``: the same without pytest-benchmark's timing of the item (``-p
  no:benchmark``), which is part of the rest wherever pytest-benchmark is installed.
- ``profiled/``: without it too, under ``cProfile`` (``profile.pstats``): pytest-benchmark's
  timing switches any profiler off and cannot hand cProfile's back. cProfile sees the main
  thread only: the poller's thread, which no item waits for, is left out. It slows every Python
  call, so its seconds run long, the forward passes' most; read its split of the rest as shares.

Each folder keeps pytest's output (``pytest.txt``); ``run.json`` names the commit and the three
commands.

``render FOLDER... --page PAGE`` says, per run: the rest per item from the plain runs (a
model's first item and its later ones apart, with pytest-benchmark and without); then, from
the profile, the steps of the plugin's ``run_item`` per item as called from it, descending into
those that take ``--min-milliseconds`` or more an item; what lies outside the items (pytest's
own protocol around each, the end of the run, the start); and every entry from pytest into the
plugin (hooks, fixtures, the test function) that took 0.05 s or more in all.

    python benchmarks/item_cost.py run --out item-cost-h100       # GPU, ~4 min
    python benchmarks/item_cost.py render item-cost-h100 --page PAGE.md

``--device cpu --input-size 64 --max-seconds 1`` runs it without a GPU (the estimate meter: the
figures are the host's, no GPU's).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pstats
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from benchlib import code_commit, int_list, plugin_pytest_command, run_for_at_most, write_page
from grid_cost import SEED_CLASSES, SEED_DATASET

from pytest_pruneenergy.report.schema import (
    BATCH_SIZE,
    CSV_NAME,
    ITEM_SECONDS,
    LOAD_SECONDS,
    MODEL_NAME,
    SECONDS_MEASURED,
    STATUS,
    STATUS_MEASURED,
    WARMUP_SECONDS,
)

PLAIN = "plain"
# pytest-benchmark's timing switches any profiler off (sys.setprofile) and cannot hand
# cProfile's back (a C hook): the profiled run goes without it; a plain run without it says its
# cost.
PLAIN_NO_BENCHMARK = "plain-no-benchmark"
PROFILED = "profiled"
RUNS = (PLAIN, PLAIN_NO_BENCHMARK, PROFILED)
PROFILE = "profile.pstats"
RUN_JSON = "run.json"
REPORT = "report"
PYTEST_OUTPUT = "pytest.txt"
PACKAGE = "/pytest_pruneenergy/"
# A pstats function key: (file, first line, name).
Function = tuple[str, int, str]
# The roots of the page's tables, by the end of their file's path and their name.
ITEM_ROOT = ("pytest_pruneenergy/plugin/running.py", "run_item")
PYTEST_ITEM = ("_pytest/runner.py", "runtestprotocol")
RUN_END = ("pytest_pruneenergy/plugin/ending.py", "pytest_sessionfinish")
# The entries into the plugin the page lists: those that took this many seconds or more in all.
ENTRY_MIN_SECONDS = 0.05
# A step's own code and its calls too small to list.
REST_OF_STEP = "(the rest)"


# -- reading a profile ---------------------------------------------------------------------------


def find_function(stats: pstats.Stats, path_end: str, name: str) -> Function | None:
    """The profiled function named ``name`` in a file whose path ends with ``path_end``."""
    matches = [
        key
        for key in stats.stats  # type: ignore[attr-defined]
        if key[2] == name and key[0].replace(os.sep, "/").endswith(path_end)
    ]
    return min(matches) if matches else None


def calls_and_seconds(stats: pstats.Stats, function: Function) -> tuple[int, float]:
    """How many times ``function`` was called in all, and its cumulative seconds."""
    _primitive, calls, _own, cumulative, _callers = stats.stats[function]  # type: ignore[attr-defined]
    return calls, cumulative


def callees(stats: pstats.Stats, caller: Function) -> dict[Function, tuple[int, float]]:
    """What ``caller`` called: each callee's calls and cumulative seconds as called from it."""
    found = {}
    for function, (*_totals, callers) in stats.stats.items():  # type: ignore[attr-defined]
        if caller in callers:
            _primitive, calls, _own, cumulative = callers[caller]
            found[function] = (calls, cumulative)
    return found


def short_name(function: Function) -> str:
    """``plugin/running.py:run_item``: the path from the package (or site-packages) on."""
    path = function[0].replace(os.sep, "/")
    for anchor in ("/pytest_pruneenergy/", "/site-packages/", "/lib/python"):
        if anchor in path:
            path = path.split(anchor, 1)[1]
            break
    if path.startswith("~") or path == "":  # a built-in: pstats keeps '~' as its file
        return function[2]
    return f"{path}:{function[2]}"


@dataclass(frozen=True)
class Step:
    depth: int
    name: str
    calls_per_item: float
    seconds_per_item: float


def step_rows(
    stats: pstats.Stats,
    root: Function,
    items: int,
    *,
    min_seconds_per_item: float,
    max_depth: int = 6,
) -> list[Step]:
    """``root`` and, below each step of the package, what it called for
    ``min_seconds_per_item`` or more an item (largest first, to ``max_depth``), then what the
    step spent beyond those: its own code and its smaller calls, as ``(the rest)``. A call
    into another library is not opened: its inside is not ours to cut."""
    calls, seconds = calls_and_seconds(stats, root)
    rows = [Step(0, short_name(root), calls / items, seconds / items)]

    def descend(caller: Function, caller_seconds: float, depth: int, above: set[Function]) -> None:
        if depth > max_depth or not _ours(caller):
            return
        large = sorted(
            (
                (function, calls, seconds)
                for function, (calls, seconds) in callees(stats, caller).items()
                if seconds / items >= min_seconds_per_item and function not in above
            ),
            key=lambda entry: -entry[2],
        )
        for function, calls, seconds in large:
            rows.append(Step(depth, short_name(function), calls / items, seconds / items))
            descend(function, seconds, depth + 1, above | {function})
        if large:
            shown = sum(seconds for _function, _calls, seconds in large)
            rest = max(caller_seconds - shown, 0.0)
            rows.append(Step(depth, REST_OF_STEP, math.nan, rest / items))

    descend(root, seconds, 1, {root})
    return rows


def _ours(function: Function) -> bool:
    return PACKAGE in function[0].replace(os.sep, "/")


def entry_rows(stats: pstats.Stats, items: int, min_seconds: float) -> list[Step]:
    """Where pytest (or another library) calls into the plugin: its hooks, fixtures and test
    function, each with its calls and seconds as called from outside, per item, where they
    come to ``min_seconds`` or more in all; largest first. Session-wide work, the report at the
    end among it, shows here once, spread over the items."""
    rows = []
    for function, (*_totals, callers) in stats.stats.items():  # type: ignore[attr-defined]
        # the plugin's functions, not a module's import nor a model's forward called by torch
        in_plugin = f"{PACKAGE}plugin/" in function[0].replace(os.sep, "/")
        if not in_plugin or function[2] == "<module>":
            continue
        outside = [totals for caller, totals in callers.items() if not _ours(caller)]
        seconds = sum(cumulative for _primitive, _calls, _own, cumulative in outside)
        if outside and seconds >= min_seconds:
            calls = sum(calls for _primitive, calls, _own, _cumulative in outside)
            rows.append(Step(0, short_name(function), calls / items, seconds / items))
    return sorted(rows, key=lambda step: -step.seconds_per_item)


@dataclass(frozen=True)
class RunSpan:
    """A profiled run's seconds in all, in the plugin's items, in pytest's protocol around
    them, and at the run's end; the item count."""

    total_seconds: float
    items: int
    item_seconds: float
    pytest_item_seconds: float
    end_seconds: float


def run_span(stats: pstats.Stats) -> RunSpan:
    item = find_function(stats, *ITEM_ROOT)
    if item is None:
        raise SystemExit("the profile has no call of the plugin's run_item: no item ran")
    items, item_seconds = calls_and_seconds(stats, item)
    protocol = find_function(stats, *PYTEST_ITEM)
    end = find_function(stats, *RUN_END)
    return RunSpan(
        total_seconds=stats.total_tt,  # type: ignore[attr-defined]
        items=items,
        item_seconds=item_seconds,
        pytest_item_seconds=item_seconds
        if protocol is None
        else calls_and_seconds(stats, protocol)[1],
        end_seconds=0.0 if end is None else calls_and_seconds(stats, end)[1],
    )


# -- the plain run's rest ------------------------------------------------------------------------


def rest_by_position(results: pd.DataFrame, batch_sizes: Sequence[int]) -> dict[str, Any]:
    """Seconds per item beyond loading, warm-up and windows: the rest, over all items, and a
    model's first batch size (``first``: the first of ``batch_sizes`` it was measured at; it
    warms up in full, after the last model was freed) and its later ones apart; with the means
    of the parts, every mean over the same items: those that recorded every part (the plugin
    writes a load of 0 where the model was loaded before; a blank is unknown)."""
    measured = results[results[STATUS] == STATUS_MEASURED]
    parts = [LOAD_SECONDS, WARMUP_SECONDS, SECONDS_MEASURED]
    told = measured.dropna(subset=[ITEM_SECONDS, *parts])
    if told.empty:
        raise SystemExit("no measured item recorded its seconds, load, warm-up and windows")
    rest = told[ITEM_SECONDS] - told[parts].sum(axis=1)
    order = {size: position for position, size in enumerate(batch_sizes)}
    position = told[BATCH_SIZE].map(order)
    is_first = position == position.groupby(told[MODEL_NAME]).transform("min")
    return {
        "items": len(told),
        "left_out": len(measured) - len(told),
        "models": told[MODEL_NAME].nunique(),
        "item_seconds": float(told[ITEM_SECONDS].mean()),
        "load_seconds": float(told[LOAD_SECONDS].mean()),
        "warmup_seconds": float(told[WARMUP_SECONDS].mean()),
        "measured_seconds": float(told[SECONDS_MEASURED].mean()),
        "rest_seconds": float(rest.mean()),
        "first_rest_seconds": float(rest[is_first].mean()) if is_first.any() else None,
        "later_rest_seconds": float(rest[~is_first].mean()) if (~is_first).any() else None,
    }


# -- run -----------------------------------------------------------------------------------------


def _plugin_options(args: argparse.Namespace) -> list[str]:
    options = [f"--prune-batch-sizes={args.batch_sizes}", f"--prune-device={args.device}"]
    if args.max_seconds is not None:
        options.append(f"--energy-max-seconds={args.max_seconds:g}")
    return options + list(args.plugin_option)


def run(args: argparse.Namespace) -> int:
    from pytest_pruneenergy.models.zoo import build_zoo

    out: Path = args.out.resolve()
    models = out / "models"
    build_zoo(
        models,
        layouts=args.archs.split(","),
        pds=int_list(args.pds),
        gprs=int_list(args.gprs),
        input_size=args.input_size,
        num_classes=SEED_CLASSES,
        dataset=SEED_DATASET,
    )
    options = [*_plugin_options(args), f"--prune-input-shape=3,{args.input_size},{args.input_size}"]
    record: dict[str, Any] = {"commit": code_commit()["commit"], "calls": {}}
    for kind in RUNS:
        folder = out / kind
        folder.mkdir(parents=True, exist_ok=True)
        # pytest-benchmark's timing left on, as the grid is measured where it is installed
        command = plugin_pytest_command(models, folder / REPORT, options, benchmark=kind == PLAIN)
        if kind == PROFILED:  # python -m cProfile -o FILE -m pytest ...
            command[1:1] = ["-m", "cProfile", "-o", str(folder / PROFILE)]
        print(f"{kind}: {' '.join(command[1:])}", flush=True)
        began = time.perf_counter()
        with (folder / PYTEST_OUTPUT).open("w") as output:
            status, _seconds = run_for_at_most(
                command, None, stdout=output, stderr=output, cwd=folder
            )
        seconds = time.perf_counter() - began
        print(f"{kind}: exit status {status} after {seconds:.0f} s", flush=True)
        record["calls"][kind] = {"command": command[1:], "exit_status": status, "seconds": seconds}
    (out / RUN_JSON).write_text(json.dumps(record, indent=1))
    return 0


# -- render --------------------------------------------------------------------------------------


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None or math.isnan(seconds) else f"{1000 * seconds:.0f}"


def _calls(calls: float) -> str:
    return "" if math.isnan(calls) else f"{calls:.3g}"  # NaN: a step's rest


def _left_out(count: int) -> str:
    return (
        f" ({count} more measured items left out: a part of their seconds not recorded)"
        if count
        else ""
    )


def _rest_of(folder: Path, kind: str, batch_sizes: Sequence[int]) -> dict[str, Any]:
    path = folder / kind / REPORT / CSV_NAME
    if not path.is_file():
        record = json.loads((folder / RUN_JSON).read_text())["calls"].get(kind, {})
        raise SystemExit(
            f"{path}: no results CSV; that pytest call ended with exit status "
            f"{record.get('exit_status', 'unknown')}: see {folder / kind / PYTEST_OUTPUT}"
        )
    return rest_by_position(pd.read_csv(path), batch_sizes)


def folder_lines(folder: Path, min_seconds_per_item: float) -> tuple[str, list[str]]:
    """The run's answer sentence and its section of the page."""
    record = json.loads((folder / RUN_JSON).read_text())
    plain_command = record["calls"][PLAIN]["command"]
    sizes_option = next(part for part in plain_command if part.startswith("--prune-batch-sizes="))
    batch_sizes = int_list(sizes_option.split("=", 1)[1])
    plain = _rest_of(folder, PLAIN, batch_sizes)
    bare = _rest_of(folder, PLAIN_NO_BENCHMARK, batch_sizes)
    stats = pstats.Stats(str(folder / PROFILED / PROFILE))
    span = run_span(stats)
    item = find_function(stats, *ITEM_ROOT)
    assert item is not None  # run_span has refused a profile without one
    steps = step_rows(stats, item, span.items, min_seconds_per_item=min_seconds_per_item)
    answer = (
        f"`{folder.name}` (commit {str(record['commit'])[:7]}): {plain['items']} items of "
        f"{plain['models']} models{_left_out(plain['left_out'])}. Beyond loading "
        f"({_ms(plain['load_seconds'])} ms), warm-up ({_ms(plain['warmup_seconds'])} ms) "
        f"and windows ({_ms(plain['measured_seconds'])} ms), "
        f"an item took {_ms(plain['rest_seconds'])} ms more: "
        f"{_ms(plain['first_rest_seconds'])} ms at a model's first batch size, "
        f"{_ms(plain['later_rest_seconds'])} ms at its later ones. Without pytest-benchmark's "
        f"timing the same items' rest was {_ms(bare['rest_seconds'])} ms "
        f"({_ms(bare['first_rest_seconds'])} and {_ms(bare['later_rest_seconds'])})."
    )
    outside = span.pytest_item_seconds - span.item_seconds
    start = span.total_seconds - span.pytest_item_seconds - span.end_seconds
    lines = [
        f"## {folder.name}",
        "",
        f"Under the profiler (without pytest-benchmark): {span.total_seconds:.1f} s in all, "
        f"{span.item_seconds:.1f} s in {span.items} items "
        f"({_ms(span.item_seconds / span.items)} ms each), "
        f"{outside:.1f} s in pytest's protocol around them (fixtures set up once a run "
        "among it), "
        f"{span.end_seconds:.1f} s at the run's end (the report) and {start:.1f} s before the "
        "first item and between (imports, collection). An item's steps:",
        "",
        "| step (as called from the one above) | calls an item | ms an item |",
        "|---|---|---|",
    ]
    lines += [
        f"| {'&nbsp;&nbsp;' * step.depth}`{step.name}` | {_calls(step.calls_per_item)} "
        f"| {_ms(step.seconds_per_item)} |"
        for step in steps
    ]
    entries = entry_rows(stats, span.items, ENTRY_MIN_SECONDS)
    lines += [
        "",
        f"Where pytest calls into the plugin, each for {ENTRY_MIN_SECONDS:g} s or more in all "
        "(work done once a run, such as the report, spread over the items):",
        "",
        "| entry | calls an item | ms an item |",
        "|---|---|---|",
        *(
            f"| `{entry.name}` | {_calls(entry.calls_per_item)} | {_ms(entry.seconds_per_item)} |"
            for entry in entries
        ),
    ]
    return answer, [*lines, ""]


def render(args: argparse.Namespace) -> int:
    answers, sections = [], []
    for folder in args.folders:
        answer, lines = folder_lines(folder, args.min_milliseconds / 1000)
        answers.append(answer)
        sections += lines
    command = " ".join(
        ["python benchmarks/item_cost.py render", *map(str, args.folders), "--page", str(args.page)]
    )
    page = [
        "# Item cost: where an item's seconds go, outside its warm-up and windows",
        "",
        "**Answer.** " + " ".join(answers),
        "",
        f"Rendered by `{command}` from each folder's three runs of the same items: `{PLAIN}/` "
        f"(as the grid runs: the rest, untouched by a profiler), `{PLAIN_NO_BENCHMARK}/` and "
        f"`{PROFILED}/{PROFILE}` (the split; cProfile's seconds run long, the forward passes' "
        "most: read them as shares).",
        "",
        *sections,
    ]
    write_page(args.page, page)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True)
    run_parser = commands.add_parser(
        "run", help="build a few models; measure them plain and profiled"
    )
    run_parser.add_argument("--out", type=Path, required=True)
    run_parser.add_argument("--archs", default="vgg16,alexnet")
    run_parser.add_argument("--pds", default="1")
    run_parser.add_argument("--gprs", default="20,50")
    run_parser.add_argument("--batch-sizes", default="1,8,16,32,64")
    run_parser.add_argument("--device", default="cuda")
    run_parser.add_argument("--input-size", type=int, default=224)
    run_parser.add_argument("--max-seconds", type=float, default=None, help="default: the plugin's")
    run_parser.add_argument(
        "--plugin-option", action="append", default=[], help="one more option for pytest"
    )
    run_parser.set_defaults(handler=run)
    render_parser = commands.add_parser("render", help="a page from run folders")
    render_parser.add_argument("folders", type=Path, nargs="+")
    render_parser.add_argument("--page", type=Path, required=True)
    render_parser.add_argument("--min-milliseconds", type=float, default=5.0)
    render_parser.set_defaults(handler=render)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
