"""The run's second phase: an energy item measured, journaled and judged.

An item's thresholds are read before it spends its time; its model is loaded (or taken from the
cache) and measured, or its measurement taken from the journal of an interrupted run
(``--energy-resume``); a new one is journaled before the next item starts, given to JUnit as
properties and to pytest-benchmark, and judged by the gates that need only this item; it then
travels on the test report (results.py).
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..items.devices import gpu_uuid_of
from ..items.journal import JournalKey, item_key
from ..items.measurement import Measurement, baseline_measurements
from ..measure.meters import MeterUnavailable
from ..models.naming import ModelName
from ..settings import numbers_settings
from ..track.gates import (
    INCONCLUSIVE,
    judge_measurement,
)
from ..track.thresholds import (
    IN_ITEM_KINDS,
    MARKER_NAME,
    ItemThresholds,
    ThresholdError,
    parse_marker,
)
from .benchmark import benchmark_budget_seconds
from .categories import EnergyGateWarning, PruneEnergyWarning
from .collection import (
    BATCH_SIZE_KEY,
    DTYPE_KEY,
    ENTRY_KEY,
    MEASUREMENT_KEY,
    RESUMED_KEY,
    ROUND_KEY,
    RUNTIME_KEY,
    THRESHOLDS_KEY,
)
from .state import RunState

if TYPE_CHECKING:
    from ..items.prepared import PreparedModel
    from ..measure.meters import Meter


class Running:
    """The hooks and calls that run an item, over the run's shared state."""

    def __init__(self, state: RunState) -> None:
        self.state = state
        # When this process last worked on each device (time.perf_counter): how long the
        # board has been left quiet when the next item starts (measure/conditions.py).
        self._last_work_ended: dict[str, float] = {}

    def meter(self) -> Meter:
        """This process's meter, made on first use; fails the item where there is none."""
        from ..items.runner import ItemProblem, resolve_device
        from ..measure.meters import MeterUnavailable

        problem = None
        try:
            meter = self.meter_on(resolve_device(self.state.device))
        except (ItemProblem, MeterUnavailable) as error:
            problem = f"energy meter: {error}"
        if problem is not None:
            pytest.fail(problem, pytrace=False)
        return meter

    def meter_on(self, device: str) -> Meter:
        """The meter of ``device`` (``cuda:1``, ``cpu``), made through the hook on first use;
        raises ``MeterUnavailable`` where there is none."""
        if device not in self.state.meters:
            self.state.meters[device] = self.state.config.hook.pytest_pruneenergy_make_meter(
                device=device,
                kind=self.state.settings.meter,
                estimate_watts_per_core=self.state.settings.estimate_watts_per_core,
            )
        return self.state.meters[device]

    def run_item(self, item: pytest.Item, meter: Meter, benchmark: Any) -> None:
        from ..items.runner import ItemProblem, resolve_device

        began = time.perf_counter()
        entry = item.stash[ENTRY_KEY]
        size = item.stash[BATCH_SIZE_KEY]
        # Before measuring: a bad marker fails the item without spending the time budget.
        thresholds = self.thresholds_of(item)
        problem = None
        prepared = None
        try:
            device = resolve_device(self.state.device)
            round_number = item.stash[ROUND_KEY] if self.state.settings.rounds > 1 else None
            dtype, runtime = item.stash[DTYPE_KEY], item.stash[RUNTIME_KEY]
            key = self._journal_key(entry.path, size, device, round_number, dtype, runtime)
            measurement = self.state.resumable.measurements.get(key) if key is not None else None
            if measurement is None:
                idle_watts = self.state.idle_power.of(
                    meter, device, warn=lambda message: item.warn(PruneEnergyWarning(message))
                )
                measurement, prepared = self.measure_model(
                    entry.path, entry.name, size, (dtype, runtime), device, meter, idle_watts
                )
        except ItemProblem as error:
            problem = str(error)
        if problem is not None:  # failed outside the except block: no chained traceback
            pytest.fail(problem, pytrace=False)
        if prepared is None:  # taken from the journal of an earlier run
            item.stash[RESUMED_KEY] = True
        else:
            if benchmark is not None:
                from .benchmark import record_in_benchmark

                record_in_benchmark(
                    benchmark,
                    prepared,
                    measurement,
                    self.input_maker(prepared.module),
                    budget_seconds=benchmark_budget_seconds(self.state.settings.max_seconds),
                )
                self.device_worked(device)
            measurement = dataclasses.replace(
                measurement,
                item_seconds=time.perf_counter() - began,
                round_number=round_number,
            )
            self._journal_measurement(item.warn, key, measurement)
        item.stash[MEASUREMENT_KEY] = measurement
        self._record_properties(item, measurement)
        self.check_in_item(item, measurement, thresholds)

    def measure_model(
        self,
        path: Path,
        name: ModelName | None,
        batch_size: int,
        variant: tuple[str | None, str | None],
        device: str,
        meter: Meter,
        idle_watts: float | None,
    ) -> tuple[Measurement, PreparedModel]:
        """One model at one batch size, loaded through the hooks (or the cache), measured;
        raises ``ItemProblem`` where it cannot be."""
        from ..items.runner import ModelRequest, measure_item

        hook, settings = self.state.config.hook, self.state.settings

        def load(path: Path, device: str) -> Any:
            return hook.pytest_pruneenergy_load_model(
                path=path, allow_pickle=settings.allow_pickle, device=device
            )

        dtype, runtime = variant  # numeric format and runtime (None: as saved; eager)
        request = ModelRequest(
            path, device, settings.input_shape, dtype, settings.channels_last, runtime
        )
        prepared = self.state.cache.get(request, load)
        ended = self._last_work_ended.get(device)
        try:
            measurement = measure_item(
                prepared,
                batch_size,
                meter=meter,
                make_input=self.input_maker(prepared.module),
                protocol=settings.protocol_settings,
                cuda_graphs=settings.cuda_graphs,
                idle_watts=idle_watts,
                name=name,
                rewarm=self.state.cache.warm,
                load_seconds=prepared.load_seconds if self.state.cache.loaded_now else 0.0,
                runtime_seconds=prepared.runtime_seconds if self.state.cache.loaded_now else 0.0,
                quiet_seconds=None if ended is None else time.perf_counter() - ended,
            )
        finally:
            self.device_worked(device)
        self.state.cache.warm = True
        return measurement, prepared

    def device_worked(self, device: str) -> None:
        """This process has just worked on ``device``: it is not quiet from here."""
        self._last_work_ended[device] = time.perf_counter()

    def input_maker(self, module: Any) -> Callable[[int, tuple[int, ...], str], Any]:
        """How ``module``'s inputs are made: through the hook (a conftest may give its own)."""
        hook = self.state.config.hook

        def make_input(batch_size: int, shape: tuple[int, ...], device: str) -> Any:
            return hook.pytest_pruneenergy_make_input(
                model=module, batch_size=batch_size, input_shape=shape, device=device
            )

        return make_input

    def _record_properties(self, item: pytest.Item, measurement: Measurement) -> None:
        """Energy, FPS and reductions as JUnit XML properties (``--junitxml``), as the
        ``record_property`` fixture records them. A reduction needs the baseline measured
        before this item in this process (under xdist, --dist loadgroup keeps a family on one
        worker)."""
        from ..report.junit import item_properties

        baseline = baseline_measurements([*self.state.measurements, measurement]).get(
            measurement.key
        )
        item.user_properties.extend(item_properties(measurement, baseline))

    def _journal_key(
        self,
        path: Path,
        batch_size: int,
        device: str,
        round_number: int | None,
        dtype: str | None,
        runtime: str | None,
    ) -> JournalKey | None:
        """None where there is no journal (else ``journal_key``'s)."""
        if self.state.journal is None:
            return None
        settings = {**numbers_settings(self.state.settings), **_variant(dtype, runtime)}
        return journal_key(path, batch_size, device, settings, round_number)

    def _journal_measurement(
        self, warn: Callable[[Warning], None], key: JournalKey | None, measurement: Measurement
    ) -> None:
        """On disk before the next item starts; a journal that cannot be written costs the
        resume, never the measurement, which still travels on the report."""
        if self.state.journal is None or key is None:
            return
        try:
            self.state.journal.append(key, measurement)
        except OSError as error:
            warn(
                PruneEnergyWarning(
                    f"journal {self.state.journal.path} not written ({error}): this item would be "
                    "measured again by --energy-resume"
                )
            )

    def journal_measurement_again(self, measurement: Measurement) -> None:
        """A measurement settled at the end of the run, journaled over its first record."""
        key = self._journal_key(
            Path(measurement.path),
            measurement.batch_size,
            measurement.device_id,
            None,
            measurement.dtype,
            measurement.runtime,
        )
        self._journal_measurement(
            lambda warning: warnings.warn(warning, stacklevel=1), key, measurement
        )

    def thresholds_of(self, item: pytest.Item) -> ItemThresholds:
        """Marker > command line > ini rule > ini; stashed, so the report carries them."""
        marker = item.get_closest_marker(MARKER_NAME)
        problem = None
        try:
            marked = parse_marker(marker.args, marker.kwargs) if marker is not None else None
        except ThresholdError as error:
            problem = str(error)
        if problem is not None:
            pytest.fail(problem, pytrace=False)
        entry = item.stash[ENTRY_KEY]
        thresholds = self.state.settings.gates.for_item(
            entry.stem, item.stash[BATCH_SIZE_KEY], marked
        )
        item.stash[THRESHOLDS_KEY] = thresholds
        return thresholds

    def check_in_item(
        self, item: pytest.Item, measurement: Measurement, thresholds: ItemThresholds
    ) -> None:
        """max_joules, min_fps and max_p99_ms need only this item's measurement, so they fail
        the item; with several rounds only all of them make the item's figure, judged at the
        end."""
        if self.state.settings.rounds > 1:
            return
        verdicts = judge_measurement(measurement, thresholds, kinds=IN_ITEM_KINDS)
        strict = self.state.settings.gates.strict
        for verdict in verdicts:
            if verdict.outcome == INCONCLUSIVE and not strict:
                item.warn(EnergyGateWarning(verdict.message))
        failed = [verdict.message for verdict in verdicts if verdict.fails(strict)]
        if failed:
            pytest.fail("\n".join(failed), pytrace=False)


def journal_key(
    path: Path,
    batch_size: int,
    device: str,
    settings: dict[str, Any],
    round_number: int | None,
) -> JournalKey | None:
    """The item's journal key; None where the file cannot be looked at (loading then says
    why), or the GPU's UUID cannot be read (said here: the item is then neither resumed nor
    journaled)."""
    try:
        gpu_uuid = gpu_uuid_of(device)
    except (MeterUnavailable, RuntimeError, ValueError) as error:
        warnings.warn(
            PruneEnergyWarning(
                f"journal: which GPU {device} is could not be read ({error}): this item is "
                "not journaled, and --energy-resume will measure it again"
            ),
            stacklevel=1,
        )
        return None
    try:
        return item_key(
            path,
            batch_size,
            device=device,
            settings=settings,
            round_number=round_number,
            gpu_uuid=gpu_uuid,
        )
    except OSError:
        return None


def _variant(dtype: str | None, runtime: str | None) -> dict[str, str | None]:
    """An item's numeric format and runtime, as its journal key holds them: the runtime only
    where not eager, so that eager items keep the keys they had before runtimes."""
    return {"dtype": dtype, **({"runtime": runtime} if runtime is not None else {})}
