"""How short may the protocol's floors be? The measuring floor and the warm-up floor, each
item's error against the long-window reference of the accuracy check (issue 25, item 1).

The adaptive protocol measures until its 95 % CI is within the 1 % target, but never less than
the *measuring floor* (``ProtocolSettings.min_measure_seconds``) after a warm-up of at least
the *warm-up floor* (``warmup_min_seconds``). Where the GPU sets the pace the CI reaches 1 %
before the measuring floor, so the floors, not the CI, set what an item costs. This study
measures what shorter floors cost in accuracy, per model and batch size (it set today's floors,
1 s and 0.5 s; they were 1.5 s and 1 s before it):

- for each model (an unpruned torchvision layout, 1000 classes, ``--input-size`` squared, FP32,
  eager) and batch size, the reference (``accuracy.py``'s plain loop, read tick to tick over
  ``--reference-seconds``) at the start and at the end of the cell, their mean the truth;
- between them, ``--repeats`` rounds of every (warm-up floor, measuring floor) pair, each an
  item measured by the plugin's own item code (``items.runner.measure_item``) with a full
  warm-up (``rewarm=False``, so the warm-up floor applies), at the plugin's defaults otherwise
  and ``--max-seconds`` as the cap; the pairs' order rotates from round to round so that drift
  falls on all alike.

Each item's error is its energy per sample against the mean of the cell's two references; it
is *within target* where |error| <= max(0.5 %, its CI) (the accuracy check's target, judged at
batch >= 8) and *covered* where |error| <= its CI. The two references' difference is the cell's
drift, the part of an error no floor can remove.

    python benchmarks/floors.py run --layouts vgg16 --out floors.jsonl     # GPU, ~4.5 min
    python benchmarks/floors.py run --layouts alexnet --out floors.jsonl   # GPU, ~4.5 min
    python benchmarks/floors.py render floors.jsonl docs/benchmarks/floors/floors.md

The time, an estimate from the settings: 12 pairs x 2 rounds x 4 batch sizes = 96 items of
~1.9 s on average (warm-up floor + measuring floor + ~0.4 s; eager batch 1 up to the 3 s cap)
and 8 references of ~8.5 s: ~4.5 min a model. ``run`` appends a JSON line per measurement as
it is made, so a run cut short keeps what it did; it prints progress and the time left.

``render`` writes the page: the answer (the cheapest pair whose items stay within target, at
batch >= 8, in at least 90 % of cases, the share ``CHOSEN_SHARE``, of at least
``CHOSEN_MIN_ITEMS``), then a table per pair
pooled over the cells at batch >= 8, then per cell.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import statistics
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from accuracy import (
    ENERGY_TARGET_MIN_BATCH,
    ENERGY_TARGET_PERCENT,
    add_reference_arguments,
    comma_list,
    measure_reference,
    open_reference_device,
    plugin_arm,
    run_fields,
    unpruned_prepared,
)
from benchlib import Progress, gpus_of, json_lines_appender, read_json_lines, write_page

LAYOUTS = ("vgg16", "alexnet")
BATCH_SIZES = (8, 32, 64, 1)  # batch 1 last: a run cut short loses the least judged cells
MEASURE_FLOORS_SECONDS = (0.5, 0.75, 1.0, 1.5)
WARMUP_FLOORS_SECONDS = (0.25, 0.5, 1.0)
REPEATS = 2
MAX_SECONDS = 3.0  # the cap the grid runs use (grid_cost.py, precision.py)
REFERENCE_SECONDS = 5.0
REFERENCE_WARMUP_SECONDS = 1.5
CHOSEN_SHARE = 0.9  # a pair is good enough where this share of its items is within target
# ... of at least this many: below ten items one miss already falls under 90 %, so a pair
# measured less often has not been put to the test.
CHOSEN_MIN_ITEMS = 10
# A cell whose two references differ by more than this drifted while it ran: its items' errors
# are mostly the drift, which falls on every pair alike and no floor can remove, so the answer
# is judged on the steady cells only (the pooled table over all cells stays on the page).
STEADY_DRIFT_PERCENT = ENERGY_TARGET_PERCENT


@dataclass(frozen=True)
class Floors:
    warmup_seconds: float
    measure_seconds: float

    def label(self) -> str:
        return f"warm-up {self.warmup_seconds:g} s, measure {self.measure_seconds:g} s"


def floor_pairs(warmups: Sequence[float], measures: Sequence[float]) -> list[Floors]:
    return [Floors(warmup, measure) for warmup in warmups for measure in measures]


def rotated(pairs: Sequence[Any], round_index: int) -> list[Any]:
    """The pairs in round ``round_index``'s order: each round starts one further along, so no
    pair always follows the reference or always comes last."""
    shift = (round_index * max(1, len(pairs) // 2 + 1)) % max(1, len(pairs))
    return list(pairs[shift:]) + list(pairs[:shift])


# -- the page (pure) ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One plugin measurement against its cell's reference."""

    gpu: str
    layout: str
    batch: int
    floors: Floors
    error_percent: float
    ci_percent: float
    seconds_total: float
    seconds_measured: float
    converged: bool
    # How far the board warmed over the item's windows (°C); None where the meter read no
    # temperature at either end.
    warmed_celsius: float | None = None

    @property
    def within_target(self) -> bool:
        return abs(self.error_percent) <= max(ENERGY_TARGET_PERCENT, self.ci_percent)

    @property
    def covered(self) -> bool:
        return abs(self.error_percent) <= self.ci_percent


@dataclass(frozen=True)
class Cell:
    gpu: str
    layout: str
    batch: int
    reference_joules: float
    drift_percent: float | None  # the second reference against the first
    items: tuple[Item, ...]

    @property
    def steady(self) -> bool:
        return self.drift_percent is not None and abs(self.drift_percent) <= STEADY_DRIFT_PERCENT

    def label(self) -> str:
        return f"{self.layout} batch {self.batch}"


def cells(records: Iterable[dict[str, Any]]) -> list[Cell]:
    """A cell per run, GPU, model and batch size that has a reference; its items measured
    against the mean of its references. Records with an ``error`` are left out."""
    grouped: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        if "error" not in record:
            grouped[(record["run"], record["gpu"], record["layout"], record["batch"])].append(
                record
            )
    found = []
    for (_, gpu, layout, batch), members in grouped.items():
        references = [r["joules_per_sample"] for r in members if r["arm"] == "reference"]
        if not references:
            continue
        truth = statistics.fmean(references)
        drift = 100 * (references[-1] / references[0] - 1) if len(references) > 1 else None
        items = tuple(
            Item(
                gpu,
                layout,
                batch,
                Floors(r["warmup_floor_seconds"], r["measure_floor_seconds"]),
                error_percent=100 * (r["joules_per_sample"] / truth - 1),
                ci_percent=100 * r["ci95"] / r["joules_per_sample"],
                seconds_total=r["seconds_total"],
                seconds_measured=r["seconds"],
                converged=bool(r["converged"]),
                warmed_celsius=_warmed_celsius(r.get("temperature_celsius")),
            )
            for r in members
            if r["arm"] == "plugin"
        )
        found.append(Cell(gpu, layout, batch, truth, drift, items))
    return found


def _warmed_celsius(temperatures: Sequence[float | None] | None) -> float | None:
    """A record's ``temperature_celsius`` (start, end) as how far the board warmed."""
    start, end = temperatures or (None, None)
    return None if start is None or end is None else end - start


@dataclass(frozen=True)
class Pooled:
    """One pair's items over the judged cells of one GPU."""

    gpu: str
    floors: Floors
    items: tuple[Item, ...]

    @property
    def share_within(self) -> float:
        return sum(item.within_target for item in self.items) / len(self.items)

    @property
    def share_covered(self) -> float:
        return sum(item.covered for item in self.items) / len(self.items)

    @property
    def mean_error_percent(self) -> float:
        return statistics.fmean(item.error_percent for item in self.items)

    @property
    def mean_abs_error_percent(self) -> float:
        return statistics.fmean(abs(item.error_percent) for item in self.items)

    @property
    def worst_error_percent(self) -> float:
        return max((item.error_percent for item in self.items), key=abs)

    @property
    def mean_seconds(self) -> float:
        return statistics.fmean(item.seconds_total for item in self.items)

    @property
    def mean_warmed_celsius(self) -> float | None:
        """How far the board warmed over the items' windows, on average; None where no item
        read its temperatures."""
        warmed = [item.warmed_celsius for item in self.items if item.warmed_celsius is not None]
        return statistics.fmean(warmed) if warmed else None


def pooled(
    found: Sequence[Cell], min_batch: int = ENERGY_TARGET_MIN_BATCH, *, steady_only: bool = False
) -> list[Pooled]:
    """Per GPU and pair, its items at batch >= ``min_batch`` (of steady cells alone with
    ``steady_only``), cheapest pair first."""
    grouped: dict[tuple[str, Floors], list[Item]] = defaultdict(list)
    for cell in found:
        if cell.batch >= min_batch and (cell.steady or not steady_only):
            for item in cell.items:
                grouped[(item.gpu, item.floors)].append(item)
    rows = [Pooled(gpu, floors, tuple(items)) for (gpu, floors), items in grouped.items()]
    return sorted(rows, key=lambda row: (row.gpu, row.mean_seconds))


def chosen(
    rows: Sequence[Pooled], share: float = CHOSEN_SHARE, min_items: int = CHOSEN_MIN_ITEMS
) -> Pooled | None:
    """The cheapest pair (by its items' mean time) within target in at least ``share`` of its
    items, of at least ``min_items``; None where none is."""
    good = [row for row in rows if len(row.items) >= min_items and row.share_within >= share]
    return min(good, key=lambda row: row.mean_seconds) if good else None


def _percent(value: float | None, digits: int = 2, signed: bool = True) -> str:
    if value is None:
        return ""
    return f"{value:+.{digits}f} %" if signed else f"{value:.{digits}f} %"


def answer(found: Sequence[Cell]) -> list[str]:
    """A paragraph per GPU: the pair chosen, what it costs against the current defaults, and
    how its items fared."""
    lines = []
    rows = pooled(found, steady_only=True)
    for gpu in sorted({cell.gpu for cell in found}):
        mine = [row for row in rows if row.gpu == gpu]
        best = chosen(mine)
        current = next(
            (r for r in mine if r.floors == Floors(1.0, 1.5)),
            None,
        )
        judged = [c for c in found if c.gpu == gpu and c.batch >= ENERGY_TARGET_MIN_BATCH]
        steady = ", ".join(c.label() for c in judged if c.steady) or "none"
        drifted = ", ".join(
            f"{c.label()} ({_percent(c.drift_percent) or 'one reference: drift unknown'})"
            for c in judged
            if not c.steady
        )
        drift = (
            f" Judged on the cells at batch >= {ENERGY_TARGET_MIN_BATCH} whose two references "
            f"agreed within {STEADY_DRIFT_PERCENT} %: {steady}."
            + (
                f" Left out, their references having drifted while they ran (every pair's "
                f"errors there follow the drift alike): {drifted}."
                if drifted
                else ""
            )
        )
        if best is None:
            lines.append(
                f"**{gpu}.** No pair of floors kept {CHOSEN_SHARE:.0%} of its items (of at "
                f"least {CHOSEN_MIN_ITEMS}) at batch >= {ENERGY_TARGET_MIN_BATCH} within "
                f"max({ENERGY_TARGET_PERCENT} %, CI) of the reference.{drift}"
            )
            continue
        saving = ""
        if current is not None:
            saving = (
                f" The defaults before this study (warm-up 1 s, measure 1.5 s) took "
                f"{current.mean_seconds:.2f} s an item, within target in "
                f"{current.share_within:.0%}; this pair takes {best.mean_seconds:.2f} s "
                f"({100 * (1 - best.mean_seconds / current.mean_seconds):.0f} % less)."
            )
        lines.append(
            f"**{gpu}.** The cheapest floors within target in at least {CHOSEN_SHARE:.0%} of "
            f"their items (of at least {CHOSEN_MIN_ITEMS}) at batch >= "
            f"{ENERGY_TARGET_MIN_BATCH}: **{best.floors.label()}**, within "
            f"max({ENERGY_TARGET_PERCENT} %, CI) in {best.share_within:.0%} of "
            f"{len(best.items)} items, mean |error| {best.mean_abs_error_percent:.2f} %, worst "
            f"{best.worst_error_percent:+.2f} %, the CI covering the reference in "
            f"{best.share_covered:.0%}.{saving}{drift}"
        )
    return lines


def page(records: Sequence[dict[str, Any]], render_command: str) -> list[str]:
    found = cells(records)
    commands = sorted({r["command"] for r in records if "command" in r})
    lines = ["# How short may the protocol's floors be?", ""]
    lines += [
        f"Measured on {gpus_of(records)} with `{'`, `'.join(commands)}`; rendered with "
        f"`{render_command}`.",
        "",
        "## Answer",
        "",
    ]
    lines += [line for paragraph in answer(found) for line in (paragraph, "")]
    for steady_only, which in ((True, "the steady cells"), (False, "all cells")):
        lines += [
            f"## Each pair of floors, pooled over {which} at batch >= {ENERGY_TARGET_MIN_BATCH}",
            "",
            "Cheapest first. *Within target*: |error| <= max(0.5 %, the item's CI); *covered*: "
            "|error| <= the item's CI. Seconds: the item's whole time, warm-up included. "
            f"Steady: the cell's two references within {STEADY_DRIFT_PERCENT} % of each other.",
            "",
            "| GPU | floors | items | within target | covered | mean abs error | worst "
            "| s an item |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in pooled(found, steady_only=steady_only):
            lines.append(
                f"| {row.gpu} | {row.floors.label()} | {len(row.items)} "
                f"| {row.share_within:.0%} | {row.share_covered:.0%} "
                f"| {_percent(row.mean_abs_error_percent, signed=False)} "
                f"| {_percent(row.worst_error_percent)} | {row.mean_seconds:.2f} |"
            )
        lines.append("")
    lines += [
        "## Each cell",
        "",
        "Errors of the pair's items in the order measured, against the mean of the cell's two "
        "references; drift: the second reference against the first.",
        "",
        "| GPU | model | batch | drift | floors | errors | CIs | converged | s an item |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for cell in found:
        by_floors: dict[Floors, list[Item]] = defaultdict(list)
        for item in cell.items:
            by_floors[item.floors].append(item)
        for floors, items in sorted(
            by_floors.items(), key=lambda pair: dataclasses.astuple(pair[0])
        ):
            lines.append(
                f"| {cell.gpu} | {cell.layout} | {cell.batch} | {_percent(cell.drift_percent)} "
                f"| {floors.label()} | {', '.join(_percent(i.error_percent) for i in items)} "
                f"| {', '.join(_percent(i.ci_percent, signed=False) for i in items)} "
                f"| {sum(i.converged for i in items)}/{len(items)} "
                f"| {statistics.fmean(i.seconds_total for i in items):.2f} |"
            )
    return lines


# -- the run (on the GPU) -------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    pairs = floor_pairs(args.warmup_floors, args.measure_floors)

    def plugin_item(
        prepared: Any, batch: int, step: Floors, measure: MeasureItem
    ) -> dict[str, Any]:
        figures = measure(
            prepared,
            batch,
            warmup_min_seconds=step.warmup_seconds,
            min_measure_seconds=step.measure_seconds,
            rewarm=False,
        )
        return {
            "warmup_floor_seconds": step.warmup_seconds,
            "measure_floor_seconds": step.measure_seconds,
            **figures,
        }

    return run_cells(args, pairs, plugin_item, Floors.label, fields={})


# The plugin's item code on a model at a batch size, with protocol settings replaced by keyword
# and ``rewarm``: its record's figures (accuracy.plugin_arm's).
MeasureItem = Callable[..., dict[str, Any]]


def run_cells(
    args: argparse.Namespace,
    steps: Sequence[Any],
    plugin_item: Callable[[Any, int, Any, MeasureItem], dict[str, Any]],
    label: Callable[[Any], str],
    *,
    fields: dict[str, Any],
) -> int:
    """Per model and batch size a cell: a reference, ``args.repeats`` rounds of ``steps`` in
    rotating order, each an item ``plugin_item`` measures, and a closing reference; a JSON line
    per measurement (with ``fields`` and the run's), a progress line each. ``args.max_seconds``
    is the plugin's cap; a failed measurement is a record of its own and the cell goes on."""
    import torch

    from pytest_pruneenergy.items.runner import ItemProblem, random_input
    from pytest_pruneenergy.measure.meters import make_meter
    from pytest_pruneenergy.settings import Settings

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"--device {args.device}, but torch sees no CUDA device")
    defaults = dataclasses.replace(Settings().protocol_settings, max_seconds=args.max_seconds)
    meter = make_meter(args.meter, args.device)
    reference = open_reference_device(args.device, args.meter)
    common = {
        **run_fields(args, meter),
        "max_seconds": args.max_seconds,
        "target_ci_fraction": defaults.target_ci_fraction,
        **fields,
    }
    emit = json_lines_appender(args.out, common)

    def measure(prepared: Any, batch: int, *, rewarm: bool, **protocol: float) -> dict[str, Any]:
        return plugin_arm(
            prepared,
            batch,
            meter=meter,
            make_input=random_input,
            protocol=dataclasses.replace(defaults, **protocol),
            cuda_graphs=False,
            idle_watts=None,
            rewarm=rewarm,
        )

    shape = (3, args.input_size, args.input_size)
    cells_total = len(args.layouts) * len(args.batch_sizes)
    progress = Progress(cells_total * (2 + args.repeats * len(steps)))
    try:
        for layout in args.layouts:
            prepared = unpruned_prepared(layout, args.device, shape)
            for batch in args.batch_sizes:
                where = {"layout": layout, "batch": batch}
                planned: list[Any] = [None]
                for round_index in range(args.repeats):
                    planned += rotated(steps, round_index)
                planned.append(None)
                for step in planned:
                    what = f"{layout} batch {batch} " + (
                        "reference" if step is None else label(step)
                    )
                    try:
                        if step is None:
                            figures = measure_reference(
                                prepared.module, batch, shape, "eager", args, reference
                            )
                            record = {**where, "arm": "reference", **figures}
                        else:
                            figures = plugin_item(prepared, batch, step, measure)
                            record = {**where, "arm": "plugin", **figures}
                    except (ItemProblem, ValueError, RuntimeError) as error:
                        emit(
                            {**where, "arm": "failed", "error": f"{type(error).__name__}: {error}"}
                        )
                        print(progress.line(f"{what} FAILED: {error}"), flush=True)
                        continue
                    emit(record)
                    print(
                        progress.line(f"{what} {figures['joules_per_sample']:.6g} J/sample"),
                        flush=True,
                    )
                if args.device.startswith("cuda"):
                    torch.cuda.empty_cache()
            del prepared
    finally:
        reference.close()
        meter.close()
    print(f"wrote {args.out}")
    return 0


def render(args: argparse.Namespace) -> int:
    records = read_json_lines(args.results)
    if not cells(records):
        raise SystemExit(f"no cell with a reference in {', '.join(args.results)}")
    command = shlex.join(["python", "benchmarks/floors.py", "render", *args.results, args.out])
    write_page(args.out, page(records, command))
    return 0


def cell_study_parser(
    description: str,
    *,
    run: Callable[[argparse.Namespace], int],
    render: Callable[[argparse.Namespace], int],
    layouts: Sequence[str],
    batch_sizes: Sequence[int],
    repeats: int,
    max_seconds: float | None,
    reference_warmup_seconds: float,
) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """The command line of a study run by ``run_cells`` (this one's and rewarm.py's): ``run``
    with the cells, rounds, cap and reference, ``render`` with the data files and the page; the
    parser and its ``run`` subparser, for the study's own arguments."""
    parser = argparse.ArgumentParser(description=description)
    commands = parser.add_subparsers(dest="command_name", required=True)
    run_parser = commands.add_parser("run", help="measure the cells; append JSON lines")
    run_parser.add_argument("--out", required=True)
    run_parser.add_argument("--layouts", type=comma_list(str), default=list(layouts))
    run_parser.add_argument("--batch-sizes", type=comma_list(int), default=list(batch_sizes))
    run_parser.add_argument("--repeats", type=int, default=repeats)
    run_parser.add_argument("--max-seconds", type=float, default=max_seconds)
    add_reference_arguments(
        run_parser, seconds=REFERENCE_SECONDS, warmup_seconds=reference_warmup_seconds
    )
    run_parser.set_defaults(handler=run)
    render_parser = commands.add_parser("render", help="write the Markdown page")
    render_parser.add_argument("results", nargs="+", help="JSON lines files of run")
    render_parser.add_argument("out")
    render_parser.set_defaults(handler=render)
    return parser, run_parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser, run_parser = cell_study_parser(
        __doc__.splitlines()[0],
        run=run,
        render=render,
        layouts=LAYOUTS,
        batch_sizes=BATCH_SIZES,
        repeats=REPEATS,
        max_seconds=MAX_SECONDS,
        reference_warmup_seconds=REFERENCE_WARMUP_SECONDS,
    )
    floors = comma_list(float)
    run_parser.add_argument("--measure-floors", type=floors, default=list(MEASURE_FLOORS_SECONDS))
    run_parser.add_argument("--warmup-floors", type=floors, default=list(WARMUP_FLOORS_SECONDS))
    args = parser.parse_args(argv)
    if args.command_name == "run":
        floors = [*args.measure_floors, *args.warmup_floors]
        if not floors or min(floors) <= 0 or args.repeats < 1:
            parser.error("floors must be > 0 and --repeats at least 1")
        if max(args.measure_floors) > args.max_seconds:
            parser.error("a measuring floor above --max-seconds would never be reached")
        args.command = shlex.join(["python", "benchmarks/floors.py", *argv])
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
