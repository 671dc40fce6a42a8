"""Board power with nothing running, for dynamic energy."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..ticks import (
    TickRecorder,
)

if TYPE_CHECKING:
    from ..meters import Meter

from .clocks import make_pass_clock


def measure_idle_watts(
    meter: Meter,
    device: str,
    *,
    seconds: float = 3.0,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
    tick_recorder: Callable[[Meter], TickRecorder] | None = None,
) -> float | None:
    """Board power with nothing running, from tick to tick over ``seconds``; None if the meter
    did not tick at least twice meanwhile. ``tick_recorder`` as for ``measure``."""
    make_pass_clock(device, clock).synchronize()
    record_ticks = tick_recorder or functools.partial(TickRecorder, clock=clock)
    with record_ticks(meter) as recorder:
        sleep(seconds)
    recorder.check()
    ticks = recorder.ticks()
    if len(ticks) < 2 or ticks[-1].seconds <= ticks[0].seconds:
        return None
    return (ticks[-1].joules - ticks[0].joules) / (ticks[-1].seconds - ticks[0].seconds)
