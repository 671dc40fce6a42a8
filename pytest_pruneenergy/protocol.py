"""How one model at one batch size is measured: warm up, then energy and time over windows.

Windows here are plain brackets: read the meter, run for a fixed time, read it again. The
function is shaped so that tick-aligned windows can replace ``_measure_window`` alone.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .measurement import WindowStats

if TYPE_CHECKING:
    from .meters import Meter

WARMUP_FRACTION = 0.2
WARMUP_CAP_SECONDS = 2.0


@dataclass(frozen=True)
class Window:
    """What one window measured: the whole batch, ``passes`` times."""

    joules: float
    seconds: float
    passes: int


def default_warmup_seconds(max_seconds: float) -> float:
    """A fifth of the budget, but no more than 2 s: enough for autotuning and clocks to settle."""
    return min(WARMUP_FRACTION * max_seconds, WARMUP_CAP_SECONDS)


def measure_windows(
    run_batch: Callable[[], None],
    synchronize: Callable[[], None],
    meter: Meter,
    batch_size: int,
    *,
    max_seconds: float,
    windows: int = 5,
    warmup_seconds: float | None = None,
    min_warmup_passes: int = 3,
    clock: Callable[[], float] = time.perf_counter,
) -> WindowStats:
    """Warm up, then measure ``windows`` windows that share what is left of ``max_seconds``.

    ``run_batch`` runs one forward pass of one batch (it may return before the device is done);
    ``synchronize`` waits until the device is done. A MeterReadError from the meter propagates.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if not max_seconds > 0:
        raise ValueError(f"max_seconds must be > 0, got {max_seconds}")
    if windows < 2:
        raise ValueError(f"windows must be >= 2 to estimate a spread, got {windows}")
    if warmup_seconds is None:
        warmup_seconds = default_warmup_seconds(max_seconds)
    warmup_spent_seconds = _warm_up(
        run_batch, synchronize, warmup_seconds, min_passes=min_warmup_passes, clock=clock
    )
    window_seconds = (max_seconds - warmup_spent_seconds) / windows
    measured = [
        _measure_window(run_batch, synchronize, meter, window_seconds, clock)
        for _ in range(windows)
    ]
    return summarize_windows(measured, batch_size, warmup_seconds=warmup_spent_seconds)


def _warm_up(
    run_batch: Callable[[], None],
    synchronize: Callable[[], None],
    seconds: float,
    *,
    min_passes: int,
    clock: Callable[[], float],
) -> float:
    """Run until both ``min_passes`` and ``seconds`` are reached; return the seconds it took."""
    start = clock()
    passes = 0
    while passes < min_passes or clock() - start < seconds:
        run_batch()
        passes += 1
    synchronize()
    return clock() - start


def _measure_window(
    run_batch: Callable[[], None],
    synchronize: Callable[[], None],
    meter: Meter,
    seconds: float,
    clock: Callable[[], float],
) -> Window:
    # The meter is read only here, at the edges: one NVML read costs milliseconds, which would
    # show up as idle gaps between passes if it sat in the loop.
    synchronize()
    joules_start = meter.read_joules()
    start = clock()
    passes = 0
    while passes == 0 or clock() - start < seconds:
        run_batch()
        passes += 1
    # Work still queued on the device belongs to this window: wait for it before stopping.
    synchronize()
    end = clock()
    joules_end = meter.read_joules()
    return Window(joules=joules_end - joules_start, seconds=end - start, passes=passes)


def summarize_windows(
    measured: Sequence[Window], batch_size: int, *, warmup_seconds: float
) -> WindowStats:
    """Per-sample mean, spread and 95 % CI across windows; FPS over all of them together."""
    samples_per_window = [window.passes * batch_size for window in measured]
    per_window = list(zip(measured, samples_per_window, strict=True))
    joules_per_sample = [window.joules / samples for window, samples in per_window]
    seconds_per_sample = [window.seconds / samples for window, samples in per_window]
    samples_measured = sum(samples_per_window)
    seconds_measured = sum(window.seconds for window in measured)
    return WindowStats(
        joules_per_sample_mean=statistics.fmean(joules_per_sample),
        joules_per_sample_std=statistics.stdev(joules_per_sample),
        joules_per_sample_ci95=confidence_half_width(joules_per_sample, 0.95),
        seconds_per_sample_mean=statistics.fmean(seconds_per_sample),
        seconds_per_sample_std=statistics.stdev(seconds_per_sample),
        frames_per_second=samples_measured / seconds_measured,
        windows=len(measured),
        samples_measured=samples_measured,
        seconds_measured=seconds_measured,
        warmup_seconds=warmup_seconds,
    )


def confidence_half_width(values: Sequence[float], confidence: float = 0.95) -> float:
    """Half-width of the Student-t confidence interval of the mean of ``values``."""
    if len(values) < 2:
        raise ValueError(f"a confidence interval needs at least 2 values, got {len(values)}")
    standard_error = statistics.stdev(values) / math.sqrt(len(values))
    return student_t_critical(confidence, len(values) - 1) * standard_error


def student_t_critical(confidence: float, degrees_of_freedom: int) -> float:
    """t such that P(|T| < t) = confidence, e.g. 2.776 for (0.95, 4); exact to ~1e-12.

    Bisection on the closed-form CDF, so no scipy is needed for any confidence or df.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    if degrees_of_freedom < 1:
        raise ValueError(f"degrees_of_freedom must be >= 1, got {degrees_of_freedom}")
    low, high = 0.0, 1.0
    while _t_probability_within(high, degrees_of_freedom) < confidence:
        low, high = high, 2 * high
    for _ in range(100):
        middle = (low + high) / 2
        if _t_probability_within(middle, degrees_of_freedom) < confidence:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def _t_probability_within(t: float, degrees_of_freedom: int) -> float:
    """P(|T| < t) for Student's t with integer df: Abramowitz & Stegun 26.7.3 and 26.7.4."""
    theta = math.atan(t / math.sqrt(degrees_of_freedom))
    cos_squared = math.cos(theta) ** 2
    if degrees_of_freedom % 2 == 1:
        # (2/pi) (theta + sin cos [1 + 2/3 cos^2 + 2*4/(3*5) cos^4 + ... up to cos^(df-3)])
        series, term = 0.0, math.sin(theta) * math.cos(theta)
        for k in range(1, (degrees_of_freedom - 1) // 2 + 1):
            series += term
            term *= 2 * k / (2 * k + 1) * cos_squared
        return 2 / math.pi * (theta + series)
    # sin [1 + 1/2 cos^2 + 1*3/(2*4) cos^4 + ... up to cos^(df-2)]
    series, term = 0.0, 1.0
    for k in range(1, degrees_of_freedom // 2 + 1):
        series += term
        term *= (2 * k - 1) / (2 * k) * cos_squared
    return math.sin(theta) * series
