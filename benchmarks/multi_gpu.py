"""Does ``pytest -n N --dist loadgroup`` measure on N GPUs, each family on one of them?

On a machine with two or more GPUs this builds a small zoo (``--archs``, each unpruned and
pruned with PD1 and PD2 at 30 %), then runs the plugin over it twice, as a user would:

- ``parallel``: ``-n WORKERS --dist loadgroup`` with ``--prune-device auto``, so each xdist
  worker should take a GPU of its own and every family (architecture and dataset) should stay
  on one GPU, its reductions computed against a baseline measured on the same board;
- ``serial``: the same items in one process, on ``cuda:0``: the wall time to beat, and the
  same models' energy on one board, to see how much two boards of one host differ.

    python benchmarks/multi_gpu.py run --out multi.json        # on 2 GPUs, ~2 min
    python benchmarks/multi_gpu.py render multi.json docs/benchmarks/multi-gpu/multi-gpu.md

``run`` writes one JSON object: per way, pytest's exit status, wall seconds, the result rows
(model, batch size, device, energy, reduction), the run CSV (a row per device, its idle power)
and the terminal lines that name cross-device comparisons or GPUs shared between workers.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import gpus_of, plugin_pytest_command, write_page

from pytest_pruneenergy.models.naming import parse_model_name
from pytest_pruneenergy.models.pairing import family_label
from pytest_pruneenergy.report.schema import (
    BATCH_SIZE,
    CSV_NAME,
    DEVICE,
    ENERGY_REDUCTION,
    FPS,
    GPU,
    IDLE_WATTS,
    ITEMS_MEASURED,
    JOULES_PER_SAMPLE,
    MODEL_NAME,
    RUN_CSV_NAME,
    SECONDS_MEASURED,
    model_stem,
)

# Terminal lines that would mean the run did not keep families or GPUs apart.
ALARMS = ("cross-device", "share")


def pytest_command(
    models: Path, report: Path, batch_sizes: str, seconds: float, input_size: int = 224
) -> list[str]:
    options = [
        f"--prune-batch-sizes={batch_sizes}",
        f"--prune-input-shape=3,{input_size},{input_size}",
        "--prune-device=auto",
        f"--energy-max-seconds={seconds:g}",
    ]
    return plugin_pytest_command(models, report, options)


def read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as rows:
        return list(csv.DictReader(rows))


def run_way(command: list[str], report: Path) -> dict[str, Any]:
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - began
    output = done.stdout + done.stderr
    print(output[-3000:], flush=True)
    return {
        "command": command[1:],
        "exit_status": done.returncode,
        "seconds": seconds,
        "results": [
            {
                "model": model_stem(row[MODEL_NAME]),  # the CSV names files; items key on stems
                "batch": int(row[BATCH_SIZE]),
                "device": row[DEVICE],
                "joules_per_sample": float(row[JOULES_PER_SAMPLE] or "nan"),
                "fps": float(row[FPS] or "nan"),
                "energy_reduction_percent": float(row[ENERGY_REDUCTION] or "nan"),
            }
            for row in read_csv(report / CSV_NAME)
        ],
        "run_table": read_csv(report / RUN_CSV_NAME),
        "alarms": [line for line in output.splitlines() if any(word in line for word in ALARMS)],
    }


def run(args: argparse.Namespace) -> int:
    import torch

    from pytest_pruneenergy.measure.meters import NvmlCounterMeter
    from pytest_pruneenergy.models.zoo import build_zoo

    gpus = torch.cuda.device_count()
    if gpus < 2:
        print(f"multi_gpu.py needs two GPUs or more; torch sees {gpus}", file=sys.stderr)
        return 2
    meter = NvmlCounterMeter(0)
    facts = {"gpu": meter.gpu_name, "driver": meter.driver_version, "gpus": gpus}
    meter.close()
    with tempfile.TemporaryDirectory() as scratch:
        models = Path(scratch) / "models"
        build_zoo(models, layouts=args.archs, pds=[1, 2], gprs=[30], input_size=224)
        ways = {}
        for way, extra in (
            ("parallel", ["-n", str(args.workers), "--dist", "loadgroup"]),
            ("serial", ["-n", "0"]),
        ):
            report = Path(scratch) / way
            command = pytest_command(models, report, args.batch_sizes, args.max_seconds)
            ways[way] = run_way(command + extra, report)
    Path(args.out).write_text(json.dumps({**facts, "workers": args.workers, **ways}, indent=1))
    return 0


def families_on_devices(results: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each family (the key pairing a model with its baseline, as the plugin groups them) and
    the devices its rows were measured on; one device each where grouping works."""
    devices: dict[str, set[str]] = {}
    for row in results:
        family = family_label(parse_model_name(row["model"]), row["model"])
        devices.setdefault(family, set()).add(row["device"])
    return {family: sorted(found) for family, found in sorted(devices.items())}


def _watts(text: str) -> str:
    return f"{float(text):.1f}" if text else "not measured"


def render(args: argparse.Namespace) -> int:
    result = json.loads(Path(args.result).read_text())
    parallel, serial = result["parallel"], result["serial"]
    families = families_on_devices(parallel["results"])
    serial_by_key = {(r["model"], r["batch"]): r for r in serial["results"]}
    lines = [
        "# Several GPUs: one xdist worker per GPU, one family per worker",
        "",
        f"GPUs: {result['gpus']} x {gpus_of([result])}. Made by `python benchmarks/multi_gpu.py "
        "run` on the GPU machine and rendered by:",
        "",
        "```",
        f"python benchmarks/multi_gpu.py render {args.result} {args.out}",
        "```",
        "",
        f"The same zoo measured twice: `-n {result['workers']} --dist loadgroup` "
        "(parallel) and in one process on `cuda:0` (serial), `--prune-device auto` both times:",
        "",
        "```",
        " ".join(parallel["command"][2:]),
        "```",
        "",
        "| way | exit status | wall s | items | devices |",
        "|---|---|---|---|---|",
    ]
    for way, outcome in (("parallel", parallel), ("serial", serial)):
        devices = sorted({r["device"] for r in outcome["results"]})
        lines.append(
            f"| {way} | {outcome['exit_status']} | {outcome['seconds']:.1f} "
            f"| {len(outcome['results'])} | {', '.join(devices)} |"
        )
    lines += [
        "",
        "Families and the devices their rows were measured on (parallel run): "
        + "; ".join(f"{family}: {', '.join(found)}" for family, found in families.items())
        + ".",
        "",
        "Terminal lines naming a cross-device comparison or a shared GPU: "
        + (
            "; ".join(f"`{line.strip()}`" for line in parallel["alarms"])
            if parallel["alarms"]
            else "none"
        )
        + ".",
        "",
        "Run metadata of the parallel run (`pruneenergy_run.csv`):",
        "",
        "| device | GPU | idle W | items | seconds measured |",
        "|---|---|---|---|---|",
    ]
    for row in parallel["run_table"]:
        lines.append(
            f"| {row[DEVICE]} | {row[GPU]} | {_watts(row[IDLE_WATTS])} "
            f"| {row[ITEMS_MEASURED]} | {float(row[SECONDS_MEASURED]):.1f} |"
        )
    lines += [
        "",
        "The same models on two boards: energy per sample in the parallel run (on the device",
        "named) over the serial run's (on `cuda:0`). Where the device is `cuda:0` both runs used",
        "one board and the ratio shows run-to-run scatter; elsewhere it adds the difference",
        "between boards, which is why a family's reductions are computed on one board.",
        "",
        "| model | batch | device | parallel J/sample | serial J/sample | parallel / serial |",
        "|---|---|---|---|---|---|",
    ]
    ratios: dict[str, list[float]] = {}
    for row in parallel["results"]:
        other = serial_by_key.get((row["model"], row["batch"]))
        if other is None:
            continue
        ratio = row["joules_per_sample"] / other["joules_per_sample"]
        ratios.setdefault(row["device"], []).append(ratio)
        lines.append(
            f"| {row['model']} | {row['batch']} | {row['device']} "
            f"| {row['joules_per_sample']:.4g} | {other['joules_per_sample']:.4g} "
            f"| {ratio:.4f} |"
        )
    lines += [
        "",
        "Median ratio by device: "
        + "; ".join(
            f"{device}: {statistics.median(values):.4f} ({len(values)} rows)"
            for device, values in sorted(ratios.items())
        )
        + ".",
    ]
    write_page(args.out, lines)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="measure on a machine with 2+ GPUs")
    run_parser.add_argument("--out", required=True)
    run_parser.add_argument("--workers", type=int, default=2)
    run_parser.add_argument("--archs", type=lambda t: t.split(","), default=["alexnet", "vgg11"])
    run_parser.add_argument("--batch-sizes", default="8,32")
    run_parser.add_argument("--max-seconds", type=float, default=3.0)
    run_parser.set_defaults(handler=run)
    render_parser = commands.add_parser("render", help="write the Markdown page")
    render_parser.add_argument("result")
    render_parser.add_argument("out")
    render_parser.set_defaults(handler=render)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
