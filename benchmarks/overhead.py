"""Where does the harness cost throughput? FPS of one model in a bare loop, with per-pass CUDA
events, with the meter poller running, and under the full adaptive protocol.

    python benchmarks/overhead.py [--layout alexnet] [--batch-sizes 1,8]      # on a GPU

Launch-bound models (AlexNet at batch 1 runs ~2,000 passes/s) show any per-pass cost first.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

SECONDS = 1.5


def loop_fps(run_batch: Callable[[], Any], after_pass: Callable[[], None], batch: int) -> float:
    import torch

    for _ in range(20):
        run_batch()
    torch.cuda.synchronize()
    start = time.perf_counter()
    passes = 0
    while time.perf_counter() - start < SECONDS:
        run_batch()
        after_pass()
        passes += 1
    torch.cuda.synchronize()
    return passes * batch / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    import torch

    from pytest_pruneenergy.measure.meters import EstimateMeter, NvmlCounterMeter
    from pytest_pruneenergy.measure.protocol import (
        CudaEvents,
        EventPassClock,
        ProtocolSettings,
        measure,
    )
    from pytest_pruneenergy.measure.ticks import TickRecorder
    from pytest_pruneenergy.models.architectures import build_model, unpruned_architecture

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layout", default="alexnet")
    parser.add_argument("--batch-sizes", default="1,8")
    args = parser.parse_args(argv)
    nvml = NvmlCounterMeter(0)
    with torch.device("cuda:0"):
        model = build_model(unpruned_architecture(args.layout, num_classes=1000)).eval()
    for batch in [int(b) for b in args.batch_sizes.split(",")]:
        x = torch.randn(batch, 3, 224, 224, device="cuda:0")
        with torch.inference_mode():

            def run_batch(model=model, x=x) -> Any:
                return model(x)

            results: dict[str, float] = {}
            results["bare"] = loop_fps(run_batch, lambda: None, batch)
            clock = EventPassClock(CudaEvents("cuda:0"))
            clock.begin()
            results["events"] = loop_fps(run_batch, clock.after_pass, batch)
            with TickRecorder(nvml):
                results["nvml poller"] = loop_fps(run_batch, lambda: None, batch)
            settings = ProtocolSettings(max_seconds=SECONDS + 1.5)
            results["protocol, estimate meter"] = measure(
                run_batch, "cuda:0", EstimateMeter(), batch, settings
            ).frames_per_second
            results["protocol, nvml"] = measure(
                run_batch, "cuda:0", nvml, batch, settings
            ).frames_per_second
            results["bare again"] = loop_fps(run_batch, lambda: None, batch)
        print(json.dumps({"model": args.layout, "batch": batch, **results}), flush=True)
    nvml.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
