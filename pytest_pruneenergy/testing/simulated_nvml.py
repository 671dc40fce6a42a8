"""A simulated pynvml with one GPU, for deterministic CPU tests of tick-aligned measurement.

The simulated GPU draws ``power_watts`` (a constant, or a function of seconds since the
simulation started). Like a real one, its energy counter and its power readings change only at
ticks, every ``update_period_seconds`` and ``power_field_period_seconds``, and a counter read
costs ``read_cost_seconds``. ``true_joules`` says what the board really drew, for tests to
compare a measurement against. With a ``SimulatedClock`` (``simulated_clock.py``) as ``clock``
and its ``sleep``, time passes only when something sleeps, and a test runs the same every time.
"""

from __future__ import annotations

import ctypes
import math
import threading
import time
from array import array
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Protocol

import pynvml

from ..measure.meters.nvml import MILLIJOULES_PER_JOULE, MILLIWATTS_PER_WATT, NvmlCounterMeter

DEFAULT_UUID = "GPU-00000000-0000-0000-0000-000000000000"
DEFAULT_INTEGRATION_STEP_SECONDS = 1e-4
SIMULATED_DRIVER_VERSION = "580.159.03"
SIMULATED_POWER_LIMIT_MILLIWATTS = 700_000
MICROSECONDS_PER_SECOND = 1_000_000

# Ten sleeps of 0.01 s sum to 0.09999999999999999 s: without this slack, a read "at" a tick
# would miss it by float rounding.
_TICK_SLACK = 1e-9
# Two-point Gauss-Legendre nodes lie this fraction of a step either side of its middle.
_GAUSS_NODE_OFFSET = 1 / (2 * math.sqrt(3))


def last_tick_seconds(seconds: float, period_seconds: float) -> float:
    """The latest tick (a multiple of ``period_seconds``) at or before ``seconds``."""
    return math.floor(seconds / period_seconds + _TICK_SLACK) * period_seconds


class _PowerTrace(Protocol):
    def watts_at(self, seconds: float) -> float: ...

    def joules_until(self, seconds: float) -> float: ...


class _ConstantPower:
    """A constant draw, integrated exactly."""

    def __init__(self, watts: float) -> None:
        self._watts = watts

    def watts_at(self, seconds: float) -> float:
        return self._watts

    def joules_until(self, seconds: float) -> float:
        return self._watts * seconds


class _IntegratedPower:
    """A draw given as a function, integrated by two-point Gauss-Legendre on fixed steps.

    Accuracy: exact where the trace is a cubic polynomial within each step; on a smooth trace
    the error is about step**4 / 4320 x max|P''''| joules per second (nanojoules for any real
    trace at the default 0.1 ms step); a jump of J watts inside a step costs up to about
    J x step joules, but a jump on a multiple of the step costs nothing, because the Gauss
    nodes lie strictly inside steps. The integral up to each step boundary is cached, so a
    simulation of N seconds evaluates the function 2 N / step times in all, not per read.
    """

    def __init__(self, watts_at: Callable[[float], float], step_seconds: float) -> None:
        self.watts_at = watts_at
        self._step_seconds = step_seconds
        self._joules_at_steps = array("d", [0.0])
        # The power meter's thread and the test's thread may both extend the cache.
        self._lock = threading.Lock()

    def _gauss_joules(self, start_seconds: float, length_seconds: float) -> float:
        middle = start_seconds + length_seconds / 2
        offset = length_seconds * _GAUSS_NODE_OFFSET
        return (self.watts_at(middle - offset) + self.watts_at(middle + offset)) * (
            length_seconds / 2
        )

    def joules_until(self, seconds: float) -> float:
        step = self._step_seconds
        whole_steps = math.floor(seconds / step)
        with self._lock:
            cumulative = self._joules_at_steps
            while len(cumulative) <= whole_steps:
                last = len(cumulative) - 1
                cumulative.append(cumulative[last] + self._gauss_joules(last * step, step))
            joules_at_step = cumulative[whole_steps]
        step_start = whole_steps * step
        return joules_at_step + self._gauss_joules(step_start, seconds - step_start)


class _Handle:
    """The simulated GPU's device handle: opaque, as pynvml's are."""


class SimulatedNvml:
    """A stand-in for the pynvml module, with one GPU; see the module docstring.

    The energy counter returns, in integer millijoules, the integral of the power trace from the
    start to the last tick at or before the read (the instant halfway through its
    ``read_cost_seconds``, so a poller that stamps a change with the midpoint of its read is
    unbiased). Power readings return the power at the last power-field tick. After
    ``fail_after_reads`` counter reads, every further one raises NVMLError (GPU is lost).
    ``temperature_celsius`` and ``sm_clock_mhz`` are plain attributes: set one to None and its
    query raises NVMLError (Not Supported). So are what the GPU's neighbours do:
    ``compute_pids`` (the processes NVML lists on it), ``clock_event_reasons`` (a mask of
    nvmlClocksEventReason*) and ``power_violation_ns`` / ``thermal_violation_ns`` (cumulative
    times the clocks were held back); None for any of them: Not Supported.
    """

    NVMLError = pynvml.NVMLError
    NVML_SUCCESS = pynvml.NVML_SUCCESS
    NVML_ERROR_UNINITIALIZED = pynvml.NVML_ERROR_UNINITIALIZED
    NVML_ERROR_INVALID_ARGUMENT = pynvml.NVML_ERROR_INVALID_ARGUMENT
    NVML_ERROR_NOT_SUPPORTED = pynvml.NVML_ERROR_NOT_SUPPORTED
    NVML_ERROR_GPU_IS_LOST = pynvml.NVML_ERROR_GPU_IS_LOST
    NVML_FI_DEV_POWER_INSTANT = pynvml.NVML_FI_DEV_POWER_INSTANT
    NVML_VALUE_TYPE_UNSIGNED_INT = pynvml.NVML_VALUE_TYPE_UNSIGNED_INT
    NVML_TEMPERATURE_GPU = pynvml.NVML_TEMPERATURE_GPU
    NVML_CLOCK_SM = pynvml.NVML_CLOCK_SM
    NVML_PERF_POLICY_POWER = pynvml.NVML_PERF_POLICY_POWER
    NVML_PERF_POLICY_THERMAL = pynvml.NVML_PERF_POLICY_THERMAL

    def __init__(
        self,
        *,
        power_watts: float | Callable[[float], float],
        update_period_seconds: float = 0.1,
        read_cost_seconds: float = 0.004,
        clock: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], None] = time.sleep,
        counter_supported: bool = True,
        fail_after_reads: int | None = None,
        uuid: str = DEFAULT_UUID,
        name: str = "Simulated GPU",
        power_field_period_seconds: float = 0.1,
        power_field_supported: bool = True,
        temperature_celsius: int | None = 45,
        sm_clock_mhz: int | None = 1980,
        integration_step_seconds: float = DEFAULT_INTEGRATION_STEP_SECONDS,
    ) -> None:
        for label, seconds in (
            ("update_period_seconds", update_period_seconds),
            ("power_field_period_seconds", power_field_period_seconds),
            ("integration_step_seconds", integration_step_seconds),
        ):
            if not seconds > 0:
                raise ValueError(f"{label} must be > 0, got {seconds!r}")
        if read_cost_seconds < 0:
            raise ValueError(f"read_cost_seconds must be >= 0, got {read_cost_seconds!r}")
        self._trace: _PowerTrace = (
            _IntegratedPower(power_watts, integration_step_seconds)
            if callable(power_watts)
            else _ConstantPower(float(power_watts))
        )
        self.update_period_seconds = update_period_seconds
        self.read_cost_seconds = read_cost_seconds
        self._clock = clock
        self._sleep = sleep
        self.counter_supported = counter_supported
        self.fail_after_reads = fail_after_reads
        self.uuid = uuid
        self.name = name
        self.power_field_period_seconds = power_field_period_seconds
        self.power_field_supported = power_field_supported
        self.temperature_celsius = temperature_celsius
        self.sm_clock_mhz = sm_clock_mhz
        self.compute_pids: list[int] | None = []
        self.clock_event_reasons: int | None = 0
        self.power_violation_ns: int | None = 0
        self.thermal_violation_ns: int | None = 0
        self.init_count = 0
        self.counter_reads = 0
        self._handle = _Handle()
        self._reads_lock = threading.Lock()
        self._start_seconds = clock()

    # -- for tests ---------------------------------------------------------------------------

    def elapsed(self) -> float:
        """Seconds since the simulation started, by its clock."""
        return self._clock() - self._start_seconds

    def true_joules(self, start_seconds: float, end_seconds: float) -> float:
        """What the board drew between two instants of the simulation (seconds since start)."""
        return self._trace.joules_until(end_seconds) - self._trace.joules_until(start_seconds)

    # -- pynvml ------------------------------------------------------------------------------

    def nvmlInit(self) -> None:
        self.init_count += 1

    def nvmlShutdown(self) -> None:
        self._require_init()
        self.init_count -= 1

    def nvmlSystemGetDriverVersion(self) -> str:
        self._require_init()
        return SIMULATED_DRIVER_VERSION

    def nvmlDeviceGetCount(self) -> int:
        self._require_init()
        return 1

    def nvmlDeviceGetHandleByIndex(self, index: int) -> _Handle:
        self._require_init()
        if index != 0:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        return self._handle

    def nvmlDeviceGetUUID(self, handle: _Handle) -> str:
        self._require_device(handle)
        return self.uuid

    def nvmlDeviceGetName(self, handle: _Handle) -> str:
        self._require_device(handle)
        return self.name

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: _Handle) -> int:
        self._require_device(handle)
        return SIMULATED_POWER_LIMIT_MILLIWATTS

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: _Handle) -> int:
        self._require_device(handle)
        if not self.counter_supported:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
        with self._reads_lock:
            reads_before = self.counter_reads
            self.counter_reads += 1
        self._sleep(self.read_cost_seconds / 2)
        try:
            if self.fail_after_reads is not None and reads_before >= self.fail_after_reads:
                raise pynvml.NVMLError(pynvml.NVML_ERROR_GPU_IS_LOST)
            tick_seconds = last_tick_seconds(self.elapsed(), self.update_period_seconds)
            return round(self._trace.joules_until(tick_seconds) * MILLIJOULES_PER_JOULE)
        finally:
            self._sleep(self.read_cost_seconds / 2)

    def nvmlDeviceGetFieldValues(
        self, handle: _Handle, field_ids: Sequence[int]
    ) -> ctypes.Array[pynvml.c_nvmlFieldValue_t]:
        self._require_device(handle)
        values = (pynvml.c_nvmlFieldValue_t * len(field_ids))()
        for value, field_id in zip(values, field_ids, strict=True):
            value.fieldId = field_id
            if field_id == pynvml.NVML_FI_DEV_POWER_INSTANT and self.power_field_supported:
                tick_seconds = self._power_tick_seconds()
                value.nvmlReturn = pynvml.NVML_SUCCESS
                value.timestamp = round(tick_seconds * MICROSECONDS_PER_SECOND)
                value.valueType = pynvml.NVML_VALUE_TYPE_UNSIGNED_INT
                value.value.uiVal = self._milliwatts_at(tick_seconds)
            else:
                value.nvmlReturn = pynvml.NVML_ERROR_NOT_SUPPORTED
        return values

    def nvmlDeviceGetPowerUsage(self, handle: _Handle) -> int:
        self._require_device(handle)
        return self._milliwatts_at(self._power_tick_seconds())

    def nvmlDeviceGetTemperature(self, handle: _Handle, sensor: int) -> int:
        self._require_device(handle)
        if sensor != pynvml.NVML_TEMPERATURE_GPU:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_INVALID_ARGUMENT)
        if self.temperature_celsius is None:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return self.temperature_celsius

    def nvmlDeviceGetClockInfo(self, handle: _Handle, clock_type: int) -> int:
        self._require_device(handle)
        # The simulated GPU has an SM clock only.
        if clock_type != pynvml.NVML_CLOCK_SM or self.sm_clock_mhz is None:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return self.sm_clock_mhz

    def nvmlDeviceGetComputeRunningProcesses(self, handle: _Handle) -> list[SimpleNamespace]:
        self._require_device(handle)
        if self.compute_pids is None:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return [SimpleNamespace(pid=pid, usedGpuMemory=None) for pid in self.compute_pids]

    def nvmlDeviceGetCurrentClocksEventReasons(self, handle: _Handle) -> int:
        self._require_device(handle)
        if self.clock_event_reasons is None:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return self.clock_event_reasons

    def nvmlDeviceGetViolationStatus(self, handle: _Handle, policy: int) -> SimpleNamespace:
        self._require_device(handle)
        nanoseconds = {
            pynvml.NVML_PERF_POLICY_POWER: self.power_violation_ns,
            pynvml.NVML_PERF_POLICY_THERMAL: self.thermal_violation_ns,
        }.get(policy)
        if nanoseconds is None:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return SimpleNamespace(referenceTime=0, violationTime=nanoseconds)

    # -- internals ---------------------------------------------------------------------------

    def _require_init(self) -> None:
        if self.init_count == 0:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_UNINITIALIZED)

    def _require_device(self, handle: _Handle) -> None:
        self._require_init()
        if handle is not self._handle:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_INVALID_ARGUMENT)

    def _power_tick_seconds(self) -> float:
        return last_tick_seconds(self.elapsed(), self.power_field_period_seconds)

    def _milliwatts_at(self, seconds: float) -> int:
        return round(self._trace.watts_at(seconds) * MILLIWATTS_PER_WATT)


def simulated_counter_meter(sim: SimulatedNvml) -> NvmlCounterMeter:
    """An NVML counter meter reading ``sim``'s GPU, as torch's ``cuda:0``; no torch or CUDA."""
    return NvmlCounterMeter(0, nvml=sim, cuda_uuid=sim.uuid)
