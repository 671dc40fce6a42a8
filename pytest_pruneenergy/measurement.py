"""The values one measured item produces: plain, frozen, serialisable.

A ``Measurement`` travels from the process that measured it (an xdist worker, say) to the one
that writes the report, as a JSON-able dict on the pytest report.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class WindowStats:
    """What the protocol measured over its windows, per sample of the batch.

    ``*_ci95`` is the half-width of the 95 % confidence interval of the mean across windows.
    """

    joules_per_sample_mean: float
    joules_per_sample_std: float
    joules_per_sample_ci95: float
    seconds_per_sample_mean: float
    seconds_per_sample_std: float
    frames_per_second: float
    windows: int
    samples_measured: int
    seconds_measured: float
    warmup_seconds: float


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

    @property
    def flops(self) -> int:
        return 2 * self.macs

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
