"""What the run's phases (ordering.py, running.py, results.py, ending.py) share: one object
per process, made when the plugin is registered.

Each process (the one pytest process, or each xdist worker) measures its items; results travel
to the controller on the test reports, never through shared files, and the controller writes
the report, judges the session's gates and stores the run (ending.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from ..items.journal import JournalContents, JournalWriter, journal_dir, read_journal
from ..items.ledger import ItemLedger
from ..items.measurement import ItemFailure, ItemKey, Measurement
from ..items.progress import Progress
from ..settings import Settings
from ..track.thresholds import (
    ItemThresholds,
)

if TYPE_CHECKING:
    from ..items.idle_power import IdlePower
    from ..items.runner import ModelCache
    from ..measure.meters import Meter


@dataclass(eq=False)
class RunState:
    """The run as this process knows it: its settings and device, what it has measured or
    received, the journal, and what the end of the run will report."""

    config: pytest.Config
    settings: Settings
    device: str  # --prune-device, or under xdist with auto the worker's GPU
    cache: ModelCache
    idle_power: IdlePower
    journal: JournalWriter | None
    # Measurements an earlier, interrupted run journaled (--energy-resume).
    resumable: JournalContents
    meters: dict[str, Meter] = field(default_factory=dict)
    measurements: list[Measurement] = field(default_factory=list)
    failures: list[ItemFailure] = field(default_factory=list)
    # Per (model, batch size), from the reports, for the gates judged at the session end.
    thresholds: dict[ItemKey, ItemThresholds] = field(default_factory=dict)
    ledger: ItemLedger = field(default_factory=ItemLedger)
    resumed_count: int = 0
    report_lines: list[str] = field(default_factory=list)
    # Gates judged at the end of the session (min_reduction, --energy-compare-fail): they
    # fail the run though every item passed, so pytest's last line must say so too.
    session_gate_failures: list[str] = field(default_factory=list)
    # Problems that fail the run though no item failed: items without a result, report
    # files not written. Counted on pytest's last line like the gates.
    run_problems: list[str] = field(default_factory=list)
    # On the controller, once collection says how many items there are (ordering.py).
    progress: Progress | None = None

    @classmethod
    def start(cls, config: pytest.Config, settings: Settings, *, device: str) -> RunState:
        """The state of a run that has measured nothing yet; opens this process's journal."""
        from ..items.idle_power import IdlePower
        from ..items.runner import ModelCache

        journal = None
        resumable = JournalContents()
        if settings.report_dir is not None:
            folder = journal_dir(settings.report_dir)
            shard = None if settings.shard is None else str(settings.shard)
            journal = JournalWriter(folder, _process_name(config), shard=shard)
            if settings.resume:
                resumable = read_journal(folder)
        return cls(
            config=config,
            settings=settings,
            device=device,
            cache=ModelCache(),
            idle_power=IdlePower(settings.idle_seconds),
            journal=journal,
            resumable=resumable,
        )

    @property
    def is_controller(self) -> bool:
        """The one pytest process, or the xdist controller: where every result arrives."""
        return not hasattr(self.config, "workerinput")

    def expect_items(self, nodeids: Iterable[str]) -> None:
        """The energy items this run must account for, among ``nodeids``; progress counts from
        now."""
        self.ledger.expect(nodeids)
        assert self.ledger.expected is not None
        self.progress = Progress(
            len(self.ledger.expected),
            time.perf_counter(),
            interval_seconds=self.settings.progress_seconds,
        )

    def count_result(self, *, measured: bool) -> None:
        """One more item with a result or skipped (``measured``: in this run, not taken from
        the journal); says how far the run has got, now and then."""
        if self.progress is None:
            return
        line = self.progress.record(time.perf_counter(), measured=measured)
        if line is not None:
            self.say_now(line)

    def say_now(self, line: str) -> None:
        """A line in the terminal at once (before the items run, or while the end of the run
        measures again), not in the final summary."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(line, yellow=True)


def _process_name(config: pytest.Config) -> str:
    """``gw0``... on an xdist worker, ``main`` otherwise: one journal file each."""
    workerinput = getattr(config, "workerinput", None)
    return str(workerinput["workerid"]) if workerinput else "main"
