"""When does a meter's value change? A background poller, and the arithmetic of tick windows.

NVML's energy counter (and its power fields) change only every ~100 ms, while a window
bracketed by two arbitrary reads assumes the value is current: each edge is then off by up to a
whole update period of energy. The fix is to measure between *ticks*, the instants the counter
changes, and to count the samples that completed between those same instants.

A read is an instant only to within its own duration (NVML: ~4 ms), so the poller time-stamps
each read at its midpoint and places a change halfway between the last read that showed the old
value and the first read that shows the new one. Where the changes keep a fixed period, as
NVML's do, the grid fitted through all of them places each one better still
(``on_periodic_grid``).
"""

from __future__ import annotations

import bisect
import itertools
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .meters import Meter, MeterReadError

# Between reads the poller sleeps this long, so that a cheap meter (the estimate) does not spin
# a core, and a slow one (NVML, ~4 ms a read) leaves the GIL to the thread launching kernels.
DEFAULT_POLL_INTERVAL_SECONDS = 0.002
# NVML's period is not exact and differs between boards (benchmarks/nvml_probe.py measures it
# on the GPU at hand): sleeping 60 % of the median of the last 5 periods after a tick leaves
# margin for an early one.
QUIET_FRACTION = 0.6
QUIET_HISTORY = 5


@dataclass(frozen=True)
class Tick:
    """The meter's value changed to ``joules`` at about ``seconds`` (the poller's clock)."""

    seconds: float
    joules: float


class TickRecorder:
    """Polls ``meter.read_joules()`` in a daemon thread and records every change of value.

    The first read is recorded too, as the value in force when polling began (not a tick).
    A failing read stops the poller; ``stop()`` and ``check()`` then raise it as MeterReadError.

    The thread is started by ``start()``, rests between reads in ``_rest()`` and is stopped and
    joined by ``_end_polling()``: a simulation runs the same reads on a clock of its own by
    overriding these three (``pytest_pruneenergy.testing.simulated_clock``).
    """

    def __init__(
        self,
        meter: Meter,
        *,
        clock: Callable[[], float] = time.perf_counter,
        poll_interval_seconds: float = DEFAULT_POLL_INTERVAL_SECONDS,
    ) -> None:
        self._meter = meter
        self._clock = clock
        self._poll_interval_seconds = poll_interval_seconds
        self._lock = threading.Lock()
        self._ticks: list[Tick] = []
        self._initial: Tick | None = None
        self._error: BaseException | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="pruneenergy-ticks", daemon=True)

    def __enter__(self) -> TickRecorder:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._end_polling()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> list[Tick]:
        self._end_polling()
        self.check()
        return self.ticks()

    def _end_polling(self) -> None:
        """Wake the poller from its rest and wait for its last read."""
        self._stopping.set()
        self._thread.join()

    def _rest(self, seconds: float) -> None:
        """Between two reads: ``seconds``, cut short by a stop."""
        self._stopping.wait(seconds)

    def check(self) -> None:
        """Raise the poller's failure, if it had one."""
        with self._lock:
            error = self._error
        if error is None:
            return
        if isinstance(error, MeterReadError):
            raise error
        raise MeterReadError(f"{type(error).__name__}: {error}") from error

    def ticks(self) -> list[Tick]:
        """The changes seen so far (a copy)."""
        with self._lock:
            return list(self._ticks)

    def value_at(self, seconds: float) -> float | None:
        """The value a read at ``seconds`` would have returned: the last change before it."""
        with self._lock:
            ticks = list(self._ticks)
            initial = self._initial
        index = bisect.bisect_right([tick.seconds for tick in ticks], seconds)
        if index:
            return ticks[index - 1].joules
        return initial.joules if initial is not None else None

    def _poll(self) -> None:
        try:
            previous_mid, previous_joules = self._timed_read()
            with self._lock:
                self._initial = Tick(previous_mid, previous_joules)
            while not self._stopping.is_set():
                mid, joules = self._timed_read()
                wait = self._poll_interval_seconds
                if joules != previous_joules:
                    with self._lock:
                        self._ticks.append(Tick((previous_mid + mid) / 2, joules))
                        wait = max(wait, self._quiet_seconds())
                previous_mid, previous_joules = mid, joules
                if wait:
                    self._rest(wait)
            # One read after the stop: a change just before the run ended is then seen.
            mid, joules = self._timed_read()
            if joules != previous_joules:
                with self._lock:
                    self._ticks.append(Tick((previous_mid + mid) / 2, joules))
        except BaseException as error:  # reported to the measuring thread by check()/stop()
            with self._lock:
                self._error = error

    def _quiet_seconds(self) -> float:
        """After a tick, the next is not due for most of an update period: reading meanwhile
        would only compete with the measured workload (NVML reads cost ~4 ms and the GIL).
        Sleep through QUIET_FRACTION of the recent median period (called with the lock held).
        """
        recent = self._ticks[-(QUIET_HISTORY + 1) :]
        if len(recent) <= QUIET_HISTORY:
            return 0.0
        period = statistics.median(b.seconds - a.seconds for a, b in itertools.pairwise(recent))
        return QUIET_FRACTION * period

    def _timed_read(self) -> tuple[float, float]:
        before = self._clock()
        joules = self._meter.read_joules()
        after = self._clock()
        return (before + after) / 2, joules


def update_period_seconds(ticks: Sequence[Tick]) -> float | None:
    """The median interval between ticks; None with fewer than two."""
    if len(ticks) < 2:
        return None
    return statistics.median(b.seconds - a.seconds for a, b in itertools.pairwise(ticks))


# A counter that changes on a fixed firmware period (NVML's: 100 ms) is seen changing only to
# within a read's duration and the poller's wake-up, more so under heavy load, and each error
# moves samples between two neighbouring windows. The grid fitted through all of a run's
# changes places each one far better than its own observation did (measured:
# docs/benchmarks/ci-calibration/).
GRID_MIN_TICKS = 6
# A meter that changes faster than this (RAPL, the estimate) shows a new value at nearly every
# read: its "ticks" are the poller's reads, not instants of its own, and stay as observed.
GRID_MIN_PERIOD_SECONDS = 0.02
# Fitted only where the changes sit on a grid: residuals' spread within 5 % of the period, none
# beyond 25 %, and no more alike from one tick to the next than scatter is (a period that
# drifts leaves a curve of residuals that a straight grid would bend, alike from one tick to
# the next). Otherwise the observed instants stand.
GRID_MAX_RESIDUAL_STD_FRACTION = 0.05
GRID_MAX_RESIDUAL_FRACTION = 0.25
GRID_MAX_RESIDUAL_CORRELATION = 0.5


def on_periodic_grid(ticks: Sequence[Tick], *, period_seconds: float | None = None) -> list[Tick]:
    """The ticks moved onto the regular grid that best fits them, where they fit one.

    Each tick is numbered in whole periods from the one before it (``period_seconds``, else
    the median interval, so a missed change skips a number); a least-squares line through
    (number, instant) gives the grid, and the numbering is redone with its period so that a
    slightly wrong first period does not slip over a long run. Values are kept: only the
    instants move.
    """
    if len(ticks) < GRID_MIN_TICKS:
        return list(ticks)
    period = period_seconds or update_period_seconds(ticks)
    if period is None or period < GRID_MIN_PERIOD_SECONDS:
        return list(ticks)
    seconds = [tick.seconds for tick in ticks]
    for _ in range(2):
        numbers = _tick_numbers(seconds, period)
        intercept, period = _fitted_line(numbers, seconds)
    fitted = [intercept + period * number for number in numbers]
    residuals = [observed - placed for observed, placed in zip(seconds, fitted, strict=True)]
    if not _scatter_about_a_grid(residuals, period):
        return list(ticks)
    return [Tick(placed, tick.joules) for placed, tick in zip(fitted, ticks, strict=True)]


def _tick_numbers(seconds: Sequence[float], period: float) -> list[int]:
    numbers = [0]
    for earlier, later in itertools.pairwise(seconds):
        numbers.append(numbers[-1] + max(1, round((later - earlier) / period)))
    return numbers


def _fitted_line(numbers: Sequence[int], seconds: Sequence[float]) -> tuple[float, float]:
    """Intercept and slope of the least-squares line of seconds on numbers."""
    mean_number = statistics.fmean(numbers)
    mean_seconds = statistics.fmean(seconds)
    spread = sum((n - mean_number) ** 2 for n in numbers)
    slope = (
        sum((n - mean_number) * (t - mean_seconds) for n, t in zip(numbers, seconds, strict=True))
        / spread
    )
    return mean_seconds - slope * mean_number, slope


def _scatter_about_a_grid(residuals: Sequence[float], period: float) -> bool:
    if period <= 0:
        return False
    if statistics.pstdev(residuals) > GRID_MAX_RESIDUAL_STD_FRACTION * period:
        return False
    if max(abs(r) for r in residuals) > GRID_MAX_RESIDUAL_FRACTION * period:
        return False
    energy = sum(r * r for r in residuals)
    follow = sum(a * b for a, b in itertools.pairwise(residuals))
    return energy == 0 or follow / energy <= GRID_MAX_RESIDUAL_CORRELATION


class CompletionTimeline:
    """Passes completed by an instant, interpolated inside the pass running at that instant.

    ``completions`` are the instants at which passes ended, preceded by the instant the first
    pass began. A pass is assumed to progress evenly over its span, so a tick falling 30 %
    into a pass counts 0.3 of it.
    """

    def __init__(self, start_seconds: float, completions: Sequence[float]) -> None:
        self._times = [start_seconds, *completions]

    @property
    def passes(self) -> int:
        return len(self._times) - 1

    @property
    def completions(self) -> list[float]:
        return self._times[1:]

    @property
    def start_seconds(self) -> float:
        return self._times[0]

    @property
    def end_seconds(self) -> float:
        return self._times[-1]

    def passes_by(self, seconds: float) -> float:
        times = self._times
        if seconds <= times[0]:
            return 0.0
        if seconds >= times[-1]:
            return float(len(times) - 1)
        index = bisect.bisect_right(times, seconds) - 1
        span = times[index + 1] - times[index]
        return index + ((seconds - times[index]) / span if span > 0 else 0.0)

    def passes_between(self, start_seconds: float, end_seconds: float) -> float:
        return self.passes_by(end_seconds) - self.passes_by(start_seconds)


@dataclass(frozen=True)
class TickWindow:
    """Energy and work between two ticks."""

    start_seconds: float
    end_seconds: float
    joules: float
    passes: float

    @property
    def seconds(self) -> float:
        return self.end_seconds - self.start_seconds


def from_first_window(windows: Sequence[TickWindow]) -> tuple[TickWindow, ...]:
    """The windows with their times counted from the first one's start: a record that does
    not carry the process's clock, which means nothing outside it."""
    if not windows:
        return ()
    origin = windows[0].start_seconds
    return tuple(
        TickWindow(w.start_seconds - origin, w.end_seconds - origin, w.joules, w.passes)
        for w in windows
    )


def tick_windows(
    ticks: Sequence[Tick], timeline: CompletionTimeline, *, min_window_seconds: float
) -> list[TickWindow]:
    """Adjacent windows from tick to tick, each at least ``min_window_seconds`` long.

    Only ticks inside the timeline count: energy before the first pass began or after the last
    one ended belongs to no sample. A trailing stretch shorter than ``min_window_seconds`` is
    added to the last window rather than made a short, noisy one.
    """
    inside = [
        tick for tick in ticks if timeline.start_seconds <= tick.seconds <= timeline.end_seconds
    ]
    windows: list[TickWindow] = []
    if not inside:
        return windows
    start = inside[0]
    for tick in inside[1:]:
        if tick.seconds - start.seconds >= min_window_seconds:
            windows.append(
                TickWindow(
                    start_seconds=start.seconds,
                    end_seconds=tick.seconds,
                    joules=tick.joules - start.joules,
                    passes=timeline.passes_between(start.seconds, tick.seconds),
                )
            )
            start = tick
    if windows and start is not inside[-1]:
        # The stretch after the last full window joins it, so that every figure of the run
        # (energy, samples, seconds) covers the same span, first tick to last.
        last, end = windows[-1], inside[-1]
        windows[-1] = TickWindow(
            start_seconds=last.start_seconds,
            end_seconds=end.seconds,
            joules=last.joules + end.joules - start.joules,
            passes=timeline.passes_between(last.start_seconds, end.seconds),
        )
    return windows
