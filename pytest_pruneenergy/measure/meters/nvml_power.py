"""GPU energy integrated from sampled NVML power, for GPUs without the counter (pre-Volta)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .base import MeterReadError, MeterUnavailable
from .nvml import MILLIWATTS_PER_WATT, NvmlMeter, instant_power_field_watts

DEFAULT_SAMPLE_INTERVAL_SECONDS = 0.005


def power_usage_watts(nvml: Any, handle: Any) -> float:
    """``nvmlDeviceGetPowerUsage``: instant on pre-Ampere GPUs and A100, a 1 s average on newer."""
    return nvml.nvmlDeviceGetPowerUsage(handle) / MILLIWATTS_PER_WATT


PowerSource = Callable[[Any, Any], float]

# Tried in order when the meter opens; the first that reads is used for the whole run, so one
# integral never mixes instant readings with nvmlDeviceGetPowerUsage's 1 s average (Ampere+).
POWER_SOURCES: tuple[tuple[str, PowerSource], ...] = (
    ("NVML_FI_DEV_POWER_INSTANT", instant_power_field_watts),
    ("nvmlDeviceGetPowerUsage", power_usage_watts),
)


@dataclass(frozen=True)
class PowerIntegral:
    """Joules from the first power sample to the latest (``seconds``, ``watts``), by trapezoids."""

    seconds: float
    watts: float
    joules: float = 0.0

    def advanced(self, seconds: float, watts: float) -> PowerIntegral:
        """The integral extended to a new sample."""
        trapezoid_joules = (self.watts + watts) / 2 * (seconds - self.seconds)
        return PowerIntegral(seconds, watts, self.joules + trapezoid_joules)


class NvmlPowerMeter(NvmlMeter):
    """Power of the GPU ``cuda:<cuda_index>`` sampled by a daemon thread and integrated.

    Samples come every ``sample_interval_seconds`` of ``clock``; ``read_joules`` returns the
    integral up to the latest sample. An error in the thread ends sampling and is raised, as
    MeterReadError, by the next ``read_joules``.
    """

    name = "nvml-power"

    def __init__(
        self,
        cuda_index: int,
        *,
        nvml: Any | None = None,
        cuda_uuid: str | None = None,
        sample_interval_seconds: float = DEFAULT_SAMPLE_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if not sample_interval_seconds > 0:
            raise ValueError(
                f"sample_interval_seconds must be > 0, got {sample_interval_seconds!r}"
            )
        self.sample_interval_seconds = sample_interval_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sampling_error: Exception | None = None
        self._thread = threading.Thread(
            target=self._sample_until_stopped,
            name=f"pruneenergy-nvml-power-cuda:{cuda_index}",
            daemon=True,
        )
        super().__init__(cuda_index, nvml=nvml, cuda_uuid=cuda_uuid)
        self._thread.start()

    def _check_readable(self) -> None:
        errors = []
        for source_name, read_watts in POWER_SOURCES:
            try:
                watts = read_watts(self._nvml, self._handle)
            except self._nvml.NVMLError as error:
                errors.append(f"{source_name}: {error}")
                continue
            self.power_source = source_name
            self._read_watts = read_watts
            self._integral = PowerIntegral(self._clock(), watts)
            return
        raise MeterUnavailable(
            f"NVML reads no power of cuda:{self.cuda_index} ({'; '.join(errors)})"
        )

    def _describe(self) -> str:
        return (
            f"NVML power ({self.power_source}) of {self._device_text()}, sampled every "
            f"{self.sample_interval_seconds * 1000:g} ms and integrated by the trapezoid rule; "
            "on A100/H100 power readings cover only ~25 % of each 100 ms (Yang et al., SC'24), "
            "so the energy counter is preferred where the GPU has one"
        )

    def _sample_until_stopped(self) -> None:
        try:
            while not self._stop.wait(self.sample_interval_seconds):
                watts = self._read_watts(self._nvml, self._handle)
                seconds = self._clock()
                with self._lock:
                    self._integral = self._integral.advanced(seconds, watts)
        # Whatever escapes a thread is printed and lost; the measurement must fail instead.
        except Exception as error:
            with self._lock:
                self._sampling_error = error

    def read_joules(self) -> float:
        with self._lock:
            if self._sampling_error is not None:
                raise MeterReadError(
                    f"sampling the NVML power of cuda:{self.cuda_index} failed: "
                    f"{self._sampling_error}"
                ) from self._sampling_error
            return self._integral.joules

    def close(self) -> None:
        """Stop and join the sampling thread, then release NVML; closing twice does nothing more."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        super().close()
