"""pytest-xdist workers: which GPU each measures on, and which items must share a worker.

A GPU's energy counter is the whole board's, so two workers on one GPU each count the other's
energy. With ``--prune-device auto`` each worker therefore takes a GPU of its own: the
controller hands each worker the lowest free slot number as it starts it (a crashed worker's
replacement gets the slot back), and slot ``N`` measures on GPU ``N`` (modulo their number,
where there are more workers than GPUs, which is warned about). And a pruned model's reduction
is only meaningful against its baseline measured on the same board, so each family
(``ModelEntry.family``, models/pairing.py) is one xdist group, which ``--dist loadgroup`` keeps
on one worker.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

GROUPING_DIST_MODE = "loadgroup"
# The controller's ``node.workerinput`` key for a worker's slot.
SLOT_KEY = "pruneenergy_slot"


@dataclass(frozen=True)
class WorkerSlot:
    index: int  # handed out by the controller's SlotPool
    count: int  # workers in the run


class SlotPool:
    """The controller's slot numbers: the lowest free one to each worker that starts, given
    back when it goes down, so that a restarted worker takes the GPU its predecessor left."""

    def __init__(self) -> None:
        self._taken: set[int] = set()

    def take(self) -> int:
        slot = next(index for index in range(len(self._taken) + 1) if index not in self._taken)
        self._taken.add(slot)
        return slot

    def give_back(self, slot: int) -> None:
        self._taken.discard(slot)


def worker_slot(workerinput: Mapping[str, Any] | None) -> WorkerSlot | None:
    """This process's slot among the xdist workers; None outside xdist, on the controller, or
    where the controller handed out none."""
    if not workerinput or SLOT_KEY not in workerinput:
        return None
    return WorkerSlot(int(workerinput[SLOT_KEY]), int(workerinput["workercount"]))


def device_for_worker(requested: str, slot: WorkerSlot | None, cuda_count: int) -> str:
    """``auto`` on an xdist worker where there are GPUs: the worker's own, ``cuda:N``; any other
    request, or no worker, or no GPU: the request unchanged (``resolve_device`` takes it on)."""
    if requested != "auto" or slot is None or cuda_count < 1:
        return requested
    return f"cuda:{slot.index % cuda_count}"


def shared_gpu_message(slot: WorkerSlot | None, cuda_count: int) -> str | None:
    """What to warn where ``auto`` puts this worker on a GPU another may use; else None."""
    if slot is None or cuda_count < 1:
        return None
    if slot.count <= cuda_count and slot.index < cuda_count:
        return None
    return (
        f"{slot.count} xdist workers share {cuda_count} GPU(s): workers on one GPU count each "
        f"other's energy and slow each other down; run -n {cuda_count} or fewer"
    )


def worker_count(tx_specs: Sequence[str] | None) -> int:
    """Workers that xdist's ``--tx`` specifications start (``-n 4`` is four ``popen``;
    ``2*popen`` is two)."""
    count = 0
    for spec in tx_specs or ():
        times, star, _ = spec.partition("*")
        count += int(times) if star and times.isdigit() else 1
    return count


def idle_workers_message(workers: int, families: Collection[str]) -> str | None:
    """What to say where ``--dist loadgroup`` has more workers than families to give them: a
    family runs whole on one worker, so the others measure nothing. None where all have work."""
    if not families or workers <= len(families):
        return None
    return (
        f"{workers} workers for {len(families)} model families: under --dist loadgroup a family "
        "runs whole on one worker (its reductions compare one board's measurements), so "
        f"{workers - len(families)} worker(s) will measure nothing; run -n {len(families)}"
    )
