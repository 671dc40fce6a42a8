"""The values one measured item produces: plain, frozen, serialisable.

A ``Measurement`` travels from the process that measured it (an xdist worker, say) to the one
that writes the report, as a JSON-able dict on the pytest report.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


def format_shape(shape: Iterable[int]) -> str:
    """``(3, 224, 224)`` -> ``3x224x224``, as shapes appear in messages, CSVs and tables."""
    return "x".join(str(size) for size in shape)


@dataclass(frozen=True)
class WindowStats:
    """What the protocol measured, per sample of the batch.

    ``*_ci95`` is the half-width of the 95 % confidence interval of the mean across windows
    (adaptive protocol) or trials (seed protocol). ``naive_joules_per_sample`` is what two
    counter reads bracketing the same run would have given: the seed tool's and Zeus's way,
    kept to show the difference alignment makes. Device state (temperature, SM clock) is read
    at the start and end of the measurement; None where the meter cannot tell.
    """

    joules_per_sample_mean: float
    joules_per_sample_std: float
    joules_per_sample_ci95: float
    seconds_per_sample_mean: float
    seconds_per_sample_std: float
    frames_per_second: float
    windows: int
    samples_measured: float
    seconds_measured: float
    warmup_seconds: float
    protocol: str = "adaptive"
    converged: bool = False  # the CI target was met before the time cap
    target_ci_fraction: float | None = None
    naive_joules_per_sample: float | None = None
    update_period_seconds: float | None = None
    temperature_start_celsius: float | None = None
    temperature_end_celsius: float | None = None
    sm_clock_start_mhz: float | None = None
    sm_clock_end_mhz: float | None = None


def dynamic_joules_per_sample(stats: WindowStats, idle_watts: float | None) -> float | None:
    """Gross energy per sample less idle watts times the time of one sample; None without
    idle power."""
    if idle_watts is None:
        return None
    return stats.joules_per_sample_mean - idle_watts * stats.seconds_per_sample_mean


@dataclass(frozen=True)
class ModelCounts:
    """Per sample (batch of one). FLOPs = 2 x MACs: one multiply-add counts as two FLOPs."""

    params: int
    macs: int

    @property
    def flops(self) -> int:
        return 2 * self.macs


@dataclass(frozen=True)
class Measurement:
    """One model at one batch size on one device, measured by one meter."""

    model: str
    path: str
    batch_size: int
    input_shape: tuple[int, ...]
    device: str
    meter: str
    meter_description: str
    meter_is_estimate: bool
    params: int
    macs: int
    stats: WindowStats
    # Board power with the CUDA context alive and nothing running, measured once per device
    # and run; None where it was not measured (estimates count busy CPU time only).
    idle_watts: float | None = None
    gpu_facts: dict[str, str] = dataclasses.field(default_factory=dict)
    # The pass ran as a replayed CUDA graph (--energy-cuda-graphs), not eagerly.
    cuda_graph: bool = False

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def dynamic_joules_per_sample(self) -> float | None:
        """Gross energy per sample less what the idle board would have drawn meanwhile."""
        return dynamic_joules_per_sample(self.stats, self.idle_watts)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["input_shape"] = list(self.input_shape)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Measurement:
        fields = dict(data)
        fields["input_shape"] = tuple(fields["input_shape"])
        fields["stats"] = WindowStats(**fields["stats"])
        return cls(**fields)


@dataclass(frozen=True)
class ItemFailure:
    """An item that could not be measured, kept so the report says which and why."""

    model: str
    path: str
    batch_size: int | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ItemFailure:
        return cls(**data)
