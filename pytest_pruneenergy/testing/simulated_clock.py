"""A simulated clock, for tests of the measurement protocol that run in milliseconds and give the
same figures every time.

Time passes only when simulated work passes it: ``SimulatedClock.now`` is the clock and
``SimulatedClock.sleep`` the work (a forward pass, a meter read, a rest). The thread that calls
``sleep`` drives the simulation: in a protocol test, the test's own thread, which is the
protocol's measuring thread.

The protocol has a second thread, the tick poller. Here it becomes a *process* of the clock: it
runs on a thread of its own, but only while the driving thread waits inside ``sleep`` or
``join``, never two at once, each process at its own simulated instants. A poller's rest of 2 ms
and a pass of 1 ms overlap in simulated time as they would in real time; a read that costs 4 ms
of the poller's time costs the measuring thread nothing. Where the driver's sleep and a process's
wake-up end at the same instant, the process runs first; processes due at the same instant run
in the order they were scheduled.

``tick_recorder`` gives the protocol a TickRecorder whose poller is such a process (pass it as
``measure(..., clock=clock, tick_recorder=clock.tick_recorder)``), and ``TickingMeter`` is an
energy counter that changes, as NVML's does, only at ticks of a clock.
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
from collections.abc import Callable

from ..measure.meters import DeviceState, Meter, MeterReadError
from ..measure.ticks import DEFAULT_POLL_INTERVAL_SECONDS, TickRecorder

NANOSECONDS_PER_SECOND = 1_000_000_000
# A process that neither pauses nor ends within this much real time is waiting for something the
# clock does not run (a lock the driver holds, say): the simulation says so instead of hanging.
DEFAULT_STALL_SECONDS = 30.0
# The tick at an instant a float division puts a hair below a whole number of periods (0.3 / 0.1
# is 2.9999999999999996) is still that tick.
_TICK_SLACK = 1e-9


class SimulationStalled(RuntimeError):
    """A process of the simulation waited for something the simulated clock does not run."""


def _nanoseconds(seconds: float) -> int:
    if not seconds >= 0:
        raise ValueError(f"seconds must be >= 0, got {seconds!r}")
    return round(seconds * NANOSECONDS_PER_SECOND)


class SimulatedClock:
    """Seconds that pass only by ``sleep``, kept as whole nanoseconds so that they add exactly."""

    def __init__(
        self, seconds: float = 0.0, *, stall_seconds: float = DEFAULT_STALL_SECONDS
    ) -> None:
        self._nanoseconds = _nanoseconds(seconds)
        self._stall_seconds = stall_seconds
        self._condition = threading.Condition()
        # (wake-up in nanoseconds, order of scheduling, process): the processes waiting their turn.
        self._agenda: list[tuple[int, int, SimulatedProcess]] = []
        self._order = itertools.count()
        self._running: SimulatedProcess | None = None
        self._processes: dict[threading.Thread, SimulatedProcess] = {}

    def now(self) -> float:
        return self._nanoseconds / NANOSECONDS_PER_SECOND

    def __call__(self) -> float:
        return self.now()

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass for the calling thread: on a process's thread, for that process
        alone; on the driving thread, for everyone, each process running as it falls due."""
        wake = self._wake_after(seconds)
        process = self._processes.get(threading.current_thread())
        if process is not None:
            process.pause_until(wake, cut_short_by_interrupt=False)
            return
        while self._agenda and self._agenda[0][0] <= wake:
            due, _, next_process = heapq.heappop(self._agenda)
            self._nanoseconds = max(self._nanoseconds, due)
            self._resume(next_process)
        self._nanoseconds = wake

    def spawn(self, work: Callable[[], None], *, name: str) -> SimulatedProcess:
        """Run ``work`` as a process from now on (its first step runs at the driver's next
        ``sleep`` or ``join``)."""
        process = SimulatedProcess(self, work, name)
        self._processes[process.thread] = process
        self._schedule(process, self._nanoseconds)
        process.thread.start()
        return process

    def join(self, process: SimulatedProcess) -> None:
        """Let time pass, for the driver too, until ``process`` has ended; raise what it raised."""
        while not process.finished:
            if not self._agenda:
                raise SimulationStalled(f"{process.name} waits for something no process runs")
            due, _, next_process = heapq.heappop(self._agenda)
            self._nanoseconds = max(self._nanoseconds, due)
            self._resume(next_process)
        del self._processes[process.thread]
        if process.error is not None:
            raise process.error

    def tick_recorder(
        self, meter: Meter, *, poll_interval_seconds: float = DEFAULT_POLL_INTERVAL_SECONDS
    ) -> TickRecorder:
        """A TickRecorder of ``meter`` whose poller is a process of this clock."""
        return SimulatedTickRecorder(meter, self, poll_interval_seconds=poll_interval_seconds)

    # -- between the driver and the processes -----------------------------------------------

    def _wake_after(self, seconds: float) -> int:
        return self._nanoseconds + _nanoseconds(seconds)

    def _schedule(self, process: SimulatedProcess, wake: int) -> None:
        heapq.heappush(self._agenda, (wake, next(self._order), process))

    def _end_rest(self, process: SimulatedProcess) -> None:
        """Move the wake-up of a process resting in a cut-short-able pause to now."""
        if not process.resting:
            return
        self._agenda = [entry for entry in self._agenda if entry[2] is not process]
        heapq.heapify(self._agenda)
        self._schedule(process, self._nanoseconds)

    def _resume(self, process: SimulatedProcess) -> None:
        """Hand the turn to ``process`` and wait until it pauses or ends."""
        with self._condition:
            self._running = process
            self._condition.notify_all()
            if not self._condition.wait_for(
                lambda: self._running is None, timeout=self._stall_seconds
            ):
                raise SimulationStalled(
                    f"{process.name} neither paused nor ended within {self._stall_seconds:g} s "
                    "of real time: it waits for something outside the simulated clock"
                )

    def _hand_back(self, process: SimulatedProcess, *, finished: bool) -> None:
        """On ``process``'s thread: give the turn back to the driver; unless finished, wait for
        the next turn."""
        with self._condition:
            self._running = None
            self._condition.notify_all()
            if not finished:
                self._condition.wait_for(lambda: self._running is process)

    def _wait_for_first_turn(self, process: SimulatedProcess) -> None:
        with self._condition:
            self._condition.wait_for(lambda: self._running is process)


class SimulatedProcess:
    """A thread of the simulated program that runs only in its turns (see SimulatedClock)."""

    def __init__(self, clock: SimulatedClock, work: Callable[[], None], name: str) -> None:
        self.name = name
        self.finished = False
        self.error: BaseException | None = None
        self.resting = False
        self.interrupted = False
        self._clock = clock
        self._work = work
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def rest(self, seconds: float) -> None:
        """On this process's thread: pause for ``seconds``, unless or until interrupted."""
        if not self.interrupted:
            self.pause_until(self._clock._wake_after(seconds), cut_short_by_interrupt=True)

    def interrupt(self) -> None:
        """From the driver: end the process's rest now, and every later one at once, as
        ``Event.set()`` does a thread's ``Event.wait()``."""
        self.interrupted = True
        self._clock._end_rest(self)

    def pause_until(self, wake: int, *, cut_short_by_interrupt: bool) -> None:
        """On this process's thread: give up the turn until ``wake`` (nanoseconds)."""
        self.resting = cut_short_by_interrupt
        self._clock._schedule(self, wake)
        self._clock._hand_back(self, finished=False)
        self.resting = False

    def _run(self) -> None:
        self._clock._wait_for_first_turn(self)
        try:
            self._work()
        except BaseException as error:  # raised to the driver by join()
            self.error = error
        finally:
            self.finished = True
            self._clock._hand_back(self, finished=True)


class SimulatedTickRecorder(TickRecorder):
    """A TickRecorder whose poller runs as a process of a SimulatedClock: the same reads, rests
    and last read as the poller thread's, at the simulated instants it would make them."""

    def __init__(
        self,
        meter: Meter,
        clock: SimulatedClock,
        *,
        poll_interval_seconds: float = DEFAULT_POLL_INTERVAL_SECONDS,
    ) -> None:
        super().__init__(meter, clock=clock.now, poll_interval_seconds=poll_interval_seconds)
        self._simulation = clock
        self._process: SimulatedProcess | None = None

    def start(self) -> None:
        self._process = self._simulation.spawn(self._poll, name="pruneenergy-ticks (simulated)")

    def _rest(self, seconds: float) -> None:
        assert self._process is not None
        self._process.rest(seconds)

    def _end_polling(self) -> None:
        self._stopping.set()
        if self._process is not None:
            self._process.interrupt()
            self._simulation.join(self._process)


class TickingMeter:
    """An energy counter that, like NVML's, changes only every ``period_seconds`` of ``clock``.

    During the k-th period from its creation the board draws ``watts`` (a constant, or a
    function of k): the value a read returns is the energy up to the start of the period the
    read falls in. Reads cost no time. After ``fail_after`` reads every read fails, as a GPU
    that fell off the bus does. Its device state is fixed: 40 C, 1980 MHz.
    """

    name = "ticking"
    is_estimate = False
    description = "a simulated counter that changes at ticks"
    gpu_facts = None

    def __init__(
        self,
        clock: Callable[[], float],
        watts: float | Callable[[int], float] = 100.0,
        *,
        period_seconds: float = 0.02,
        fail_after: int | None = None,
    ) -> None:
        self._clock = clock
        self._watts = watts if callable(watts) else (lambda _period: float(watts))
        self.period_seconds = period_seconds
        self._fail_after = fail_after
        self.reads = 0
        self._start_seconds = clock()
        self._lock = threading.Lock()
        self._joules_at_ticks = [0.0]

    def read_joules(self) -> float:
        with self._lock:
            self.reads += 1
            if self._fail_after is not None and self.reads > self._fail_after:
                raise MeterReadError("NVML_ERROR_GPU_IS_LOST")
            return self._joules_at_tick(self.ticks_by(self._clock()))

    def ticks_by(self, seconds: float) -> int:
        """How many times the value has changed by ``seconds`` of the clock."""
        periods = (seconds - self._start_seconds) / self.period_seconds
        return max(0, math.floor(periods + _TICK_SLACK))

    def _joules_at_tick(self, tick: int) -> float:
        while len(self._joules_at_ticks) <= tick:
            period = len(self._joules_at_ticks) - 1
            energy = self._watts(period) * self.period_seconds
            self._joules_at_ticks.append(self._joules_at_ticks[-1] + energy)
        return self._joules_at_ticks[tick]

    def device_state(self) -> DeviceState:
        return DeviceState(temperature_celsius=40.0, sm_clock_mhz=1980.0)

    def close(self) -> None:
        """Nothing to release."""
