"""An item on a real GPU, as the plugin measures it: a model file loaded onto ``cuda:0``, idle
power and the item measured with NVML's counter, bf16 and channels-last with and without CUDA
graphs, and a batch that does not fit in the GPU's memory. Skipped where torch sees no CUDA GPU;
``pytest -m gpu`` selects them, and benchmarks/gpu_check.py runs them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from pytest_pruneenergy.items.devices import gpu_uuid_of
from pytest_pruneenergy.items.idle_power import IdlePower
from pytest_pruneenergy.items.runner import (
    ItemProblem,
    ModelCache,
    ModelRequest,
    measure_item,
    prepare_model,
    random_input,
    resolve_device,
)
from pytest_pruneenergy.measure.meters import Meter, make_meter
from pytest_pruneenergy.measure.meters.nvml import normalize_gpu_uuid
from pytest_pruneenergy.measure.protocol import ProtocolSettings
from pytest_pruneenergy.models.loading import load_model_file
from pytest_pruneenergy.testing.gpu_load import GPU_NEIGHBOUR_SCRIPT, conv_net

from ..conftest import ON_A_GPU, write_tiny_model

pytestmark = ON_A_GPU

DEVICE = "cuda:0"
MODEL_PATH = Path("/models/Tiny_TEST_UNPRUNED.pt")
PROTOCOL = ProtocolSettings(max_seconds=3.0)


@pytest.fixture(scope="module")
def meter() -> Iterator[Meter]:
    """One meter for every item, as the plugin builds one per device for a run."""
    meter = make_meter("nvml-counter", DEVICE)
    yield meter
    meter.close()


def measured(prepared, batch_size: int, meter: Meter, **options):
    """``measure_item`` as the plugin calls it, at a 3 s cap."""
    return measure_item(
        prepared,
        batch_size,
        meter=meter,
        make_input=random_input,
        protocol=PROTOCOL,
        **{"cuda_graphs": False, "idle_watts": None, **options},
    )


def test_an_item_on_cuda_is_measured_with_the_nvml_counter_and_says_which_gpu(meter, tmp_path):
    path = write_tiny_model(tmp_path / "AlexNet_TINY_UNPRUNED.pth")
    device = resolve_device("cuda:0")
    cache = ModelCache()
    prepared = cache.get(
        ModelRequest(path, device),
        lambda path, device: load_model_file(path, allow_pickle=False, device=device),
    )
    assert next(prepared.module.parameters()).device == torch.device(device)
    idle_watts = IdlePower(1.5).of(meter, device, warn=pytest.fail)
    assert idle_watts is not None and idle_watts > 5
    first = measured(prepared, 1, meter, idle_watts=idle_watts)
    second = measured(prepared, 8, meter, idle_watts=idle_watts, rewarm=True)
    for measurement in (first, second):
        assert (measurement.meter, measurement.meter_is_estimate) == ("nvml-counter", False)
        assert measurement.device.startswith("cuda:0 (") and measurement.gpu is not None
        assert measurement.gpu.name and measurement.gpu.name in measurement.meter_description
        stats = measurement.stats
        assert stats.joules_per_sample_mean > 0 and stats.frames_per_second > 0
        assert stats.update_period_seconds is not None and 0.02 < stats.update_period_seconds < 0.25
        dynamic = measurement.dynamic_joules_per_sample
        assert dynamic is not None and dynamic < stats.joules_per_sample_mean
    assert (first.batch_size, second.batch_size) == (1, 8)


def test_the_journal_names_the_board_by_a_uuid_nvml_lists() -> None:
    """The UUID the journal keys a GPU item by is the board's own: one of those NVML lists for
    this host's GPUs (NVML writes them ``GPU-<uuid>``)."""
    import pynvml

    uuid = gpu_uuid_of(DEVICE)
    assert uuid is not None and len(uuid) >= 32
    pynvml.nvmlInit()
    try:
        listed = {
            normalize_gpu_uuid(str(pynvml.nvmlDeviceGetUUID(pynvml.nvmlDeviceGetHandleByIndex(i))))
            for i in range(pynvml.nvmlDeviceGetCount())
        }
    finally:
        pynvml.nvmlShutdown()
    assert uuid in listed, (uuid, listed)


def test_a_bf16_channels_last_model_runs_and_is_labelled_so_with_and_without_graphs(meter):
    shape = (3, 32, 32)
    prepared = prepare_model(
        ModelRequest(MODEL_PATH, DEVICE, shape, dtype="bfloat16", channels_last=True),
        lambda path, device: conv_net(32),
    )
    assert (prepared.dtype, prepared.channels_last) == ("bfloat16", True)
    weight = prepared.module[0].weight
    assert weight.dtype == torch.bfloat16 and weight.is_cuda
    assert weight.is_contiguous(memory_format=torch.channels_last)
    batch = prepared.conform(random_input(2, shape, DEVICE))
    assert batch.dtype == torch.bfloat16 and batch.is_contiguous(memory_format=torch.channels_last)
    for graphs in (False, True):
        measurement = measured(prepared, 8, meter, cuda_graphs=graphs, rewarm=graphs)
        assert (measurement.dtype, measurement.weights_dtype) == ("bfloat16", "bfloat16")
        assert (measurement.channels_last, measurement.cuda_graph) == (True, graphs)
        assert measurement.stats.joules_per_sample_mean > 0


class Greedy(torch.nn.Module):
    """From batch size 4 on, asks for twice the GPU's memory."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] >= 4:
            floats = 2 * torch.cuda.get_device_properties(x.device).total_memory // 4
            torch.empty(floats, device=x.device)
        return self.linear(x)


def test_a_batch_that_does_not_fit_in_gpu_memory_fails_alone(meter):
    prepared = prepare_model(ModelRequest(MODEL_PATH, DEVICE, (4,)), lambda path, device: Greedy())
    with pytest.raises(ItemProblem, match=r"batch size 4 does not fit in cuda:0 memory"):
        measured(prepared, 4, meter)
    # The memory is given back: the next batch size is measured as usual.
    assert measured(prepared, 1, meter, rewarm=True).stats.joules_per_sample_mean > 0


def test_a_process_computing_on_the_same_gpu_is_seen_and_a_clean_rerun_agrees_with_the_quiet_one(
    meter,
):
    import subprocess
    import sys

    prepared = prepare_model(
        ModelRequest(MODEL_PATH, DEVICE, (3, 64, 64)), lambda path, device: conv_net(32)
    )
    quiet = measured(prepared, 64, meter)
    neighbour = subprocess.Popen(
        [sys.executable, "-c", GPU_NEIGHBOUR_SCRIPT], stdout=subprocess.PIPE, text=True
    )
    try:
        assert neighbour.stdout is not None and neighbour.stdout.readline().strip() == "ready"
        crowded = measured(prepared, 64, meter, rewarm=True)
    finally:
        neighbour.kill()
        neighbour.wait()
    again = measured(prepared, 64, meter, rewarm=True)
    assert quiet.disturbances == () and again.disturbances == ()
    assert any("other process(es) on the GPU" in seen for seen in crowded.disturbances), (
        crowded.disturbances
    )
    # The neighbour's energy lands in the crowded figure; the clean rerun agrees with the quiet
    # run within 3 % or their CIs, whichever is wider.
    joules = [m.stats.joules_per_sample_mean for m in (quiet, crowded, again)]
    assert joules[1] > joules[0]
    bound = max(
        0.03 * joules[0], quiet.stats.joules_per_sample_ci95 + again.stats.joules_per_sample_ci95
    )
    assert abs(joules[2] - joules[0]) <= bound, joules
