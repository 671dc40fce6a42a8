"""pytest-xdist workers: which GPU each measures on, and which items must share a worker.

A GPU's energy counter is the whole board's, so two workers on one GPU each count the other's
energy. With ``--prune-device auto`` each worker therefore takes a GPU of its own, worker
``gwN`` GPU ``N`` (modulo their number, where there are more workers than GPUs, which is
warned about). And a pruned model's reduction is only meaningful against its baseline measured
on the same board, so each ``ARCH_DATASET`` family is one xdist group: ``--dist loadgroup``
keeps a group on one worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .discovery import ModelEntry

GROUPING_DIST_MODE = "loadgroup"


@dataclass(frozen=True)
class WorkerSlot:
    index: int  # N of the worker id gwN
    count: int  # workers in the run


def worker_slot(workerinput: Mapping[str, Any] | None) -> WorkerSlot | None:
    """This process's place among the xdist workers; None outside xdist or on the controller."""
    if not workerinput:
        return None
    worker_id = str(workerinput["workerid"])
    return WorkerSlot(int(worker_id.removeprefix("gw")), int(workerinput["workercount"]))


def device_for_worker(requested: str, slot: WorkerSlot | None, cuda_count: int) -> str:
    """``auto`` on an xdist worker where there are GPUs: the worker's own, ``cuda:N``; any other
    request, or no worker, or no GPU: the request unchanged (``resolve_device`` takes it on)."""
    if requested != "auto" or slot is None or cuda_count < 1:
        return requested
    return f"cuda:{slot.index % cuda_count}"


def shared_gpu_message(slot: WorkerSlot | None, cuda_count: int) -> str | None:
    """What to warn where ``auto`` puts more than one worker on a GPU; None where it does not."""
    if slot is None or cuda_count < 1 or slot.count <= cuda_count:
        return None
    return (
        f"{slot.count} xdist workers share {cuda_count} GPU(s): workers on one GPU count each "
        f"other's energy and slow each other down; run -n {cuda_count} or fewer"
    )


def family(entry: ModelEntry) -> str:
    """The xdist group of a model file: the key that pairs it with its baseline
    (``ModelName.group_key``, architecture and dataset, case-folded), so that a baseline and
    the models compared with it run on one worker (one GPU); a file whose name follows no
    convention is compared with nothing and groups alone."""
    if entry.name is None:
        return entry.stem
    return "_".join(entry.name.group_key)
