"""The per-run state and hooks of pytest-pruneenergy, registered only when models are measured.

Each process (the one pytest process, or each xdist worker) measures its items; results travel
to the controller on the test reports, never through shared files, and the controller writes
the report, judges the session's gates and stores the run (finish.py).
"""

from __future__ import annotations

import dataclasses
import os
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..common.shapes import format_shape
from ..items.ids import parse_item_id
from ..items.journal import (
    JournalContents,
    JournalKey,
    JournalWriter,
    item_key,
    journal_dir,
    read_journal,
)
from ..items.ledger import ItemLedger, duplicated, is_energy_item_id
from ..items.measurement import (
    ItemFailure,
    ItemKey,
    Measurement,
    baseline_measurements,
    item_label,
)
from ..items.rounds import combine_rounds
from ..models.discovery import DiscoveryError, ModelEntry, find_model_files, pair_with_baselines
from ..models.manifest import name_from_manifest
from ..models.naming import ModelName, parse_model_name
from ..models.sharding import deal_families, largest_first
from ..settings import Settings
from ..track.gates import (
    IN_ITEM_KINDS,
    INCONCLUSIVE,
    KINDS,
    MARKER_NAME,
    SESSION_KINDS,
    ItemThresholds,
    ThresholdError,
    Verdict,
    gate_summary_lines,
    judge_gates,
    judge_measurement,
    parse_marker,
    table_cells,
)
from ..track.run_end import RunAccount, StoreOutcome, compare_and_save, compare_cells, run_notes
from .benchmark import benchmark_budget_seconds
from .categories import EnergyGateWarning, PruneEnergyWarning
from .collection import (
    BATCH_SIZE_KEY,
    BENCHMARK_KEY,
    DTYPE_KEY,
    ENTRY_KEY,
    FAILURE_RECORDED_KEY,
    MEASUREMENT_KEY,
    RESUMED_KEY,
    ROUND_KEY,
    THRESHOLDS_KEY,
    EnergyItem,
    FolderProblem,
    ModelFolder,
    groups_families,
    relative_nodeid,
)
from .finish import (
    STEP_SUMMARY_VARIABLE,
    count_on_last_line,
    settings_that_matter,
    write_markdown,
)
from .xdist import SLOT_KEY, SlotPool, idle_workers_message, worker_count

if TYPE_CHECKING:
    from ..items.runner import IdlePower, ModelCache, PreparedModel
    from ..measure.meters import Meter


def measuring_settings(settings: Settings) -> dict[str, Any]:
    """The settings that change an item's figures: a journaled measurement made with others
    is not reused."""
    return {
        "protocol": settings.protocol,
        "target_ci_fraction": settings.target_ci_fraction,
        "max_seconds": settings.max_seconds,
        "input_shape": None if settings.input_shape is None else format_shape(settings.input_shape),
        "meter": settings.meter,
        "cuda_graphs": settings.cuda_graphs,
        "idle_seconds": settings.idle_seconds,
        "estimate_watts_per_core": settings.estimate_watts_per_core,
        "channels_last": settings.channels_last,
    }


def _process_name(config: pytest.Config) -> str:
    """``gw0``... on an xdist worker, ``main`` otherwise: one journal file each."""
    workerinput = getattr(config, "workerinput", None)
    return str(workerinput["workerid"]) if workerinput else "main"


class PruneEnergySession:
    """The per-run state and hooks, registered only when models are to be measured."""

    def __init__(self, config: pytest.Config, settings: Settings, *, device: str) -> None:
        from ..items.runner import IdlePower, ModelCache

        self.config = config
        self.settings = settings
        self.cache: ModelCache = ModelCache()
        self._entries: dict[Path, ModelEntry] | None = None
        self._meters: dict[str, Meter] = {}
        self.device = device  # --prune-device, or under xdist with auto the worker's GPU
        self._slots = SlotPool()  # on an xdist controller: the workers' slots
        self.idle_power: IdlePower = IdlePower(settings.idle_seconds)
        # When this process last worked on each device (time.perf_counter): how long the
        # board has been left quiet when the next item starts (measure/conditions.py).
        self._last_work_ended: dict[str, float] = {}
        self.measurements: list[Measurement] = []
        self.failures: list[ItemFailure] = []
        # Per (model, batch size), from the reports, for the gates judged at the session end.
        self.thresholds: dict[ItemKey, ItemThresholds] = {}
        self.report_lines: list[str] = []
        # Gates judged at the end of the session (min_reduction, --energy-compare-fail): they
        # fail the run though every item passed, so pytest's last line must say so too.
        self.session_gate_failures: list[str] = []
        # Problems that fail the run though no item failed: items without a result, report
        # files not written. Counted on pytest's last line like the gates.
        self.run_problems: list[str] = []
        self.ledger = ItemLedger()
        self.resumed_count = 0
        self.journal: JournalWriter | None = None
        self.resumable = JournalContents()
        if settings.report_dir is not None:
            folder = journal_dir(settings.report_dir)
            shard = None if settings.shard is None else str(settings.shard)
            self.journal = JournalWriter(folder, _process_name(config), shard=shard)
            if settings.resume:
                self.resumable = read_journal(folder)

    # -- collection -------------------------------------------------------------------------

    def entry_for(self, path: Path) -> ModelEntry:
        """Entries are paired across all folders, so a baseline may sit in another folder."""
        if self._entries is None:
            paths: list[Path] = []
            for folder in self.settings.model_dirs:
                try:
                    paths.extend(find_model_files(folder))
                except DiscoveryError:
                    continue  # reported by that folder's FolderProblem item
            entries = pair_with_baselines(paths, parse=self._parse_name)
            self._entries = {entry.path: entry for entry in entries}
        return self._entries[path]

    def _parse_name(self, path: Path) -> ModelName | None:
        """A conftest hook, else a manifest line, else the seed's naming convention."""
        named = self.config.hook.pytest_pruneenergy_parse_name(path=path)
        if named is not None:
            return named
        listed = name_from_manifest(path.stem, path.name, self.settings.manifest)
        return listed if listed is not None else parse_model_name(path.stem)

    def namesakes_of(self, path: Path) -> list[Path]:
        """Other model files with this file's stem: the report names models by stem, so two
        would be two rows of one name, and one could be taken for the other's baseline."""
        self.entry_for(path)
        assert self._entries is not None
        return [other for other in self._entries if other.stem == path.stem and other != path]

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, items: list[pytest.Item]
    ) -> None:
        # tryfirst: -k and -m deselection, which run later, then see the energy items too.
        for folder in self.settings.model_dirs:
            collector = ModelFolder.from_parent(
                session, path=folder, nodeid=relative_nodeid(folder, self.config.rootpath)
            )
            items.extend(session.genitems(collector))
        self._keep_this_shard(items)
        self._largest_families_first(items)
        self._round_by_round(items)
        clashes = duplicated(item.nodeid for item in items if isinstance(item, EnergyItem))
        if clashes:  # one item would stand for two, and one of them would never be measured
            raise pytest.UsageError(
                f"{len(clashes)} energy item id(s) occur twice, e.g. {clashes[0]}; please report "
                "this as a bug of pytest-pruneenergy, with your pytest and pytest-xdist versions"
            )

    def _keep_this_shard(self, items: list[pytest.Item]) -> None:
        """With --prune-shard=I/N, deselect the items of the families dealt to other shards."""
        shard = self.settings.shard
        if shard is None:
            return
        energy = [item for item in items if isinstance(item, EnergyItem)]
        dealt = deal_families(_work_by_family(energy), shard.count)
        others = [item for item in energy if dealt[item.stash[ENTRY_KEY].family] != shard.index]
        if others:
            self.config.hook.pytest_deselected(items=others)
            unwanted = set(map(id, others))
            items[:] = [item for item in items if id(item) not in unwanted]

    def _largest_families_first(self, items: list[pytest.Item]) -> None:
        """Under --dist loadgroup, the families with the most items first: xdist hands groups
        to workers in the order it meets them, so the longest family starts first and the
        short ones fill in around it (the longest-processing-time rule)."""
        if not groups_families(self.config):
            return
        energy = [item for item in items if isinstance(item, EnergyItem)]
        rank = {
            family: index for index, family in enumerate(largest_first(_work_by_family(energy)))
        }
        _sort_energy_items(items, key=lambda item: rank[item.stash[ENTRY_KEY].family])

    def _round_by_round(self, items: list[pytest.Item]) -> None:
        """With several rounds, every item's round 1 first, then round 2...: so that a baseline
        and its pruned models alternate in time, on one worker too (xdist keeps the order)."""
        if self.settings.rounds < 2:
            return
        _sort_energy_items(items, key=lambda item: item.stash[ROUND_KEY])

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Without xdist, this process collected: the items it must account for."""
        if not hasattr(self.config, "workerinput"):
            self.ledger.expect(item.nodeid for item in session.items)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """xdist controller: every worker collects the same ids; the first tells."""
        if self.ledger.expected is not None:
            return
        self.ledger.expect(ids)
        if groups_families(self.config):
            families = {
                parsed.family for parsed in map(parse_item_id, ids) if parsed and parsed.family
            }
            workers = worker_count(self.config.getoption("tx", None))
            message = idle_workers_message(workers, families)
            if message is not None:
                self._say_now(f"WARNING: {message}")

    def _say_now(self, line: str) -> None:
        """A line in the terminal at once (before the items run), not in the final summary."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(line, yellow=True)

    # -- running ----------------------------------------------------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist controller: a slot, hence a GPU, for each worker it starts."""
        node.workerinput[SLOT_KEY] = self._slots.take()

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object | None) -> None:
        """xdist controller: a worker that went down leaves its GPU to its replacement."""
        slot = getattr(node, "workerinput", {}).get(SLOT_KEY)
        if slot is not None:
            self._slots.give_back(slot)

    def meter(self) -> Meter:
        """This process's meter, made on first use; fails the item where there is none."""
        from ..items.runner import ItemProblem, resolve_device
        from ..measure.meters import MeterUnavailable

        problem = None
        try:
            meter = self.meter_on(resolve_device(self.device))
        except (ItemProblem, MeterUnavailable) as error:
            problem = f"energy meter: {error}"
        if problem is not None:
            pytest.fail(problem, pytrace=False)
        return meter

    def meter_on(self, device: str) -> Meter:
        """The meter of ``device`` (``cuda:1``, ``cpu``), made through the hook on first use;
        raises ``MeterUnavailable`` where there is none."""
        if device not in self._meters:
            self._meters[device] = self.config.hook.pytest_pruneenergy_make_meter(
                device=device,
                kind=self.settings.meter,
                estimate_watts_per_core=self.settings.estimate_watts_per_core,
            )
        return self._meters[device]

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
            device = resolve_device(self.device)
            round_number = item.stash[ROUND_KEY] if self.settings.rounds > 1 else None
            dtype = item.stash[DTYPE_KEY]
            key = self._journal_key(entry.path, size, device, round_number, dtype)
            measurement = self.resumable.measurements.get(key) if key is not None else None
            if measurement is None:
                idle_watts = self.idle_power.of(
                    meter, device, warn=lambda message: item.warn(PruneEnergyWarning(message))
                )
                measurement, prepared = self.measure_model(
                    entry.path, entry.name, size, dtype, device, meter, idle_watts
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
                    budget_seconds=benchmark_budget_seconds(self.settings.max_seconds),
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
        dtype: str | None,
        device: str,
        meter: Meter,
        idle_watts: float | None,
    ) -> tuple[Measurement, PreparedModel]:
        """One model at one batch size, loaded through the hooks (or the cache), measured;
        raises ``ItemProblem`` where it cannot be."""
        from ..items.runner import ModelRequest, measure_item

        hook = self.config.hook

        def load(path: Path, device: str) -> Any:
            return hook.pytest_pruneenergy_load_model(
                path=path, allow_pickle=self.settings.allow_pickle, device=device
            )

        request = ModelRequest(
            path, device, self.settings.input_shape, dtype, self.settings.channels_last
        )
        prepared = self.cache.get(request, load)
        ended = self._last_work_ended.get(device)
        try:
            measurement = measure_item(
                prepared,
                batch_size,
                meter=meter,
                make_input=self.input_maker(prepared.module),
                protocol=self.settings.protocol_settings,
                cuda_graphs=self.settings.cuda_graphs,
                idle_watts=idle_watts,
                name=name,
                rewarm=self.cache.warm,
                load_seconds=prepared.load_seconds if self.cache.loaded_now else 0.0,
                quiet_seconds=None if ended is None else time.perf_counter() - ended,
            )
        finally:
            self.device_worked(device)
        self.cache.warm = True
        return measurement, prepared

    def device_worked(self, device: str) -> None:
        """This process has just worked on ``device``: it is not quiet from here."""
        self._last_work_ended[device] = time.perf_counter()

    def input_maker(self, module: Any) -> Callable[[int, tuple[int, ...], str], Any]:
        """How ``module``'s inputs are made: through the hook (a conftest may give its own)."""
        hook = self.config.hook

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

        baseline = baseline_measurements([*self.measurements, measurement]).get(measurement.key)
        item.user_properties.extend(item_properties(measurement, baseline))

    def _journal_key(
        self,
        path: Path,
        batch_size: int,
        device: str,
        round_number: int | None,
        dtype: str | None,
    ) -> JournalKey | None:
        """None where there is no journal, or the file cannot be looked at (loading then says
        why)."""
        if self.journal is None:
            return None
        try:
            return item_key(
                path,
                batch_size,
                device=device,
                settings={**measuring_settings(self.settings), "dtype": dtype},
                round_number=round_number,
            )
        except OSError:
            return None

    def _journal_measurement(
        self, warn: Callable[[Warning], None], key: JournalKey | None, measurement: Measurement
    ) -> None:
        """On disk before the next item starts; a journal that cannot be written costs the
        resume, never the measurement, which still travels on the report."""
        if self.journal is None or key is None:
            return
        try:
            self.journal.append(key, measurement)
        except OSError as error:
            warn(
                PruneEnergyWarning(
                    f"journal {self.journal.path} not written ({error}): this item would be "
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
        thresholds = self.settings.gates.for_item(entry.stem, item.stash[BATCH_SIZE_KEY], marked)
        item.stash[THRESHOLDS_KEY] = thresholds
        return thresholds

    def check_in_item(
        self, item: pytest.Item, measurement: Measurement, thresholds: ItemThresholds
    ) -> None:
        """max_joules and min_fps need only this item's measurement, so they fail the item;
        with several rounds only all of them make the item's figure, judged at the end."""
        if self.settings.rounds > 1:
            return
        verdicts = judge_measurement(measurement, thresholds, kinds=IN_ITEM_KINDS)
        strict = self.settings.gates.strict
        for verdict in verdicts:
            if verdict.outcome == INCONCLUSIVE and not strict:
                item.warn(EnergyGateWarning(verdict.message))
        failed = [verdict.message for verdict in verdicts if verdict.fails(strict)]
        if failed:
            pytest.fail("\n".join(failed), pytrace=False)

    # tryfirst: around pytest-benchmark's own wrapper, so that its verdict can be amended.
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Iterator[None]:
        report = yield
        benchmark = item.stash.get(BENCHMARK_KEY, None)
        if call.when == "call" and report.failed and benchmark is not None:
            # The item's own failure says what went wrong; pytest-benchmark's "fixture was not
            # used" warning on top of it would only be noise. pytest-benchmark resets
            # ``skipped`` from the report in its wrapper, inside this one.
            benchmark.skipped = True
        measurement = item.stash.get(MEASUREMENT_KEY, None)
        if call.when == "call" and measurement is not None:
            report.pruneenergy_measurement = measurement.to_dict()
            report.pruneenergy_thresholds = item.stash[THRESHOLDS_KEY].to_dict()
            report.pruneenergy_resumed = item.stash.get(RESUMED_KEY, False)
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
            )
            report.pruneenergy_failure = failure.to_dict()
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # On the controller under xdist these reports come from the workers.
        measurement = getattr(report, "pruneenergy_measurement", None)
        failure = getattr(report, "pruneenergy_failure", None)
        if measurement is not None:
            self.measurements.append(Measurement.from_dict(measurement))
            thresholds = ItemThresholds.from_dict(report.pruneenergy_thresholds)
            self.thresholds[Measurement.from_dict(measurement).key] = thresholds
            self.resumed_count += bool(getattr(report, "pruneenergy_resumed", False))
        elif failure is None and report.failed and self._lost_item(report):
            # No worker made this report: xdist did, for an item whose worker crashed.
            failure = self._failure_of_lost_item(report).to_dict()
        if failure is not None:
            self.failures.append(ItemFailure.from_dict(failure))
        if measurement is not None or failure is not None:
            self.ledger.with_result.add(report.nodeid)
        elif report.skipped and is_energy_item_id(report.nodeid):
            self.ledger.skipped.add(report.nodeid)

    def _lost_item(self, report: pytest.TestReport) -> bool:
        """An energy item that failed without the plugin's record of a result or a failure."""
        return is_energy_item_id(report.nodeid) and report.nodeid not in self.ledger.with_result

    def _failure_of_lost_item(self, report: pytest.TestReport) -> ItemFailure:
        parsed = parse_item_id(report.nodeid)
        assert parsed is not None  # _lost_item checked it
        path = self.config.rootpath / report.nodeid.partition("::")[0]
        text = str(report.longreprtext).strip().splitlines()
        return ItemFailure(
            model=parsed.stem,
            path=str(path),
            batch_size=parsed.batch_size,
            reason=text[-1] if text else "failed without a report from its process",
        )

    # -- reporting --------------------------------------------------------------------------

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        controller = not hasattr(self.config, "workerinput")
        now_rerun: set[ItemKey] = set()
        if controller and self.measurements:
            # Where every result is (xdist workers' arrive here on their reports).
            from .rerun import measure_in_doubt_again

            now_rerun = measure_in_doubt_again(self, session, self._say_now)
        self.cache.clear()
        if self.journal is not None:
            self.journal.close()
        if controller and (self.measurements or self.failures):
            from ..report.summary import disturbed_items
            from ..report.writer import Advice, write_report

            measurements = combine_rounds(self.measurements)
            gates = judge_gates(measurements, self.thresholds)
            missing = self.ledger.missing()
            interrupted = bool(missing) or session.exitstatus == pytest.ExitCode.INTERRUPTED
            account = RunAccount(
                expected_items=len(self.ledger.expected or ()),
                missing=missing,
                interrupted=interrupted,
                resumed_items=self.resumed_count,
                unreadable_journal_lines=self.resumable.unreadable_lines,
            )
            outcome = write_report(
                measurements,
                self.failures,
                self.settings.report_dir,
                self.config.hook,
                gates=table_cells(gates),
                advice=Advice(
                    max_joules=self.settings.recommend_joules,
                    min_fps=self.settings.recommend_fps,
                    metadata_path=self.settings.metadata_path,
                    metric=self.settings.metric,
                ),
                notes=run_notes(self.settings.model_dirs, self.settings.report_dir, account),
            )
            self.report_lines = outcome.lines
            self._fail_run(session, outcome.not_written)
            disturbed = disturbed_items(outcome.table)
            if disturbed and self.settings.gates.strict:
                problem = f"{disturbed} energy item(s) measured while disturbed (--energy-strict)"
                self.report_lines.append(f"FAILED: {problem}: the run fails (exit status 1)")
                self._fail_run(session, [problem])
            if missing and session.exitstatus == pytest.ExitCode.OK:
                # Nobody stopped the run, yet items have no result: never a silent pass.
                self._fail_run(session, [f"{len(missing)} energy item(s) produced no result"])
            verdicts = self._finish_gates(session, gates, now_rerun)
            if missing:
                verdicts.append(f"INTERRUPTED: {len(missing)} energy item(s) have no result")
            if self.settings.uses_store:
                store = self._compare_and_save(session, measurements, interrupted=interrupted)
                verdicts += store.verdicts
                cells = compare_cells(store.comparisons)
            else:
                cells = {}
            self._write_markdown(session, outcome.table, verdicts, cells)
        for meter in self._meters.values():
            try:
                meter.close()
            except Exception as error:  # after the report: a failing close costs no result
                warnings.warn(
                    PruneEnergyWarning(f"closing the {meter.name} meter failed: {error}"),
                    stacklevel=1,
                )

    def _finish_gates(
        self,
        session: pytest.Session,
        gates: dict[ItemKey, tuple[Verdict, ...]],
        now_rerun: set[ItemKey],
    ) -> list[str]:
        """Warn about or fail the gates judged only now (the items judged their own already,
        but for those whose row now shows a rerun); returns the gates' summary lines."""
        strict = self.settings.gates.strict
        summary = gate_summary_lines(gates, strict=strict)
        self.report_lines += summary
        # With several rounds, no item judged itself: every kind is judged now.
        kinds = SESSION_KINDS if self.settings.rounds == 1 else KINDS
        session_verdicts = [
            (key, verdict)
            for key, verdicts in gates.items()
            for verdict in verdicts
            if verdict.threshold.kind in (KINDS if key in now_rerun else kinds)
        ]
        failed = []
        for key, verdict in session_verdicts:
            message = f"{item_label(key)}: {verdict.message}"
            if verdict.fails(strict):
                failed.append(message)
            elif verdict.outcome == INCONCLUSIVE:
                warnings.warn(EnergyGateWarning(message), stacklevel=1)
        if failed:
            self.session_gate_failures += failed
            self.report_lines.append("energy gates failed: the run fails (exit status 1)")
            # pytest returns session.exitstatus after this hook; keep a worse status it has.
            if session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return summary

    def _fail_run(self, session: pytest.Session, problems: list[str]) -> None:
        """Problems that fail the run though no item failed; pytest's last line counts them."""
        if not problems:
            return
        self.run_problems += problems
        # pytest returns session.exitstatus after this hook; keep a worse status it has.
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _write_markdown(
        self,
        session: pytest.Session,
        table: Any,
        verdicts: list[str],
        cells: dict[tuple[str, int], str],
    ) -> None:
        """The run's markdown summary, to --energy-markdown and $GITHUB_STEP_SUMMARY."""
        step_summary = os.environ.get(STEP_SUMMARY_VARIABLE)
        if self.settings.markdown_path is None and not step_summary:
            return
        from ..report.markdown import markdown_summary

        text = markdown_summary(table, verdict_lines=verdicts, compare_cells=cells)
        lines, problems = write_markdown(text, self.settings.markdown_path, step_summary)
        self.report_lines += lines
        self._fail_run(session, problems)

    def _compare_and_save(
        self, session: pytest.Session, measurements: list[Measurement], *, interrupted: bool
    ) -> StoreOutcome:
        outcome = compare_and_save(
            measurements,
            self.failures,
            self.settings.store_request,
            recorded_settings=settings_that_matter(self.settings),
            repository_dir=self.config.rootpath,
            interrupted=interrupted,
        )
        if outcome.save_failure is not None:
            self._fail_run(session, [outcome.save_failure])
        self.report_lines += outcome.lines
        # pytest returns session.exitstatus after this hook: a broken gate fails the run even
        # when every item passed.
        if outcome.gate_failures:
            self.session_gate_failures += outcome.gate_failures
            if session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return outcome

    @pytest.hookimpl(optionalhook=True)
    def pytest_benchmark_update_machine_info(
        self, config: pytest.Config, machine_info: dict[str, Any]
    ) -> None:
        """pytest-benchmark's saved runs say which GPU, driver and power limit they ran on."""
        from ..measure.meters import gpu_facts_of

        facts = {device: gpu_facts_of(meter) for device, meter in self._meters.items()}
        if facts:
            machine_info["pruneenergy"] = {
                device: {} if gpu is None else dataclasses.asdict(gpu)
                for device, gpu in facts.items()
            }

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        stats = terminalreporter.stats
        count_on_last_line(
            stats, self.session_gate_failures, "energy gate failed", "energy gates failed"
        )
        count_on_last_line(stats, self.run_problems, "energy run problem", "energy run problems")
        if not self.report_lines:
            return
        terminalreporter.section("pruneenergy")
        for line in self.report_lines:
            terminalreporter.write_line(line)


def _sort_energy_items(items: list[pytest.Item], key: Callable[[EnergyItem], Any]) -> None:
    """Sort the energy items among ``items`` by ``key``, stably, in the places energy items
    hold: other tests keep theirs."""
    energy = [item for item in items if isinstance(item, EnergyItem)]
    ordered = iter(sorted(energy, key=key))
    items[:] = [next(ordered) if isinstance(item, EnergyItem) else item for item in items]


def _work_by_family(items: list[EnergyItem]) -> dict[str, float]:
    """Each family's work: its number of items (every item costs about the same)."""
    work: dict[str, float] = {}
    for item in items:
        family = item.stash[ENTRY_KEY].family
        work[family] = work.get(family, 0) + 1
    return work


def _reason(call: pytest.CallInfo[None]) -> str:
    if call.excinfo is None:
        return "failed"
    text = str(call.excinfo.value).strip()
    return text or call.excinfo.typename
