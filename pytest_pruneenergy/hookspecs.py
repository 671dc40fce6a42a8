"""Hooks a conftest.py can implement to adapt pytest-pruneenergy to its models.

Each ``firstresult`` hook's first non-None answer wins; the plugin's own implementation runs
last, so a conftest.py implementation takes precedence and may return None to fall through.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.hookspec(firstresult=True)
def pytest_pruneenergy_load_model(path: Path, allow_pickle: bool, device: str) -> Any:
    """Load the model file at ``path``; ``device`` (``cpu``, ``cuda:N``) is where it will run,
    so a loader may build it there (it is moved there afterwards in any case; a hook that does
    not need ``device`` may leave it out of its arguments).

    Return a ``torch.nn.Module``, or a ``pytest_pruneenergy.models.loading.LoadedModel`` to
    also state the input shape the model expects; None to leave the file to the next
    implementation. Raise ``pytest_pruneenergy.models.loading.ModelLoadError`` with a message
    for the user when the file is yours but unreadable.
    """


@pytest.hookspec(firstresult=True)
def pytest_pruneenergy_parse_name(path: Path) -> Any:
    """Read what a model file's name says, for a team's own naming convention.

    Return a ``pytest_pruneenergy.models.naming.ModelName`` (its ``architecture`` and
    ``dataset`` make the family a pruned model is compared in, ``is_baseline`` marks the
    baseline), or None to leave the name to the next implementation: a ``prune_manifest`` line,
    then the seed's convention.
    """


@pytest.hookspec(firstresult=True)
def pytest_pruneenergy_make_input(
    model: Any, batch_size: int, input_shape: tuple[int, ...], device: str
) -> Any:
    """Return the input batch for one forward pass (default: ``torch.randn`` in FP32).

    Whatever is returned is passed as the model's single positional argument.
    """


@pytest.hookspec(firstresult=True)
def pytest_pruneenergy_make_meter(device: str, kind: str, estimate_watts_per_core: float) -> Any:
    """Return a ``pytest_pruneenergy.measure.meters.Meter`` for ``device`` (e.g. a wall meter).

    Its ``read_joules`` runs on a background thread while the model runs (see ``Meter``).
    """


@pytest.hookspec
def pytest_pruneenergy_report(table: Any, report_dir: Path) -> None:
    """Called on the controller after the CSV and figures are written.

    ``table`` is the pandas DataFrame written to the CSV; write extra files into ``report_dir``.
    """
