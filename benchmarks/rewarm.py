"""Does a larger batch size, measured right after a smaller one, read low while the board heats,
and how long a re-warm takes that away? (issues 23 and 25)

In a plugin run a model's next batch size follows a re-warm of at least 0.25 s
(``ProtocolSettings.rewarm_min_seconds``) that ends once throughput is steady. Going from a
smaller batch size to a larger one raises the board's power, and its temperature follows with a
lag of seconds: in the seed's grid on an H200, nearly every batch-64 item warmed by 2 °C or more
over its windows (the report's ``WARMING`` list), and in the accuracy runs such items read low.
This study measures that case against a settled reference, per re-warm floor:

- for each model (an unpruned torchvision layout, 1000 classes, ``--input-size`` squared, FP32,
  eager) and batch size, the reference (``accuracy.py``'s plain loop, read tick to tick over
  ``--reference-seconds`` after ``--reference-warmup-seconds`` of passes, long enough for the
  board to settle at that batch size's power) at the start and at the end of the cell, their
  mean the truth;
- between them, ``--repeats`` rounds of every re-warm floor, each item led by
  ``--lead-seconds`` of plain passes at ``--lead-batch`` (the board settles at the smaller batch
  size's power, as after a model's previous item), then measured by the plugin's own item code
  (``items.runner.measure_item``) with ``rewarm=True`` and that floor as
  ``rewarm_min_seconds``, at the plugin's defaults otherwise (10 s cap); the floors' order
  rotates from round to round.

Each item's error is its energy per sample against the mean of the cell's two references
(floors.py's arithmetic: within target where |error| <= max(0.5 %, its CI)); each item also
records how far the board warmed over its windows.

    python benchmarks/rewarm.py run --out rewarm.jsonl                 # GPU, ~5 min
    python benchmarks/rewarm.py render rewarm.jsonl PAGE.md

The time, an estimate from the defaults: per cell two references of ~9 s and 4 floors x 3
rounds = 12 items of ~4 s of lead, the floor (1.7 s on average) and ~2 s of measuring: ~1.8
min a cell, 2 models x 1 batch size, ~4 min, plus building the models. ``run`` appends a JSON
line per measurement as it is made, so a run cut short keeps what it did.

``render`` writes the page: the answer (per GPU, the cheapest floor whose items are within
target in at least 90 % of cases on the cells whose references held steady, and what the
plugin's default floor read), then a table per floor pooled over the steady cells, then per
cell.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Sequence
from typing import Any

from accuracy import (
    comma_list,
)
from benchlib import gpus_of, read_json_lines, write_page
from floors import (
    CHOSEN_SHARE,
    Cell,
    MeasureItem,
    Pooled,
    cell_study_parser,
    cells,
    pooled,
    run_cells,
)

LAYOUTS = ("vgg16", "alexnet")
BATCH_SIZES = (64,)
LEAD_BATCH = 8
LEAD_SECONDS = 4.0
REWARM_FLOORS_SECONDS = (0.25, 1.0, 2.0, 3.5)
REPEATS = 3
REFERENCE_WARMUP_SECONDS = 4.0


# -- the page (pure) ------------------------------------------------------------------------------


def floor_rows(found: Sequence[Cell], *, steady_only: bool = True) -> list[Pooled]:
    """Per GPU and re-warm floor, the items of the cells at batch >= 8 (of the steady ones
    alone with ``steady_only``; floors.py's pool: the measuring floor is the same for all);
    shortest floor first."""
    rows = pooled(found, steady_only=steady_only)
    return sorted(rows, key=lambda row: (row.gpu, row.floors.warmup_seconds))


def answer(found: Sequence[Cell], default: float) -> list[str]:
    """A paragraph per GPU: the cheapest floor within target in ``CHOSEN_SHARE`` of its items,
    and how the plugin's ``default`` floor did; or why nothing could be judged."""
    lines = []
    rows = floor_rows(found)
    for gpu in sorted({cell.gpu for cell in found}):
        of_gpu = [row for row in rows if row.gpu == gpu]
        if not of_gpu:
            lines += [" ".join([f"**{gpu}.**", *unjudged(found, gpu)]), ""]
            continue
        good = [row for row in of_gpu if row.share_within >= CHOSEN_SHARE]
        best = min(good, key=lambda row: row.floors.warmup_seconds) if good else None
        said = [f"**{gpu}.**"]
        if best is None:
            said.append(
                f"No re-warm floor kept {CHOSEN_SHARE:.0%} of its items within target; the "
                f"longest, {of_gpu[-1].floors.warmup_seconds:g} s, {_row_words(of_gpu[-1])}."
            )
        else:
            said.append(
                f"The shortest re-warm floor within target in {CHOSEN_SHARE:.0%} of its items is "
                f"{best.floors.warmup_seconds:g} s: {_row_words(best)}."
            )
        at_default = next((r for r in of_gpu if r.floors.warmup_seconds == default), None)
        if at_default is not None and at_default is not best:
            said.append(f"The plugin's default, {default:g} s: {_row_words(at_default)}.")
        lines += [" ".join(said), ""]
    return lines


def unjudged(found: Sequence[Cell], gpu: str) -> list[str]:
    """Where no cell of ``gpu`` held steady: that nothing can be judged against the target,
    and, so that a floor which read far off would still show, each floor's errors over all its
    cells, which share the references' drift alike."""
    of_gpu = [cell for cell in found if cell.gpu == gpu]
    drifts = ", ".join(
        f"{cell.layout} batch {cell.batch} {_drift(cell.drift_percent)}" for cell in of_gpu
    )
    said = [
        f"No cell's references held steady ({drifts}): nothing can be judged against the target."
    ]
    rows = [row for row in floor_rows(found, steady_only=False) if row.gpu == gpu]
    if rows:
        errors = "; ".join(f"{row.floors.warmup_seconds:g} s, {_error_range(row)}" for row in rows)
        said.append(
            f"Over all its cells, each floor's errors against the references' mean: {errors}."
        )
    return said


def _drift(percent: float | None) -> str:
    return "drift unknown" if percent is None else f"{percent:+.2f} %"


def _error_range(row: Pooled) -> str:
    warmed = row.mean_warmed_celsius
    board = "" if warmed is None else f", warming {warmed:.1f} °C"
    return f"{_error_span(row)} (mean {row.mean_error_percent:+.2f} %{board})"


def _error_span(row: Pooled) -> str:
    """The row's smallest to largest error."""
    errors = [item.error_percent for item in row.items]
    return f"{min(errors):+.2f} to {max(errors):+.2f} %"


def _row_words(row: Pooled) -> str:
    within = sum(item.within_target for item in row.items)
    warmed = row.mean_warmed_celsius
    board = "" if warmed is None else f", the board warming by {warmed:.1f} °C on average"
    return (
        f"{within} of {len(row.items)} items within target, mean error "
        f"{row.mean_error_percent:+.2f} %, {row.mean_seconds:.2f} s an item{board}"
    )


def page(records: Sequence[dict[str, Any]], render_command: str, default: float) -> list[str]:
    found = cells(records)
    commands = sorted({record["command"] for record in records if record.get("command")})
    lines = ["# Re-warm: does a larger batch size read low right after a smaller one?", ""]
    lines += ["Measured by:", "", "```", *commands, "```", "", "and rendered by:", ""]
    lines += ["```", render_command, "```", ""]
    lines += answer(found, default)
    lines += [f"Devices: {gpus_of(records)}.", ""]
    steady_rows = floor_rows(found)
    if steady_rows:
        lines += ["## Per floor, over the steady cells", ""]
        lines += [
            "| GPU | re-warm floor | items | within target | mean error | mean s/item | warmed C |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in steady_rows:
            warmed = row.mean_warmed_celsius
            lines.append(
                f"| {row.gpu} | {row.floors.warmup_seconds:g} s | {len(row.items)} "
                f"| {row.share_within:.0%} | {row.mean_error_percent:+.2f} % "
                f"| {row.mean_seconds:.2f} | {'' if warmed is None else f'{warmed:.1f}'} |"
            )
        lines.append("")
    lines += ["## Per floor, over all cells", ""]
    lines += [
        "| GPU | re-warm floor | items | within target | mean error | range | warmed C |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in floor_rows(found, steady_only=False):
        warmed = row.mean_warmed_celsius
        lines.append(
            f"| {row.gpu} | {row.floors.warmup_seconds:g} s | {len(row.items)} "
            f"| {row.share_within:.0%} | {row.mean_error_percent:+.2f} % "
            f"| {_error_span(row)} | {'' if warmed is None else f'{warmed:.1f}'} |"
        )
    lines += ["", "## Per cell", ""]
    lines += [
        "| GPU | model | batch | references' drift | steady | floor | error | CI |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for cell in found:
        drift = "" if cell.drift_percent is None else f"{cell.drift_percent:+.2f} %"
        for item in cell.items:
            lines.append(
                f"| {cell.gpu} | {cell.layout} | {cell.batch} | {drift} "
                f"| {'yes' if cell.steady else 'no'} | {item.floors.warmup_seconds:g} s "
                f"| {item.error_percent:+.2f} % | {item.ci_percent:.2f} % |"
            )
    return lines


# -- the run (on the GPU) -------------------------------------------------------------------------


def lead(module: Any, batch_size: int, shape: tuple[int, ...], device: str, seconds: float) -> None:
    """Plain passes at ``batch_size`` for ``seconds``, then a synchronize: the board settles at
    that batch size's power, as after a model's previous item."""
    import torch

    with torch.inference_mode():
        batch = torch.randn((batch_size, *shape), dtype=torch.float32).to(device)
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            module(batch)
            if device.startswith("cuda"):
                torch.cuda.synchronize(device)


def run(args: argparse.Namespace) -> int:
    from pytest_pruneenergy.settings import Settings

    defaults = Settings().protocol_settings
    shape = (3, args.input_size, args.input_size)

    def plugin_item(
        prepared: Any, batch: int, floor: float, measure: MeasureItem
    ) -> dict[str, Any]:
        lead(prepared.module, args.lead_batch, shape, args.device, args.lead_seconds)
        figures = measure(prepared, batch, rewarm_min_seconds=floor, rewarm=True)
        # floors.py's fields, so that its arithmetic reads the items
        measure_floor = defaults.min_measure_seconds
        return {"warmup_floor_seconds": floor, "measure_floor_seconds": measure_floor, **figures}

    fields = {
        "lead_batch": args.lead_batch,
        "lead_seconds": args.lead_seconds,
        "default_rewarm_floor_seconds": defaults.rewarm_min_seconds,
    }
    floors = [float(floor) for floor in args.floors]
    return run_cells(args, floors, plugin_item, lambda floor: f"re-warm {floor:g} s", fields=fields)


def render(args: argparse.Namespace) -> int:
    records = read_json_lines(args.results)
    if not cells(records):
        raise SystemExit(f"no cell with a reference in {', '.join(args.results)}")
    defaults = {
        r["default_rewarm_floor_seconds"] for r in records if "default_rewarm_floor_seconds" in r
    }
    if len(defaults) != 1:
        raise SystemExit(f"the runs disagree on the default re-warm floor: {sorted(defaults)}")
    command = shlex.join(["python", "benchmarks/rewarm.py", "render", *args.results, args.out])
    write_page(args.out, page(records, command, defaults.pop()))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser, run_parser = cell_study_parser(
        __doc__.splitlines()[0],
        run=run,
        render=render,
        layouts=LAYOUTS,
        batch_sizes=BATCH_SIZES,
        repeats=REPEATS,
        max_seconds=None,
        reference_warmup_seconds=REFERENCE_WARMUP_SECONDS,
    )
    run_parser.add_argument("--floors", type=comma_list(float), default=list(REWARM_FLOORS_SECONDS))
    run_parser.add_argument("--lead-batch", type=int, default=LEAD_BATCH)
    run_parser.add_argument("--lead-seconds", type=float, default=LEAD_SECONDS)
    args = parser.parse_args(argv)
    if args.command_name == "run":
        from pytest_pruneenergy.settings import Settings

        protocol = Settings().protocol_settings
        args.max_seconds = protocol.max_seconds if args.max_seconds is None else args.max_seconds
        if not args.floors or min(args.floors) <= 0 or args.repeats < 1 or args.lead_batch < 1:
            parser.error("floors must be > 0, --repeats and --lead-batch at least 1")
        # The warm-up, re-warm included, may take at most this share of the cap.
        longest = protocol.warmup_max_fraction * args.max_seconds
        if max(args.floors) > longest:
            parser.error(
                f"a re-warm floor above {longest:g} s (the warm-up's share of --max-seconds) "
                "would never be reached"
            )
        args.command = shlex.join(["python", "benchmarks/rewarm.py", *argv])
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
