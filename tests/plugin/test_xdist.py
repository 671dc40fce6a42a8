from __future__ import annotations

import pytest

from pytest_pruneenergy.plugin.xdist import (
    SLOT_KEY,
    SlotPool,
    WorkerSlot,
    device_for_worker,
    shared_gpu_message,
    worker_count,
    worker_slot,
)

# What xdist does with the plugin: run again on the oldest supported xdist (.ci/run).
pytestmark = pytest.mark.pytest_api


def test_a_workers_slot_comes_from_the_controller_not_from_its_id():
    workerinput = {"workerid": "alpha", "workercount": 4, SLOT_KEY: 3}
    assert worker_slot(workerinput) == WorkerSlot(3, 4)
    assert worker_slot({"workerid": "gw1", "workercount": 2}) is None  # no slot handed out
    assert worker_slot(None) is None
    assert worker_slot({}) is None


def test_a_restarted_worker_takes_the_slot_its_predecessor_left():
    pool = SlotPool()
    assert [pool.take(), pool.take(), pool.take()] == [0, 1, 2]
    pool.give_back(1)  # gw1 crashed; xdist starts gw3 in its place
    assert pool.take() == 1
    assert pool.take() == 3
    pool.give_back(7)  # never taken: nothing to give back
    assert pool.take() == 4


@pytest.mark.parametrize(
    ("specs", "workers"),
    [(["popen"] * 4, 4), (["2*popen"], 2), (["popen//id=alpha", "3*popen"], 4), (None, 0)],
)
def test_workers_are_counted_from_xdists_tx_specifications(specs, workers):
    assert worker_count(specs) == workers


@pytest.mark.parametrize(
    ("requested", "slot", "cuda_count", "device"),
    [
        ("auto", WorkerSlot(1, 2), 2, "cuda:1"),
        ("auto", WorkerSlot(0, 2), 2, "cuda:0"),
        ("auto", WorkerSlot(2, 3), 2, "cuda:0"),  # more workers than GPUs: shared, warned
        ("auto", WorkerSlot(1, 2), 0, "auto"),  # no GPU: resolve_device picks the CPU
        ("auto", None, 4, "auto"),  # not a worker: the first GPU, as without xdist
        ("cuda:1", WorkerSlot(0, 2), 2, "cuda:1"),  # an explicit device is every worker's
        ("cpu", WorkerSlot(1, 2), 2, "cpu"),
    ],
)
def test_auto_gives_each_worker_its_own_gpu(requested, slot, cuda_count, device):
    assert device_for_worker(requested, slot, cuda_count) == device


def test_more_workers_than_gpus_is_warned_about_and_no_more_is_not():
    message = shared_gpu_message(WorkerSlot(0, 4), 2)
    assert message is not None
    assert "4 xdist workers share 2 GPU(s)" in message and "-n 2 or fewer" in message
    assert shared_gpu_message(WorkerSlot(0, 2), 2) is None
    assert shared_gpu_message(WorkerSlot(2, 2), 2) is not None  # a slot beyond the GPUs
    assert shared_gpu_message(WorkerSlot(0, 4), 0) is None  # CPU runs: documented, not warned
    assert shared_gpu_message(None, 1) is None


def test_idle_workers_are_said_only_where_workers_outnumber_families():
    from pytest_pruneenergy.plugin.xdist import idle_workers_message

    message = idle_workers_message(8, {"alexnet_dataset", "vgg11_dataset", "vgg16_dataset"})
    assert message is not None
    assert message.startswith("8 workers for 3 model families")
    assert message.endswith("5 worker(s) will measure nothing; run -n 3")
    assert idle_workers_message(3, {"a", "b", "c"}) is None
    assert idle_workers_message(4, set()) is None  # nothing collected: nothing to say
