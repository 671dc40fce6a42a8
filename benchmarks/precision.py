"""How precise and how fast is the energy harness? Ours against the seed's protocol and a naive
two-read window, on a real GPU.

For AlexNet, VGG11 and VGG16 (unpruned, torchvision layouts, 1000 classes, 224x224, FP32) at
batch sizes 1, 8, 32 and 64, each measured ``--repeats`` times:

- ours: the adaptive, tick-aligned protocol (pytest_pruneenergy.measure.protocol, default settings);
- naive: two meter reads bracketing the very same run as ours, divided by all its samples
  (the seed tool's and Zeus's window), so both see identical work;
- seed: PruneEnergyAnalyzer's protocol (20 trials x (100 warm-up + 500 timed passes)),
  ``--seed-repeats`` times at batch sizes 1 and 8 only: at 64 one VGG16 item takes minutes;
- bare: the same model and batch in a plain loop, timed by two synchronizations, for the FPS
  the harness must not reduce;
- graph: ours again at batch sizes 1 and 8 with each pass replayed as a captured CUDA graph
  (``--energy-cuda-graphs``), with its own bare loop replaying the same graph.

    python benchmarks/precision.py run --part ours --out ours.jsonl    # on the GPU, ~6.5 min
    python benchmarks/precision.py run --part seed --out seed.jsonl    # on the GPU, ~4.5 min
    python benchmarks/precision.py render ours.jsonl seed.jsonl \
        docs/benchmarks/precision/precision-runN.md

In one 10-minute call: ``run --part all --no-graphs`` (ours without the CUDA-graph rows, and
the seed: 8.1 min on an H200, run 7). With the graph rows ``--part all`` takes ~11 min; ``run
--part ours --batch-sizes 1,8`` measures the graph rows beside their eager ones (~4 min).
``--seed-trials N`` runs the seed protocol at another length, to measure how its CV falls.
``--seed-time-ratio R`` (with ``--part all``) gives the seed, row by row, as many trials as make
R times the time ours just took there: the issue's target, "the seed takes at least 20x longer
at equal or worse CV", tested directly rather than scaled:

    python benchmarks/precision.py run --part all --no-graphs --batch-sizes 8 \
        --seed-time-ratio 20 --out ratio.jsonl     # ~3 min a model on an H200

``run`` appends one JSON line per measurement, so a run split in parts (``--part``) adds up.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from benchlib import (
    add_model_grid_arguments,
    gpus_of,
    passes_per_second,
    read_json_lines,
    write_page,
)

from pytest_pruneenergy.measure.cuda_graphs import capture_forward
from pytest_pruneenergy.measure.protocol import ProtocolSettings, measure, measure_idle_watts
from pytest_pruneenergy.measure.stats import confidence_half_width
from pytest_pruneenergy.measure.window_stats import dynamic_joules_per_sample

LAYOUTS = ("alexnet", "vgg11", "vgg16")
BATCH_SIZES = (1, 8, 32, 64)
SEED_BATCH_SIZES = (1, 8)
# Launch-bound sizes, measured again with each pass replayed as a CUDA graph.
GRAPH_BATCH_SIZES = (1, 8)
BARE_LOOP_SECONDS = 0.5
OURS_MAX_SECONDS = 3.0  # warm-up included; measurement itself stops at the CI target
SEED_METER_READ_SECONDS = 0.004  # one NVML total-energy read on an H200 (nvml_probe.py)


def cv_percent(values: Iterable[float]) -> float:
    values = list(values)
    if len(values) < 2:
        return math.nan
    return 100 * statistics.stdev(values) / statistics.fmean(values)


def companion(method: str, kind: str) -> str:
    """``naive``/``bare`` records of eager runs keep their names from earlier runs' files."""
    return kind if method == "ours" else f"{method}-{kind}"


def trials_for_seconds(
    seconds: float, frames_per_second: float, batch: int, settings: ProtocolSettings
) -> int:
    """Seed trials that take about ``seconds`` at ``frames_per_second``: each trial runs its
    warm-up and timed passes and reads the meter twice (~4 ms a read on an H200)."""
    if not (seconds > 0 and frames_per_second > 0 and batch > 0):
        raise ValueError(
            f"need positive seconds, FPS and batch, got {seconds}, {frames_per_second}, {batch}"
        )
    passes = settings.seed_warmup_passes + settings.seed_timed_passes
    trial_seconds = passes * batch / frames_per_second + 2 * SEED_METER_READ_SECONDS
    return max(1, math.ceil(seconds / trial_seconds))


def bare_loop_fps(
    run_batch: Callable[[], Any], synchronize: Callable[[], None], batch: int
) -> float:
    for _ in range(10):
        run_batch()
    return batch * passes_per_second(run_batch, synchronize, BARE_LOOP_SECONDS)


def run(args: argparse.Namespace) -> int:
    import torch

    from pytest_pruneenergy.measure.meters import NvmlCounterMeter
    from pytest_pruneenergy.models.architectures import build_model, unpruned_architecture

    device = "cuda:0"
    meter = NvmlCounterMeter(0)
    facts = {"gpu": meter.gpu_name, "driver": meter.driver_version}
    parts = {"ours", "seed"} if args.part == "all" else {args.part}
    out = Path(args.out)

    def emit(record: dict[str, Any]) -> None:
        record.update(facts)
        with out.open("a") as lines:  # a line per measurement survives a run cut short
            lines.write(json.dumps(record) + "\n")
        print(json.dumps(record), flush=True)

    def synchronize() -> None:
        torch.cuda.synchronize()

    idle_watts = None
    if "ours" in parts:
        idle_watts = measure_idle_watts(meter, device)
        emit({"method": "idle", "watts": idle_watts})

    def measure_ours(
        common: dict[str, Any], method: str, run_batch: Callable[[], Any]
    ) -> list[dict[str, Any]]:
        """``args.repeats`` measurements by our protocol, each between two bare loops."""
        settings = ProtocolSettings(max_seconds=OURS_MAX_SECONDS)
        batch = common["batch"]
        measured = []
        for repeat in range(args.repeats):
            # Just before and just after each repeat: a launch-bound model's own throughput
            # drifts over seconds on a shared host; the mean of the two brackets ours.
            bare_before = bare_loop_fps(run_batch, synchronize, batch)
            began = time.perf_counter()
            stats = measure(run_batch, device, meter, batch, settings)
            wall = time.perf_counter() - began
            bare_after = bare_loop_fps(run_batch, synchronize, batch)
            row = {**common, "repeat": repeat}
            ours = {
                **row,
                "method": method,
                "joules_per_sample": stats.joules_per_sample_mean,
                "dynamic_joules_per_sample": dynamic_joules_per_sample(stats, idle_watts),
                "ci95": stats.joules_per_sample_ci95,
                "seconds_measured": stats.seconds_measured,
                "seconds_total": wall,
                "fps": stats.frames_per_second,
                "converged": stats.converged,
                "windows": stats.windows,
                "update_period": stats.update_period_seconds,
                "sm_clock_mhz": [stats.sm_clock_start_mhz, stats.sm_clock_end_mhz],
                "temperature_celsius": [
                    stats.temperature_start_celsius,
                    stats.temperature_end_celsius,
                ],
            }
            emit(ours)
            measured.append(ours)
            emit(
                {
                    **row,
                    "method": companion(method, "naive"),
                    "joules_per_sample": stats.naive_joules_per_sample,
                    "seconds_measured": stats.seconds_measured,
                    "seconds_total": wall,
                }
            )
            emit(
                {
                    **row,
                    "method": companion(method, "bare"),
                    "fps": (bare_before + bare_after) / 2,
                    "fps_before_after": [bare_before, bare_after],
                }
            )
        return measured

    for layout in args.layouts:
        with torch.device(device):
            model = build_model(unpruned_architecture(layout, num_classes=1000)).eval()
        for batch in args.batch_sizes:
            x = torch.randn(batch, 3, 224, 224, device=device)
            common = {"model": layout, "batch": batch}
            with torch.inference_mode():

                def run_batch(model=model, x=x) -> Any:
                    return model(x)

                ours: list[dict[str, Any]] = []
                if "ours" in parts:
                    ours = measure_ours(common, "ours", run_batch)
                    if args.graphs and batch in GRAPH_BATCH_SIZES:
                        measure_ours(common, "graph", capture_forward(model, x, device))
                if "seed" in parts and batch in SEED_BATCH_SIZES:
                    trials = args.seed_trials
                    if args.seed_time_ratio is not None:
                        trials = trials_for_seconds(
                            args.seed_time_ratio
                            * statistics.fmean(r["seconds_total"] for r in ours),
                            statistics.fmean(r["fps"] for r in ours),
                            batch,
                            ProtocolSettings(protocol="seed"),
                        )
                    settings = ProtocolSettings(protocol="seed", seed_trials=trials)
                    # Another trial count, or a count chosen by time, is another method: its own
                    # rows, never mixed into the seed's standard ones.
                    standard = (
                        args.seed_time_ratio is None and trials == ProtocolSettings().seed_trials
                    )
                    seed_method = "seed" if standard else f"seed-{trials}"
                    for repeat in range(args.seed_repeats):
                        began = time.perf_counter()
                        stats = measure(run_batch, device, meter, batch, settings)
                        wall = time.perf_counter() - began
                        emit(
                            {
                                **common,
                                "repeat": repeat,
                                "method": seed_method,
                                "trials": trials,
                                "time_ratio_target": args.seed_time_ratio,
                                "joules_per_sample": stats.joules_per_sample_mean,
                                "ci95": stats.joules_per_sample_ci95,
                                # across its trials: the seed's own scatter, per trial
                                "trial_std": stats.joules_per_sample_std,
                                "seconds_measured": stats.seconds_measured,
                                "seconds_total": wall,
                                "fps": stats.frames_per_second,
                            }
                        )
        del model
        torch.cuda.empty_cache()
    meter.close()
    return 0


def summarize(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (model, batch): each method's mean, CV across repeats, time, FPS."""
    grouped: dict[tuple[str, int], dict[str, list[dict[str, Any]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for record in records:
        if record["method"] != "idle":
            grouped[(record["model"], record["batch"])][record["method"]].append(record)
    rows = []
    for (model, batch), methods in sorted(
        grouped.items(), key=lambda item: (LAYOUTS.index(item[0][0]), item[0][1])
    ):
        row: dict[str, Any] = {"model": model, "batch": batch}
        for method in ("ours", "naive", "seed", "graph", "graph-naive"):
            runs = methods.get(method, [])
            energies = [r["joules_per_sample"] for r in runs]
            row[f"{method}_n"] = len(runs)
            row[f"{method}_mean"] = statistics.fmean(energies) if energies else math.nan
            row[f"{method}_cv"] = cv_percent(energies)
            row[f"{method}_ci"] = confidence_half_width(energies) if len(energies) > 1 else math.nan
            # The CI each measurement reported, as % of its mean: set against the CV to see
            # whether one measurement's CI is honest about repeat-to-repeat spread.
            row[f"{method}_reported_ci"] = (
                statistics.fmean(100 * r["ci95"] / r["joules_per_sample"] for r in runs)
                if runs and "ci95" in runs[0]
                else math.nan
            )
            row[f"{method}_seconds"] = (
                statistics.fmean(r["seconds_total"] for r in runs) if runs else math.nan
            )
            row[f"{method}_measured"] = (
                statistics.fmean(r["seconds_measured"] for r in runs) if runs else math.nan
            )
            row[f"{method}_converged"] = sum(bool(r.get("converged")) for r in runs)
            dynamic = [
                r["dynamic_joules_per_sample"]
                for r in runs
                if r.get("dynamic_joules_per_sample") is not None
            ]
            row[f"{method}_dynamic_mean"] = statistics.fmean(dynamic) if dynamic else math.nan
            row[f"{method}_dynamic_cv"] = cv_percent(dynamic)
        for method, bare in (("ours", "bare"), ("graph", "graph-bare")):
            timed, plain = methods.get(method, []), methods.get(bare, [])
            row[f"{method}_fps"] = statistics.fmean(r["fps"] for r in timed) if timed else math.nan
            row[f"{bare}_fps"] = statistics.fmean(r["fps"] for r in plain) if plain else math.nan
            row[f"{method}_fps_cv"] = cv_percent(r["fps"] for r in timed)
            row[f"{bare}_fps_cv"] = cv_percent(r["fps"] for r in plain)
        row["converged"] = row["ours_converged"]
        rows.append(row)
    return rows


def _number(value: float, digits: int = 4) -> str:
    return "" if value is None or math.isnan(value) else f"{value:.{digits}g}"


def render(args: argparse.Namespace) -> int:
    records = read_json_lines(args.results)
    rows = summarize(records)
    bare = [r for r in records if r.get("method") == "bare"]
    # Runs 2 to 4 timed one bare loop, after each repeat; later runs one either side of it.
    if bare and all("fps_before_after" in r for r in bare):
        when = [
            "the mean of one loop just before and one just after each repeat of ours (their CVs",
            "show how much the workload itself drifts).",
        ]
    else:
        when = [
            "right after each repeat of ours (their CVs show how much the workload itself",
            "drifts).",
        ]
    lines = [
        "# Precision and speed of the energy harness",
        "",
        f"GPU: {gpus_of(records)}. Unpruned models, 224x224, FP32, random weights and input.",
        "Energy is gross board energy per sample (J) from NVML's total-energy counter.",
        "CV is the coefficient of variation of the per-measurement means across repeats;",
        "seconds are wall time per measurement (warm-up included); FPS of the harness is",
        "ours, FPS of the bare loop is the same model and batch timed by two synchronizations,",
        *when,
        "Naive is two counter reads bracketing the same run as ours.",
        "",
        f"Source: {', '.join(str(Path(r).name) for r in args.results)}, made by",
        "`python benchmarks/precision.py run` on the GPU (each run's options are on the study's",
        "page, docs/benchmarks/precision/README.md; the full grid and the seed fit one call as",
        "`run --part all --no-graphs --out all.jsonl`, ~8 min on an H200) and rendered by:",
        "",
        "```",
        f"python benchmarks/precision.py render {' '.join(map(str, args.results))} {args.out}",
        "```",
        "",
        "| model | batch | ours J/sample | ours CV % | ours CI % | ours s | ours converged "
        "| naive CV % "
        "| seed J/sample | seed CV % | seed s | seed/ours time | means agree | "
        "harness FPS | bare FPS | harness/bare | harness FPS CV % | bare FPS CV % |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        agree = ""
        if row["seed_n"] > 1 and row["ours_n"] > 1:
            gap = abs(row["ours_mean"] - row["seed_mean"])
            agree = "yes" if gap <= row["ours_ci"] + row["seed_ci"] else "no"
        ratio = row["seed_seconds"] / row["ours_seconds"] if row["seed_n"] else math.nan
        lines.append(
            f"| {row['model']} | {row['batch']} | {_number(row['ours_mean'])} "
            f"| {_number(row['ours_cv'], 2)} | {_number(row['ours_reported_ci'], 2)} "
            f"| {_number(row['ours_seconds'], 3)} "
            f"| {row['converged']}/{row['ours_n']} | {_number(row['naive_cv'], 2)} "
            f"| {_number(row['seed_mean'])} | {_number(row['seed_cv'], 2)} "
            f"| {_number(row['seed_seconds'], 3)} | {_number(ratio, 3)} | {agree} "
            f"| {_number(row['ours_fps'], 5)} | {_number(row['bare_fps'], 5)} "
            f"| {_number(100 * row['ours_fps'] / row['bare_fps'], 4)} % "
            f"| {_number(row['ours_fps_cv'], 2)} | {_number(row['bare_fps_cv'], 2)} |"
        )
    graph_rows = [row for row in rows if row["graph_n"]]
    if graph_rows:
        lines += [
            "",
            "## The launch-bound sizes again, each pass replayed as a CUDA graph",
            "",
            "`--energy-cuda-graphs`: the forward pass captured once and replayed, so the GPU runs",
            "its kernels back to back whatever the host does. A different workload from eager",
            "PyTorch (no launch gaps), hence its own bare loop replaying the same graph.",
            "",
            "| model | batch | graph J/sample | graph CV % | graph CI % | graph s "
            "| graph converged | naive CV % | harness FPS | bare FPS | harness/bare "
            "| bare FPS CV % | eager J/sample | graph vs eager |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in graph_rows:
            lines.append(
                f"| {row['model']} | {row['batch']} | {_number(row['graph_mean'])} "
                f"| {_number(row['graph_cv'], 2)} | {_number(row['graph_reported_ci'], 2)} "
                f"| {_number(row['graph_seconds'], 3)} "
                f"| {row['graph_converged']}/{row['graph_n']} "
                f"| {_number(row['graph-naive_cv'], 2)} "
                f"| {_number(row['graph_fps'], 5)} | {_number(row['graph-bare_fps'], 5)} "
                f"| {_number(100 * row['graph_fps'] / row['graph-bare_fps'], 4)} % "
                f"| {_number(row['graph-bare_fps_cv'], 2)} | {_number(row['ours_mean'])} "
                f"| {_number(100 * (row['graph_mean'] / row['ours_mean'] - 1), 3)} % |"
            )
    lines += equal_cv_section(rows)
    lines += seed_length_section(records)
    lines += seed_at_ratio_section(records)
    lines += seed_phase_section(records)
    lines += dynamic_section(rows, [r["watts"] for r in records if r["method"] == "idle"])
    write_page(args.out, lines)
    return 0


def seconds_at_equal_cv(seconds: float, cv: float, target_cv: float, exponent: float) -> float:
    """How long a protocol that took ``seconds`` for a CV of ``cv`` would take for
    ``target_cv``, were its CV to fall as time ** (-1 / exponent): exponent 2 for errors
    independent from trial to trial, 1 for errors at the ends of one long run. NaN where a CV
    is zero or unknown."""
    if not (cv > 0 and target_cv > 0):
        return math.nan
    return seconds * (cv / target_cv) ** exponent


def cv_slope(seconds: float, cv: float, base_seconds: float, base_cv: float) -> float:
    """How fast the CV fell with time between two lengths: -d log CV / d log time, 0.5 where
    it falls as 1 / sqrt(time), 1 as 1 / time (NaN where undefined)."""
    if not (cv > 0 and base_cv > 0 and seconds > 0 and base_seconds > 0) or seconds == base_seconds:
        return math.nan
    return -math.log(cv / base_cv) / math.log(seconds / base_seconds)


def equal_cv_section(rows: list[dict[str, Any]]) -> list[str]:
    """The seed protocol's time against ours, at the CV ours reached."""
    compared = [row for row in rows if row["seed_n"] > 1 and row["ours_n"] > 1]
    if not compared:
        return []
    lines = [
        "",
        "## The seed protocol's time at ours' CV",
        "",
        "The seed protocol's time scaled to the CV ours reached, as more or fewer of its 20",
        "trials would give it, over ours' time; two ways, as the seed's CV falls with its",
        "time: as 1 / sqrt(time) (errors independent from trial to trial) or as 1 / time",
        "(errors at the ends of a run). Where the seed's CV is worse than ours the second is",
        "the smaller, where it is better the larger. With three and five repeats each CV is",
        "itself uncertain by a third to a half. Its trials cannot tell: neighbouring trials",
        "share counter updates and the host's drift, so they are not independent.",
        "",
        "| model | batch | ours s | ours CV % | seed s | seed CV % | seed/ours time "
        "| seed/ours time at ours' CV, 1/sqrt(time) | same, 1/time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in compared:
        ours_seconds, ours_cv = row["ours_seconds"], row["ours_cv"]
        seed_seconds, seed_cv = row["seed_seconds"], row["seed_cv"]
        at_cv = [
            seconds_at_equal_cv(seed_seconds, seed_cv, ours_cv, exponent) / ours_seconds
            for exponent in (2, 1)
        ]
        lines.append(
            f"| {row['model']} | {row['batch']} | {_number(ours_seconds, 3)} "
            f"| {_number(ours_cv, 2)} | {_number(seed_seconds, 3)} | {_number(seed_cv, 2)} "
            f"| {_number(seed_seconds / ours_seconds, 3)} | {_number(at_cv[0], 3)} "
            f"| {_number(at_cv[1], 3)} |"
        )
    return lines


def seed_length_section(records: list[dict[str, Any]]) -> list[str]:
    """The seed protocol at other trial counts (``run --seed-trials``): its CV against its
    time, measured rather than scaled."""
    grouped: dict[tuple[str, int], dict[int, list[dict[str, Any]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for record in records:
        if record["method"].startswith("seed"):
            trials = record.get("trials", ProtocolSettings().seed_trials)
            grouped[(record["model"], record["batch"])][trials].append(record)
    lengths = {key: by_trials for key, by_trials in grouped.items() if len(by_trials) > 1}
    if not lengths:
        return []
    lines = [
        "",
        "## The seed protocol at other lengths",
        "",
        "The seed protocol with more trials (`run --seed-trials N`): how its CV falls with",
        "its time, measured. `slope` is -log(CV ratio) / log(time ratio) against 20 trials:",
        "0.5 where the CV falls as 1 / sqrt(time), 1 where it falls as 1 / time. With five",
        "repeats a CV ratio is uncertain by a factor of about two, and the slope with it.",
        "",
        "| model | batch | trials | repeats | J/sample | CV % | s | slope |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (model, batch), by_trials in sorted(lengths.items()):
        base = by_trials.get(ProtocolSettings().seed_trials)
        base_cv = cv_percent(r["joules_per_sample"] for r in base) if base else math.nan
        base_seconds = statistics.fmean(r["seconds_total"] for r in base) if base else math.nan
        for trials, runs in sorted(by_trials.items()):
            energies = [r["joules_per_sample"] for r in runs]
            cv = cv_percent(energies)
            seconds = statistics.fmean(r["seconds_total"] for r in runs)
            slope = (
                cv_slope(seconds, cv, base_seconds, base_cv)
                if trials != ProtocolSettings().seed_trials
                else math.nan
            )
            lines.append(
                f"| {model} | {batch} | {trials} | {len(runs)} "
                f"| {_number(statistics.fmean(energies))} | {_number(cv, 2)} "
                f"| {_number(seconds, 3)} | {_number(slope, 2)} |"
            )
    return lines


def at_least(value: float, other: float) -> str:
    """yes / no, or empty where either is NaN (a CV from one repeat)."""
    if math.isnan(value) or math.isnan(other):
        return ""
    return "yes" if value >= other else "no"


def seed_at_ratio_section(records: list[dict[str, Any]]) -> list[str]:
    """The seed protocol given R times ours' time (``run --seed-time-ratio R``), its CV set
    against ours' measured in the same run: the time target tested directly."""
    seed: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    ours: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        key = (record.get("model"), record.get("batch"))
        if record["method"].startswith("seed") and record.get("time_ratio_target"):
            seed[key].append(record)
        elif record["method"] == "ours":
            ours[key].append(record)
    rows = [(key, runs, ours[key]) for key, runs in sorted(seed.items()) if len(ours[key]) > 1]
    if not rows:
        return []
    lines = [
        "",
        "## The seed protocol given R times ours' time",
        "",
        "`run --seed-time-ratio R`: the seed protocol with as many trials as make R times the",
        "time ours took on the same row in the same run, so the two CVs are measured, not",
        "scaled. `seed CV >= ours'` says whether the seed, at that much more time, was still",
        "no more precise than ours (empty where a CV needs more repeats). With three and five",
        "repeats each CV is uncertain by a third to a half, so a verdict within that margin is",
        "a tie. Ours' repeats are every `ours` record of the row in the files rendered: render",
        "one run's files at a time.",
        "",
        "| model | batch | ours CV % | ours s | seed trials | seed repeats | seed CV % | seed s "
        "| seed/ours time | seed CV >= ours' | means agree |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (model, batch), seed_runs, ours_runs in rows:
        seed_energies = [r["joules_per_sample"] for r in seed_runs]
        ours_energies = [r["joules_per_sample"] for r in ours_runs]
        seed_cv, ours_cv = cv_percent(seed_energies), cv_percent(ours_energies)
        seed_seconds = statistics.fmean(r["seconds_total"] for r in seed_runs)
        ours_seconds = statistics.fmean(r["seconds_total"] for r in ours_runs)
        trials = sorted({r["trials"] for r in seed_runs})
        agree = ""
        if len(seed_energies) > 1:
            gap = abs(statistics.fmean(seed_energies) - statistics.fmean(ours_energies))
            limit = confidence_half_width(seed_energies) + confidence_half_width(ours_energies)
            agree = "yes" if gap <= limit else "no"
        lines.append(
            f"| {model} | {batch} | {_number(ours_cv, 2)} | {_number(ours_seconds, 3)} "
            f"| {', '.join(map(str, trials))} | {len(seed_runs)} | {_number(seed_cv, 2)} "
            f"| {_number(seed_seconds, 3)} | {_number(seed_seconds / ours_seconds, 3)} "
            f"| {at_least(seed_cv, ours_cv)} | {agree} |"
        )
    return lines


def periods_off_whole(seconds: float, period_seconds: float) -> float:
    """How far ``seconds`` is from a whole number of meter updates, as a fraction of one update
    period: 0 where it spans whole periods, 0.5 at most."""
    if not (seconds > 0 and period_seconds > 0):
        return math.nan
    fraction = (seconds / period_seconds) % 1
    return min(fraction, 1 - fraction)


def seed_phase_section(records: list[dict[str, Any]]) -> list[str]:
    """The seed's trials against the meter's update period: a trial whose two reads are a
    whole number of periods apart reads the counter at the same point of its update cycle at
    both ends, so the energy each read misses is the same and cancels."""
    periods = [
        r["update_period"] for r in records if r["method"] == "ours" and r.get("update_period")
    ]
    seeds = [r for r in records if r["method"].startswith("seed") and "trial_std" in r]
    if not periods or not seeds:
        return []
    period = statistics.median(periods)
    grouped: dict[tuple[str, int, str], list[dict[str, Any]]] = defaultdict(list)
    for record in seeds:
        grouped[(record["model"], record["batch"], record["method"])].append(record)
    lines = [
        "",
        "## The seed's trials against the counter's update period",
        "",
        f"The meter's update period, as ours observed it in these runs: {period * 1000:.2f} ms.",
        "Each seed trial reads the counter before and after its timed passes; each read misses",
        "the energy since the counter's last update. Where the trial spans a whole number of",
        "updates both reads fall at the same point of the update cycle, the two missed parts",
        "are alike and cancel; elsewhere they differ by up to a period's energy. `off whole",
        "periods` is how far a trial's timed seconds are from a whole number of periods, as a",
        "fraction of one (0 to 0.5; the reads' own ~4 ms blur it by ~0.04); `per-trial CV` is",
        "the scatter of its trials within one measurement, the mean over repeats.",
        "",
        "| model | batch | method | repeats | timed s a trial | off whole periods "
        "| per-trial CV % | CV across repeats % |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (model, batch, method), runs in sorted(
        grouped.items(), key=lambda item: (LAYOUTS.index(item[0][0]), item[0][1], item[0][2])
    ):
        trial_seconds = [
            r["seconds_measured"] / r.get("trials", ProtocolSettings().seed_trials) for r in runs
        ]
        offsets = [periods_off_whole(seconds, period) for seconds in trial_seconds]
        per_trial_cv = statistics.fmean(100 * r["trial_std"] / r["joules_per_sample"] for r in runs)
        lines.append(
            f"| {model} | {batch} | {method} | {len(runs)} "
            f"| {_number(statistics.fmean(trial_seconds), 4)} "
            f"| {min(offsets):.3f}-{max(offsets):.3f} | {_number(per_trial_cv, 2)} "
            f"| {_number(cv_percent(r['joules_per_sample'] for r in runs), 2)} |"
        )
    return lines


def dynamic_section(rows: list[dict[str, Any]], idle_watts: list[float | None]) -> list[str]:
    """Dynamic energy (gross less idle power x time) and how it scatters beside gross."""
    measured = [w for w in idle_watts if w is not None]
    if not measured or not any(
        row["ours_dynamic_mean"] == row["ours_dynamic_mean"] for row in rows
    ):
        return []
    lines = [
        "",
        "## Dynamic energy: what the model's work adds to the idle board",
        "",
        f"Idle power, measured once before the runs: {_number(statistics.fmean(measured), 4)} W.",
        "Dynamic J/sample = gross J/sample - idle W / FPS. Where a pass is launch-bound the",
        "board idles between kernels most of the time, so gross energy follows the host's",
        "launch speed; dynamic energy is the part the kernels themselves cost.",
        "",
        "| model | batch | gross J/sample | gross CV % | dynamic J/sample | dynamic CV % "
        "| graph dynamic J/sample | graph dynamic CV % |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['model']} | {row['batch']} | {_number(row['ours_mean'])} "
            f"| {_number(row['ours_cv'], 2)} | {_number(row['ours_dynamic_mean'])} "
            f"| {_number(row['ours_dynamic_cv'], 2)} | {_number(row['graph_dynamic_mean'])} "
            f"| {_number(row['graph_dynamic_cv'], 2)} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="measure on the GPU; append JSON lines")
    run_parser.add_argument("--out", required=True)
    run_parser.add_argument("--part", choices=("all", "ours", "seed"), default="all")
    run_parser.add_argument(
        "--no-graphs",
        dest="graphs",
        action="store_false",
        help="leave out ours again with CUDA graphs at batch 1 and 8 (saves ~2.5 min)",
    )
    add_model_grid_arguments(run_parser, LAYOUTS, BATCH_SIZES)
    run_parser.add_argument("--seed-repeats", type=int, default=3)
    run_parser.add_argument(
        "--seed-trials",
        type=int,
        default=ProtocolSettings().seed_trials,
        help="trials per seed measurement (default: the seed's %(default)s); another count is "
        "recorded as method seed-N, to see how the seed's CV falls with its time",
    )
    run_parser.add_argument(
        "--seed-time-ratio",
        type=float,
        default=None,
        help="with --part all: give the seed, row by row, the trials that make this many times "
        "ours' time there (replaces --seed-trials), to test 'the seed takes 20x longer at equal "
        "or worse CV' directly",
    )
    run_parser.set_defaults(handler=run)
    render_parser = commands.add_parser("render", help="write the Markdown table")
    render_parser.add_argument("results", nargs="+", help="JSON lines files, e.g. two parts")
    render_parser.add_argument("out")
    render_parser.set_defaults(handler=render)
    args = parser.parse_args(argv)
    if getattr(args, "seed_time_ratio", None) is not None and (
        args.part != "all" or not args.seed_time_ratio > 0
    ):
        parser.error(
            "--seed-time-ratio needs --part all (ours first, then the seed) and a "
            f"ratio > 0, got --part {args.part} and {args.seed_time_ratio}"
        )
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
