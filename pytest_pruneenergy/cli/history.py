"""``pruneenergy history`` and ``compare``: the run store read back over commits, and two
stored runs side by side."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..track.history import HistorySeries
from .common import EXIT_FAILED, EXIT_OK, batch_size, out_folder, usage_error

HISTORY_CSV_NAME = "energy_history.csv"


def add_history_command(commands: argparse._SubParsersAction) -> None:
    from ..track.store import DEFAULT_STORE_DIR

    history = commands.add_parser(
        "history",
        help="energy per sample across the stored runs, as CSV, a figure and a page",
        description="Write energy_history.csv (one row per run, model and batch size, in commit "
        "order: commit, its date, dirty, machine, joules per sample, CI95, FPS) and "
        "energy_history.png (joules per sample across runs with 95 % CI bands) from the runs "
        "pytest --energy-save stored, and print the steps found in each series (a change of "
        "level beyond its noise). With --html also energy_history.html: one self-contained "
        "page with a chart per model, batch size and metric, one line per machine, steps "
        f"marked. --store is repeatable (default: {DEFAULT_STORE_DIR}): several machines' "
        "stores make one history.",
    )
    history.add_argument(
        "--store", type=Path, action="append", metavar="DIR", help="a run store; repeatable"
    )
    history.add_argument("--model", metavar="GLOB", help="only models matching GLOB, e.g. 'VGG*'")
    history.add_argument("--batch", type=batch_size, metavar="N", help="only batch size N")
    history.add_argument("--out", type=out_folder, default=Path("."), metavar="DIR")
    history.add_argument(
        "--html", action="store_true", help="also write the page energy_history.html"
    )
    history.set_defaults(run=_run_history)


def _run_history(args: argparse.Namespace) -> int:
    from ..track.history import HISTORY_COLUMNS, history_rows, history_series, in_commit_order
    from ..track.store import DEFAULT_STORE_DIR, load_stores

    stores = args.store or [Path(DEFAULT_STORE_DIR)]
    # A store that is not there would read as one without runs, and hide a mistyped path.
    absent = [store for store in stores if not store.is_dir()]
    if absent:
        named = "--store" if args.store else "the default --store"
        problems = "; ".join(
            f"{named} {store}: {'not a folder' if store.exists() else 'no such folder'}"
            for store in absent
        )
        return usage_error(
            "history",
            f"{problems} (a store is the folder pytest --energy-save wrote runs to, "
            f"--energy-store, default {DEFAULT_STORE_DIR})",
        )
    loaded = load_stores(stores)
    for problem in loaded.problems:
        print(f"pruneenergy history: skipped: {problem}", file=sys.stderr)
    rows = history_rows(loaded.runs, model_glob=args.model, batch_size=args.batch)
    if not rows:
        where = ", ".join(str(store) for store in stores)
        print(
            f"pruneenergy history: no stored runs with matching items in {where}", file=sys.stderr
        )
        return EXIT_FAILED
    import pandas as pd

    from ..report.plots import ENERGY_HISTORY_FIGURE, energy_history_figure
    from ..track.history_page import write_history_page

    runs = [run for run in loaded.runs if run.run_id in {row["run_id"] for row in rows}]
    table = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))
    csv_path = args.out / HISTORY_CSV_NAME
    page_path = None
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        table.to_csv(csv_path, index=False)
        figure = energy_history_figure(table)
        if figure is not None:
            figure.savefig(args.out / ENERGY_HISTORY_FIGURE)
        if args.html:
            page_path = write_history_page(
                runs, args.out, model_glob=args.model, batch_size=args.batch
            )
    except OSError as error:
        print(f"pruneenergy history: cannot write to {args.out}: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"wrote {csv_path} ({len(table)} rows from {table['run_id'].nunique()} runs)")
    if figure is not None:
        print(f"wrote {args.out / ENERGY_HISTORY_FIGURE}")
    if page_path is not None:
        print(f"wrote {page_path}")
    series = history_series(in_commit_order(runs), model_glob=args.model, batch_size=args.batch)
    print("\n".join(step_lines(series)))
    return EXIT_OK


def step_lines(series: Sequence[HistorySeries]) -> list[str]:
    """A line per step found in energy or FPS, or one saying there is none."""
    from ..track.history import METRICS, StepFinding, describe_step

    found = [
        describe_step(StepFinding(one, metric, step))
        for one in series
        for metric in METRICS
        for step in one.steps(metric)
    ]
    if not found:
        return [f"steps: none in {len(series)} series (no level changed beyond its noise)"]
    return [f"steps: {len(found)} in {len(series)} series", *(f"  {line}" for line in found)]


def add_compare_command(commands: argparse._SubParsersAction) -> None:
    from ..track.store import DEFAULT_STORE_DIR

    compare = commands.add_parser(
        "compare",
        help="compare two stored runs, item by item",
        description="Print a verdict per model and batch size of RUN_B against RUN_A: improved, "
        "regressed or unchanged (energy: outside both 95 % CIs), not judged (a run lacks the "
        "item's CI), new or missing. RUN is a run id (a file name in the store without .json) "
        "or the path of a run file.",
    )
    compare.add_argument("run_a", metavar="RUN_A")
    compare.add_argument("run_b", metavar="RUN_B")
    compare.add_argument("--store", type=Path, default=Path(DEFAULT_STORE_DIR), metavar="DIR")
    compare.set_defaults(run=_run_compare)


def _run_compare(args: argparse.Namespace) -> int:
    from ..track.compare import compare_runs, comparison_lines
    from ..track.store import RunStoreError, find_run

    try:
        run_a = find_run(args.run_a, args.store)
        run_b = find_run(args.run_b, args.store)
    except RunStoreError as error:
        return usage_error("compare", str(error))
    if run_a.run_id == run_b.run_id:  # every item "unchanged": true, and worth nothing
        return usage_error("compare", f"RUN_A and RUN_B are the same run, {run_a.run_id}")
    print("\n".join(comparison_lines(run_a, run_b, compare_runs(run_a, run_b))))
    return EXIT_OK
