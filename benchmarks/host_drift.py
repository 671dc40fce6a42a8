"""Why does energy per sample at batch 1 scatter across repeats? Is it the host, or the harness?

At batch 1 an eager forward pass is launch-bound: the GPU waits for Python to issue kernels, so
throughput, and with it energy per sample, follows the speed of one host thread. This probe
measures, for AlexNet and VGG11 (unpruned, torchvision layouts, 224x224, FP32) at batch 1:

- ``bare``: a plain loop, in consecutive chunks of ``--chunk-seconds``: how much a launch-bound
  model's own throughput drifts from chunk to chunk, with no harness at all;
- ``bare-pinned``: the same with the measuring thread pinned to the one CPU it was running on
  (``os.sched_setaffinity`` of the calling thread; the tick poller, started later, inherits
  it), to see whether moving between cores explains the drift;
- ``pairs``: chunks alternating between the bare loop and the harness's loop (a CUDA event
  recorded after each pass, and the NVML tick poller running in its thread), so that the ratio of
  each pair compares the two under the same host conditions: the harness's own cost, free of
  drift. Run unpinned and pinned.

    python benchmarks/host_drift.py --out drift.json      # on the GPU, ~1 min

Writes one JSON object: host facts (CPU model, cores, frequencies where the kernel shows them)
and, per model and way, the FPS of every chunk with the CPU the loop was on.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

from benchlib import current_cpu, passes_per_second

CHUNKS = 24
CHUNK_SECONDS = 0.25


def host_facts() -> dict[str, Any]:
    facts: dict[str, Any] = {"cpus": os.cpu_count(), "load_average": os.getloadavg()}
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return facts
    models = {line.split(":", 1)[1].strip() for line in info.splitlines() if "model name" in line}
    megahertz = [
        float(line.split(":", 1)[1]) for line in info.splitlines() if line.startswith("cpu MHz")
    ]
    facts["cpu_model"] = sorted(models)
    if megahertz:
        facts["cpu_mhz_min_median_max"] = [
            min(megahertz),
            statistics.median(megahertz),
            max(megahertz),
        ]
    governor = Path("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
    facts["governor"] = governor.read_text().strip() if governor.exists() else None
    return facts


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "cv_percent": 100 * statistics.stdev(values) / statistics.fmean(values),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--chunks", type=int, default=CHUNKS)
    parser.add_argument("--chunk-seconds", type=float, default=CHUNK_SECONDS)
    args = parser.parse_args()

    import torch

    from pytest_pruneenergy.measure.meters import NvmlCounterMeter
    from pytest_pruneenergy.measure.ticks import TickRecorder
    from pytest_pruneenergy.models.architectures import build_model, unpruned_architecture

    device = torch.device("cuda:0")
    meter = NvmlCounterMeter(0)
    result: dict[str, Any] = {
        "gpu": meter.gpu_name,
        "driver": meter.driver_version,
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "host": host_facts(),
        "models": {},
    }
    all_cpus = os.sched_getaffinity(0)

    def synchronize() -> None:
        torch.cuda.synchronize(device)

    for layout in ("alexnet", "vgg11"):
        with torch.device(device):
            model = build_model(unpruned_architecture(layout, num_classes=1000)).eval()
        x = torch.randn(1, 3, 224, 224, device=device)
        stream = torch.cuda.current_stream(device)
        events: list[Any] = []

        def bare_pass(model=model, x=x) -> None:
            model(x)

        def harness_pass(model=model, x=x, stream=stream, events=events) -> None:
            model(x)
            event = torch.cuda.Event(enable_timing=True)
            event.record(stream)
            events.append(event)

        ways: dict[str, Any] = {}
        with torch.inference_mode():
            for _ in range(4):  # warm-up: cuDNN, allocator, clocks
                passes_per_second(bare_pass, synchronize, args.chunk_seconds)
            for pinned in (False, True):
                suffix = "-pinned" if pinned else ""
                cpu = current_cpu()
                if pinned and cpu is not None:
                    os.sched_setaffinity(0, {cpu})
                bare = []
                for _ in range(args.chunks):
                    fps = passes_per_second(bare_pass, synchronize, args.chunk_seconds)
                    bare.append({"fps": fps, "cpu": current_cpu()})
                pairs = []
                with TickRecorder(meter):
                    for _ in range(args.chunks // 2):
                        bare_fps = passes_per_second(bare_pass, synchronize, args.chunk_seconds)
                        harness_fps = passes_per_second(
                            harness_pass, synchronize, args.chunk_seconds
                        )
                        events.clear()
                        pairs.append(
                            {"bare": bare_fps, "harness": harness_fps, "cpu": current_cpu()}
                        )
                os.sched_setaffinity(0, all_cpus)
                ways[f"bare{suffix}"] = {
                    "chunks": bare,
                    "summary": summary([c["fps"] for c in bare]),
                }
                ratios = [p["harness"] / p["bare"] for p in pairs]
                ways[f"pairs{suffix}"] = {
                    "chunks": pairs,
                    "harness_over_bare": summary(ratios),
                }
                print(
                    layout,
                    suffix or "unpinned",
                    json.dumps(
                        {
                            "bare": ways[f"bare{suffix}"]["summary"],
                            "harness_over_bare": ways[f"pairs{suffix}"]["harness_over_bare"],
                        }
                    ),
                    flush=True,
                )
        result["models"][layout] = ways
        del model
        torch.cuda.empty_cache()
    meter.close()
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
