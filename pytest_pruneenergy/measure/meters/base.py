"""What every energy meter offers, the ways one can fail, and the warnings a fallback gives."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class MeterUnavailable(Exception):
    """A meter cannot measure here; the message says why and, where it can, what to do."""


class MeterReadError(Exception):
    """A meter that worked stopped working mid-run; the message carries the NVML or OS error."""


class EstimatedEnergyWarning(UserWarning):
    """Energy will be estimated, not measured, because no meter could read this device."""


class IntegratedPowerWarning(UserWarning):
    """GPU energy will be integrated from sampled power because the GPU has no energy counter."""


@dataclass(frozen=True)
class DeviceState:
    """Conditions a measurement ran under, recorded at its start and end; None where unknown."""

    temperature_celsius: float | None = None
    sm_clock_mhz: float | None = None


@dataclass(frozen=True)
class GpuFacts:
    """The GPU a meter reads: its name and driver as NVML gives them, and the power limit the
    board enforces (None where NVML does not say)."""

    name: str
    driver: str
    power_limit_watts: float | None = None

    @classmethod
    def from_strings(cls, facts: Mapping[str, str]) -> GpuFacts | None:
        """Facts as meters gave them before they were typed (``gpu_name``, ``driver``,
        ``power_limit_watts`` as strings; a meter from an older conftest hook may still):
        None where they name no GPU."""
        name = str(facts.get("gpu_name") or "")
        if not name:
            return None
        try:
            limit: float | None = float(facts.get("power_limit_watts") or "")
        except ValueError:
            limit = None
        return cls(name=name, driver=str(facts.get("driver") or ""), power_limit_watts=limit)


def gpu_facts_of(meter: object) -> GpuFacts | None:
    """A meter's GPU facts, whatever age of meter it is: GpuFacts, a dict of strings, or none."""
    facts = getattr(meter, "gpu_facts", None)
    if isinstance(facts, GpuFacts) or facts is None:
        return facts
    if isinstance(facts, Mapping):
        return GpuFacts.from_strings(facts)
    return None


@runtime_checkable
class Meter(Protocol):
    """A cumulative energy counter.

    ``name`` is one of ``"nvml-counter"``, ``"nvml-power"``, ``"rapl"``, ``"estimate"`` and lands
    in every result row, together with ``description``: a sentence saying what is measured on
    which device, and ``gpu_facts``: the GPU's name, driver and power limit (None for CPU
    meters). ``read_joules`` returns joules since an arbitrary origin and never decreases, so
    only differences between two reads mean anything. ``device_state`` never raises: it is
    context for a result, not the measurement.

    Two optional members say what can disturb a meter's figure (measure/conditions.py):
    ``reads_host`` (bool) whether other processes' CPU time on the host reaches it (taken as
    True where missing), and ``gpu_activity()`` what else runs on its GPU (the NVML meters).

    Threads: ``read_joules`` is called from the protocol's poller thread, in a loop, while the
    measuring thread calls ``device_state`` and finally ``close``; a meter from a user's hook
    (a serial wall meter, say) must tolerate that, e.g. with a lock. A read may take
    milliseconds; it should release the GIL while it waits (ctypes and I/O calls do).
    """

    name: str
    is_estimate: bool
    description: str
    gpu_facts: GpuFacts | None

    def read_joules(self) -> float: ...

    def device_state(self) -> DeviceState: ...

    def close(self) -> None: ...
