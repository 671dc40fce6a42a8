"""Which energy items were collected and which came back with a result.

The report must hold a row for every item that ran: a measurement or a failure. Items can go
missing in ways pytest itself does not count as failures: a run cut short (Ctrl-C, SIGTERM,
``-x``), an xdist worker that crashed, or ids that collide, so that one item stands for two.
The ledger says which, so that the run can say so, fail where nobody chose to stop it, and be
stored as interrupted.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..models.loading import MODEL_FILE_SUFFIXES
from .ids import ENERGY_TEST_NAME, parse_item_id


def is_energy_item_id(nodeid: str) -> bool:
    """An energy item's id: ``<model file>::test_energy[<stem>-bs<N>][@family]``."""
    # The file's path ends where the item's name begins: a file's name may hold "::" too.
    path = nodeid.rpartition(f"::{ENERGY_TEST_NAME}[")[0]
    return parse_item_id(nodeid) is not None and path.lower().endswith(MODEL_FILE_SUFFIXES)


@dataclass
class ItemLedger:
    # Ids of the energy items collected after deselection; None until collection tells.
    expected: set[str] | None = None
    with_result: set[str] = field(default_factory=set)
    skipped: set[str] = field(default_factory=set)

    def expect(self, nodeids: Iterable[str]) -> None:
        self.expected = {nodeid for nodeid in nodeids if is_energy_item_id(nodeid)}

    def missing(self) -> list[str]:
        """Collected items with neither a result nor a skip, in id order."""
        if self.expected is None:
            return []
        return sorted(self.expected - self.with_result - self.skipped)


def duplicated(ids: Iterable[str]) -> list[str]:
    """Ids that occur more than once, each once, in order of first appearance."""
    counts = Counter(ids)
    return [nodeid for nodeid, count in counts.items() if count > 1]


def unwritable_reason(folder: Path) -> str | None:
    """Why files cannot be written into ``folder`` (created if missing); None if they can.

    Checked by writing and removing a file, the only test that sees read-only mounts, full
    disks and permissions alike.
    """
    if folder.exists() and not folder.is_dir():
        return "a file of that name is in the way"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor, probe = tempfile.mkstemp(prefix=".pruneenergy-probe-", dir=folder)
        os.close(descriptor)
        os.unlink(probe)
    except OSError as error:
        return error.strerror or str(error)
    return None
