"""The warm-up before a measurement: until throughput is steady; shorter for a model that has
just run at another batch size. How many passes make a marker's span and the queue's depth."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

from .clocks import PassClock
from .job import ProtocolSettings


def passes_per_marker(seconds_per_pass: float, settings: ProtocolSettings) -> int:
    """How many passes make ``marker_spacing_seconds`` of device work (1 when it is 0)."""
    if settings.marker_spacing_seconds <= 0 or seconds_per_pass <= 0:
        return 1
    return max(1, math.floor(settings.marker_spacing_seconds / seconds_per_pass))


def queue_limit_passes(seconds_per_pass: float, settings: ProtocolSettings) -> int:
    """How many passes make ``max_queued_seconds`` of device work (at least one)."""
    if seconds_per_pass <= 0:
        return 1
    return max(1, math.ceil(settings.max_queued_seconds / seconds_per_pass))


def rewarm_settings(settings: ProtocolSettings) -> ProtocolSettings:
    """The warm-up of a model that has just run at another batch size: at least
    ``rewarm_min_seconds``, judged over chunks of half that.

    Steadiness compares two chunks, so a warm-up lasts at least two of them: with the first
    warm-up's chunks a re-warm could not end before twice ``warmup_chunk_seconds``, whatever
    its minimum.
    """
    return dataclasses.replace(
        settings,
        warmup_min_seconds=settings.rewarm_min_seconds,
        warmup_chunk_seconds=min(settings.warmup_chunk_seconds, settings.rewarm_min_seconds / 2),
    )


@dataclass(frozen=True)
class WarmUp:
    seconds: float
    seconds_per_pass: float  # in the last, steady chunk


def warm_up(
    run_batch: Callable[[], object],
    pass_clock: PassClock,
    settings: ProtocolSettings,
    *,
    clock: Callable[[], float] = time.perf_counter,
) -> WarmUp:
    """Run until throughput is steady; return the seconds spent and the steady pass time.

    Steady: at least ``warmup_min_seconds`` have passed (cuDNN autotuning, the allocator and
    clocks settle within that on the GPUs measured) and the last two chunks of
    ``warmup_chunk_seconds`` ran within ``warmup_steady_fraction`` of each other's passes per
    second. ``warmup_max_fraction`` of the item's budget caps it.

    The queue of passes is bounded from the first chunk on (one pass ahead, then
    ``max_queued_seconds`` at the last chunk's rate): unbounded, a host that launches faster
    than the device runs would queue up to CUDA's launch limit, half a second of a large model,
    and every chunk would overrun by that.
    """
    start = clock()
    cap = start + settings.warmup_max_fraction * settings.max_seconds
    previous_rate = None
    pass_clock.limit_queue(1)
    while True:
        chunk_start = pass_clock.begin()
        passes = 0
        while passes == 0 or clock() - chunk_start < settings.warmup_chunk_seconds:
            run_batch()
            pass_clock.after_pass()
            passes += 1
        pass_clock.synchronize()
        now = clock()
        rate = passes / (now - chunk_start)
        pass_clock.limit_queue(queue_limit_passes(1 / rate, settings))
        steady = previous_rate is not None and (
            abs(rate - previous_rate) <= settings.warmup_steady_fraction * previous_rate
        )
        if (steady and now - start >= settings.warmup_min_seconds) or now >= cap:
            return WarmUp(seconds=now - start, seconds_per_pass=1 / rate)
        previous_rate = rate
