"""The values one measured item produces: plain, frozen, serialisable.

A ``Measurement`` travels from the process that measured it (an xdist worker, say) to the one
that writes the report, as a JSON-able dict on the pytest report, and into the journal. It
carries the model's parsed name, so that nothing downstream parses the stem again: left out, the
name is parsed from ``model`` once, when the value is made.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..measure.meters.base import GpuFacts
from ..measure.ticks import TickWindow
from ..measure.window_stats import WindowStats, dynamic_joules_per_sample
from ..models.naming import ModelName, parse_model_name
from ..models.pairing import baselines_of
from .runtimes import item_variant

# An item in a run: model (file stem), batch size, and its variant: numeric format (None: as the
# file saved it) and runtime where not eager (items/runtimes.py:item_variant).
ItemKey = tuple[str, int, str | None]


def item_label(key: tuple[str, int | None, str | None]) -> str:
    """``VGG16_CIFAR10_UNPRUNED (bs 8)``, ``... (bs 8, bfloat16)``, ``... (bs 8, compile)``: an
    item as every message, table and page names it; a stored item whose batch size is not known
    is its model alone."""
    model, batch_size, dtype = key
    details = [f"bs {batch_size}"] if batch_size is not None else []
    details += [dtype] if dtype is not None else []
    return f"{model} ({', '.join(details)})" if details else model


class _ItemOfModel:
    """What a measured item and a failed one share: the model's name, parsed from its stem when
    left out, and the variant that sets the item apart."""

    model: str
    name: ModelName | None
    dtype: str | None
    runtime: str | None

    def __post_init__(self) -> None:
        if self.name is None:
            object.__setattr__(self, "name", parse_model_name(self.model))

    @property
    def variant(self) -> str | None:
        """Its numeric format and runtime as one label (``item_variant``); None: as saved, eager."""
        return item_variant(self.dtype, self.runtime)


# The outcome of an item held at its board's power limit in both measurements, which agree: the
# model's own load sets its clocks (items/remeasure.py).
AT_POWER_LIMIT = "at its power limit"


@dataclass(frozen=True)
class Remeasure:
    """An item measured once more at the end of the run (items/remeasure.py), and what the two
    measurements said. The row keeps one of them; the other's figures are kept here."""

    # Why it was measured again, in words: what was seen while it ran, or which neighbours its
    # figure contradicts.
    reason: str
    # What the second measurement said (items/remeasure.py: AGREES, AT_POWER_LIMIT, DISAGREES,
    # KEPT_RERUN, RERUN_DISTURBED, RERUN_FAILED).
    outcome: str
    # The figures of the measurement the row does not show; None where there is none (the
    # rerun failed).
    set_aside_joules_per_sample: float | None = None
    set_aside_joules_per_sample_ci95: float | None = None
    set_aside_frames_per_second: float | None = None
    # What the rerun saw while it ran (measure/conditions.py), or why it failed.
    rerun_note: str = ""


@dataclass(frozen=True)
class Measurement(_ItemOfModel):
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
    # The GPU the meter read; None for CPU meters.
    gpu: GpuFacts | None = None
    # The pass ran as a replayed CUDA graph (--energy-cuda-graphs), not eagerly.
    cuda_graph: bool = False
    # What the file's name says; None where it follows no convention.
    name: ModelName | None = None
    # Where the item's time went: loading the model (0 where an earlier item had loaded it),
    # and the whole item, warm-up, measurement and pytest-benchmark's timing included (None
    # until the item has ended).
    load_seconds: float = 0.0
    item_seconds: float | None = None
    # The numeric format the run cast the model to (items/numerics.py; None: as saved), and the
    # one its weights were in when it ran.
    dtype: str | None = None
    weights_dtype: str | None = None
    channels_last: bool = False
    # The share of exactly zero weights in its layers' weights, in percent (items/numerics.py);
    # None where it cannot be known, or was recorded before it was counted.
    zero_weight_percent: float | None = None
    # The share of its weight widths (output and input channels) that are not a multiple of 8,
    # 16 and 64, in percent (items/numerics.py); None where unknown or recorded before.
    unaligned_x8_percent: float | None = None
    unaligned_x16_percent: float | None = None
    unaligned_x64_percent: float | None = None
    # With --energy-rounds: which round this is (None once rounds are combined, or with one),
    # and how many rounds a combined measurement holds.
    round_number: int | None = None
    rounds: int = 1
    # fvcore's count per sample (the seed tool's FLOPs, models/counting.py); None where it is
    # unknown (TorchScript, or recorded before it was counted).
    fvcore_flops: int | None = None
    # What could have corrupted the figure, seen while it was measured (measure/conditions.py):
    # other processes on the GPU or the host's CPU, clocks held back; empty when nothing was.
    disturbances: tuple[str, ...] = ()
    # Measured once more at the end of the run, and what the two said; None where it was not.
    remeasure: Remeasure | None = None
    # The runtime it ran in (items/runtimes.py; None: eager), and for a compiling one the time
    # of its first pass at this batch size, which compiled (not part of the measurement).
    runtime: str | None = None
    compile_seconds: float | None = None
    # The adaptive protocol's windows, their times in seconds from the first one's start:
    # the raw record from which another stop rule or floor can be replayed on the same item
    # (benchmarks/stop_rules.py). Empty for the seed protocol, for rounds combined into one,
    # and in records written before they were kept.
    windows: tuple[TickWindow, ...] = ()

    @property
    def key(self) -> ItemKey:
        """What names the item in a run: model, batch size, numeric format and runtime."""
        return (self.model, self.batch_size, self.variant)

    @property
    def device_id(self) -> str:
        """The device it ran on (``cuda:1``, ``cpu``), from its description (``cuda:1 (NVIDIA
        H100 80GB HBM3)``, items/devices.py:describe_device)."""
        return self.device.split(" ", 1)[0]

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def at_own_power_limit(self) -> bool:
        """Whether the model's own load held the board at its power limit, both times it was
        measured: its clocks are its operating point, not a disturbance."""
        return self.remeasure is not None and self.remeasure.outcome == AT_POWER_LIMIT

    @property
    def mean_sm_clock_mhz(self) -> float | None:
        """The GPU's SM clock, the mean of its readings at the measurement's start and end;
        None where the meter does not read it."""
        readings = [
            mhz
            for mhz in (self.stats.sm_clock_start_mhz, self.stats.sm_clock_end_mhz)
            if mhz is not None
        ]
        return sum(readings) / len(readings) if readings else None

    @property
    def dynamic_joules_per_sample(self) -> float | None:
        """Gross energy per sample less what the idle board would have drawn meanwhile."""
        return dynamic_joules_per_sample(self.stats, self.idle_watts)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["input_shape"] = list(self.input_shape)
        # As rows, not named fields: a long item has dozens of windows, on every journal line.
        data["windows"] = [
            [w.start_seconds, w.end_seconds, w.joules, w.passes] for w in self.windows
        ]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Measurement:
        fields = dict(data)
        fields["input_shape"] = tuple(fields["input_shape"])
        fields["stats"] = WindowStats(**fields["stats"])
        fields["disturbances"] = tuple(fields.get("disturbances", ()))
        fields["windows"] = tuple(_window_from_row(row) for row in fields.get("windows", ()))
        fields["name"] = _name_from_dict(fields.get("name"))
        if fields.get("remeasure") is not None:
            fields["remeasure"] = Remeasure(**fields["remeasure"])
        if "gpu_facts" in fields:  # written before the facts were typed (journal format 1)
            fields["gpu"] = GpuFacts.from_strings(fields.pop("gpu_facts"))
        elif fields.get("gpu") is not None:
            fields["gpu"] = GpuFacts(**fields["gpu"])
        return cls(**fields)


def _window_from_row(row: Sequence[Any]) -> TickWindow:
    start, end, joules, passes = (float(value) for value in row)
    return TickWindow(start, end, joules, passes)


# A pruned item and its baseline ran at SM clocks further apart than this, relative to the
# baseline's: their energies were not measured on the same footing.
CLOCK_DIFFERENCE_FRACTION = 0.05


def disturbances_against(measurement: Measurement, baseline: Measurement | None) -> tuple[str, ...]:
    """What could have corrupted ``measurement`` or its comparison with ``baseline``: what was
    seen while it ran, what was seen while its baseline ran, and SM clocks that differ (unless
    either one's own load held it at the power limit: that clock is where the model runs)."""
    seen = list(measurement.disturbances)
    if baseline is None or baseline is measurement or baseline.key == measurement.key:
        return tuple(seen)
    seen += [f"its baseline: {disturbance}" for disturbance in baseline.disturbances]
    own, base = measurement.mean_sm_clock_mhz, baseline.mean_sm_clock_mhz
    capped = measurement.at_own_power_limit or baseline.at_own_power_limit
    apart = own is not None and base and abs(own - base) > CLOCK_DIFFERENCE_FRACTION * base
    if apart and not capped:
        seen.append(f"SM clock {own:.0f} MHz against its baseline's {base:.0f} MHz")
    return tuple(seen)


@dataclass(frozen=True)
class ItemFailure(_ItemOfModel):
    """An item that could not be measured, kept so the report says which and why."""

    model: str
    path: str
    batch_size: int | None
    reason: str
    # What the file's name says; None where it follows no convention (parsed when left out).
    name: ModelName | None = None
    # The numeric format it was to run in; None where the run did not choose one.
    dtype: str | None = None
    # The runtime it was to run in (items/runtimes.py); None: eager.
    runtime: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ItemFailure:
        fields = dict(data)
        fields["name"] = _name_from_dict(fields.get("name"))
        return cls(**fields)


def baselines_of_measurements(measurements: Sequence[Measurement]) -> list[Measurement | None]:
    """Each measurement's baseline among them, at its batch size, in its numeric format and
    runtime (models/pairing.py)."""
    return baselines_of(
        measurements,
        name_of=lambda measurement: measurement.name,
        stem_of=lambda measurement: measurement.model,
        setting_of=lambda measurement: measurement.key[1:],
    )


def baseline_measurements(
    measurements: Sequence[Measurement],
) -> dict[ItemKey, Measurement]:
    """Each pruned measurement's baseline by item key, as its reductions use it; baselines and
    models without one are left out."""
    paired = {}
    for measurement, baseline in zip(
        measurements, baselines_of_measurements(measurements), strict=True
    ):
        if baseline is not None and baseline is not measurement:
            paired[measurement.key] = baseline
    return paired


def _name_from_dict(data: dict[str, Any] | None) -> ModelName | None:
    return None if data is None else ModelName(**data)
