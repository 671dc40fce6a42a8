"""Pick the meter for a device: a real counter where one is readable, a loud fallback otherwise."""

from __future__ import annotations

import re
import warnings
from typing import Any

from .base import EstimatedEnergyWarning, IntegratedPowerWarning, Meter, MeterUnavailable
from .estimate import DEFAULT_WATTS_PER_BUSY_CORE, EstimateMeter
from .nvml import EnergyCounterMissing, NvmlCounterMeter
from .nvml_power import NvmlPowerMeter
from .rapl import RaplMeter

# A kind is the name of the meter it makes (a result's ``Meter``), but for ``auto``.
METER_KINDS = ("auto", "nvml-counter", "nvml-power", "rapl", "estimate")
# Earlier spellings, still read.
OLD_METER_NAMES = {"nvml": "nvml-counter"}

_CUDA_DEVICE = re.compile(r"cuda:(\d+)")


def cuda_index_of(device: str) -> int | None:
    """``"cuda:N"`` -> N, ``"cpu"`` -> None."""
    if device == "cpu":
        return None
    match = _CUDA_DEVICE.fullmatch(device)
    if match is None:
        raise ValueError(f"device must be 'cpu' or 'cuda:N' (e.g. 'cuda:0'), got {device!r}")
    return int(match.group(1))


def make_meter(
    kind: str,
    device: str,
    *,
    estimate_watts_per_core: float = DEFAULT_WATTS_PER_BUSY_CORE,
    nvml: Any | None = None,
    cuda_uuid: str | None = None,
) -> Meter:
    """The meter of ``kind`` for ``device``.

    An explicitly named meter that cannot read raises MeterUnavailable: a user who asked for a
    counter gets it or an error, never something else in its place. Only ``"auto"`` falls back:
    from the NVML counter to integrated NVML power (IntegratedPowerWarning), and from there or
    from RAPL to the estimate (EstimatedEnergyWarning), each warning saying why.

    ``nvml`` and ``cuda_uuid`` go to the NVML meters (the pynvml module, torch's UUID of the
    device); None means the real ones. Tests pass a ``simulated.SimulatedNvml`` and its UUID.
    """
    kind = OLD_METER_NAMES.get(kind, kind)
    if kind not in METER_KINDS:
        raise ValueError(f"unknown meter kind {kind!r}; valid kinds: {', '.join(METER_KINDS)}")
    cuda_index = cuda_index_of(device)
    if kind == "estimate":
        return EstimateMeter(estimate_watts_per_core)
    if kind == "rapl":
        return RaplMeter()
    if kind in ("nvml-counter", "nvml-power"):
        if cuda_index is None:
            raise MeterUnavailable(f"the {kind} meter measures a CUDA device, but device is 'cpu'")
        return _named_gpu_meter(kind, cuda_index, nvml, cuda_uuid)
    try:
        if cuda_index is None:
            return RaplMeter()
        return _best_gpu_meter(device, cuda_index, nvml, cuda_uuid)
    except MeterUnavailable as reason:
        estimate = EstimateMeter(estimate_watts_per_core)
        warnings.warn(
            _estimate_warning(device, estimate, reason), EstimatedEnergyWarning, stacklevel=2
        )
        return estimate


def _named_gpu_meter(kind: str, cuda_index: int, nvml: Any, cuda_uuid: str | None) -> Meter:
    if kind == "nvml-power":
        return NvmlPowerMeter(cuda_index, nvml=nvml, cuda_uuid=cuda_uuid)
    try:
        return NvmlCounterMeter(cuda_index, nvml=nvml, cuda_uuid=cuda_uuid)
    except EnergyCounterMissing as missing:
        raise MeterUnavailable(
            f"{missing}; --energy-meter=nvml-power integrates sampled power instead"
        ) from missing


def _best_gpu_meter(device: str, cuda_index: int, nvml: Any, cuda_uuid: str | None) -> Meter:
    """The counter; integrated power, with a warning, where the GPU has no counter."""
    try:
        return NvmlCounterMeter(cuda_index, nvml=nvml, cuda_uuid=cuda_uuid)
    except EnergyCounterMissing as missing:
        try:
            meter = NvmlPowerMeter(cuda_index, nvml=nvml, cuda_uuid=cuda_uuid)
        except MeterUnavailable as no_power:
            raise MeterUnavailable(f"{missing}, and {no_power}") from no_power
        # stacklevel 3: the warning points at make_meter's caller.
        warnings.warn(_power_warning(device, meter, missing), IntegratedPowerWarning, stacklevel=3)
        return meter


def _power_warning(device: str, meter: NvmlPowerMeter, missing: EnergyCounterMissing) -> str:
    return (
        f"energy on {device} will be INTEGRATED FROM SAMPLED POWER, less precise than the "
        f"energy counter, because {missing}. Using {meter.description}. Choose the meter "
        "explicitly (--energy-meter=nvml-power) to silence this warning."
    )


def _estimate_warning(device: str, estimate: EstimateMeter, reason: MeterUnavailable) -> str:
    gpu_note = (
        " It counts this process's CPU time only, not the GPU's own draw."
        if device.startswith("cuda")
        else ""
    )
    return (
        f"energy on {device} will be ESTIMATED, not measured, because no energy counter is "
        f"readable: {reason}. Using {estimate.description}.{gpu_note} Choose the meter "
        "explicitly to silence this warning, or make a counter readable."
    )
