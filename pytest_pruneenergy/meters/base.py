"""What every energy meter offers, and the two ways one can fail."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


class MeterUnavailable(Exception):
    """A meter cannot measure here; the message says why and, where it can, what to do."""


class MeterReadError(Exception):
    """A meter that worked stopped working mid-run; the message carries the NVML or OS error."""


class EstimatedEnergyWarning(UserWarning):
    """Energy will be estimated, not measured, because no meter could read this device."""


@runtime_checkable
class Meter(Protocol):
    """A cumulative energy counter.

    ``name`` is one of ``"nvml-counter"``, ``"rapl"``, ``"estimate"`` and lands in every result
    row, together with ``description``: a sentence saying what is measured on which device.
    ``read_joules`` returns joules since an arbitrary origin and never decreases, so only
    differences between two reads mean anything.
    """

    name: str
    is_estimate: bool
    description: str

    def read_joules(self) -> float: ...

    def close(self) -> None: ...
