"""What the NVML meters share, and GPU energy from NVML's total-energy counter (Volta and newer)."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from ..conditions import GpuActivity, other_compute_processes
from .base import DeviceState, GpuFacts, MeterReadError, MeterUnavailable

MILLIJOULES_PER_JOULE = 1000.0
MILLIWATTS_PER_WATT = 1000.0


class EnergyCounterMissing(MeterUnavailable):
    """The GPU has no total-energy counter (pre-Volta), though NVML can still read its power."""


def normalize_gpu_uuid(uuid: str) -> str:
    """One spelling for both sides: NVML says ``GPU-1b5e...``, torch says ``1b5e...``."""
    uuid = uuid.strip().lower()
    return uuid.removeprefix("gpu-")


def torch_cuda_uuid(cuda_index: int) -> str:
    """The UUID of torch's ``cuda:N``.

    Torch numbers devices after CUDA_VISIBLE_DEVICES; NVML numbers all devices of the machine.
    The UUID is the only name both agree on.
    """
    import torch

    if not torch.cuda.is_available():
        raise MeterUnavailable(
            "torch sees no CUDA device (CPU-only torch build, no NVIDIA driver, or "
            "CUDA_VISIBLE_DEVICES hides every GPU)"
        )
    count = torch.cuda.device_count()
    if not 0 <= cuda_index < count:
        raise MeterUnavailable(
            f"cuda:{cuda_index} does not exist: torch sees {count} CUDA device(s)"
        )
    return str(torch.cuda.get_device_properties(cuda_index).uuid)


def instant_power_field_watts(nvml: Any, handle: Any) -> float:
    """``NVML_FI_DEV_POWER_INSTANT`` through ``nvmlDeviceGetFieldValues``: about 2 us a read."""
    (field,) = nvml.nvmlDeviceGetFieldValues(handle, [nvml.NVML_FI_DEV_POWER_INSTANT])
    # The call as a whole succeeds even where this one field does not: each field carries its
    # own return code.
    if field.nvmlReturn != nvml.NVML_SUCCESS:
        raise nvml.NVMLError(field.nvmlReturn)
    return field.value.uiVal / MILLIWATTS_PER_WATT


class NvmlMeter(ABC):
    """An NVML meter of the GPU that torch calls ``cuda:<cuda_index>``.

    This base opens NVML, finds the device by UUID, reads its facts and state, and releases NVML;
    a subclass says what it reads. ``nvml`` is the pynvml module, or a stand-in for it in tests
    (``simulated.SimulatedNvml``); ``cuda_uuid`` is torch's UUID of the device, looked up from
    torch when not given.
    """

    name: str
    is_estimate = False
    # A GPU's board counter: the host's load reaches it only through the launching thread.
    reads_host = False

    def __init__(
        self, cuda_index: int, *, nvml: Any | None = None, cuda_uuid: str | None = None
    ) -> None:
        if nvml is None:
            import pynvml

            nvml = pynvml
        if cuda_uuid is None:
            cuda_uuid = torch_cuda_uuid(cuda_index)
        self.cuda_index = cuda_index
        self._nvml = nvml
        try:
            nvml.nvmlInit()
        except nvml.NVMLError as error:
            raise MeterUnavailable(
                f"NVML could not start ({error}): is the NVIDIA driver installed and loaded?"
            ) from error
        # NVML counts nvmlInit calls and shuts down only when as many nvmlShutdown calls have
        # come: pairing one init with one shutdown per meter never pulls NVML from under another
        # meter, or from under torch, which calls nvmlInit itself.
        self._initialized = True
        try:
            self._open(cuda_uuid)
            self._check_readable()
        except nvml.NVMLError as error:
            self.close()
            raise MeterUnavailable(f"NVML could not query cuda:{cuda_index}: {error}") from error
        except MeterUnavailable:
            self.close()
            raise
        self.description = self._describe()

    @abstractmethod
    def _check_readable(self) -> None:
        """Read once, so a quantity the GPU lacks raises MeterUnavailable now, at construction,
        and not MeterReadError in the middle of a measurement."""

    @abstractmethod
    def _describe(self) -> str:
        """The sentence for result rows: what is read, on which device."""

    @abstractmethod
    def read_joules(self) -> float: ...

    def _open(self, cuda_uuid: str) -> None:
        nvml = self._nvml
        self._handle, self.nvml_index, self.uuid = self._find_device(cuda_uuid)
        self.gpu_name: str = nvml.nvmlDeviceGetName(self._handle)
        self.driver_version: str = nvml.nvmlSystemGetDriverVersion()
        self.power_limit_watts = self._optional_reading(
            lambda: nvml.nvmlDeviceGetEnforcedPowerLimit(self._handle) / MILLIWATTS_PER_WATT
        )
        self.gpu_facts: GpuFacts | None = GpuFacts(
            self.gpu_name, self.driver_version, self.power_limit_watts
        )

    def _find_device(self, cuda_uuid: str) -> tuple[Any, int, str]:
        nvml = self._nvml
        wanted = normalize_gpu_uuid(cuda_uuid)
        for nvml_index in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(nvml_index)
            uuid = nvml.nvmlDeviceGetUUID(handle)
            if normalize_gpu_uuid(uuid) == wanted:
                return handle, nvml_index, uuid
        raise MeterUnavailable(
            f"no NVML device has the UUID of cuda:{self.cuda_index} ({cuda_uuid}); "
            "a MIG instance, for one, has no energy counter of its own"
        )

    def _device_text(self) -> str:
        return (
            f"cuda:{self.cuda_index} = NVML GPU {self.nvml_index} "
            f"({self.gpu_name}, driver {self.driver_version})"
        )

    def _optional_reading(self, read: Callable[[], float]) -> float | None:
        """Facts and state are context for a result, so one the GPU does not report is None
        rather than an error that would fail the measurement."""
        try:
            return float(read())
        except self._nvml.NVMLError:
            return None

    def device_state(self) -> DeviceState:
        nvml, handle = self._nvml, self._handle
        return DeviceState(
            temperature_celsius=self._optional_reading(
                lambda: nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU)
            ),
            sm_clock_mhz=self._optional_reading(
                lambda: nvml.nvmlDeviceGetClockInfo(handle, nvml.NVML_CLOCK_SM)
            ),
        )

    def gpu_activity(self) -> GpuActivity:
        """Who else computes on this GPU, and whether it holds its clocks back, now; a quantity
        this GPU or driver does not report is None. NVML's process list of an unprivileged
        container may be empty: then it says nothing about neighbours."""
        nvml, handle = self._nvml, self._handle
        others: int | None = None
        pids: tuple[int, ...] = ()
        try:
            running = nvml.nvmlDeviceGetComputeRunningProcesses(handle)
        except (nvml.NVMLError, AttributeError):
            running = None
        if running:
            others, pids = other_compute_processes([p.pid for p in running], os.getpid())
        return GpuActivity(
            other_processes=others,
            other_pids=pids,
            clock_event_reasons=self._optional_int(self._clock_event_reasons),
            power_violation_ns=self._optional_int(
                lambda: self._violation_ns(nvml.NVML_PERF_POLICY_POWER)
            ),
            thermal_violation_ns=self._optional_int(
                lambda: self._violation_ns(nvml.NVML_PERF_POLICY_THERMAL)
            ),
            board_watts=self._optional_reading(lambda: instant_power_field_watts(nvml, handle)),
        )

    def _clock_event_reasons(self) -> int:
        nvml = self._nvml
        # The newer name (drivers from 535 on); the older one where the binding lacks it.
        read = getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None)
        if read is None:
            read = nvml.nvmlDeviceGetCurrentClocksThrottleReasons
        return int(read(self._handle))

    def _violation_ns(self, policy: int) -> int:
        return int(self._nvml.nvmlDeviceGetViolationStatus(self._handle, policy).violationTime)

    def _optional_int(self, read: Callable[[], int]) -> int | None:
        try:
            return int(read())
        except (self._nvml.NVMLError, AttributeError):
            return None

    def close(self) -> None:
        """Release this meter's share of NVML; closing twice releases it once."""
        if self._initialized:
            self._initialized = False
            self._nvml.nvmlShutdown()


class NvmlCounterMeter(NvmlMeter):
    """``nvmlDeviceGetTotalEnergyConsumption``: millijoules since the driver loaded.

    The counter updates about every 100 ms; one read costs milliseconds, which is why the
    protocol never reads it inside the timed loop.
    """

    name = "nvml-counter"

    def _check_readable(self) -> None:
        try:
            self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle)
        except self._nvml.NVMLError as error:
            if getattr(error, "value", None) == self._nvml.NVML_ERROR_NOT_SUPPORTED:
                raise EnergyCounterMissing(
                    f"cuda:{self.cuda_index} has no NVML total-energy counter ({error}); "
                    "the counter exists on Volta and newer GPUs"
                ) from error
            raise

    def _describe(self) -> str:
        return f"NVML total-energy counter of {self._device_text()}"

    def read_joules(self) -> float:
        try:
            millijoules = self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle)
        except self._nvml.NVMLError as error:
            raise MeterReadError(
                f"reading the NVML energy counter of cuda:{self.cuda_index} failed: {error}"
            ) from error
        return millijoules / MILLIJOULES_PER_JOULE
