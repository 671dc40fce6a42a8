"""Capturing the forward pass as a CUDA graph, and what a failed capture must leave behind:
nothing (pytorch/pytorch#171263)."""

from __future__ import annotations

import pytest
import torch

from pytest_pruneenergy.measure.cuda_graphs import (
    GraphCaptureError,
    capture_forward,
    run_captured,
    stop_allocating_to,
)

POOL = (0, 7)


class FakeGraph:
    """Records the capture calls; ``capture_end`` fails where told, as torch's does after an
    error during capture ("operation failed due to a previous error during capture")."""

    def __init__(self, *, end_fails: bool = False) -> None:
        self.calls: list[str] = []
        self.end_fails = end_fails

    def capture_begin(self, pool: object) -> None:
        self.calls.append(f"begin {pool}")

    def capture_end(self) -> None:
        self.calls.append("end")
        if self.end_fails:
            raise RuntimeError("operation failed due to a previous error during capture")


class FakeAllocator:
    """``torch._C``'s pool functions, in the spelling of torch 2.8 and later."""

    def __init__(self, *, routing: bool) -> None:
        self.routing = routing
        self.calls: list[str] = []

    def _cuda_endAllocateToPool(self, device: int, pool: object) -> None:
        self.calls.append(f"end {device} {pool}")
        if not self.routing:
            raise RuntimeError("endAllocatePool: not currently recording to mempool_id")
        self.routing = False

    def _cuda_releasePool(self, device: int, pool: object) -> None:
        self.calls.append(f"release {device} {pool}")


class OlderAllocator:
    """torch 2.4 to 2.7 spell ending the routing ``_cuda_endAllocateCurrentStreamToPool``."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def _cuda_endAllocateCurrentStreamToPool(self, device: int, pool: object) -> None:
        self.calls.append(f"end {device} {pool}")

    def _cuda_releasePool(self, device: int, pool: object) -> None:
        self.calls.append(f"release {device} {pool}")


def host_sync() -> None:
    raise RuntimeError("CUDA error: operation not permitted when stream is capturing")


def test_a_pass_that_fails_during_capture_ends_the_capture_cleans_up_and_says_its_own_error():
    graph, cleaned = FakeGraph(end_fails=True), []
    with pytest.raises(RuntimeError, match="operation not permitted when stream is capturing"):
        run_captured(graph, host_sync, pool=POOL, clean_up=lambda: cleaned.append(graph.calls[:]))
    # Cleaned up once, after the capture had ended.
    assert cleaned == [["begin (0, 7)", "end"]]


def test_a_capture_that_fails_only_at_its_end_is_cleaned_up_with_that_error():
    graph, cleaned = FakeGraph(end_fails=True), []
    with pytest.raises(RuntimeError, match="previous error during capture"):
        run_captured(graph, lambda: "output", pool=POOL, clean_up=lambda: cleaned.append(True))
    assert graph.calls == ["begin (0, 7)", "end"] and cleaned == [True]


def test_a_capture_that_succeeds_returns_the_output_and_cleans_up_nothing():
    graph, cleaned = FakeGraph(), []
    output = run_captured(graph, lambda: "output", pool=POOL, clean_up=lambda: cleaned.append(1))
    assert (output, graph.calls, cleaned) == ("output", ["begin (0, 7)", "end"], [])


def test_a_pool_the_failed_capture_left_routed_to_is_ended_and_released():
    allocator = FakeAllocator(routing=True)
    assert stop_allocating_to(POOL, allocator, 3)
    assert allocator.calls == ["end 3 (0, 7)", "release 3 (0, 7)"]


def test_a_pool_whose_capture_ended_the_routing_is_left_to_its_graph():
    # capture_end got that far: the graph releases the pool; a second release would free it
    # under the graph.
    allocator = FakeAllocator(routing=False)
    assert not stop_allocating_to(POOL, allocator, 0)
    assert allocator.calls == ["end 0 (0, 7)"]


def test_torch_before_2_8_ends_the_routing_by_its_older_name():
    allocator = OlderAllocator()
    assert stop_allocating_to(POOL, allocator, 0)
    assert allocator.calls == ["end 0 (0, 7)", "release 0 (0, 7)"]


def test_a_torch_without_either_function_is_left_as_it_is():
    assert not stop_allocating_to(POOL, object(), 0)


# -- on a GPU ---------------------------------------------------------------------------------


class HostSync(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * float(x.sum().item())  # .item() waits for the GPU: not capturable


@pytest.fixture
def cuda() -> torch.device:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    return torch.device("cuda:0")


@pytest.mark.gpu
def test_after_a_failed_capture_random_draws_a_capture_and_its_replays_work(cuda):
    batch = torch.randn(4, 8, device=cuda)
    with torch.inference_mode():
        with pytest.raises(
            GraphCaptureError,
            match=r"cannot be captured as a CUDA graph \(.*operation not permitted when stream is",
        ):
            capture_forward(HostSync(), batch, "cuda:0")
        # Work goes to the stream it went to before, not to the capture's.
        assert torch.cuda.current_stream(cuda) == torch.cuda.default_stream(cuda)
        # torch 2.11: "Offset increment outside graph capture encountered unexpectedly".
        drawn = torch.randn(16, device=cuda)
        assert torch.isfinite(drawn).all()
        linear = torch.nn.Linear(8, 2).to(cuda)
        replay = capture_forward(linear, batch, "cuda:0")
        torch.testing.assert_close(replay(), linear(batch))
        torch.cuda.synchronize(cuda)
    assert torch.isfinite(torch.rand(16, device=cuda)).all()


@pytest.mark.gpu
def test_a_random_pass_captured_after_a_failed_capture_draws_anew_at_each_replay(cuda):
    batch = torch.randn(4, 8, device=cuda)

    def noisy(x: torch.Tensor) -> torch.Tensor:
        return x + torch.rand_like(x)

    with torch.inference_mode():
        with pytest.raises(GraphCaptureError):
            capture_forward(HostSync(), batch, "cuda:0")
        replay = capture_forward(noisy, batch, "cuda:0")
        first = replay().clone()
        second = replay().clone()
    assert not torch.equal(first, second)
