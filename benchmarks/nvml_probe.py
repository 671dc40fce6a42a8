"""How fast, and how exactly in time, can NVML's energy counter be read? Facts the tick poller
rests on, measured on the GPU at hand.

Three ways to see the counter change:

- ``counter``: ``nvmlDeviceGetTotalEnergyConsumption``, stamped with the host clock around it;
- ``field``: ``nvmlDeviceGetFieldValues([NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION])``, stamped the
  same way;
- ``field-stamp``: the same field, placed in time by the timestamp NVML returns with it.

For each: the cost of a read, and the jitter of the intervals between successive changes while
the main thread keeps the GIL busy launching small kernels (the launch-bound case, where a poller
thread waits longest for the GIL) or runs large ones. The counter updates on a fixed firmware
period, so the scatter of observed intervals around their median is the timing error of the
observation (twice the variance of one tick's error). Also checked: whether the field and the
function return the same value.

    python benchmarks/nvml_probe.py --out probe.json      # on the GPU, ~1 min
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROBE_SECONDS = 3.0


def read_cost_seconds(read: Callable[[], Any], reads: int = 200) -> float:
    """Median wall time of one read."""
    costs = []
    for _ in range(reads):
        start = time.perf_counter()
        read()
        costs.append(time.perf_counter() - start)
    return statistics.median(costs)


def interval_jitter(change_seconds: list[float]) -> dict[str, float]:
    intervals = [b - a for a, b in itertools.pairwise(change_seconds)]
    if len(intervals) < 3:
        return {"changes": len(change_seconds)}
    median = statistics.median(intervals)
    deviations = [abs(i - median) for i in intervals]
    return {
        "changes": len(change_seconds),
        "median_interval_ms": 1000 * median,
        "interval_std_ms": 1000 * statistics.stdev(intervals),
        "interval_mad_ms": 1000 * statistics.median(deviations),
        "interval_max_dev_ms": 1000 * max(deviations),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=PROBE_SECONDS)
    args = parser.parse_args()

    import pynvml
    import torch

    from pytest_pruneenergy.measure.meters import NvmlCounterMeter

    meter = NvmlCounterMeter(0)
    handle = meter._handle
    field_id = pynvml.NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION

    def read_counter() -> tuple[int, float | None]:
        return pynvml.nvmlDeviceGetTotalEnergyConsumption(handle), None

    def read_field() -> tuple[int, float | None]:
        (value,) = pynvml.nvmlDeviceGetFieldValues(handle, [field_id])
        if value.nvmlReturn != pynvml.NVML_SUCCESS:
            raise pynvml.NVMLError(value.nvmlReturn)
        return value.value.ullVal, value.timestamp / 1e6

    results: dict[str, Any] = {
        "gpu": meter.gpu_name,
        "driver": meter.driver_version,
        "read_cost_ms": {
            "counter": 1000 * read_cost_seconds(read_counter),
            "field": 1000 * read_cost_seconds(read_field),
        },
    }
    # Same value? Read both back to back, many times; a tick between them is rare.
    same = 0
    trials = 200
    for _ in range(trials):
        field_value, _ = read_field()
        counter_value, _ = read_counter()
        same += abs(field_value - counter_value) <= 0
    results["field_equals_counter_fraction"] = same / trials

    device = torch.device("cuda:0")
    small = torch.randn(64, 64, device=device)
    large = torch.randn(8192, 8192, device=device)

    def workload(kind: str, stop: threading.Event) -> None:
        while not stop.is_set():
            if kind == "launch-bound":
                for _ in range(50):
                    torch.relu(small)
                torch.cuda.synchronize(device)
            else:
                torch.mm(large, large)
                torch.cuda.synchronize(device)

    def poll(
        read: Callable[[], tuple[int, float | None]], seconds: float
    ) -> tuple[list[float], list[float]]:
        """Host-clock change instants (midpoint between the last old and first new read)
        and NVML-stamped ones; the host/epoch offset is taken once."""
        epoch_minus_perf = time.time() - time.perf_counter()
        host, stamped = [], []
        end = time.perf_counter() + seconds
        before = time.perf_counter()
        previous, _ = read()
        previous_mid = (before + time.perf_counter()) / 2
        while time.perf_counter() < end:
            before = time.perf_counter()
            value, stamp = read()
            mid = (before + time.perf_counter()) / 2
            if value != previous:
                host.append((previous_mid + mid) / 2)
                if stamp is not None:
                    stamped.append(stamp - epoch_minus_perf)
            previous, previous_mid = value, mid
            time.sleep(0.0002)
        return host, stamped

    probes: list[dict[str, Any]] = []
    default_switch = sys.getswitchinterval()
    for kind, switch in itertools.product(("launch-bound", "large"), (default_switch, 0.0005)):
        for name, read in (("counter", read_counter), ("field", read_field)):
            sys.setswitchinterval(switch)
            stop = threading.Event()
            found: dict[str, Any] = {}

            def poller(read=read, found=found, stop=stop) -> None:
                found["host"], found["stamped"] = poll(read, args.seconds)
                stop.set()

            thread = threading.Thread(target=poller)
            thread.start()
            workload(kind, stop)
            thread.join()
            sys.setswitchinterval(default_switch)
            row = {"workload": kind, "switch_interval_ms": 1000 * switch, "read": name}
            row["host"] = interval_jitter(found["host"])
            if found["stamped"]:
                row["stamp"] = interval_jitter(found["stamped"])
                lags = [h - s for h, s in zip(found["host"], found["stamped"], strict=True)]
                row["host_minus_stamp_ms"] = {
                    "median": 1000 * statistics.median(lags),
                    "std": 1000 * statistics.stdev(lags) if len(lags) > 1 else None,
                }
            probes.append(row)
            print(json.dumps(row), flush=True)
    results["probes"] = probes
    meter.close()
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k != "probes"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
