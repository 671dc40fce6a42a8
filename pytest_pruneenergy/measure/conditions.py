"""What else happened while an item was measured, and whether it could have corrupted the number.

A meter reads a whole board or package: whatever else runs there is counted too. So, around
each item's measurement, this module looks for what can make a figure wrong while its CI stays
tight (a CI measures the scatter between windows, and a steady neighbour does not scatter):

- other processes computing on the measured GPU (NVML's list of compute processes);
- other processes' CPU time on the host, against this process's own (``/proc/stat``);
- the GPU holding its clocks back (NVML's clock-event reasons: power cap, thermal slowdown,
  hardware slowdown, power brake), at either end of the measurement or in between (NVML's
  cumulative power and thermal violation times);
- the board drawing well above its idle power before the item started, while this process had
  left it quiet: the mark of a neighbour that NVML's process list does not show (another
  container's). Read only where this process's last work on the board ended long enough ago
  for the power reading to hold none of it (``QUIET_SECONDS``): before a model's first batch
  size, after its load, typically; not after the windows, which would cost a wait every item.

What it finds is said in words (``Conditions.disturbances``); an empty tuple means nothing was
seen, not that nothing could be looked at: what cannot be read here is None and says nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

# NVML's clock-event reasons (nvmlClocksEventReason*) that mean the clocks were held below what
# the work asked for. Idle, application clocks, sync boost and display clocks are left out:
# they are settings or states, not a board that throttles.
POWER_CAP = "power cap"
CLOCK_EVENT_REASONS: dict[int, str] = {
    0x4: POWER_CAP,
    0x8: "hardware slowdown",
    0x20: "thermal slowdown",
    0x40: "thermal slowdown",
    0x80: "power brake",
}

# How other processes' CPU time is judged, by what is measured:
# - METERED_HOST: the model runs on the CPU and the meter reads the host (RAPL reads the whole
#   package; the estimate, this process's CPU time, which grows when caches and cores are
#   shared): a neighbour's steady quarter of a core disturbs it, while the poller and the
#   system's own daemons stay well below.
# - LAUNCHING_HOST: the model runs on a GPU; the host only launches its passes, which needs one
#   free core (batch 1 is launch-bound): a neighbour disturbs it where less than that is left.
# - UNJUDGED: the host's load does not reach the figure (a CPU item read by a meter that says
#   it does not read the host), or it is not known.
METERED_HOST = "metered"
LAUNCHING_HOST = "launching"
UNJUDGED = "unjudged"
CPU_METER_NEIGHBOUR_CORES = 0.25
GPU_LAUNCH_CORES = 1.0

# The board's instant power is refreshed every ~100 ms from ~25 ms of samples (NVML; see
# docs/measurement.md): this long after this process's last work, a reading holds none of it.
QUIET_SECONDS = 0.15
# Above idle by more than the larger of these, a quiet board is someone else's work: a GPU that
# has just worked lingers in a higher power state for a while, a few tens of watts above the
# idle read at the start of the run; a neighbour's kernels draw hundreds.
BUSY_ABOVE_IDLE_FRACTION = 0.5
BUSY_ABOVE_IDLE_WATTS = 40.0


@dataclass(frozen=True)
class HostCpu:
    """CPU time of the whole host and of this process, at one instant (seconds)."""

    busy_seconds: float
    own_seconds: float
    wall_seconds: float
    cores: int


def busy_seconds_from_proc_stat(text: str, ticks_per_second: float) -> float:
    """All CPUs' busy time from ``/proc/stat``'s first line: user, nice, system, irq, softirq
    and steal; idle and iowait are not busy, guest time is already in user."""
    fields = text.split("\n", 1)[0].split()
    if not fields or fields[0] != "cpu":
        raise ValueError("no aggregate cpu line")
    values = [float(value) for value in fields[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (values + [0.0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / ticks_per_second


def read_host_cpu(
    proc_stat: Path = Path("/proc/stat"), clock: Callable[[], float] = time.perf_counter
) -> HostCpu | None:
    """The host's busy CPU time and this process's own, now; None where the host does not say
    (no ``/proc/stat``: not Linux)."""
    try:
        text = proc_stat.read_text()
        ticks_per_second = float(os.sysconf("SC_CLK_TCK"))
        busy = busy_seconds_from_proc_stat(text, ticks_per_second)
    except (OSError, ValueError, AttributeError):
        return None
    times = os.times()
    return HostCpu(
        busy_seconds=busy,
        own_seconds=times.user + times.system,
        wall_seconds=clock(),
        cores=os.cpu_count() or 1,
    )


def others_cpu_cores(before: HostCpu, after: HostCpu) -> float:
    """How many cores other processes kept busy on average between two readings (never less
    than 0: the host's ticks are coarser than this process's own time)."""
    wall = after.wall_seconds - before.wall_seconds
    if wall <= 0:
        return 0.0
    others = (after.busy_seconds - before.busy_seconds) - (after.own_seconds - before.own_seconds)
    return max(0.0, others / wall)


def own_cpu_cores(before: HostCpu, after: HostCpu) -> float:
    wall = after.wall_seconds - before.wall_seconds
    return (after.own_seconds - before.own_seconds) / wall if wall > 0 else 0.0


@dataclass(frozen=True)
class GpuActivity:
    """What NVML says of the measured GPU at one instant; None where it cannot say."""

    # Compute processes on the GPU other than this one (this one counted out), and their ids.
    other_processes: int | None = None
    other_pids: tuple[int, ...] = ()
    # The clock-event reasons in force (a bit mask of nvmlClocksEventReason*).
    clock_event_reasons: int | None = None
    # Cumulative nanoseconds the clocks were held back for power and for heat.
    power_violation_ns: int | None = None
    thermal_violation_ns: int | None = None
    # The board's instant power (watts).
    board_watts: float | None = None


def other_compute_processes(pids: Sequence[int], own_pid: int) -> tuple[int, tuple[int, ...]]:
    """The processes in NVML's list that are not this one.

    Inside a container NVML may give host process ids, and this process's id is then not in
    its list; since this process holds a context on the GPU, one entry is its own.
    """
    others = tuple(pid for pid in pids if pid != own_pid)
    if len(others) == len(pids) and pids:
        return len(pids) - 1, ()
    return len(others), others


def reason_names(mask: int | None) -> tuple[str, ...]:
    """The reasons of ``mask`` that hold clocks back, by name, each once."""
    if not mask:
        return ()
    names = [name for bit, name in CLOCK_EVENT_REASONS.items() if mask & bit]
    return tuple(dict.fromkeys(names))


def _grew(before: int | None, after: int | None) -> bool:
    return before is not None and after is not None and after > before


@dataclass(frozen=True)
class Conditions:
    """What was seen around one item's measurement."""

    # The most other compute processes seen on the GPU at either end; None: not looked at.
    other_gpu_processes: int | None = None
    other_gpu_pids: tuple[int, ...] = ()
    # Cores other processes kept busy on average, and this process's own; None: unknown.
    others_cpu_cores: float | None = None
    own_cpu_cores: float | None = None
    host_cores: int | None = None
    # Reasons the GPU held its clocks back, at either end or in between.
    clock_events: tuple[str, ...] = ()
    # How other processes' CPU time is judged (METERED_HOST, LAUNCHING_HOST, UNJUDGED).
    host_role: str = UNJUDGED
    # The board's power before the item, read while this process had left it quiet, and its
    # idle power (the run's); None: not read, or not known.
    quiet_board_watts: float | None = None
    idle_watts: float | None = None

    @property
    def disturbances(self) -> tuple[str, ...]:
        """What could have corrupted the measurement, in words; empty when nothing was seen."""
        seen = []
        if self.other_gpu_processes:
            pids = (
                f" (pid {', '.join(map(str, self.other_gpu_pids))})" if self.other_gpu_pids else ""
            )
            seen.append(f"{self.other_gpu_processes} other process(es) on the GPU{pids}")
        if self.others_cpu_cores is not None and self._host_busy():
            seen.append(
                f"other processes kept {self.others_cpu_cores:.2f} CPU cores busy"
                + (f" of {self.host_cores}" if self.host_cores else "")
            )
        if self.clock_events:
            seen.append(clocks_held_back(self.clock_events))
        if busy_while_quiet(self.quiet_board_watts, self.idle_watts):
            seen.append(
                f"the board drew {self.quiet_board_watts:.0f} W before the item, while this "
                f"process left it quiet (idle {self.idle_watts:.0f} W)"
            )
        return tuple(seen)

    def _host_busy(self) -> bool:
        assert self.others_cpu_cores is not None
        if self.host_role == METERED_HOST:
            return self.others_cpu_cores >= CPU_METER_NEIGHBOUR_CORES
        if self.host_role != LAUNCHING_HOST or None in (self.host_cores, self.own_cpu_cores):
            return False
        assert self.host_cores is not None and self.own_cpu_cores is not None
        free = self.host_cores - self.own_cpu_cores - self.others_cpu_cores
        return self.others_cpu_cores > 0 and free < GPU_LAUNCH_CORES


def clocks_held_back(events: Sequence[str]) -> str:
    """The disturbance of a GPU that held its clocks back, for these reasons, in words."""
    return f"clocks held back ({', '.join(events)})"


# All that was seen of a board held at its power limit, and nothing else: what a model whose
# own load reaches the limit shows every time it runs (items/remeasure.py tells it apart).
ONLY_POWER_CAP = (clocks_held_back((POWER_CAP,)),)


def busy_while_quiet(board_watts: float | None, idle_watts: float | None) -> bool:
    """Whether a board this process had left quiet drew more than its idle power allows."""
    if board_watts is None or idle_watts is None:
        return False
    margin = max(BUSY_ABOVE_IDLE_FRACTION * idle_watts, BUSY_ABOVE_IDLE_WATTS)
    return board_watts > idle_watts + margin


def conditions_between(
    host_before: HostCpu | None,
    host_after: HostCpu | None,
    gpu_before: GpuActivity | None,
    gpu_after: GpuActivity | None,
    *,
    host_role: str,
    quiet_board: GpuActivity | None = None,
    idle_watts: float | None = None,
) -> Conditions:
    """The conditions of one measurement from readings at its start and end; ``quiet_board``:
    the GPU read before the item while this process had left it quiet (None: not read)."""
    others = own = None
    cores = None
    if host_before is not None and host_after is not None:
        others = others_cpu_cores(host_before, host_after)
        own = own_cpu_cores(host_before, host_after)
        cores = host_after.cores
    processes: int | None = None
    pids: tuple[int, ...] = ()
    readings = [reading for reading in (gpu_before, gpu_after) if reading is not None]
    counts = [r.other_processes for r in readings if r.other_processes is not None]
    if counts:
        processes = max(counts)
        pids = tuple(sorted({pid for r in readings for pid in r.other_pids}))
    names = [name for r in readings for name in reason_names(r.clock_event_reasons)]
    if gpu_before is not None and gpu_after is not None:
        if _grew(gpu_before.power_violation_ns, gpu_after.power_violation_ns):
            names.append(POWER_CAP)
        if _grew(gpu_before.thermal_violation_ns, gpu_after.thermal_violation_ns):
            names.append("thermal slowdown")
    return Conditions(
        other_gpu_processes=processes,
        other_gpu_pids=pids,
        others_cpu_cores=others,
        own_cpu_cores=own,
        host_cores=cores,
        clock_events=tuple(dict.fromkeys(names)),
        host_role=host_role,
        quiet_board_watts=None if quiet_board is None else quiet_board.board_watts,
        idle_watts=idle_watts,
    )


def host_role_of(device: str, meter: object) -> str:
    """How other processes' CPU time bears on a measurement of ``device`` by ``meter``: a
    meter says whether it reads the host with ``reads_host`` (ours: RAPL and the estimate do);
    one that does not say is taken to, on a CPU."""
    if device.startswith("cuda"):
        return LAUNCHING_HOST
    return METERED_HOST if getattr(meter, "reads_host", True) else UNJUDGED


def gpu_activity_of(meter: object) -> GpuActivity | None:
    """The meter's reading of its GPU's activity; None for meters that cannot say (CPU meters,
    a user's meter without ``gpu_activity``). Never raises: this is context for a result."""
    read = getattr(meter, "gpu_activity", None)
    if read is None:
        return None
    try:
        activity = read()
    except Exception:
        return None
    return activity if isinstance(activity, GpuActivity) else None
