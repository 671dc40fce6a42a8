"""pytest glue: options, fixtures, collection of energy items, results on reports, the report.

Nothing here measures or computes; it wires pytest to the core modules. Heavy imports (torch,
pandas, matplotlib) happen inside functions so that ``pytest --help`` stays fast, and nothing
is registered unless ``--prune-models`` (or the ``prune_models`` ini option) is given.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .discovery import (
    DiscoveryError,
    ModelEntry,
    find_model_files,
    pair_with_baselines,
    skipped_files,
)
from .item_ids import ENERGY_TEST_NAME, item_name, parse_item_id
from .journal import (
    ItemKey,
    JournalContents,
    JournalWriter,
    item_key,
    journal_dir,
    read_journal,
    set_aside,
)
from .ledger import ItemLedger, duplicated, is_energy_item_id, unwritable_reason
from .measurement import ItemFailure, Measurement, format_shape
from .settings import (
    OPTIONS,
    RawOptions,
    Settings,
    SettingsError,
    resolve_settings,
)
from .thresholds import (
    IN_ITEM_KINDS,
    INCONCLUSIVE,
    MARKER_NAME,
    SESSION_KINDS,
    ItemThresholds,
    ThresholdError,
    Verdict,
    gate_summary_lines,
    judge_measurement,
    parse_marker,
)
from .workers import (
    GROUPING_DIST_MODE,
    SLOT_KEY,
    SlotPool,
    device_for_worker,
    family,
    shared_gpu_message,
    worker_count,
    worker_slot,
)

if TYPE_CHECKING:
    from .meters import Meter
    from .runner import IdlePower, ModelCache

SESSION_KEY = pytest.StashKey["PruneEnergySession"]()
ENTRY_KEY = pytest.StashKey[ModelEntry]()
BATCH_SIZE_KEY = pytest.StashKey[int]()
MEASUREMENT_KEY = pytest.StashKey[Measurement]()
FAILURE_RECORDED_KEY = pytest.StashKey[bool]()
THRESHOLDS_KEY = pytest.StashKey[ItemThresholds]()
RESUMED_KEY = pytest.StashKey[bool]()
BENCHMARK_KEY = pytest.StashKey[Any]()
# pytest-benchmark's timing is extra work after the energy windows; keep it a small share.
BENCHMARK_SHARE = 0.1


class PruneEnergyWarning(UserWarning):
    """A result pytest-pruneenergy still gives, but with less than it should: a model it cannot
    place (an unparsed name), idle power it could not measure."""


class EnergyGateWarning(pytest.PytestWarning):
    """An energy gate whose verdict is inconclusive: the 95 % CI straddles the threshold, or
    the baseline was not measured. ``--energy-strict`` makes it a failure."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pruneenergy", "energy of pruned models (pytest-pruneenergy)")
    for option in OPTIONS:
        if option.flag:
            arguments: dict[str, Any] = {"help": option.help}
            for name in ("action", "nargs", "const", "metavar"):
                if getattr(option, name) is not None:
                    arguments[name] = getattr(option, name)
            if option.action == "store_true":
                arguments["default"] = None  # None: not given, so the ini value decides
            group.addoption(option.flag, *option.old_flags, dest=option.dest, **arguments)
        if option.ini:
            parser.addini(option.ini, option.ini_help, type=option.ini_type)
            for old_name in option.old_ini_names:
                parser.addini(old_name, f"old name of {option.ini}", type=option.ini_type)


def _raw_options(config: pytest.Config) -> RawOptions:
    """Every option's command-line value (None: not given) and ini value, as RawOptions."""
    values: dict[str, Any] = {}
    old_names: dict[str, str] = {}
    for option in OPTIONS:
        if option.flag:
            values[f"cli_{option.key}"] = config.getoption(option.dest)
        if option.ini:
            ini_value = config.getini(option.ini)
            for old_name in option.old_ini_names:  # read only where the current name is unset
                if not ini_value:
                    ini_value = config.getini(old_name)
                    if ini_value:
                        old_names[option.key] = old_name
            values[f"ini_{option.key}"] = (
                ini_value if option.ini_type == "linelist" else str(ini_value or "")
            )
    return RawOptions(**values, ini_old_names=old_names)


def pytest_configure(config: pytest.Config) -> None:
    # Registered even when the plugin is off, so that a conftest adding the marker passes
    # --strict-markers in runs without --prune-models.
    config.addinivalue_line(
        "markers",
        f"{MARKER_NAME}(min_reduction=PCT, max_joules=J, min_fps=N): energy gates for the "
        "pytest-pruneenergy items it marks (add it in pytest_collection_modifyitems)",
    )
    ini_dir = config.inipath.parent if config.inipath else config.rootpath
    try:
        settings = resolve_settings(
            _raw_options(config), invocation_dir=config.invocation_params.dir, ini_dir=ini_dir
        )
    except SettingsError as error:
        raise pytest.UsageError(str(error)) from None
    if not settings.enabled:
        return
    if splits_families(config):
        config.issue_config_time_warning(
            PruneEnergyWarning(
                "pytest -n without --dist loadgroup: a pruned model and its baseline may run "
                "on different workers (with --prune-device auto, different GPUs), and their "
                "energy reduction would then compare two boards. Add --dist loadgroup to keep "
                "each ARCH_DATASET family on one worker."
            ),
            stacklevel=2,
        )
    if not hasattr(config, "workerinput"):  # the controller, before any worker starts
        _check_output_folders(settings)
        _check_device(settings)
        if settings.report_dir is not None and not settings.resume:
            set_aside(journal_dir(settings.report_dir))
        _end_on_sigterm(config)
    session = PruneEnergySession(config, settings, device=_device_of_this_process(config, settings))
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(session, "pruneenergy-session")


def _check_output_folders(settings: Settings) -> None:
    """Before measuring anything: an hour of measurements must not end in a report that cannot
    be written."""
    folders = []
    if settings.report_dir is not None:
        folders.append(("--energy-report folder", settings.report_dir))
    if settings.save:
        folders.append(("--energy-store folder (for --energy-save)", settings.store_dir))
    for what, folder in folders:
        reason = unwritable_reason(folder)
        if reason is not None:
            raise pytest.UsageError(
                f"{what} {folder} cannot be written ({reason}); choose another folder or "
                "fix its permissions. Nothing was measured."
            )


def _check_device(settings: Settings) -> None:
    """A GPU asked for by name must exist: otherwise every item would fail the same way."""
    if not settings.device.startswith("cuda"):
        return
    from .runner import ItemProblem, resolve_device

    try:
        resolve_device(settings.device)
    except ItemProblem as error:
        raise pytest.UsageError(
            f"{error}; use --prune-device=auto or cpu to measure on this machine. "
            "Nothing was measured."
        ) from None


def _end_on_sigterm(config: pytest.Config) -> None:
    """SIGTERM (a CI job's time limit, ``kill``) ends the run as Ctrl-C does: pytest then
    finishes the session, so the report holds every item measured so far and the run is stored
    as interrupted. Only where nobody else handles SIGTERM, and undone at the end."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt("SIGTERM")

    signal.signal(signal.SIGTERM, interrupt)
    config.add_cleanup(lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL))


def groups_families(config: pytest.Config) -> bool:
    """Under ``--dist loadgroup`` ids end in ``@family``. xdist's workers, which collect, see
    ``dist`` as ``no`` and ``loadgroup`` as a flag of its own."""
    return bool(getattr(config.option, "loadgroup", False)) or (
        config.getoption("dist", "no") == GROUPING_DIST_MODE
    )


def splits_families(config: pytest.Config) -> bool:
    """On the controller of an xdist run of several workers that does not keep each family on
    one worker (xdist's own test of a distributed run: a mode other than ``no``, and ``--tx``)."""
    if hasattr(config, "workerinput"):
        return False
    dist = config.getoption("dist", "no")
    return dist not in ("no", GROUPING_DIST_MODE) and worker_count(config.getoption("tx", None)) > 1


def _device_of_this_process(config: pytest.Config, settings: Settings) -> str:
    """--prune-device, where ``auto`` on an xdist worker is the GPU of its slot."""
    slot = worker_slot(getattr(config, "workerinput", None))
    if slot is None or settings.device != "auto":
        return settings.device
    import torch

    cuda_count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    message = shared_gpu_message(slot, cuda_count)
    if message is not None:
        config.issue_config_time_warning(PruneEnergyWarning(message), stacklevel=2)
    return device_for_worker(settings.device, slot, cuda_count)


# The plugin's own implementations answer last, so a conftest.py implementation wins.
@pytest.hookimpl(trylast=True)
def pytest_pruneenergy_load_model(path: Path, allow_pickle: bool) -> Any:
    from .loading import load_model_file

    return load_model_file(path, allow_pickle=allow_pickle)


@pytest.hookimpl(trylast=True)
def pytest_pruneenergy_make_input(
    model: Any, batch_size: int, input_shape: tuple[int, ...], device: str
) -> Any:
    from .runner import random_input

    return random_input(batch_size, input_shape, device)


@pytest.hookimpl(trylast=True)
def pytest_pruneenergy_make_meter(device: str, kind: str, estimate_watts_per_core: float) -> Any:
    from .meters import make_meter

    return make_meter(kind, device, estimate_watts_per_core=estimate_watts_per_core)


def _session(request: pytest.FixtureRequest) -> PruneEnergySession:
    session = request.config.stash.get(SESSION_KEY, None)
    if session is None or ENTRY_KEY not in request.node.stash:
        pytest.fail(
            f"the {request.fixturename} fixture exists only in pytest-pruneenergy's energy "
            "items (run with --prune-models=DIR)",
            pytrace=False,
        )
    return session


@pytest.fixture
def prune_model(request: pytest.FixtureRequest) -> ModelEntry:
    """The model file the energy item measures: path, parsed name and baseline."""
    _session(request)
    return request.node.stash[ENTRY_KEY]


@pytest.fixture
def batch_size(request: pytest.FixtureRequest) -> int:
    """The batch size the energy item measures."""
    _session(request)
    return request.node.stash[BATCH_SIZE_KEY]


@pytest.fixture
def energy_meter(request: pytest.FixtureRequest) -> Meter:
    """The meter the energy item measures with (one per device for the whole run)."""
    return _session(request).meter()


def _energy_test(
    request: pytest.FixtureRequest, prune_model: ModelEntry, energy_meter: Meter
) -> None:
    _session(request).run_item(request.node, energy_meter, benchmark=_benchmark_of(request))


def _benchmark_of(request: pytest.FixtureRequest) -> Any:
    """pytest-benchmark's fixture where that plugin is active, else None.

    Asked for here rather than declared, so that a pytest-benchmark that fails to set up (5.2
    under pytest 9.2 reads an attribute pytest removed) costs its timing, not the measurement.
    """
    if not request.config.pluginmanager.hasplugin("benchmark"):
        return None
    try:
        benchmark = request.getfixturevalue("benchmark")
    except Exception as error:
        request.node.warn(
            PruneEnergyWarning(
                f"pytest-benchmark's fixture failed ({type(error).__name__}: {error}); measured "
                "without its timing (upgrading pytest-benchmark may fix it)"
            )
        )
        return None
    request.node.stash[BENCHMARK_KEY] = benchmark
    return benchmark


class EnergyItem(pytest.Function):
    """``test_energy[<stem>-bs<N>]``: one model file at one batch size."""

    def reportinfo(self) -> tuple[Path, int, str]:
        # A line number is required by Node.warn (pytest-benchmark warns through it).
        return self.path, 0, self.name


class FolderProblem(pytest.Item):
    """Stands for a --prune-models folder that cannot be used, so the run goes on."""

    def __init__(self, *, message: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.message = message

    def runtest(self) -> None:
        raise DiscoveryError(self.message)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, DiscoveryError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, self.name


class ModelFile(pytest.File):
    def collect(self) -> Iterator[EnergyItem]:
        session: PruneEnergySession = self.config.stash[SESSION_KEY]
        entry = session.entry_for(self.path)
        namesakes = session.namesakes_of(self.path)
        if namesakes:
            others = ", ".join(str(path) for path in namesakes)
            raise self.CollectError(
                f"{self.path}: another model file has the name {self.path.stem} ({others}); "
                "the report names each model by its file's stem, so rename one of them"
            )
        if entry.name is None:
            self.warn(
                PruneEnergyWarning(
                    f"{self.path.name}: name follows neither ARCH_DATASET_METHOD_PDn_GPR-NN"
                    "[_PRUNED][_FT][_SEED_S] nor ARCH_DATASET_UNPRUNED; measured, but not "
                    "compared with a baseline"
                )
            )
        # A baseline and the models compared with it: one worker, one GPU (item_ids.py).
        group = family(entry) if groups_families(self.config) else None
        for size in session.settings.batch_sizes:
            # The id is the name alone: pytest 9.2 builds a Function's id from
            # ``originalname`` and a callspec, which would give every batch size one id.
            item = EnergyItem.from_parent(
                self, name=item_name(entry.stem, size, group), callobj=_energy_test
            )
            item.originalname = ENERGY_TEST_NAME
            item.stash[ENTRY_KEY] = entry
            item.stash[BATCH_SIZE_KEY] = size
            yield item


class ModelFolder(pytest.Directory):
    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        try:
            files = find_model_files(self.path)
        except DiscoveryError as error:
            yield FolderProblem.from_parent(self, name="prune_models_folder", message=str(error))
            return
        for path in files:
            yield ModelFile.from_parent(self, path=path, nodeid=f"{self.nodeid}/{path.name}")


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
    }


def _process_name(config: pytest.Config) -> str:
    """``gw0``... on an xdist worker, ``main`` otherwise: one journal file each."""
    workerinput = getattr(config, "workerinput", None)
    return str(workerinput["workerid"]) if workerinput else "main"


def _relative_nodeid(path: Path, root: Path) -> str:
    import os

    return Path(os.path.relpath(path, root)).as_posix()


class PruneEnergySession:
    """The per-run state and hooks, registered only when models are to be measured."""

    def __init__(self, config: pytest.Config, settings: Settings, *, device: str) -> None:
        from .runner import IdlePower, ModelCache

        self.config = config
        self.settings = settings
        self.cache: ModelCache = ModelCache()
        self._entries: dict[Path, ModelEntry] | None = None
        self._meters: dict[str, Meter] = {}
        self.device = device  # --prune-device, or under xdist with auto the worker's GPU
        self._slots = SlotPool()  # on an xdist controller: the workers' slots
        self.idle_power: IdlePower = IdlePower(settings.idle_seconds)
        self.measurements: list[Measurement] = []
        self.failures: list[ItemFailure] = []
        # Per (model, batch size), from the reports, for the gates judged at the session end.
        self.thresholds: dict[tuple[str, int], ItemThresholds] = {}
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
            self.journal = JournalWriter(folder, _process_name(config))
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
            self._entries = {entry.path: entry for entry in pair_with_baselines(paths)}
        return self._entries[path]

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
                session, path=folder, nodeid=_relative_nodeid(folder, self.config.rootpath)
            )
            items.extend(session.genitems(collector))
        clashes = duplicated(item.nodeid for item in items if isinstance(item, EnergyItem))
        if clashes:  # one item would stand for two, and one of them would never be measured
            raise pytest.UsageError(
                f"{len(clashes)} energy item id(s) occur twice, e.g. {clashes[0]}; please report "
                "this as a bug of pytest-pruneenergy, with your pytest and pytest-xdist versions"
            )

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Without xdist, this process collected: the items it must account for."""
        if not hasattr(self.config, "workerinput"):
            self.ledger.expect(item.nodeid for item in session.items)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """xdist controller: every worker collects the same ids; the first tells."""
        if self.ledger.expected is None:
            self.ledger.expect(ids)

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
        from .meters import MeterUnavailable
        from .runner import ItemProblem, resolve_device

        problem = None
        try:
            device = resolve_device(self.device)
            if device not in self._meters:
                self._meters[device] = self.config.hook.pytest_pruneenergy_make_meter(
                    device=device,
                    kind=self.settings.meter,
                    estimate_watts_per_core=self.settings.estimate_watts_per_core,
                )
        except (ItemProblem, MeterUnavailable) as error:
            problem = f"energy meter: {error}"
        if problem is not None:
            pytest.fail(problem, pytrace=False)
        return self._meters[device]

    def run_item(self, item: pytest.Item, meter: Meter, benchmark: Any) -> None:
        from .runner import ItemProblem, measure_item, resolve_device

        entry = item.stash[ENTRY_KEY]
        size = item.stash[BATCH_SIZE_KEY]
        hook = self.config.hook
        # Before measuring: a bad marker fails the item without spending the time budget.
        thresholds = self.thresholds_of(item)

        def load(path: Path) -> Any:
            return hook.pytest_pruneenergy_load_model(
                path=path, allow_pickle=self.settings.allow_pickle
            )

        def make_input(batch: int, shape: tuple[int, ...], device: str) -> Any:
            return hook.pytest_pruneenergy_make_input(
                model=prepared.module, batch_size=batch, input_shape=shape, device=device
            )

        problem = None
        prepared = None
        try:
            device = resolve_device(self.device)
            key = self._journal_key(entry.path, size, device)
            measurement = self.resumable.measurements.get(key) if key is not None else None
            if measurement is None:
                prepared = self.cache.get(
                    entry.path, load, device=device, input_shape=self.settings.input_shape
                )
                idle_watts = self.idle_power.of(
                    meter, device, warn=lambda message: item.warn(PruneEnergyWarning(message))
                )
                measurement = measure_item(
                    prepared,
                    size,
                    meter=meter,
                    make_input=make_input,
                    settings=self.settings,
                    idle_watts=idle_watts,
                )
        except ItemProblem as error:
            problem = str(error)
        if problem is not None:  # failed outside the except block: no chained traceback
            pytest.fail(problem, pytrace=False)
        item.stash[MEASUREMENT_KEY] = measurement
        if prepared is None:  # taken from the journal of an earlier run
            item.stash[RESUMED_KEY] = True
        else:
            self._journal_measurement(item, key, measurement)
        if benchmark is not None and prepared is not None:
            from .benchmarking import record_in_benchmark

            record_in_benchmark(
                benchmark,
                prepared,
                measurement,
                make_input,
                budget_seconds=BENCHMARK_SHARE * self.settings.max_seconds,
            )
        self.check_in_item(item, measurement, thresholds)

    def _journal_key(self, path: Path, batch_size: int, device: str) -> ItemKey | None:
        """None where there is no journal, or the file cannot be looked at (loading then says
        why)."""
        if self.journal is None:
            return None
        try:
            return item_key(
                path, batch_size, device=device, settings=measuring_settings(self.settings)
            )
        except OSError:
            return None

    def _journal_measurement(
        self, item: pytest.Item, key: ItemKey | None, measurement: Measurement
    ) -> None:
        """On disk before the next item starts; a journal that cannot be written costs the
        resume, never the measurement, which still travels on the report."""
        if self.journal is None or key is None:
            return
        try:
            self.journal.append(key, measurement)
        except OSError as error:
            item.warn(
                PruneEnergyWarning(
                    f"journal {self.journal.path} not written ({error}): this item would be "
                    "measured again by --energy-resume"
                )
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
        """max_joules and min_fps need only this item's measurement, so they fail the item."""
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
            self.thresholds[(measurement["model"], measurement["batch_size"])] = thresholds
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
        self.cache.clear()
        if self.journal is not None:
            self.journal.close()
        if not hasattr(self.config, "workerinput") and (self.measurements or self.failures):
            # On the controller only (xdist workers' results arrive here on their reports).
            from .reporting import Advice, write_report

            gates = self._judge_gates()
            missing = self.ledger.missing()
            interrupted = bool(missing) or session.exitstatus == pytest.ExitCode.INTERRUPTED
            outcome = write_report(
                self.measurements,
                self.failures,
                self.settings.report_dir,
                self.config.hook,
                gates=gates,
                advice=Advice(
                    max_joules=self.settings.recommend_joules,
                    min_fps=self.settings.recommend_fps,
                    metadata_path=self.settings.metadata_path,
                    metric=self.settings.metric,
                ),
                notes=self._run_notes(missing, interrupted),
            )
            self.report_lines = outcome.lines
            self._fail_run(session, outcome.not_written)
            if missing and session.exitstatus == pytest.ExitCode.OK:
                # Nobody stopped the run, yet items have no result: never a silent pass.
                self._fail_run(session, [f"{len(missing)} energy item(s) produced no result"])
            self._finish_gates(session, gates)
            if self.settings.save or self.settings.compare_run is not None:
                self._compare_and_save(session, interrupted=interrupted)
        for meter in self._meters.values():
            try:
                meter.close()
            except Exception as error:  # after the report: a failing close costs no result
                warnings.warn(
                    PruneEnergyWarning(f"closing the {meter.name} meter failed: {error}"),
                    stacklevel=1,
                )

    def _judge_gates(self) -> dict[tuple[str, int], tuple[Verdict, ...]]:
        """Every item's verdicts, here where all measurements (baselines too) have arrived."""
        if not any(self.thresholds.values()):
            return {}
        from .results import baseline_measurements

        baselines = baseline_measurements(self.measurements)
        gates = {}
        for measurement in self.measurements:
            key = (measurement.model, measurement.batch_size)
            thresholds = self.thresholds.get(key)
            if thresholds:
                gates[key] = judge_measurement(measurement, thresholds, baseline=baselines.get(key))
        return gates

    def _finish_gates(
        self, session: pytest.Session, gates: dict[tuple[str, int], tuple[Verdict, ...]]
    ) -> None:
        """Warn about or fail the gates judged only now; the items judged their own already."""
        strict = self.settings.gates.strict
        self.report_lines += gate_summary_lines(gates, strict=strict)
        session_verdicts = [
            (key, verdict)
            for key, verdicts in gates.items()
            for verdict in verdicts
            if verdict.threshold.kind in SESSION_KINDS
        ]
        failed = []
        for (model, size), verdict in session_verdicts:
            message = f"{model} (bs {size}): {verdict.message}"
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

    def _run_notes(self, missing: list[str], interrupted: bool) -> list[str]:
        """What the terminal summary says about the run itself: items taken from the journal,
        and items left without a result."""
        notes = [
            f"skipped {item.path}: {item.reason}"
            for folder in self.settings.model_dirs
            if folder.is_dir()
            for item in skipped_files(folder)
        ]
        if self.resumed_count:
            notes.append(
                f"resumed: {self.resumed_count} item(s) taken from the journal of an earlier run "
                "(same files, settings and device), the rest measured now"
            )
        if self.resumable.unreadable_lines:
            notes.append(
                f"journal: {self.resumable.unreadable_lines} line(s) could not be read (cut short "
                "by a kill?); those items were measured again"
            )
        if interrupted:
            expected = len(self.ledger.expected or ())
            done = expected - len(missing)
            notes.append(
                f"INTERRUPTED: {done} of {expected} energy items have a result; "
                + (
                    "rerun the same command with --energy-resume to measure only the rest"
                    if self.settings.report_dir is not None
                    else "with --energy-report, a rerun with --energy-resume measures only the rest"
                )
            )
            if missing:
                shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
                notes.append(f"  without a result: {shown}")
        return notes

    def _fail_run(self, session: pytest.Session, problems: list[str]) -> None:
        """Problems that fail the run though no item failed; pytest's last line counts them."""
        if not problems:
            return
        self.run_problems += problems
        # pytest returns session.exitstatus after this hook; keep a worse status it has.
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _compare_and_save(self, session: pytest.Session, *, interrupted: bool) -> None:
        from .history import record_compare_save

        outcome = record_compare_save(
            self.measurements,
            self.failures,
            self.settings,
            repository_dir=self.config.rootpath,
            interrupted=interrupted,
        )
        if outcome.save_failure is not None:
            self._fail_run(session, [outcome.save_failure])
        self.report_lines += outcome.lines
        # pytest returns session.exitstatus after this hook: a broken gate fails the run even
        # when every item passed.
        if outcome.gate_failed:
            self.session_gate_failures += outcome.gate_failures
            if session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl(optionalhook=True)
    def pytest_benchmark_update_machine_info(
        self, config: pytest.Config, machine_info: dict[str, Any]
    ) -> None:
        """pytest-benchmark's saved runs say which GPU, driver and power limit they ran on."""
        facts = {
            device: dict(getattr(meter, "gpu_facts", {})) for device, meter in self._meters.items()
        }
        if facts:
            machine_info["pruneenergy"] = facts

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.session_gate_failures:
            # pytest's last line counts every key of its stats: "6 passed, 1 energy gate
            # failed" instead of a bare "6 passed" over a run that exits with status 1.
            count = len(self.session_gate_failures)
            key = "energy gate failed" if count == 1 else "energy gates failed"
            terminalreporter.stats.setdefault(key, []).extend(
                SessionGateFailure(message) for message in self.session_gate_failures
            )
        if self.run_problems:
            count = len(self.run_problems)
            key = "energy run problem" if count == 1 else "energy run problems"
            terminalreporter.stats.setdefault(key, []).extend(
                SessionGateFailure(message) for message in self.run_problems
            )
        if not self.report_lines:
            return
        terminalreporter.section("pruneenergy")
        for line in self.report_lines:
            terminalreporter.write_line(line)


@dataclass
class SessionGateFailure:
    """An entry of pytest's terminal stats for a gate that failed the session: plugins that
    read those stats (xdist, pytest-benchmark) expect objects with attributes, not strings."""

    message: str
    count_towards_summary: bool = True


def _reason(call: pytest.CallInfo[None]) -> str:
    if call.excinfo is None:
        return "failed"
    text = str(call.excinfo.value).strip()
    return text or call.excinfo.typename
