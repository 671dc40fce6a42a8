"""GPU energy from NVML's total-energy counter (Volta and newer GPUs)."""

from __future__ import annotations

from typing import Any

from .base import MeterReadError, MeterUnavailable

MILLIJOULES_PER_JOULE = 1000.0
MILLIWATTS_PER_WATT = 1000.0


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


class NvmlCounterMeter:
    """``nvmlDeviceGetTotalEnergyConsumption`` of the GPU that torch calls ``cuda:<cuda_index>``.

    The counter holds millijoules since the driver loaded and updates about every 100 ms; one read
    costs milliseconds, which is why the protocol reads it only at window edges.

    ``nvml`` is the pynvml module, or a stand-in for it in tests; ``cuda_uuid`` is torch's UUID of
    the device, looked up from torch when not given.
    """

    name = "nvml-counter"
    is_estimate = False

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
        except nvml.NVMLError as error:
            self.close()
            raise MeterUnavailable(self._unavailable_reason(error)) from error
        except MeterUnavailable:
            self.close()
            raise

    def _open(self, cuda_uuid: str) -> None:
        nvml = self._nvml
        self._handle, self.nvml_index, self.uuid = self._find_device(cuda_uuid)
        self.gpu_name: str = nvml.nvmlDeviceGetName(self._handle)
        self.driver_version: str = nvml.nvmlSystemGetDriverVersion()
        self.power_limit_watts = self._power_limit_watts()
        # Reading once here turns a missing counter (pre-Volta: NOT_SUPPORTED) into
        # MeterUnavailable now, not into MeterReadError in the middle of a measurement.
        nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle)
        self.description = (
            f"NVML total-energy counter of cuda:{self.cuda_index} = NVML GPU {self.nvml_index} "
            f"({self.gpu_name}, driver {self.driver_version})"
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

    def _power_limit_watts(self) -> float | None:
        """A fact for the report, so a device that does not tell it must not disable the meter."""
        try:
            milliwatts = self._nvml.nvmlDeviceGetEnforcedPowerLimit(self._handle)
        except self._nvml.NVMLError:
            return None
        return milliwatts / MILLIWATTS_PER_WATT

    def _unavailable_reason(self, error: Exception) -> str:
        if getattr(error, "value", None) == self._nvml.NVML_ERROR_NOT_SUPPORTED:
            return (
                f"cuda:{self.cuda_index} has no NVML total-energy counter ({error}); "
                "the counter exists on Volta and newer GPUs"
            )
        return f"NVML could not query cuda:{self.cuda_index}: {error}"

    def read_joules(self) -> float:
        try:
            millijoules = self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle)
        except self._nvml.NVMLError as error:
            raise MeterReadError(
                f"reading the NVML energy counter of cuda:{self.cuda_index} failed: {error}"
            ) from error
        return millijoules / MILLIJOULES_PER_JOULE

    def close(self) -> None:
        """Release this meter's share of NVML; closing twice releases it once."""
        if self._initialized:
            self._initialized = False
            self._nvml.nvmlShutdown()
