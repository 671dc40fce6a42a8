"""Is the confidence interval the harness reports as wide as the scatter between repeats?

For AlexNet, VGG11 and VGG16 (unpruned, 224x224, FP32) at batch sizes 1, 8, 32 and 64, each
measured ``--repeats`` times by the adaptive protocol run to its time cap (no early stop), this
keeps every window (joules, samples, seconds) and then compares, per model and batch, the 95 %
CI half-width that a variance estimator gives one measurement against 1.96 x the standard
deviation of the repeats' estimates, which is what that half-width should be if it is honest.
A ratio well above 1 stops items later than they need; well below 1 promises precision that is
not there.

    python benchmarks/ci_calibration.py run --out windows.jsonl      # on the GPU, ~4 min
    python benchmarks/ci_calibration.py analyze windows.jsonl        # anywhere

Estimators compared (``pytest_pruneenergy.stats``): the ratio estimator over windows taken as
independent (``iid``), and the same over windows whose shared edges are allowed for
(``edges``, see ``stats.ratio_estimate_shared_edges``).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pytest_pruneenergy.stats import RatioEstimate, ratio_estimate

LAYOUTS = ("alexnet", "vgg11", "vgg16")
BATCH_SIZES = (1, 8, 32, 64)
MAX_SECONDS = 3.0


def estimators() -> dict[str, Callable[[Sequence[float], Sequence[float]], RatioEstimate]]:
    from pytest_pruneenergy import stats

    found = {"iid": ratio_estimate}
    shared = getattr(stats, "ratio_estimate_shared_edges", None)
    if shared is not None:
        found["edges"] = shared
    return found


def run(args: argparse.Namespace) -> int:
    import torch

    from pytest_pruneenergy.architectures import build_model, unpruned_architecture
    from pytest_pruneenergy.meters import NvmlCounterMeter
    from pytest_pruneenergy.protocol import ProtocolSettings, measure

    device = "cuda:0"
    meter = NvmlCounterMeter(0)
    # A target of 0 is never met: every measurement runs to the cap and keeps all its windows.
    settings = ProtocolSettings(max_seconds=MAX_SECONDS, target_ci_fraction=0.0)
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
        for name, estimate in estimators().items():
            cis = []
            for record in runs:
                joules = [w[2] for w in record["windows"]]
                samples = [w[3] for w in record["windows"]]
                result = estimate(joules, samples)
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
    records = [
        json.loads(line)
        for path in args.results
        for line in Path(path).read_text().splitlines()
        if line
    ]
    rows = calibration(records)
    names = list(estimators())
    gpus = sorted({f"{r['gpu']} (driver {r['driver']})" for r in records})
    print(f"GPU: {', '.join(gpus)}")
    header = ["model", "batch", "windows", "1.96 x CV %"]
    header += [f"{name} CI %" for name in names] + [f"{name} / spread" for name in names]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    ratios: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        cells = [row["model"], str(row["batch"]), f"{row['windows']:.1f}", f"{row['spread']:.3g}"]
        cells += [f"{row[f'{name}_ci']:.3g}" for name in names]
        for name in names:
            ratio = row[f"{name}_ci"] / row["spread"]
            ratios[name].append(ratio)
            cells.append(f"{ratio:.2f}")
        print("| " + " | ".join(cells) + " |")
    for name in names:
        logs = [math.log(r) for r in ratios[name] if r > 0 and math.isfinite(r)]
        print(f"{name}: geometric mean CI / spread {math.exp(statistics.fmean(logs)):.2f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="measure on the GPU; append JSON lines")
    run_parser.add_argument("--out", required=True)
    run_parser.add_argument("--repeats", type=int, default=5)
    run_parser.add_argument("--layouts", type=lambda t: t.split(","), default=list(LAYOUTS))
    run_parser.add_argument(
        "--batch-sizes", type=lambda t: [int(v) for v in t.split(",")], default=list(BATCH_SIZES)
    )
    run_parser.set_defaults(handler=run)
    analyze_parser = commands.add_parser("analyze", help="print the calibration table")
    analyze_parser.add_argument("results", nargs="+")
    analyze_parser.set_defaults(handler=analyze)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
