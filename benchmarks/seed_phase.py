"""Is the seed protocol's precision set by its trial length against the counter's updates?

Each seed trial reads NVML's total-energy counter before and after its timed passes, and each
read misses the energy since the counter's last update. Where a trial spans a whole number of
updates both reads fall at the same point of the update cycle and the two missed parts cancel;
elsewhere they differ by up to a period's energy. To test that, this script runs the seed
protocol for one model and batch with several numbers of timed passes around the seed's 500,
chosen so that the trial lengths step through one whole update period, and records for each
how far its trials are from a whole number of updates and how much they scatter.

First the counter's period is fitted (``ticks.on_periodic_grid``) over a few seconds of the
model running; then, per pass count, one seed measurement of ``--trials`` trials.

    python benchmarks/seed_phase.py run --out phase.jsonl     # on the GPU, ~2 min a model
    python benchmarks/precision.py run --part ours --no-graphs --batch-sizes 8 \
        --layouts vgg16,vgg11 --out ours.jsonl                  # same machine, ~1 min
    python benchmarks/seed_phase.py render phase.jsonl ours.jsonl \
        docs/benchmarks/seed-phase/seed-phase.md

``render`` sets each seed measurement against ours' mean on the same machine where the files
include ours' records (``precision.py run --part ours``): a seed measurement whose trials
scatter little may still sit away from it.

``run`` appends one JSON line per measurement, so a run cut short keeps what it measured.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchlib import gpus_of, passes_per_second, read_json_lines, write_page
from precision import cv_percent, periods_off_whole

from pytest_pruneenergy.measure.protocol import ProtocolSettings, measure
from pytest_pruneenergy.measure.stats import half_width_from_std

STEPS = 8  # pass counts per update period swept
PERIOD_FIT_SECONDS = 4.0


def pass_counts(center: int, seconds_per_pass: float, period_seconds: float) -> list[int]:
    """Timed-pass counts around ``center`` whose trial lengths step through one update period
    in ``STEPS`` steps (from half a period below to half a period above), distinct and >= 1."""
    if not (seconds_per_pass > 0 and period_seconds > 0):
        raise ValueError(f"need positive times, got {seconds_per_pass} and {period_seconds}")
    step = period_seconds / STEPS / seconds_per_pass
    counts = {max(1, center + round(k * step)) for k in range(-STEPS // 2, STEPS // 2 + 1)}
    return sorted(counts)


def fitted_period_seconds(run_batch: Callable[[], Any], meter: Any, seconds: float) -> float:
    """The counter's update period, fitted through its changes while the model runs."""
    from pytest_pruneenergy.measure.ticks import (
        TickRecorder,
        on_periodic_grid,
        update_period_seconds,
    )

    with TickRecorder(meter) as recorder:
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            run_batch()
    recorder.check()
    period = update_period_seconds(on_periodic_grid(recorder.ticks()))
    if period is None:
        raise RuntimeError("the counter did not change while the model ran")
    return period


def run(args: argparse.Namespace) -> int:
    import torch

    from pytest_pruneenergy.measure.meters import NvmlCounterMeter
    from pytest_pruneenergy.models.architectures import build_model, unpruned_architecture

    device = "cuda:0"
    meter = NvmlCounterMeter(0)
    facts = {"gpu": meter.gpu_name, "driver": meter.driver_version}
    out = Path(args.out)

    def synchronize() -> None:
        torch.cuda.synchronize(device)

    for layout in args.layouts:
        with torch.device(device):
            model = build_model(unpruned_architecture(layout, num_classes=1000)).eval()
        x = torch.randn(args.batch, 3, 224, 224, device=device)
        with torch.inference_mode():

            def run_batch(model=model, x=x) -> Any:
                return model(x)

            passes_per_second(run_batch, synchronize, 1.0)  # CUDA context, cuDNN, clocks
            seconds_per_pass = 1 / passes_per_second(run_batch, synchronize, 1.0)
            period = fitted_period_seconds(run_batch, meter, PERIOD_FIT_SECONDS)
            seed = ProtocolSettings(protocol="seed")
            for timed_passes in pass_counts(seed.seed_timed_passes, seconds_per_pass, period):
                settings = ProtocolSettings(
                    protocol="seed", seed_trials=args.trials, seed_timed_passes=timed_passes
                )
                stats = measure(run_batch, device, meter, args.batch, settings)
                trial_seconds = stats.seconds_measured / args.trials
                record = {
                    **facts,
                    "model": layout,
                    "batch": args.batch,
                    "trials": args.trials,
                    "timed_passes": timed_passes,
                    "period_seconds": period,
                    "trial_seconds": trial_seconds,
                    "off_whole_periods": periods_off_whole(trial_seconds, period),
                    "joules_per_sample": stats.joules_per_sample_mean,
                    "trial_std": stats.joules_per_sample_std,
                    "ci95": stats.joules_per_sample_ci95,
                    "seconds_per_pass": seconds_per_pass,
                    # all trials' warm-up: with the timed part, each trial's whole cycle
                    "warmup_seconds": stats.warmup_seconds,
                }
                with out.open("a") as lines:
                    lines.write(json.dumps(record) + "\n")
                print(json.dumps(record), flush=True)
        del model
        torch.cuda.empty_cache()
    meter.close()
    return 0


def render(args: argparse.Namespace) -> int:
    everything = read_json_lines(args.results)
    records = [r for r in everything if "timed_passes" in r]
    ours_by_row: dict[tuple[str, int], list[float]] = {}
    for record in everything:
        if record.get("method") == "ours":
            ours_by_row.setdefault((record["model"], record["batch"]), []).append(
                record["joules_per_sample"]
            )
    lines = [
        "# The seed protocol's trials against the counter's updates",
        "",
        f"GPU: {gpus_of(records)}. Unpruned models, 224x224, FP32. Made by",
        "`python benchmarks/seed_phase.py run` on the GPU (ours by `precision.py run --part",
        "ours` on the same machine) and rendered by:",
        "",
        "```",
        f"python benchmarks/seed_phase.py render {' '.join(args.results)} {args.out}",
        "```",
        "",
        "The seed protocol with its timed passes per trial moved around 500 so that the",
        "trials' length steps through an update period of NVML's energy counter (fitted over",
        "a few seconds of the model running; how much of a period each sweep covered is",
        "below the table). `off whole periods`: how far a trial's timed",
        "seconds are from a whole number of updates, as a fraction of one (0 to 0.5; the",
        "reads' own ~4 ms blur it by ~0.04). `per-trial CV`: how much the trials of one",
        "measurement scattered; `seed CI`: the 95 % CI the seed protocol reports from them.",
        "`vs ours`: the seed's mean against the mean of ours' repeats on the same machine,",
        "and whether ours' mean lies inside the seed's CI.",
        "",
        "| model | batch | period ms | timed passes | trial s | off whole periods "
        "| per-trial CV % | J/sample | seed CI % | vs ours | ours inside seed CI |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for record in sorted(records, key=lambda r: (r["model"], r["batch"], r["timed_passes"])):
        mean = record["joules_per_sample"]
        # Records from before ci95 was written carry the trials' std, from which it comes.
        ci = record.get("ci95") or half_width_from_std(record["trial_std"], record["trials"])
        ours = ours_by_row.get((record["model"], record["batch"]))
        versus = inside = ""
        if ours:
            ours_mean = statistics.fmean(ours)
            versus = f"{100 * (mean / ours_mean - 1):+.2f} %"
            inside = "yes" if abs(mean - ours_mean) <= ci else "no"
        lines.append(
            f"| {record['model']} | {record['batch']} | {1000 * record['period_seconds']:.2f} "
            f"| {record['timed_passes']} | {record['trial_seconds']:.4f} "
            f"| {record['off_whole_periods']:.3f} "
            f"| {100 * record['trial_std'] / mean:.2f} | {mean:.4g} "
            f"| {100 * ci / mean:.2f} | {versus} | {inside} |"
        )
    lines.append("")
    sweeps: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for record in records:
        sweeps.setdefault((record["model"], record["batch"]), []).append(record)
    for (model, batch), runs in sorted(sweeps.items()):
        lengths = [r["trial_seconds"] for r in runs]
        covered = (max(lengths) - min(lengths)) / runs[0]["period_seconds"]
        passes = [r["timed_passes"] for r in runs]
        lines.append(
            f"- {model} at {batch}: {min(passes)}-{max(passes)} timed passes, trials "
            f"{min(lengths):.4f}-{max(lengths):.4f} s, {covered:.2f} of an update period."
        )
    for (model, batch), energies in sorted(ours_by_row.items()):
        lines.append(
            f"- Ours, {model} at {batch}: {statistics.fmean(energies):.4g} J/sample, CV "
            f"{cv_percent(energies):.2f} % over {len(energies)} repeats."
        )
    write_page(args.out, lines)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="measure on the GPU; append JSON lines")
    run_parser.add_argument("--out", required=True)
    run_parser.add_argument("--layouts", type=lambda t: t.split(","), default=["vgg16", "vgg11"])
    run_parser.add_argument("--batch", type=int, default=8)
    run_parser.add_argument("--trials", type=int, default=10)
    run_parser.set_defaults(handler=run)
    render_parser = commands.add_parser("render", help="write the Markdown table")
    render_parser.add_argument("results", nargs="+")
    render_parser.add_argument("out")
    render_parser.set_defaults(handler=render)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
