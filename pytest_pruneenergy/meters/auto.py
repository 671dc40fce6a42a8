"""Pick the meter for a device: a real counter where one is readable, a loud estimate otherwise."""

from __future__ import annotations

import re
import warnings

from .base import EstimatedEnergyWarning, Meter, MeterUnavailable
from .estimate import DEFAULT_WATTS_PER_BUSY_CORE, EstimateMeter
from .nvml import NvmlCounterMeter
from .rapl import RaplMeter

METER_KINDS = ("auto", "nvml", "rapl", "estimate")

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
    kind: str, device: str, *, estimate_watts_per_core: float = DEFAULT_WATTS_PER_BUSY_CORE
) -> Meter:
    """The meter of ``kind`` for ``device``.

    An explicitly named meter that cannot read raises MeterUnavailable: a user who asked for a
    counter gets it or an error, never an estimate in its place. Only ``"auto"`` falls back to the
    estimate, with an EstimatedEnergyWarning saying so and why.
    """
    if kind not in METER_KINDS:
        raise ValueError(f"unknown meter kind {kind!r}; valid kinds: {', '.join(METER_KINDS)}")
    cuda_index = cuda_index_of(device)
    if kind == "estimate":
        return EstimateMeter(estimate_watts_per_core)
    if kind == "rapl":
        return RaplMeter()
    if kind == "nvml":
        if cuda_index is None:
            raise MeterUnavailable("the nvml meter measures a CUDA device, but device is 'cpu'")
        return NvmlCounterMeter(cuda_index)
    try:
        return RaplMeter() if cuda_index is None else NvmlCounterMeter(cuda_index)
    except MeterUnavailable as reason:
        estimate = EstimateMeter(estimate_watts_per_core)
        warnings.warn(
            _estimate_warning(device, estimate, reason), EstimatedEnergyWarning, stacklevel=2
        )
        return estimate


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
