"""How one model at one batch size is measured.

``adaptive`` (the default): warm up until throughput is steady, then run the model without a
break while a background poller records the meter's ticks (the instants its value changes) and
each forward pass marks its completion (a CUDA event on GPUs; one per few passes where a pass
takes 1 ms or less). Energy is read only at ticks, never at arbitrary instants, and set
against the samples completed by those same instants, interpolated inside the pass a tick
falls in. The run is cut, tick to tick, into windows of two
update periods; joules per sample is all their energy over all their samples, and
its 95 % CI comes from how the windows scatter around that ratio, so power that wanders from
update to update widens it. The run goes on until the CI half-width is within
``target_ci_fraction`` of the estimate (after at least ``min_windows`` windows and
``min_measure_seconds``), until the CI, narrowing as one over the root of time, could not come
within ``out_of_reach_factor`` times the target by the cap, or until ``max_seconds`` is spent.
Time per sample and FPS come from the
same windows. The meter is never read by the thread launching passes.

The host stays no more than about ``max_queued_seconds`` of work ahead of the device, enough to
keep it busy: so a decision to stop takes effect at once, not after a deep queue drains, and an
item ends by ``max_seconds``, warm-up included.

``seed``: PruneEnergyAnalyzer's protocol, for comparison and to reproduce published numbers:
20 trials, each 100 warm-up passes and 500 timed passes bracketed by two meter reads.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..ticks import TickRecorder, TickWindow
from ..window_stats import WindowStats

if TYPE_CHECKING:
    from ..meters import Meter

from .adaptive import (
    auto_window_seconds,
    ci_fraction,
    energy_per_sample,
    measure_adaptive,
    reason_to_stop,
    seconds_to_finish_after_next_check,
    summarize_tick_windows,
    target_met,
    target_out_of_reach,
)
from .clocks import (
    CudaEvents,
    DeviceEvents,
    EventPassClock,
    HostPassClock,
    PassClock,
    make_pass_clock,
)
from .idle import measure_idle_watts
from .job import (
    DEFAULT_MAX_SECONDS,
    DEFAULT_TARGET_CI_FRACTION,
    Job,
    ProtocolError,
    ProtocolSettings,
    device_state,
)
from .seed import measure_seed
from .warmup import WarmUp, passes_per_marker, queue_limit_passes, rewarm_settings, warm_up

__all__ = [
    "DEFAULT_MAX_SECONDS",
    "DEFAULT_TARGET_CI_FRACTION",
    "PROTOCOLS",
    "STRATEGIES",
    "CudaEvents",
    "DeviceEvents",
    "EventPassClock",
    "HostPassClock",
    "Job",
    "PassClock",
    "ProtocolError",
    "ProtocolSettings",
    "WarmUp",
    "auto_window_seconds",
    "ci_fraction",
    "device_state",
    "energy_per_sample",
    "make_pass_clock",
    "measure",
    "measure_adaptive",
    "measure_idle_watts",
    "measure_seed",
    "passes_per_marker",
    "queue_limit_passes",
    "reason_to_stop",
    "rewarm_settings",
    "seconds_to_finish_after_next_check",
    "summarize_tick_windows",
    "target_met",
    "target_out_of_reach",
    "warm_up",
]

# Each protocol by its name: a function of the Job to its WindowStats.
STRATEGIES: dict[str, Callable[[Job], WindowStats]] = {
    "adaptive": measure_adaptive,
    "seed": measure_seed,
}
# adaptive: windows until the CI target or the time cap; seed: the seed tool's fixed trials.
PROTOCOLS = tuple(STRATEGIES)


def measure(
    run_batch: Callable[[], object],
    device: str,
    meter: Meter,
    batch_size: int,
    settings: ProtocolSettings,
    *,
    clock: Callable[[], float] = time.perf_counter,
    on_windows: Callable[[Sequence[TickWindow]], None] | None = None,
    pass_clock: PassClock | None = None,
    tick_recorder: Callable[[Meter], TickRecorder] | None = None,
) -> WindowStats:
    """Measure energy per sample and FPS of ``run_batch`` (one forward pass of one batch).

    ``on_windows``: called with the adaptive protocol's final windows (an item keeps them).
    ``pass_clock``: how completions are timed (default: the device's; tests give their own).
    ``tick_recorder``: how the meter's ticks are recorded (default: a TickRecorder polling in
    a thread, on ``clock``; a simulated clock gives its own).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if not settings.max_seconds > 0:
        raise ValueError(f"max_seconds must be > 0, got {settings.max_seconds}")
    if not settings.out_of_reach_factor >= 1:  # below 1 it would stop items that meet the target
        raise ValueError(f"out_of_reach_factor must be >= 1, got {settings.out_of_reach_factor}")
    if not settings.out_of_reach_min_windows >= 2:  # the CI needs two windows to exist
        raise ValueError(
            f"out_of_reach_min_windows must be >= 2, got {settings.out_of_reach_min_windows}"
        )
    if settings.protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}")
    job = Job(
        run_batch,
        pass_clock or make_pass_clock(device, clock),
        meter,
        batch_size,
        settings,
        clock,
        tick_recorder or functools.partial(TickRecorder, clock=clock),
        on_windows,
    )
    return STRATEGIES[settings.protocol](job)
