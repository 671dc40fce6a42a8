"""The suite's set-up (heavy imports once, Hypothesis's profiles, shared runs, slow marks) and
tiny model files: real formats, real layouts, a few hundred parameters."""

from __future__ import annotations

import gc
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import torch
from filelock import FileLock

# What a module of tests that need a CUDA GPU is marked with: gpu (``pytest -m gpu`` and
# benchmarks/gpu_check.py select them), and skipped where torch sees no CUDA GPU.
ON_A_GPU = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
]

# Hypothesis is this suite's dependency, not the plugin's: its pytest plugin imports it whole
# in every fresh interpreter an inner run starts (a subprocess run, each xdist worker), about
# a second each on CI's cores. Inner runs leave it out.
NO_HYPOTHESIS = ("-p", "no:hypothesispytest")


@pytest.fixture
def inner_pytest_runs_without_hypothesis(monkeypatch: pytest.MonkeyPatch) -> None:
    """For a script that starts pytest itself: its runs leave Hypothesis's plugin out."""
    added = " ".join(NO_HYPOTHESIS)
    monkeypatch.setenv("PYTEST_ADDOPTS", f"{os.environ.get('PYTEST_ADDOPTS', '')} {added}".strip())


T = TypeVar("T")

# Hypothesis's examples per test: few in the default run, more with --hypothesis-profile=thorough.
HYPOTHESIS_PROFILES = {"quick": 50, "thorough": 200}
DEFAULT_HYPOTHESIS_PROFILE = "quick"


def register_hypothesis_profiles() -> None:
    """The default run draws the same examples every time (derandomize), so that a test fails
    again where it failed once and a landing never waits on luck; the thorough one draws anew
    each run, to find what the fixed examples miss."""
    from hypothesis import settings

    for name, examples in HYPOTHESIS_PROFILES.items():
        settings.register_profile(name, max_examples=examples, derandomize=name == "quick")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """A profile named by --hypothesis-profile exists before Hypothesis's plugin loads it."""
    if config.getoption("--hypothesis-profile", default=None):
        register_hypothesis_profiles()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Import the C extensions before any test runs, and load Hypothesis's profile.

    The pytester fixture restores sys.modules after each test; a C extension first imported
    during one (writing model files imports torch) would be imported again by the next test,
    and crash. Here, not at module level, so that ``pytest --help`` stays fast. The profile is
    loaded before collection, since a test module's ``settings`` take their defaults from it
    when it is imported.
    """
    import matplotlib  # noqa: F401
    import pandas  # noqa: F401
    import torch  # noqa: F401
    from hypothesis import settings

    register_hypothesis_profiles()
    chosen = session.config.getoption("--hypothesis-profile", default=None)
    settings.load_profile(chosen or DEFAULT_HYPOTHESIS_PROFILE)

    # Plugin runs in this process (tests/plugin/conftest.py) collect garbage at every model
    # change; without this, each collection walks all of torch's, pandas' and matplotlib's
    # objects, which never become garbage.
    gc.freeze()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)  # it starts Chromium


def shared_run(make: Callable[[pytest.TempPathFactory], T]) -> Any:
    """A fixture holding a run (a pytest run, a script's, several) that many tests assert on,
    made once per test session, under xdist too.

    ``make(tmp_path_factory)`` runs in the first worker that needs it; its value is pickled
    where this session's workers all look (beside their own temporary folders), and a worker
    that needs it while it is being made waits for it rather than making it again. The folders
    it made are shared as they are: tests read them and write nothing there.
    """
    key = f"{make.__module__}.{make.__name__}"

    @pytest.fixture(scope="module", name=make.__name__)
    def fixture(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> T:
        root = tmp_path_factory.getbasetemp()
        if hasattr(request.config, "workerinput"):
            root = root.parent  # this session's, shared by its workers
        made = root / f"{key}.pickle"
        with FileLock(str(root / f"{key}.lock")):
            if made.exists():
                return pickle.loads(made.read_bytes())
            value = make(tmp_path_factory)
            made.write_bytes(pickle.dumps(value))
            return value

    return fixture


TINY_INPUT_SHAPE = (3, 64, 64)


def tiny_alexnet(conv_channels=(4, 4, 4, 4, 4), hidden=(8, 8), num_classes=3) -> dict:
    return {
        "layout": "alexnet",
        "conv_channels": list(conv_channels),
        "hidden_features": list(hidden),
        "num_classes": num_classes,
    }


def write_tiny_model(path: Path, *, conv_channels=(4, 4, 4, 4, 4), with_weights=False) -> Path:
    from pytest_pruneenergy.models.architectures import build_model
    from pytest_pruneenergy.models.loading import save_described_model

    architecture = tiny_alexnet(conv_channels)
    state_dict = build_model(architecture).state_dict() if with_weights else None
    save_described_model(
        path, architecture, input_shape=TINY_INPUT_SHAPE, state_dict=state_dict, init_seed=1
    )
    return path


def write_tiny_zoo(folder: Path) -> list[Path]:
    """An unpruned tiny AlexNet and two pruned ones, named by the convention."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        write_tiny_model(folder / "AlexNet_TINY_UNPRUNED.pth"),
        write_tiny_model(
            folder / "AlexNet_TINY_random_PD1_GPR-50_PRUNED.pth", conv_channels=(2, 2, 2, 2, 2)
        ),
        write_tiny_model(
            folder / "AlexNet_TINY_random_PD3_GPR-50_PRUNED_SEED_1.pth",
            conv_channels=(1, 2, 2, 3, 4),
        ),
    ]


def write_second_family(folder: Path) -> None:
    """Beside ``write_tiny_zoo``'s family, a second: the same tiny AlexNet on another dataset,
    unpruned and pruned (two files)."""
    write_tiny_model(folder / "AlexNet_OTHER_UNPRUNED.pth")
    write_tiny_model(folder / "AlexNet_OTHER_random_PD1_GPR-50_PRUNED.pth", conv_channels=(2,) * 5)


@pytest.fixture
def tiny_zoo(tmp_path: Path) -> Path:
    folder = tmp_path / "models"
    write_tiny_zoo(folder)
    return folder
