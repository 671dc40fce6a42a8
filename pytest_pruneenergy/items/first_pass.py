"""An item's first pass: run once on its input, so that a model that cannot take it (or a runtime
that cannot run it) fails with the shape in its message; and any error of the measurement
turned into the item's one-line problem where it is the item's own."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..common.errors import error_summary, first_line, with_shape_hint
from ..common.shapes import format_shape
from .devices import free_device_memory, is_out_of_memory
from .problems import ItemProblem

if TYPE_CHECKING:
    from ..measure.meters import Meter
    from .prepared import PreparedModel


def checked_pass(
    prepared: PreparedModel,
    batch_size: int,
    make_input: Callable[[int, tuple[int, ...], str], Any],
    cuda_graphs: bool,
) -> tuple[Callable[[], Any], float]:
    """One pass on the item's input, run once here so that a model that cannot take it fails
    with the shape in its message (and a compiling runtime compiles for its shape); then the
    pass to measure (replayed as a CUDA graph with ``cuda_graphs``) and how long that first
    pass took."""
    import torch

    from ..measure.cuda_graphs import capture_forward

    device, module = prepared.device, prepared.forward
    if cuda_graphs and prepared.runtime is not None:
        raise ItemProblem(
            f"{prepared.path.stem}: --energy-cuda-graphs captures eager passes, not the "
            f"{prepared.runtime} runtime's; measure the {prepared.runtime} runtime without it"
        )
    batch = prepared.conform(make_input(batch_size, prepared.input_shape, device))
    try:
        began = time.perf_counter()
        module(batch)
        if device.startswith("cuda"):
            torch.cuda.synchronize(torch.device(device))
        first_pass_seconds = time.perf_counter() - began
    except Exception as error:
        if is_out_of_memory(error):
            raise
        runtime = "" if prepared.runtime is None else f" in the {prepared.runtime} runtime"
        message = (
            f"{prepared.path.stem}: the forward pass{runtime} on an input of shape "
            f"{format_shape((batch_size, *prepared.input_shape))} raised "
            f"{error_summary(error)}."
        )
        raise ItemProblem(with_shape_hint(message, error)) from error
    if cuda_graphs:
        return capture_forward(module, batch, device), first_pass_seconds
    return (lambda: module(batch)), first_pass_seconds


def item_problem(
    error: Exception, prepared: PreparedModel, batch_size: int, meter: Meter
) -> ItemProblem | None:
    """What failed this item, as one line: a capture, a meter read, the protocol, or the
    device's memory (freed first: the failed item's tensors live on in the error's frames);
    None for an error that is no item's own problem (it goes up as it is)."""
    from ..measure.cuda_graphs import GraphCaptureError
    from ..measure.meters import MeterReadError
    from ..measure.protocol import ProtocolError

    stem, where = prepared.path.stem, f"{prepared.path.stem} at batch size {batch_size}"
    if isinstance(error, GraphCaptureError | ProtocolError):
        return ItemProblem(f"{where}: {error}")
    if isinstance(error, MeterReadError):
        return ItemProblem(f"{where}: {meter.name} read failed: {error}")
    if not is_out_of_memory(error):
        return None
    traceback.clear_frames(error.__traceback__)
    free_device_memory(prepared.device)
    return ItemProblem(
        f"{stem}: batch size {batch_size} does not fit in {prepared.device} memory "
        f"({first_line(error)}). Drop it from --prune-batch-sizes; other batch sizes "
        "are measured as usual."
    )
