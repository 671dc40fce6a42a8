"""A model's forward pass captured once as a CUDA graph and replayed: for launch-bound models.

At batch 1 a small model (AlexNet, say) spends longer in Python and kernel launches than on
the GPU. Its throughput then follows the host CPU, which on a shared machine drifts between
runs (measured: docs/benchmarks/host-drift/), and its energy per sample drifts with it.
Replayed as one graph, the pass is a single launch and the GPU runs its kernels back to back:
what is measured is the model on the GPU, not the host's launch speed. That is a different
workload from eager PyTorch, so results say which one ran (CSV column ``CUDA Graph``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..common.errors import first_line

# Passes on a side stream before capture: cuDNN picks its algorithms and the allocator its
# blocks outside the graph, as torch.cuda.graphs requires.
CAPTURE_WARMUP_PASSES = 3


class GraphCaptureError(Exception):
    """The forward pass cannot run as a CUDA graph; the message says why."""


def capture_forward(module: Callable[[Any], Any], batch: Any, device: str) -> Callable[[], Any]:
    """Capture ``module(batch)`` on ``device`` and return a function that replays it.

    The input and output live in the graph's memory, so every replay runs on the same batch,
    as an eager measurement does. Call under ``torch.inference_mode()`` or ``no_grad``.
    """
    if not device.startswith("cuda"):
        raise GraphCaptureError(
            f"CUDA graphs need a CUDA device, and the models run on {device}: drop "
            "--energy-cuda-graphs or set --prune-device=cuda"
        )
    import torch

    cuda = torch.device(device)
    side_stream = torch.cuda.Stream(cuda)
    side_stream.wait_stream(torch.cuda.current_stream(cuda))
    graph = torch.cuda.CUDAGraph()
    try:
        with torch.cuda.stream(side_stream):
            for _ in range(CAPTURE_WARMUP_PASSES):
                module(batch)
        torch.cuda.current_stream(cuda).wait_stream(side_stream)
        with torch.cuda.graph(graph):
            output = module(batch)
    except Exception as error:  # capture forbids host syncs, CPU tensors, data-dependent shapes
        torch.cuda.synchronize(cuda)
        raise GraphCaptureError(
            f"the forward pass cannot be captured as a CUDA graph ({type(error).__name__}: "
            f"{first_line(error)}); measure it without --energy-cuda-graphs"
        ) from error

    def replay() -> Any:
        graph.replay()
        return output

    return replay
