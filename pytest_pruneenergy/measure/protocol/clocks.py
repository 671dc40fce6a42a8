"""When passes complete: on the host, the call's return; on a GPU, markers queued after them.
And how far the host may run ahead of the device."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    pass


# -- completion times -----------------------------------------------------------------------


class HostPassClock:
    """Completion instants for a device whose passes finish when the call returns (CPU)."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._completions: list[float] = []

    def synchronize(self) -> None:
        """Nothing to wait for: a CPU pass has finished when its call returns."""

    def begin(self) -> float:
        self._completions = []
        return self._clock()

    def after_pass(self) -> None:
        self._completions.append(self._clock())

    def limit_queue(self, passes: int) -> None:
        """Nothing is ever queued on the host."""

    def space_markers(self, passes: int) -> None:
        """Every pass is timed by the host clock as it returns: no markers to space."""

    def queued_passes(self) -> int:
        return 0

    @property
    def passes_per_reading(self) -> int:
        """Every pass has a completion time of its own."""
        return 1

    @property
    def queue_limit(self) -> int:
        return 0

    def completions(self, *, wait: bool = False) -> list[float]:
        return list(self._completions)


class DeviceEvents(Protocol):
    """Markers recorded into an asynchronous device's queue of work (CUDA events)."""

    def synchronize(self) -> None:
        """Wait until everything queued so far has run."""

    def record(self) -> Any:
        """Queue a marker after the work queued so far."""

    def is_done(self, event: Any) -> bool: ...

    def wait(self, event: Any) -> None: ...

    def seconds_between(self, earlier: Any, later: Any) -> float:
        """Device time from one completed marker to another."""

    def release(self, event: Any) -> None:
        """The marker has been read and may be recorded again."""


class CudaEvents:
    """CUDA events on the current stream of one device, reused once read.

    A fresh ``torch.cuda.Event`` per pass is a CUDA event created at its first record and
    destroyed when Python drops it, two driver calls more per pass. Reuse moved the harness's
    cost at batch 1 by less than the noise (measured: docs/benchmarks/harness-cost/); kept
    because it can only remove work from the hot loop.
    """

    def __init__(self, device: str, *, reuse: bool = True) -> None:
        import torch

        self._torch = torch
        self._device = torch.device(device)
        # Looked up once: entering torch.cuda.device() on every pass costs more than the event.
        self._stream = torch.cuda.current_stream(self._device)
        self._reuse = reuse
        self._free: list[Any] = []

    def synchronize(self) -> None:
        self._torch.cuda.synchronize(self._device)

    def record(self) -> Any:
        event = self._free.pop() if self._free else self._torch.cuda.Event(enable_timing=True)
        event.record(self._stream)
        return event

    def release(self, event: Any) -> None:
        if self._reuse:
            self._free.append(event)

    def is_done(self, event: Any) -> bool:
        return bool(event.query())

    def wait(self, event: Any) -> None:
        event.synchronize()

    def seconds_between(self, earlier: Any, later: Any) -> float:
        return earlier.elapsed_time(later) / 1000


class EventPassClock:
    """Completion instants of passes on an asynchronous device, from markers queued after them;
    and a bound on how far the host runs ahead of the device.

    A marker follows every pass, or every ``passes_per_marker`` passes (``space_markers``):
    the passes between two markers are taken to end evenly spaced between them. Marker times
    are relative to a reference marker, recorded on an idle device right after a synchronize,
    so it completes at once and its host time anchors the rest.
    """

    def __init__(
        self, events: DeviceEvents, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self._events = events
        self._clock = clock
        self._reference: Any = None
        self._reference_seconds = 0.0
        self._pending: list[tuple[Any, int]] = []  # (marker, passes it closes)
        self._completions: list[float] = []
        self._unmarked = 0
        self._markers = 0
        self._passes_per_marker = 1
        self._queue_stride = 0  # in passes; 0: no limit
        self._queue_stride_markers = 0

    def synchronize(self) -> None:
        self._events.synchronize()

    def begin(self) -> float:
        self.synchronize()
        for event, _ in self._pending:  # all complete after the synchronize, never to be read
            self._events.release(event)
        if self._reference is not None:
            self._events.release(self._reference)
        self._reference = self._events.record()
        self._events.wait(self._reference)
        self._reference_seconds = self._clock()
        self._pending = []
        self._completions = []
        self._unmarked = 0
        self._markers = 0
        return self._reference_seconds

    def after_pass(self) -> None:
        self._unmarked += 1
        if self._unmarked >= self._passes_per_marker:
            self._mark()

    def _mark(self) -> None:
        self._pending.append((self._events.record(), self._unmarked))
        self._unmarked = 0
        self._markers += 1
        stride = self._queue_stride_markers
        # Every ``stride`` markers, wait for the marker ``stride`` back: at most 2 x stride stay
        # queued, and a launch-bound loop (whose passes are long done) pays one cheap call per
        # stride, not one per pass.
        if stride and self._markers % stride == 0 and len(self._pending) > stride:
            self._events.wait(self._pending[-stride - 1][0])

    def space_markers(self, passes: int) -> None:
        """One marker per ``passes`` passes instead of one per pass."""
        self._passes_per_marker = max(1, passes)
        self._set_queue_stride()

    def limit_queue(self, passes: int) -> None:
        """Keep ``passes`` to twice as many passes queued ahead of the device, no more."""
        self._queue_stride = max(1, passes)
        self._set_queue_stride()

    def _set_queue_stride(self) -> None:
        if self._queue_stride:
            self._queue_stride_markers = math.ceil(self._queue_stride / self._passes_per_marker)

    def queued_passes(self) -> int:
        """Passes launched and not seen complete at the last ``completions()``."""
        return sum(passes for _, passes in self._pending) + self._unmarked

    @property
    def passes_per_reading(self) -> int:
        """Passes a marker closes: above 1, their completion times are interpolated."""
        return self._passes_per_marker

    @property
    def queue_limit(self) -> int:
        """Passes the queue may grow by before the host waits (0: no limit set)."""
        return self._queue_stride_markers * self._passes_per_marker

    def completions(self, *, wait: bool = False) -> list[float]:
        if wait:
            if self._unmarked:
                self._mark()
            self.synchronize()
        done = 0
        for event, passes in self._pending:
            if not (wait or self._events.is_done(event)):
                break
            ended = self._reference_seconds + self._events.seconds_between(self._reference, event)
            previous = self._completions[-1] if self._completions else self._reference_seconds
            step = (ended - previous) / passes
            self._completions.extend(previous + step * k for k in range(1, passes + 1))
            self._events.release(event)
            done += 1
        del self._pending[:done]
        return list(self._completions)


PassClock = HostPassClock | EventPassClock


def make_pass_clock(device: str, clock: Callable[[], float] = time.perf_counter) -> PassClock:
    if device.startswith("cuda"):
        return EventPassClock(CudaEvents(device), clock)
    return HostPassClock(clock)
