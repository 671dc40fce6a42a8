"""An item's result on its way to the controller: the measurement, or why there is none, put
on pytest's test report where the item ran, and taken off it where every report arrives (the
one pytest process, or the xdist controller), with an item whose xdist worker crashed
accounted for as a failure.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..items.ids import parse_item_id
from ..items.ledger import is_energy_item_id
from ..items.measurement import ItemFailure, Measurement
from ..track.thresholds import (
    ItemThresholds,
)
from .collection import (
    BATCH_SIZE_KEY,
    BENCHMARK_KEY,
    DTYPE_KEY,
    ENTRY_KEY,
    FAILURE_RECORDED_KEY,
    MEASUREMENT_KEY,
    RESUMED_KEY,
    RUNTIME_KEY,
    THRESHOLDS_KEY,
    EnergyItem,
    FolderProblem,
)
from .state import RunState


class Results:
    """The report hooks, over the run's shared state."""

    def __init__(self, state: RunState) -> None:
        self.state = state

    # tryfirst: around pytest-benchmark's own wrapper, so that its verdict can be amended.
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Iterator[None]:
        report = yield
        benchmark = item.stash.get(BENCHMARK_KEY, None)
        resumed = item.stash.get(RESUMED_KEY, False)
        if call.when == "call" and (report.failed or resumed) and benchmark is not None:
            # A failed item's own failure says what went wrong, and an item taken from the
            # journal is not timed again by design: pytest-benchmark's "fixture was not used"
            # warning on top would only be noise. pytest-benchmark resets ``skipped`` from the
            # report in its wrapper, inside this one.
            benchmark.skipped = True
        measurement = item.stash.get(MEASUREMENT_KEY, None)
        if call.when == "call" and measurement is not None:
            report.pruneenergy_measurement = measurement.to_dict()
            report.pruneenergy_thresholds = item.stash[THRESHOLDS_KEY].to_dict()
            report.pruneenergy_resumed = resumed
        elif (
            report.failed
            and isinstance(item, (EnergyItem, FolderProblem))
            and not item.stash.get(FAILURE_RECORDED_KEY, False)
        ):
            item.stash[FAILURE_RECORDED_KEY] = True  # one failure per item, not per phase
            entry = item.stash.get(ENTRY_KEY, None)
            failure = ItemFailure(
                model=entry.stem if entry else item.nodeid,
                path=str(item.path),
                batch_size=item.stash.get(BATCH_SIZE_KEY, None),
                reason=_reason(call),
                name=entry.name if entry else None,
                dtype=item.stash.get(DTYPE_KEY, None),
                runtime=item.stash.get(RUNTIME_KEY, None),
            )
            report.pruneenergy_failure = failure.to_dict()
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # On the controller under xdist these reports come from the workers.
        measurement = getattr(report, "pruneenergy_measurement", None)
        failure = getattr(report, "pruneenergy_failure", None)
        resumed = bool(getattr(report, "pruneenergy_resumed", False))
        if measurement is not None:
            measured = Measurement.from_dict(measurement)
            self.state.measurements.append(measured)
            thresholds = ItemThresholds.from_dict(report.pruneenergy_thresholds)
            self.state.thresholds[measured.key] = thresholds
            self.state.resumed_count += resumed
        elif failure is None and report.failed and self._lost_item(report):
            # No worker made this report: xdist did, for an item whose worker crashed.
            failure = self._failure_of_lost_item(report).to_dict()
        if failure is not None:
            self.state.failures.append(ItemFailure.from_dict(failure))
        if measurement is not None or failure is not None:
            self.state.ledger.with_result.add(report.nodeid)
            self.state.count_result(measured=not resumed)
        elif report.skipped and is_energy_item_id(report.nodeid):
            self.state.ledger.skipped.add(report.nodeid)
            self.state.count_result(measured=False)

    def _lost_item(self, report: pytest.TestReport) -> bool:
        """An energy item that failed without the plugin's record of a result or a failure."""
        return (
            is_energy_item_id(report.nodeid) and report.nodeid not in self.state.ledger.with_result
        )

    def _failure_of_lost_item(self, report: pytest.TestReport) -> ItemFailure:
        parsed = parse_item_id(report.nodeid)
        assert parsed is not None  # _lost_item checked it
        path = self.state.config.rootpath / report.nodeid.partition("::")[0]
        text = str(report.longreprtext).strip().splitlines()
        return ItemFailure(
            model=parsed.stem,
            path=str(path),
            batch_size=parsed.batch_size,
            reason=text[-1] if text else "failed without a report from its process",
            runtime=parsed.runtime,
        )


def _reason(call: pytest.CallInfo[None]) -> str:
    if call.excinfo is None:
        return "failed"
    text = str(call.excinfo.value).strip()
    return text or call.excinfo.typename
