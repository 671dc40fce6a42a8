"""What does the harness's own loop cost a launch-bound model? Bare loop against the harness's
loop, in interleaved chunks so that the host's drift (15 % between chunks on an H200 host, see
host_drift.py) falls on all arms alike.

Arms, each a chunk of ``--chunk-seconds`` of back-to-back forward passes, in rotating order
within each round:

- ``bare``: the passes alone;
- ``fresh``: the harness's loop (``protocol.EventPassClock``: a CUDA event after each pass, the
  queue bound, completions read every 0.1 s) with a new ``torch.cuda.Event`` per pass;
- ``reused``: the same loop with events reused once read (``CudaEvents``' default);
- ``spaced-Nms``: the reused loop with one event per ~N ms of passes instead of one per pass
  (``ProtocolSettings.marker_spacing_seconds``), for each of ``--spacings`` (seconds).

Each round's arm FPS over that round's bare FPS is one ratio; the median over rounds is the
harness's cost. Run without and with the NVML tick poller running in its thread, as it does
during a measurement. Models: AlexNet and VGG11 at batch 1, AlexNet at batch 8 (unpruned,
224x224, FP32), the launch-bound rows of benchmarks/precision.md.

    python benchmarks/harness_cost.py --out cost.json      # on the GPU, ~2 min
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from benchlib import passes_per_second

ROUNDS = 12
CHUNK_SECONDS = 0.25
CHECK_SECONDS = 0.1  # as protocol.ProtocolSettings.check_interval_seconds
ROWS = (("alexnet", 1), ("vgg11", 1), ("alexnet", 8))
SPACINGS_SECONDS = (0.001, 0.002, 0.005)


def spaced_arm(spacing_seconds: float) -> str:
    return f"spaced-{spacing_seconds * 1000:g}ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--chunk-seconds", type=float, default=CHUNK_SECONDS)
    parser.add_argument(
        "--spacings",
        type=lambda text: tuple(float(part) for part in text.split(",")),
        default=SPACINGS_SECONDS,
        help="marker spacings to try, seconds, comma-separated (default: %(default)s)",
    )
    args = parser.parse_args()
    arms = ("bare", "fresh", "reused", *(spaced_arm(s) for s in args.spacings))

    import torch

    from pytest_pruneenergy.architectures import build_model, unpruned_architecture
    from pytest_pruneenergy.meters import NvmlCounterMeter
    from pytest_pruneenergy.protocol import (
        CudaEvents,
        EventPassClock,
        ProtocolSettings,
        passes_per_marker,
        queue_limit_passes,
    )
    from pytest_pruneenergy.ticks import TickRecorder

    device = "cuda:0"
    meter = NvmlCounterMeter(0)
    result: dict[str, Any] = {
        "gpu": meter.gpu_name,
        "driver": meter.driver_version,
        "torch": torch.__version__,
        "rows": [],
    }

    def synchronize() -> None:
        torch.cuda.synchronize(device)

    def harness_chunk(run_batch: Callable[[], Any], clock: EventPassClock) -> float:
        start = clock.begin()
        passes = 0
        next_check = start + CHECK_SECONDS
        while True:
            run_batch()
            clock.after_pass()
            passes += 1
            now = time.perf_counter()
            if now - start >= args.chunk_seconds:
                break
            if now >= next_check:
                clock.completions()
                next_check = now + CHECK_SECONDS
        clock.completions(wait=True)
        return passes / (time.perf_counter() - start)

    for layout, batch in ROWS:
        with torch.device(device):
            model = build_model(unpruned_architecture(layout, num_classes=1000)).eval()
        x = torch.randn(batch, 3, 224, 224, device=device)
        with torch.inference_mode():

            def run_batch(model=model, x=x) -> Any:
                return model(x)

            for _ in range(4):  # warm-up: cuDNN, allocator, clocks
                rate = passes_per_second(run_batch, synchronize, args.chunk_seconds)
            limit = queue_limit_passes(1 / rate, ProtocolSettings())
            clocks = {
                "fresh": EventPassClock(CudaEvents(device, reuse=False)),
                "reused": EventPassClock(CudaEvents(device)),
            }
            passes_per_spaced_marker = {}
            for spacing_seconds in args.spacings:
                clock = EventPassClock(CudaEvents(device))
                spacing = ProtocolSettings(marker_spacing_seconds=spacing_seconds)
                passes_per_spaced_marker[spaced_arm(spacing_seconds)] = passes_per_marker(
                    1 / rate, spacing
                )
                clock.space_markers(passes_per_spaced_marker[spaced_arm(spacing_seconds)])
                clocks[spaced_arm(spacing_seconds)] = clock
            for clock in clocks.values():
                clock.limit_queue(limit)
            for poller in (False, True):
                context = TickRecorder(meter) if poller else nullcontext()
                fps: dict[str, list[float]] = {arm: [] for arm in arms}
                with context:
                    if poller:  # past the poller's first 5 ticks, after which it sleeps
                        for _ in range(int(0.6 / args.chunk_seconds) + 1):
                            passes_per_second(run_batch, synchronize, args.chunk_seconds)
                    for round_index in range(args.rounds):
                        shift = round_index % len(arms)
                        for arm in arms[shift:] + arms[:shift]:
                            if arm == "bare":
                                fps[arm].append(
                                    passes_per_second(run_batch, synchronize, args.chunk_seconds)
                                )
                            else:
                                fps[arm].append(harness_chunk(run_batch, clocks[arm]))
                ratios = {
                    arm: [a / b for a, b in zip(fps[arm], fps["bare"], strict=True)]
                    for arm in arms[1:]
                }
                row = {
                    "model": layout,
                    "batch": batch,
                    "poller": poller,
                    "passes_per_marker": passes_per_spaced_marker,
                    "fps": fps,
                    "median_over_bare": {arm: statistics.median(r) for arm, r in ratios.items()},
                    "bare_fps_median": statistics.median(fps["bare"]),
                }
                result["rows"].append(row)
                print(json.dumps({k: v for k, v in row.items() if k != "fps"}), flush=True)
        del model
        torch.cuda.empty_cache()
    meter.close()
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
