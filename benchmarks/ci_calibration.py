"""Is the confidence interval the harness reports as wide as the scatter between repeats?

For AlexNet, VGG11 and VGG16 (unpruned, 224x224, FP32) at batch sizes 1, 8, 32 and 64, each
measured ``--repeats`` times by the adaptive protocol run to its time cap (no early stop), this
keeps every window (joules, samples, seconds) and then compares, per model and batch, the 95 %
CI half-width that a variance estimator gives one measurement against 1.96 x the standard
deviation of the repeats' estimates, which is what that half-width should be if it is honest.
A ratio well above 1 stops items later than they need; well below 1 promises precision that is
not there.

    python benchmarks/ci_calibration.py run --out windows.jsonl      # on the GPU, ~4 min
    python benchmarks/ci_calibration.py analyze windows.jsonl \
        --out docs/benchmarks/ci-calibration/ci-calibration.md

Estimators compared, on the same windows: ``iid``, the ratio estimator over the windows as
recorded (``stats.ratio_estimate``: windows as independent); ``bartlett``, the same variance
plus the lag-1 autocovariance at Bartlett weight 1/2; ``edges``, a moving-average-1 model in
which each shared window edge's timing error cancels in the total (lag-1 at full weight,
floored, half the degrees of freedom); ``pairs``, the ratio estimator over pairs of adjacent
windows; ``grid``, the ratio estimator after moving the window edges onto the periodic grid
fitted through them (``ticks.on_periodic_grid``). Besides the repeats' scatter, each is checked
inside each run: the two halves' estimates should differ by no more than their CIs combined
(``halves within CI``; for an honest CI about 95 % of runs).

In docs/benchmarks/ci-calibration/: ``ci-calibration-h200-before-grid.jsonl`` (rendered as
``ci-calibration-before-grid.md``) was recorded before the harness fitted the grid itself, so
there ``iid`` is the harness as it was and ``grid`` the harness as it is.
``ci-calibration-h200-grid.jsonl`` (rendered as ``ci-calibration.md``) was recorded with the
grid fit and 2 ms marker spacing live: its windows sit on the grid already, so the two columns
agree.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib import add_model_grid_arguments, gpus_of, read_json_lines

from pytest_pruneenergy.measure.stats import RatioEstimate, ratio_estimate, student_t_critical
from pytest_pruneenergy.measure.ticks import Tick, on_periodic_grid

LAYOUTS = ("alexnet", "vgg11", "vgg16")
BATCH_SIZES = (1, 8, 32, 64)
MAX_SECONDS = 3.0


def run_to_the_cap() -> Any:
    """Protocol settings under which every measurement runs to the cap and keeps all its
    windows: a target of 0 is never met, and no item stops as out of the target's reach
    (which, against a target of 0, every item would at its tenth window)."""
    from pytest_pruneenergy.measure.protocol import ProtocolSettings

    return ProtocolSettings(
        max_seconds=MAX_SECONDS, target_ci_fraction=0.0, out_of_reach_factor=math.inf
    )


def lag_one_ratio_estimate(
    joules: Sequence[float], samples: Sequence[float], *, lag_weight: float, full_model: bool
) -> RatioEstimate:
    """The ratio estimator with the residuals' lag-1 autocovariance added to the variance."""
    count = len(joules)
    value = sum(joules) / sum(samples)
    residuals = [y - value * x for y, x in zip(joules, samples, strict=True)]
    gamma0 = sum(r * r for r in residuals) / count
    gamma1 = sum(a * b for a, b in itertools.pairwise(residuals)) / count
    variance_of_sum = count * gamma0 + 2 * lag_weight * (count - 1) * gamma1
    degrees = count - 1
    if full_model:  # the two outer edges' errors remain: never below one window's variance
        variance_of_sum = max(variance_of_sum, 2 * gamma0)
        degrees = max(1, (count - 1) // 2)
    variance_of_sum *= count / (count - 1)
    standard_error = math.sqrt(max(variance_of_sum, 0.0)) / sum(samples)
    return RatioEstimate(value, student_t_critical(0.95, degrees) * standard_error)


def pairs_ratio_estimate(joules: Sequence[float], samples: Sequence[float]) -> RatioEstimate:
    pairs = range(0, len(joules) - 1, 2)
    return ratio_estimate(
        [joules[i] + joules[i + 1] for i in pairs], [samples[i] + samples[i + 1] for i in pairs]
    )


Window = Sequence[float]  # start seconds, end seconds, joules, samples


@dataclass(frozen=True)
class Estimator:
    """A way to place a run's windows (as measured, or on the grid), then a variance over them."""

    place: Callable[[Sequence[Window]], Sequence[Window]]
    ratio: Callable[[Sequence[float], Sequence[float]], RatioEstimate]

    def __call__(self, windows: Sequence[Window]) -> RatioEstimate:
        return self.over(self.place(windows))

    def over(self, placed: Sequence[Window]) -> RatioEstimate:
        return self.ratio([w[2] for w in placed], [w[3] for w in placed])


# NVML's update period, as the H200 runs show it (99.8 to 100.1 ms between changes).
NVML_PERIOD_SECONDS = 0.1


def as_measured(windows: Sequence[Window]) -> Sequence[Window]:
    return windows


def on_grid(windows: Sequence[Window]) -> list[list[float]]:
    """The windows with their edges moved onto the periodic grid that ticks.on_periodic_grid
    fits through them, samples moved with the edges at the run's mean rate. (The harness fits
    every tick of the run, warm-up included; the windows keep only every other one.)"""
    edges = [windows[0][0], *(w[1] for w in windows)]
    placed = on_periodic_grid(
        [Tick(seconds, 0.0) for seconds in edges], period_seconds=NVML_PERIOD_SECONDS
    )
    rate = sum(w[3] for w in windows) / (edges[-1] - edges[0])
    shifts = [tick.seconds - seconds for tick, seconds in zip(placed, edges, strict=True)]
    return [
        [placed[i].seconds, placed[i + 1].seconds, w[2], w[3] + rate * (shifts[i + 1] - shifts[i])]
        for i, w in enumerate(windows)
    ]


ESTIMATORS: dict[str, Estimator] = {
    "iid": Estimator(as_measured, ratio_estimate),
    "bartlett": Estimator(
        as_measured,
        lambda y, x: lag_one_ratio_estimate(y, x, lag_weight=0.5, full_model=False),
    ),
    "edges": Estimator(
        as_measured, lambda y, x: lag_one_ratio_estimate(y, x, lag_weight=1.0, full_model=True)
    ),
    "pairs": Estimator(as_measured, pairs_ratio_estimate),
    "grid": Estimator(on_grid, ratio_estimate),
}


def halves_within_ci(windows: Sequence[Window], estimator: Estimator) -> bool | None:
    """Do the estimates of a run's two halves differ by no more than their CIs combined?"""
    placed = estimator.place(windows)
    half = len(placed) // 2
    parts = [placed[:half], placed[half:]]
    if any(len(part) < 4 for part in parts):
        return None
    first, second = (estimator.over(part) for part in parts)
    return abs(first.value - second.value) <= math.hypot(first.ci95, second.ci95)


def run(args: argparse.Namespace) -> int:
    import torch

    from pytest_pruneenergy.measure.meters import NvmlCounterMeter
    from pytest_pruneenergy.measure.protocol import measure
    from pytest_pruneenergy.models.architectures import build_model, unpruned_architecture

    device = "cuda:0"
    meter = NvmlCounterMeter(0)
    settings = run_to_the_cap()
    out = Path(args.out)
    for layout in args.layouts:
        with torch.device(device):
            model = build_model(unpruned_architecture(layout, num_classes=1000)).eval()
        for batch in args.batch_sizes:
            x = torch.randn(batch, 3, 224, 224, device=device)
            with torch.inference_mode():
                for repeat in range(args.repeats):
                    kept: list[Any] = []
                    stats = measure(
                        lambda model=model, x=x: model(x),
                        device,
                        meter,
                        batch,
                        settings,
                        on_windows=kept.extend,
                    )
                    record = {
                        "model": layout,
                        "batch": batch,
                        "repeat": repeat,
                        "joules_per_sample": stats.joules_per_sample_mean,
                        "ci95": stats.joules_per_sample_ci95,
                        "windows": [
                            [w.start_seconds, w.end_seconds, w.joules, w.passes * batch]
                            for w in kept
                        ],
                        "gpu": meter.gpu_name,
                        "driver": meter.driver_version,
                    }
                    with out.open("a") as lines:
                        lines.write(json.dumps(record) + "\n")
                    print(
                        json.dumps({k: v for k, v in record.items() if k != "windows"}),
                        flush=True,
                    )
        del model
        torch.cuda.empty_cache()
    meter.close()
    return 0


def calibration(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per (model, batch): each estimator's mean CI % against 1.96 x the repeats' CV %."""
    grouped: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        grouped[(record["model"], record["batch"])].append(record)
    rows = []
    for (model, batch), runs in sorted(
        grouped.items(), key=lambda item: (LAYOUTS.index(item[0][0]), item[0][1])
    ):
        row: dict[str, Any] = {"model": model, "batch": batch, "repeats": len(runs)}
        values = []
        for name, estimate in ESTIMATORS.items():
            cis = []
            checks = [halves_within_ci(record["windows"], estimate) for record in runs]
            row[f"{name}_halves"] = [c for c in checks if c is not None]
            for record in runs:
                result = estimate(record["windows"])
                cis.append(100 * result.ci95 / result.value)
                if name == "iid":
                    values.append(result.value)
            row[f"{name}_ci"] = statistics.fmean(cis)
        row["windows"] = statistics.fmean(len(r["windows"]) for r in runs)
        row["spread"] = (
            196 * statistics.stdev(values) / statistics.fmean(values)
            if len(values) > 1
            else math.nan
        )
        rows.append(row)
    return rows


def analyze(args: argparse.Namespace) -> int:
    records = read_json_lines(args.results)
    rows = calibration(records)
    names = list(ESTIMATORS)
    lines = [
        "# Does the reported CI match the scatter between repeats?",
        "",
        f"GPU: {gpus_of(records)}. Source: {', '.join(Path(p).name for p in args.results)}.",
        "Each measurement ran to the 3 s cap (warm-up included) and kept its windows; the CI",
        "columns are the mean half-width one measurement reports, as % of its estimate;",
        "`1.96 x CV %` is what that half-width should be if it described the scatter of the",
        "repeats' estimates (with 5 repeats a CV is itself uncertain by about a third).",
        "",
        "```",
        "python benchmarks/ci_calibration.py run --out windows.jsonl      # on the GPU",
        f"python benchmarks/ci_calibration.py analyze {' '.join(args.results)}"
        + (f" --out {args.out}" if args.out else ""),
        "```",
        "",
    ]
    header = ["model", "batch", "windows", "1.96 x CV %"]
    header += [f"{name} CI %" for name in names] + [f"{name} CI / (1.96 x CV)" for name in names]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    ratios: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        cells = [row["model"], str(row["batch"]), f"{row['windows']:.1f}", f"{row['spread']:.3g}"]
        cells += [f"{row[f'{name}_ci']:.3g}" for name in names]
        for name in names:
            ratio = row[f"{name}_ci"] / row["spread"] if row["spread"] > 0 else math.nan
            ratios[name].append(ratio)
            cells.append(f"{ratio:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for name in names:
        logs = [math.log(r) for r in ratios[name] if r > 0 and math.isfinite(r)]
        wide = sum(r > 1 for r in ratios[name])
        halves = [check for row in rows for check in row[f"{name}_halves"]]
        mean = f"{math.exp(statistics.fmean(logs)):.2f}" if logs else "-"
        lines.append(
            f"- {name}: geometric mean of CI / (1.96 x CV) {mean};"
            f" wider than the repeats' scatter in {wide} of {len(ratios[name])} rows; halves"
            f" within CI in {sum(halves)} of {len(halves)} runs."
        )
    text = "\n".join(lines) + "\n"
    if args.out:
        Path(args.out).write_text(text)
        print(f"wrote {args.out}")
    else:
        print(text, end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="measure on the GPU; append JSON lines")
    run_parser.add_argument("--out", required=True)
    add_model_grid_arguments(run_parser, LAYOUTS, BATCH_SIZES)
    run_parser.set_defaults(handler=run)
    analyze_parser = commands.add_parser("analyze", help="print the calibration table")
    analyze_parser.add_argument("results", nargs="+")
    analyze_parser.add_argument("--out", help="write the Markdown here instead of printing it")
    analyze_parser.set_defaults(handler=analyze)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
