"""pytest glue: the plugin's hooks, fixtures and default hook implementations.

Nothing here measures or computes; it wires pytest to the core. Heavy imports (torch, pandas,
matplotlib) happen inside functions so that ``pytest --help`` stays fast, and nothing is
registered unless ``--prune-models`` (or the ``prune_models`` ini option) is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..items.journal import journal_dir, set_aside
from ..models.discovery import ModelEntry
from ..settings import Settings, SettingsError, resolve_settings
from ..track.thresholds import (
    MARKER_NAME,
)
from . import options
from .categories import EnergyGateWarning, PruneEnergyWarning
from .collection import BATCH_SIZE_KEY, ENTRY_KEY, SESSION_KEY, session_of
from .preflight import check_compare_run, check_device, check_output_folders, end_on_sigterm
from .session import PruneEnergySession
from .xdist import (
    GROUPING_DIST_MODE,
    device_for_worker,
    shared_gpu_message,
    worker_count,
    worker_slot,
)

if TYPE_CHECKING:
    from ..measure.meters import Meter

__all__ = ["EnergyGateWarning", "PruneEnergyWarning"]


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from .. import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    options.register(parser)


def pytest_configure(config: pytest.Config) -> None:
    # Registered even when the plugin is off, so that a conftest adding the marker passes
    # --strict-markers in runs without --prune-models.
    config.addinivalue_line(
        "markers",
        f"{MARKER_NAME}(min_reduction=PCT, max_joules=J, min_fps=N, max_p99_ms=MS): energy "
        "and latency gates for the pytest-pruneenergy items it marks (add it in "
        "pytest_collection_modifyitems)",
    )
    ini_dir = config.inipath.parent if config.inipath else config.rootpath
    try:
        settings = resolve_settings(
            options.raw_options(config),
            invocation_dir=config.invocation_params.dir,
            ini_dir=ini_dir,
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
        check_output_folders(settings)
        check_compare_run(settings)
        check_device(settings)
        if settings.report_dir is not None and not settings.resume:
            set_aside(journal_dir(settings.report_dir))
        end_on_sigterm(config)
    session = PruneEnergySession(config, settings, device=_device_of_this_process(config, settings))
    config.stash[SESSION_KEY] = session
    session.register(config.pluginmanager)


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
def pytest_pruneenergy_load_model(path: Path, allow_pickle: bool, device: str) -> Any:
    from ..models.loading import load_model_file

    return load_model_file(path, allow_pickle=allow_pickle, device=device)


@pytest.hookimpl(trylast=True)
def pytest_pruneenergy_make_input(
    model: Any, batch_size: int, input_shape: tuple[int, ...], device: str
) -> Any:
    from ..items.runner import random_input

    return random_input(batch_size, input_shape, device)


@pytest.hookimpl(trylast=True)
def pytest_pruneenergy_make_meter(device: str, kind: str, estimate_watts_per_core: float) -> Any:
    from ..measure.meters import make_meter

    return make_meter(kind, device, estimate_watts_per_core=estimate_watts_per_core)


@pytest.fixture
def prune_model(request: pytest.FixtureRequest) -> ModelEntry:
    """The model file the energy item measures: path, parsed name and baseline."""
    session_of(request)
    return request.node.stash[ENTRY_KEY]


@pytest.fixture
def batch_size(request: pytest.FixtureRequest) -> int:
    """The batch size the energy item measures."""
    session_of(request)
    return request.node.stash[BATCH_SIZE_KEY]


@pytest.fixture
def energy_meter(request: pytest.FixtureRequest) -> Meter:
    """The meter the energy item measures with (one per device for the whole run)."""
    return session_of(request).meter()
