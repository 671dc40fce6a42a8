"""Running pytest with the plugin as a user does, and reading back what a run left.

Two ways to run, one result type:

- ``run_in_process``: ``pytest.main`` in this process. torch, pandas and matplotlib are imported
  once for the whole suite instead of once per run, which makes a run of the tiny zoo several
  times cheaper. Sound wherever the run leaves this process as it found it: no signals, no
  conftest that patches torch for good. Every module the run imported from its own folder is
  dropped afterwards; everything else (torch's lazily imported parts among them, which cannot be
  imported twice) stays.
- ``run_pytest``: a fresh interpreter, for what only a process of its own can show: a signal
  that ends it, imports at start-up, a conftest that changes torch itself.

pytester's own in-process runs restore ``sys.modules`` after each run and after each test that
uses the ``pytester`` fixture, so torch's lazily imported parts would be imported again, which
torch refuses; tests that run in process therefore take ``tmp_path``, not ``pytester``.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from pytest_pruneenergy.report.schema import model_stem

from ..conftest import NO_HYPOTHESIS, write_tiny_zoo

STEM = "stem"
# No idle reading: the estimate meter has no idle power to read (tests that need one ask).
# No remeasuring: beside the other xdist worker every CPU item is disturbed, and measuring each
# again would double the run and the journal (the tests of remeasuring turn it on).
FAST_WITH_CACHE = (
    "--energy-meter=estimate",
    "--energy-max-seconds=0.2",
    "--energy-idle-seconds=0",
    "--energy-remeasure=false",
    *NO_HYPOTHESIS,
)
FAST = (*FAST_WITH_CACHE, "-p", "no:cacheprovider")
CSV_NAME = "pruneenergy_results.csv"
RUN_CSV_NAME = "pruneenergy_run.csv"
TWO_WORKERS = ("-p", "xdist", "-n", "2")
TINY_STEMS = (
    "AlexNet_TINY_UNPRUNED",
    "AlexNet_TINY_random_PD1_GPR-50_PRUNED",
    "AlexNet_TINY_random_PD3_GPR-50_PRUNED_SEED_1",
)
RUN_TIMEOUT_SECONDS = 300


def with_stems(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with each row's model stem, the name items and gates key on, in ``STEM``."""
    return table.assign(**{STEM: table["MODEL_NAME"].astype(str).map(model_stem)})


@dataclass
class Run:
    """What one pytest run left: its folder, exit status and output."""

    folder: Path
    returncode: int
    stdout: str
    stderr: str = ""

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def result(self) -> pytest.RunResult:
        """The run as pytester reports one: ``ret``, ``stdout.fnmatch_lines``, outcomes."""
        return pytest.RunResult(
            self.returncode, self.stdout.splitlines(), self.stderr.splitlines(), 0.0
        )

    def table(self, report_dir: str = "pruneenergy-report") -> pd.DataFrame:
        """The results CSV, with each row's model stem (MODEL_NAME is the file name) in STEM."""
        return with_stems(pd.read_csv(self.folder / report_dir / CSV_NAME))

    def run_table(self, report_dir: str = "pruneenergy-report") -> pd.DataFrame:
        return pd.read_csv(self.folder / report_dir / RUN_CSV_NAME)

    def summary(self) -> str:
        return self.output[self.output.index("= pruneenergy =") :]

    def outcomes(self) -> dict[str, int]:
        """pytest's last line, counted: ``{"passed": 6, "warnings": 2}``."""
        return self.result.parseoutcomes()


def clean_environment() -> dict[str, str]:
    """Our environment, less the marks of an xdist worker (when this suite runs under -n):
    an inner run that inherits them believes it is a worker and, e.g., writes no benchmark JSON.
    """
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST_")}


def run_pytest(folder: Path, *args: str, env: dict[str, str] | None = None) -> Run:
    """pytest in a fresh interpreter in ``folder`` with FAST and ``args``; ``env``: variables to
    add to ours."""
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", *FAST, *args],
        cwd=folder,
        env={**clean_environment(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
    )
    return Run(folder, completed.returncode, completed.stdout, completed.stderr)


@contextlib.contextmanager
def _working_folder(folder: Path) -> Iterator[None]:
    # contextlib.chdir is Python 3.11+.
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


@contextlib.contextmanager
def _environment(env: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _imported_from(folder: Path, module: object) -> bool:
    file = getattr(module, "__file__", None)
    return file is not None and Path(file).resolve().is_relative_to(folder.resolve())


@contextlib.contextmanager
def _inside(folder: Path, env: dict[str, str] | None) -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """In ``folder``, with our environment and ``env``, output captured (stdout, stderr); the
    working folder, ``sys.path``, the environment and the modules imported from ``folder`` (a
    conftest, test files) put back afterwards."""
    modules_before = set(sys.modules)
    path_before = list(sys.path)
    stdout, stderr = io.StringIO(), io.StringIO()
    with (
        _working_folder(folder),
        _environment({**clean_environment(), **(env or {})}),
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
    ):
        try:
            yield stdout, stderr
        finally:
            sys.path[:] = path_before
            for name in set(sys.modules) - modules_before:
                if _imported_from(folder, sys.modules[name]):
                    del sys.modules[name]


def write_hooked_zoo(folder: Path, conftest: str, stems: Iterable[str]) -> None:
    """``folder``'s conftest.py, whose load-model hook builds each model from its file's name, and
    a placeholder file in ``folder / "models"`` for each of ``stems``."""
    (folder / "models").mkdir(exist_ok=True)
    (folder / "conftest.py").write_text(conftest)
    for stem in stems:
        (folder / "models" / f"{stem}.pth").write_bytes(b"loaded by the conftest hook")


def run_in_process(
    folder: Path,
    *args: str,
    env: dict[str, str] | None = None,
    options: Sequence[str] = FAST,
    figures: bool = False,
) -> Run:
    """pytest in this process in ``folder`` with ``options`` and ``args``; ``env``: variables to
    add to ours. ``figures``: draw the report's figures; left undrawn otherwise (the report says
    it wrote none), because drawing them took a quarter of these runs' time and only the tests
    that look at figures need them (drawing itself is tested in tests/report/test_plots.py)."""
    with _inside(folder, env) as (stdout, stderr), _figures_drawn(figures):
        status = int(pytest.main([*options, *args]))
    return Run(folder, status, stdout.getvalue(), stderr.getvalue())


@contextlib.contextmanager
def _figures_drawn(drawn: bool) -> Iterator[None]:
    from pytest_pruneenergy.report import plots

    if drawn:
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plots, "write_figures", lambda table, out_dir: [])
        yield


def run_on_models(folder: Path, *args: str) -> Run:
    """``run_in_process`` over ``folder / "models"``, its report in ``folder / "report"``, each
    item's outcome on a line of its own (``-v``)."""
    return run_in_process(folder, "--prune-models=models", "--energy-report=report", "-v", *args)


def run_on_tiny_zoo(folder: Path, *args: str) -> Run:
    """``run_on_models`` over ``write_tiny_zoo``'s models, written beside any already in
    ``folder / "models"``."""
    write_tiny_zoo(folder / "models")
    return run_on_models(folder, *args)


def run_cli(folder: Path, *args: str) -> Run:
    """``pruneenergy ARGS`` in this process, in ``folder``."""
    from pytest_pruneenergy import cli

    with _inside(folder, None) as (stdout, stderr):
        status = cli.main(list(args))
    return Run(folder, status, stdout.getvalue(), stderr.getvalue())


@pytest.fixture
def zoo(tmp_path: Path) -> Path:
    """The tiny zoo in ``tmp_path / "models"``."""
    write_tiny_zoo(tmp_path / "models")
    return tmp_path / "models"
