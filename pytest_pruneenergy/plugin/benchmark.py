"""pytest-benchmark integration: its timing of one synchronized forward pass, our energy
figures in its ``extra_info`` (so they land in ``--benchmark-json`` and saved runs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..items.measurement import Measurement

if TYPE_CHECKING:
    from ..items.prepared import PreparedModel

# pytest-benchmark's timing is extra work after the energy windows, no measurement of ours
# (FPS comes from the windows): at most this share of the item's time cap and this many
# seconds, and at least MIN_ROUNDS passes.
BENCHMARK_SHARE = 0.02
MAX_BENCHMARK_SECONDS = 0.05
MIN_ROUNDS = 3
MAX_ROUNDS = 100


def extra_info(measurement: Measurement) -> dict[str, Any]:
    stats = measurement.stats
    gpu = measurement.gpu
    return {
        "joules_per_sample": stats.joules_per_sample_mean,
        "joules_per_sample_ci95": stats.joules_per_sample_ci95,
        "dynamic_joules_per_sample": measurement.dynamic_joules_per_sample,
        "idle_watts": measurement.idle_watts,
        "protocol": stats.protocol,
        "ci_target_met": stats.ci_target_met,
        "stop_reason": stats.stop_reason,
        "fps": stats.frames_per_second,
        "params": measurement.params,
        "macs": measurement.macs,
        "flops": measurement.flops,
        "batch_size": measurement.batch_size,
        "meter": measurement.meter,
        "meter_is_estimate": measurement.meter_is_estimate,
        "device": measurement.device,
        "gpu_name": None if gpu is None else gpu.name,
        "driver": None if gpu is None else gpu.driver,
        "power_limit_watts": None if gpu is None else gpu.power_limit_watts,
    }


def benchmark_budget_seconds(max_seconds: float) -> float:
    """What pytest-benchmark's timing of an item may take, given the item's time cap."""
    return min(BENCHMARK_SHARE * max_seconds, MAX_BENCHMARK_SECONDS)


def benchmark_rounds(seconds_per_pass: float, budget_seconds: float) -> int:
    """As many timed passes as fit the budget, within [MIN_ROUNDS, MAX_ROUNDS]."""
    if seconds_per_pass <= 0:
        return MAX_ROUNDS
    return int(min(MAX_ROUNDS, max(MIN_ROUNDS, budget_seconds // seconds_per_pass)))


def record_in_benchmark(
    benchmark: Any,
    prepared: PreparedModel,
    measurement: Measurement,
    make_input: Callable[[int, tuple[int, ...], str], Any],
    *,
    budget_seconds: float,
) -> None:
    import torch

    benchmark.extra_info.update(extra_info(measurement))
    device = prepared.device
    module = prepared.forward  # in its runtime, as measured
    seconds_per_pass = measurement.stats.seconds_per_sample_mean * measurement.batch_size

    def synchronized_forward() -> None:
        module(batch)
        if device.startswith("cuda"):
            torch.cuda.synchronize(torch.device(device))

    with torch.inference_mode():
        batch = prepared.conform(make_input(measurement.batch_size, prepared.input_shape, device))
        benchmark.pedantic(
            synchronized_forward,
            rounds=benchmark_rounds(seconds_per_pass, budget_seconds),
            iterations=1,
            warmup_rounds=1,
        )
