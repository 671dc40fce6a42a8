"""A device's idle power, measured once per run at the first item that needs it: what dynamic
energy (gross less idle) subtracts."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..measure.meters import Meter
    from ..measure.ticks import TickRecorder


def measure_idle(
    meter: Meter,
    device: str,
    *,
    seconds: float,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
    tick_recorder: Callable[[Meter], TickRecorder] | None = None,
) -> float | None:
    """Idle power of ``device``, or None where it is not to be measured: ``seconds`` is 0, or
    the meter estimates (an estimate counts busy CPU time only, so it has no idle draw).
    ``clock``, ``sleep`` and ``tick_recorder``: the protocol's time (measure_idle_watts).

    A MeterReadError propagates: the caller decides whether a run goes on without idle power.
    """
    if seconds == 0 or meter.is_estimate:
        return None
    from ..measure.protocol import measure_idle_watts

    return measure_idle_watts(
        meter, device, seconds=seconds, clock=clock, sleep=sleep, tick_recorder=tick_recorder
    )


class IdlePower:
    """Idle power per device, measured once per run, at the first item that needs it.

    Measured then, before any model has run, the board has not yet been heated by the run.
    A meter read that fails costs only the dynamic energy, so it is reported through ``warn``
    and remembered as None rather than failing items whose gross energy can still be measured.
    ``measure``: what measures it (``measure_idle``; tests give it a simulated clock).
    """

    def __init__(
        self, seconds: float, *, measure: Callable[..., float | None] = measure_idle
    ) -> None:
        self.seconds = seconds
        self._measure = measure
        self._watts: dict[str, float | None] = {}

    def of(self, meter: Meter, device: str, *, warn: Callable[[str], None]) -> float | None:
        from ..measure.meters import MeterReadError

        if device not in self._watts:
            try:
                watts = self._measure(meter, device, seconds=self.seconds)
            except MeterReadError as error:
                warn(
                    f"idle power on {device} could not be measured ({meter.name}: {error}); "
                    "dynamic energy is left empty for this device"
                )
                watts = None
            self._watts[device] = watts
        return self._watts[device]
