"""A model's forward pass captured once as a CUDA graph and replayed: for launch-bound models.

At batch 1 a small model (AlexNet, say) spends longer in Python and kernel launches than on
the GPU. Its throughput then follows the host CPU, which on a shared machine drifts between
runs (measured: docs/benchmarks/host-drift/), and its energy per sample drifts with it.
Replayed as one graph, the pass is a single launch and the GPU runs its kernels back to back:
what is measured is the model on the GPU, not the host's launch speed. That is a different
workload from eager PyTorch, so results say which one ran (CSV column ``CUDA Graph``).

A capture that fails (a pass that waits for the GPU, say) must leave the process as it found
it, for the next items and for whatever else runs in it. torch does not: its graph context's
exit ends the capture, and where that raises, the rest is skipped
(pytorch/pytorch#171263; seen with torch 2.11 on an H100):

- the capture stream stays the current stream (``torch.cuda.graph.__exit__`` never restores it);
- the device's default generator stays in capture mode (torch up to 2.11 keeps one flag per
  generator state, set by ``capture_begin`` and cleared only by a ``capture_end`` that
  succeeds), so every later random draw on the device, a later graph's replay too, raises
  "Offset increment outside graph capture encountered unexpectedly";
- the caching allocator still routes the capture's allocations to its memory pool, so it keeps
  deferring the events of blocks used across streams, and the pool is never released.

``capture_forward`` therefore drives the capture itself: inside a stream context of its own
(which restores the stream whatever happens), ending the capture on every path, then, where it
failed, stopping and releasing the pool and running one small capture that succeeds, which
takes the generator out of capture mode.
"""

from __future__ import annotations

import contextlib
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

    with torch.cuda.device(torch.device(device)):
        graph = torch.cuda.CUDAGraph()
        try:
            _warm_up(lambda: module(batch))
            output = _capture(graph, lambda: module(batch))
        except Exception as error:  # capture forbids host syncs, CPU tensors, data-dependent shapes
            raise GraphCaptureError(
                f"the forward pass cannot be captured as a CUDA graph ({type(error).__name__}: "
                f"{first_line(error)}); measure it without --energy-cuda-graphs"
            ) from error

    def replay() -> Any:
        graph.replay()
        return output

    return replay


def run_captured(
    graph: Any, run: Callable[[], Any], *, pool: Any, clean_up: Callable[[], None]
) -> Any:
    """``run()`` captured into ``graph`` (a ``torch.cuda.CUDAGraph``) with memory from ``pool``.

    The capture is ended on every path, also where ``run`` raised (ending it then may raise
    too: the first error is the one that says why). Where the capture failed, ``clean_up()``
    runs after it ended, and the first error propagates.
    """
    try:
        graph.capture_begin(pool=pool)
        output = run()
    except BaseException:
        with contextlib.suppress(Exception):
            graph.capture_end()
        clean_up()
        raise
    try:
        graph.capture_end()
    except BaseException:
        clean_up()
        raise
    return output


def stop_allocating_to(pool: Any, allocator: Any, device_index: int) -> bool:
    """End the allocator's routing of the current device's allocations to a failed capture's
    ``pool``, and release the pool, where the capture left them on; True where it did.

    ``allocator`` is ``torch._C``, whose functions for this are private: torch 2.8 and later
    spell the first ``_cuda_endAllocateToPool``, 2.4 to 2.7
    ``_cuda_endAllocateCurrentStreamToPool``.
    Where ``capture_end`` got as far as ending the routing itself, ending it again raises, and
    the pool is the graph's to release: releasing it here too would free it under the graph.
    """
    end = getattr(allocator, "_cuda_endAllocateToPool", None) or getattr(
        allocator, "_cuda_endAllocateCurrentStreamToPool", None
    )
    if end is None:
        return False
    try:
        end(device_index, pool)
    except Exception:  # not routing to the pool: capture_end ended it, or capture_begin never began
        return False
    with contextlib.suppress(Exception):
        allocator._cuda_releasePool(device_index, pool)
    return True


def _warm_up(run: Callable[[], Any]) -> None:
    import torch

    side_stream = torch.cuda.Stream()
    side_stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side_stream):
        for _ in range(CAPTURE_WARMUP_PASSES):
            run()
    torch.cuda.current_stream().wait_stream(side_stream)


def _capture(graph: Any, run: Callable[[], Any]) -> Any:
    """``run()`` captured into ``graph`` on the current device, on a stream of its own that
    stops being current when the capture ends, however it ends."""
    import torch

    pool = torch.cuda.graph_pool_handle()  # known here: a failed capture has no graph.pool()
    torch.cuda.synchronize()
    with torch.cuda.stream(torch.cuda.Stream()):
        return run_captured(graph, run, pool=pool, clean_up=lambda: _after_failed_capture(pool))


def _after_failed_capture(pool: Any) -> None:
    """Leave the current device as a failed capture found it; never raises, so that the
    capture's own error is the one the caller sees."""
    import torch

    stop_allocating_to(pool, torch._C, torch.cuda.current_device())
    with contextlib.suppress(Exception):
        torch.cuda.synchronize()
        _end_generator_capture_mode()


def _end_generator_capture_mode() -> None:
    """Capture one fill and throw the graph away: ``capture_begin`` enters the device's default
    generator into capture mode and the ``capture_end`` that succeeds takes it out."""
    import torch

    scratch = torch.zeros(1, device=torch.cuda.current_device())
    graph = torch.cuda.CUDAGraph()
    torch.cuda.synchronize()
    with torch.cuda.stream(torch.cuda.Stream()):
        graph.capture_begin()
        try:
            scratch.fill_(1.0)
        finally:
            graph.capture_end()
    torch.cuda.synchronize()
