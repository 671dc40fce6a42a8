"""Energy estimated from this process's CPU time, for machines without a readable counter."""

from __future__ import annotations

import time
from collections.abc import Callable

from .base import DeviceState, GpuFacts

DEFAULT_WATTS_PER_BUSY_CORE = 10.0


class EstimateMeter:
    """joules = CPU-seconds of this process (all threads) x watts per busy core.

    It knows nothing of the real draw: not idle power, not the uncore, not a GPU. It exists so
    that runs without a counter still produce comparable-in-kind figures, labelled as estimates.
    """

    name = "estimate"
    is_estimate = True
    # Other processes' CPU time on the host reaches its figure (see measure/conditions.py).
    reads_host = True

    def __init__(
        self,
        watts_per_busy_core: float = DEFAULT_WATTS_PER_BUSY_CORE,
        *,
        cpu_seconds: Callable[[], float] = time.process_time,
    ) -> None:
        if not watts_per_busy_core > 0:
            raise ValueError(f"watts_per_busy_core must be > 0, got {watts_per_busy_core!r}")
        self.watts_per_busy_core = watts_per_busy_core
        self._cpu_seconds = cpu_seconds
        self.gpu_facts: GpuFacts | None = None
        self.description = (
            f"estimate: {watts_per_busy_core} W per busy CPU core x CPU-seconds of this process"
        )

    def read_joules(self) -> float:
        return self._cpu_seconds() * self.watts_per_busy_core

    def device_state(self) -> DeviceState:
        """Nothing known: the estimate reads no sensor."""
        return DeviceState()

    def close(self) -> None:
        """Nothing to release."""
