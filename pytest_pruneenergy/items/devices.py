"""The device an item runs on: its description for the CSV, the board's identity for the
journal, and its memory: whether an error is the device running out of it, and giving back what a
failed item held."""

from __future__ import annotations

import gc
import platform
from functools import cache


def describe_device(device: str) -> str:
    if device.startswith("cuda"):
        import torch

        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return f"cpu ({platform.processor() or platform.machine()})"


@cache  # a process sees the same board behind a device name for its whole life
def gpu_uuid_of(device: str) -> str | None:
    """The UUID of the GPU behind ``device`` (``cuda:N``), in ``normalize_gpu_uuid``'s spelling:
    it names the board itself, as a host name and a device index do not. None for the CPU.
    Raises what reading it raises (``MeterUnavailable``, torch's ``RuntimeError``)."""
    if not device.startswith("cuda"):
        return None
    from ..measure.meters import cuda_index_of
    from ..measure.meters.nvml import normalize_gpu_uuid, torch_cuda_uuid

    index = cuda_index_of(device)
    return None if index is None else normalize_gpu_uuid(torch_cuda_uuid(index))


def is_out_of_memory(error: BaseException) -> bool:
    import torch

    out_of_memory = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)
    if isinstance(error, out_of_memory):
        return True
    text = str(error).lower()
    return isinstance(error, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text
    )


def free_device_memory(device: str) -> None:
    gc.collect()
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()
