"""Energy items: one pytest item per model file and batch size, collected from the model folders.

The test function an item runs hands over to the session (session.py); the items know only what
they measure (stashed on them) and how they are named (items/ids.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from ..items.ids import ENERGY_TEST_NAME, item_name
from ..items.measurement import Measurement
from ..items.numerics import DTYPE_TAGS
from ..items.runtimes import runtime_or_none
from ..models.discovery import DiscoveryError, ModelEntry, find_model_files
from ..track.thresholds import (
    ItemThresholds,
)
from .categories import PruneEnergyWarning
from .xdist import GROUPING_DIST_MODE

if TYPE_CHECKING:
    from ..measure.meters import Meter
    from ..settings import Settings


class EnergySession(Protocol):
    """What collection and the energy test ask of the run's session (session.py)."""

    settings: Settings

    def entry_for(self, path: Path) -> ModelEntry: ...

    def namesakes_of(self, path: Path) -> list[Path]: ...

    def meter(self) -> Meter: ...

    def run_item(self, item: pytest.Item, meter: Meter, benchmark: Any) -> None: ...


SESSION_KEY = pytest.StashKey[EnergySession]()
ENTRY_KEY = pytest.StashKey[ModelEntry]()
BATCH_SIZE_KEY = pytest.StashKey[int]()
MEASUREMENT_KEY = pytest.StashKey[Measurement]()
FAILURE_RECORDED_KEY = pytest.StashKey[bool]()
THRESHOLDS_KEY = pytest.StashKey[ItemThresholds]()
RESUMED_KEY = pytest.StashKey[bool]()
BENCHMARK_KEY = pytest.StashKey[Any]()
ROUND_KEY = pytest.StashKey[int]()
DTYPE_KEY = pytest.StashKey["str | None"]()
RUNTIME_KEY = pytest.StashKey["str | None"]()  # items/runtimes.py; None: eager


def groups_families(config: pytest.Config) -> bool:
    """Under ``--dist loadgroup`` ids end in ``@family``. xdist's workers, which collect, see
    ``dist`` as ``no`` and ``loadgroup`` as a flag of its own."""
    return bool(getattr(config.option, "loadgroup", False)) or (
        config.getoption("dist", "no") == GROUPING_DIST_MODE
    )


def session_of(request: pytest.FixtureRequest) -> EnergySession:
    """The run's session, for the plugin's fixtures, which exist only in energy items."""
    session = request.config.stash.get(SESSION_KEY, None)
    if session is None or ENTRY_KEY not in request.node.stash:
        pytest.fail(
            f"the {request.fixturename} fixture exists only in pytest-pruneenergy's energy "
            "items (run with --prune-models=DIR)",
            pytrace=False,
        )
    return session


def _energy_test(
    request: pytest.FixtureRequest, prune_model: ModelEntry, energy_meter: Meter
) -> None:
    session_of(request).run_item(request.node, energy_meter, benchmark=_benchmark_of(request))


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


def _id_as_pytest_reads_it_back(item: pytest.Item) -> None:
    """pytest 9.2 keys ``--lf`` (and ``--nf``) on structured ids, and reads an id it stored,
    ``models/a.pth::test_energy[a-bs8]``, back as the name ``test_energy`` with the parameters
    ``a-bs8``. The id it builds from the item's whole name prints the same but is never equal to
    that, so ``--lf`` would rerun every item; pytest 8 compares the text, which needs nothing."""
    structured = getattr(item, "_id", None)
    if structured is not None:
        item._id = type(structured).parse(item.nodeid)


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
        session = self.config.stash[SESSION_KEY]
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
        # A baseline and the models compared with it: one worker, one GPU (items/ids.py).
        group = entry.family if groups_families(self.config) else None
        settings = session.settings
        rounds = settings.rounds
        dtypes: tuple[str | None, ...] = settings.dtypes or (None,)
        runtimes = [runtime_or_none(runtime) for runtime in settings.runtimes]
        variants = [(dtype, runtime) for dtype in dtypes for runtime in runtimes]
        for round_number in range(1, rounds + 1):
            for dtype, runtime in variants:
                for size in settings.batch_sizes:
                    name = item_name(
                        entry.stem,
                        size,
                        group,
                        dtype=None if dtype is None else DTYPE_TAGS[dtype],
                        round_number=round_number if rounds > 1 else None,
                        runtime=runtime,
                    )
                    # The id is the name alone: pytest 9.2 builds a Function's id from
                    # ``originalname`` and a callspec, which would give every batch size one id.
                    item = EnergyItem.from_parent(self, name=name, callobj=_energy_test)
                    item.originalname = ENERGY_TEST_NAME
                    _id_as_pytest_reads_it_back(item)
                    item.stash[ENTRY_KEY] = entry
                    item.stash[BATCH_SIZE_KEY] = size
                    item.stash[ROUND_KEY] = round_number
                    item.stash[DTYPE_KEY] = dtype
                    item.stash[RUNTIME_KEY] = runtime
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


def relative_nodeid(path: Path, root: Path) -> str:
    import os

    return Path(os.path.relpath(path, root)).as_posix()
