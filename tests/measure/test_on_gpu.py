"""The measuring code on a real GPU: CUDA events as the pass clock, NVML's counter found by UUID
and polled for ticks, integrated NVML power, the protocol end to end, idle power, CUDA graphs.
Skipped where torch sees no CUDA GPU; ``pytest -m gpu`` selects them, and
benchmarks/gpu_check.py runs them.

The workloads are matrix products, whose time on the device is set by their size, so that a
pass takes a known part of a millisecond or more on any recent GPU.
"""

from __future__ import annotations

import itertools
import time
import warnings
from collections.abc import Callable, Iterator

import pytest
import torch

from pytest_pruneenergy.measure.cuda_graphs import capture_forward
from pytest_pruneenergy.measure.meters import (
    EstimatedEnergyWarning,
    IntegratedPowerWarning,
    NvmlCounterMeter,
    make_meter,
)
from pytest_pruneenergy.measure.meters.nvml import normalize_gpu_uuid
from pytest_pruneenergy.measure.protocol import (
    CudaEvents,
    EventPassClock,
    ProtocolSettings,
    measure,
    measure_idle_watts,
)
from pytest_pruneenergy.measure.ticks import TickRecorder, update_period_seconds

from ..conftest import ON_A_GPU

pytestmark = ON_A_GPU

DEVICE = "cuda:0"
# NVML's counter changes about every 100 ms on the GPUs measured (nvml_probe.py); a period far
# outside this range means the ticks are not the counter's.
PLAUSIBLE_PERIOD_SECONDS = (0.02, 0.25)
WARMUP_SECONDS = 0.3


@pytest.fixture
def meter() -> Iterator[NvmlCounterMeter]:
    meter = NvmlCounterMeter(0)
    yield meter
    meter.close()


def matrix_pass(size: int) -> Callable[[], torch.Tensor]:
    """One product of two ``size`` x ``size`` FP32 matrices on the GPU: 2 x size^3 FLOPs."""
    matrix = torch.randn(size, size, device=DEVICE)

    def run_pass() -> torch.Tensor:
        return torch.mm(matrix, matrix)

    # cuBLAS picks its kernel, and the GPU's clocks rise from idle, outside what is timed.
    start = time.perf_counter()
    while time.perf_counter() - start < WARMUP_SECONDS:
        run_pass()
        torch.cuda.synchronize(DEVICE)
    return run_pass


def bare_passes_per_second(run_pass: Callable[[], object], passes: int) -> float:
    torch.cuda.synchronize(DEVICE)
    start = time.perf_counter()
    for _ in range(passes):
        run_pass()
    torch.cuda.synchronize(DEVICE)
    return passes / (time.perf_counter() - start)


# -- CUDA events as the pass clock ---------------------------------------------------------------


def test_cuda_events_time_each_pass_as_the_device_completed_it():
    run_pass = matrix_pass(2048)
    clock = EventPassClock(CudaEvents(DEVICE))
    start = clock.begin()
    for _ in range(200):
        run_pass()
        clock.after_pass()
    torch.cuda.synchronize(DEVICE)
    synchronized = time.perf_counter()
    completions = clock.completions(wait=True)
    assert len(completions) == 200
    assert all(a <= b for a, b in itertools.pairwise(completions))
    assert start < completions[0]
    # The last pass ended when the device finished: as the synchronize returned, in host time.
    assert synchronized - 0.005 < completions[-1] < synchronized + 0.002
    # Back-to-back passes of one size end evenly: the middle half of the gaps near the median.
    gaps = sorted(b - a for a, b in itertools.pairwise(completions))
    median = gaps[len(gaps) // 2]
    assert gaps[len(gaps) // 4] > 0.5 * median and gaps[3 * len(gaps) // 4] < 2 * median


def test_spaced_markers_give_every_pass_a_completion_and_the_queue_stays_bounded():
    run_pass = matrix_pass(4096)  # ~1-3 ms a pass
    seconds_per_pass = 1 / bare_passes_per_second(run_pass, 20)
    clock = EventPassClock(CudaEvents(DEVICE))
    clock.space_markers(5)
    clock.limit_queue(10)
    start = clock.begin()
    for _ in range(103):  # 20 markers and 3 passes after the last
        run_pass()
        clock.after_pass()
    launched = time.perf_counter()
    completions = clock.completions(wait=True)
    drained = time.perf_counter()
    assert len(completions) == 103
    assert all(a <= b for a, b in itertools.pairwise(completions))
    assert clock.queued_passes() == 0
    # Bounded, the host ends launching at most ~2 x 10 passes (and a marker's 5) ahead of the
    # device; unbounded it would end with nearly all 103 still queued.
    assert drained - launched < 30 * seconds_per_pass + 0.01
    assert completions[-1] - start == pytest.approx(103 * seconds_per_pass, rel=0.5)


# -- NVML's counter --------------------------------------------------------------------------------


def test_the_nvml_counter_meter_reads_the_gpu_torch_calls_cuda_0(meter):
    torch_uuid = str(torch.cuda.get_device_properties(0).uuid)
    assert normalize_gpu_uuid(meter.uuid) == normalize_gpu_uuid(torch_uuid)
    assert meter.gpu_name and meter.driver_version.split(".")[0].isdigit()
    assert meter.power_limit_watts is not None and meter.power_limit_watts > 0
    assert meter.description.startswith("NVML total-energy counter of cuda:0 = NVML GPU ")
    state = meter.device_state()
    assert state.temperature_celsius is not None and 0 < state.temperature_celsius < 120
    assert state.sm_clock_mhz is not None and state.sm_clock_mhz > 0


def test_auto_takes_the_nvml_counter_on_a_gpu_that_has_one_without_a_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        meter = make_meter("auto", DEVICE)
    try:
        assert (meter.name, meter.is_estimate) == ("nvml-counter", False)
    finally:
        meter.close()
    fallbacks = (EstimatedEnergyWarning, IntegratedPowerWarning)
    assert not [w for w in caught if issubclass(w.category, fallbacks)]


def test_the_poller_sees_the_counter_change_on_its_update_period_under_load(meter):
    run_pass = matrix_pass(4096)
    with TickRecorder(meter) as recorder:
        start = time.perf_counter()
        while time.perf_counter() - start < 1.5:
            run_pass()
            torch.cuda.synchronize(DEVICE)
    recorder.check()
    ticks = recorder.ticks()
    assert len(ticks) >= 6
    period = update_period_seconds(ticks)
    assert PLAUSIBLE_PERIOD_SECONDS[0] < period < PLAUSIBLE_PERIOD_SECONDS[1]
    assert all(a.joules < b.joules for a, b in itertools.pairwise(ticks))


def test_integrated_nvml_power_comes_near_what_the_counter_counts_under_steady_load(meter):
    run_pass = matrix_pass(4096)

    def load(seconds: float) -> None:
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            run_pass()
            torch.cuda.synchronize(DEVICE)

    power = make_meter("nvml-power", DEVICE)
    try:
        assert (power.name, power.is_estimate) == ("nvml-power", False)
        load(1.0)  # steady before the first reads, even for power averaged over a second
        joules = [(meter.read_joules(), power.read_joules())]
        load(2.0)
        joules.append((meter.read_joules(), power.read_joules()))
    finally:
        power.close()
    counted, integrated = (end - begin for begin, end in zip(*joules, strict=True))
    # The counter's reads lag its last update (up to ~0.1 s of 2 s at each end) and sampled
    # power misses what falls between samples: a quarter apart at most under steady load.
    assert counted > 0 and integrated == pytest.approx(counted, rel=0.25)


def test_idle_power_is_between_nothing_and_the_power_limit(meter):
    watts = measure_idle_watts(meter, DEVICE, seconds=1.5)
    assert watts is not None and 5 < watts < meter.power_limit_watts


# -- the protocol end to end ----------------------------------------------------------------------


def test_the_protocol_measures_a_gpu_bound_pass_with_the_nvml_counter(meter):
    run_pass = matrix_pass(4096)
    stats = measure(run_pass, DEVICE, meter, 8, ProtocolSettings(max_seconds=4.0))
    assert stats.windows >= 3 and stats.samples_measured > 0
    assert stats.seconds_measured >= 1.0
    watts = stats.joules_per_sample_mean * stats.frames_per_second
    assert 20 < watts < 1.2 * meter.power_limit_watts  # a board's draw, not a unit slip
    assert 0 < stats.joules_per_sample_ci95 < 0.1 * stats.joules_per_sample_mean
    period = stats.update_period_seconds
    assert period is not None and PLAUSIBLE_PERIOD_SECONDS[0] < period < PLAUSIBLE_PERIOD_SECONDS[1]
    # Two reads bracketing the run miss up to an update's energy at each end: a few percent.
    assert stats.naive_joules_per_sample == pytest.approx(stats.joules_per_sample_mean, rel=0.15)
    assert stats.sm_clock_start_mhz and stats.sm_clock_end_mhz
    assert stats.temperature_start_celsius and stats.temperature_end_celsius
    # The harness's loop keeps the pace of a bare one where the GPU sets it.
    bare = 8 * bare_passes_per_second(run_pass, 100)
    assert stats.frames_per_second == pytest.approx(bare, rel=0.1)


def test_the_protocol_measures_graph_replays_on_the_gpu(meter):
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten()
    ).to(DEVICE)
    model.eval()
    with torch.inference_mode():
        batch = torch.randn(8, 3, 64, 64, device=DEVICE)
        replay = capture_forward(model, batch, DEVICE)
        stats = measure(replay, DEVICE, meter, 8, ProtocolSettings(max_seconds=3.0))
    assert stats.windows >= 2 and stats.joules_per_sample_mean > 0


# -- CUDA graphs ----------------------------------------------------------------------------------


def test_a_captured_forward_pass_replays_what_the_model_computes():
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 16, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(4),
        torch.nn.Flatten(),
        torch.nn.Linear(16 * 4 * 4, 10),
    ).to(DEVICE)
    model.eval()
    with torch.inference_mode():
        batch = torch.randn(4, 3, 32, 32, device=DEVICE)
        expected = model(batch).clone()
        replay = capture_forward(model, batch, DEVICE)
        output = replay()
        torch.cuda.synchronize(DEVICE)
        assert torch.allclose(output, expected, rtol=1e-3, atol=1e-4)
        # Every replay writes the same output tensor, computed from the captured input: a new
        # batch copied into that input gives that batch's result.
        other = torch.randn(4, 3, 32, 32, device=DEVICE)
        batch.copy_(other)
        assert replay() is output
        torch.cuda.synchronize(DEVICE)
        assert torch.allclose(output, model(other), rtol=1e-3, atol=1e-4)
