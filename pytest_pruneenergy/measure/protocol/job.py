"""What every protocol works on: its settings, and one model at one batch size to measure."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..ticks import (
    TickRecorder,
    TickWindow,
)

if TYPE_CHECKING:
    from ..meters import DeviceState, Meter

from .clocks import PassClock

DEFAULT_MAX_SECONDS = 10.0
DEFAULT_TARGET_CI_FRACTION = 0.01


class ProtocolError(Exception):
    """The protocol could not produce a figure (e.g. the meter never changed)."""


@dataclass(frozen=True)
class ProtocolSettings:
    protocol: str = "adaptive"
    target_ci_fraction: float = DEFAULT_TARGET_CI_FRACTION
    max_seconds: float = DEFAULT_MAX_SECONDS
    # None: two of the meter's update periods (NVML: 0.2 s), as observed during warm-up
    # (auto_window_seconds).
    min_window_seconds: float | None = None
    min_windows: int = 3
    # The measuring and warm-up floors: the cheapest pair that stayed within max(0.5 %, CI) of
    # an independent long-window loop in nearly every item on the steady cells of the floors
    # study (docs/benchmarks/floors); shorter measuring also rests the CI on fewer updates.
    min_measure_seconds: float = 1.0
    # Warm-up: at least this long, and until two consecutive chunks agree on throughput.
    warmup_min_seconds: float = 0.5
    # For a model that has just run at another batch size: the device is hot and the model's
    # memory allocated, so the same steadiness test ends the warm-up sooner (rewarm_settings).
    rewarm_min_seconds: float = 0.25
    # A target out of reach: once an item has this many windows, it stops where its CI,
    # narrowed as one over the root of the time to the cap, would still end above this many
    # times the target (math.inf: never). Such an item would only have run to the cap and
    # missed anyway: eager batch-1 items paced by the host (docs/measurement.md, "Stop").
    out_of_reach_factor: float = 2.0
    out_of_reach_min_windows: int = 10
    warmup_chunk_seconds: float = 0.25
    warmup_steady_fraction: float = 0.03
    warmup_max_fraction: float = 0.4  # of max_seconds
    check_interval_seconds: float = 0.1
    # GPU work queued ahead of the host at most (about): enough to keep the device busy, short
    # enough that a stop decided now takes effect now, not when a deep queue drains.
    max_queued_seconds: float = 0.05
    # A completion marker (CUDA event) per whole number of passes making up to this much device
    # time, where a pass takes at most half of it (0: one per pass). Recording and reading an
    # event per pass slows a launch-bound model measurably; spaced ones do not, and still place
    # every tick within one marker's span (measured: docs/benchmarks/harness-cost/).
    marker_spacing_seconds: float = 0.002
    seed_trials: int = 20
    seed_warmup_passes: int = 100
    seed_timed_passes: int = 500


@dataclass(frozen=True)
class Job:
    """One model at one batch size, to be measured: what every protocol works on.
    ``on_windows``: called with the adaptive protocol's final windows (an item keeps them)."""

    run_batch: Callable[[], object]
    pass_clock: PassClock
    meter: Meter
    batch_size: int
    settings: ProtocolSettings
    clock: Callable[[], float]
    tick_recorder: Callable[[Meter], TickRecorder]
    on_windows: Callable[[Sequence[TickWindow]], None] | None = None


def device_state(meter: Meter) -> DeviceState:
    """Temperature and SM clock where the meter can tell; a meter from a user's hook may not."""
    from ..meters import DeviceState

    read = getattr(meter, "device_state", None)
    return read() if callable(read) else DeviceState()
