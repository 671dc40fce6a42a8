"""The run says how far it has got: items with a result, of how many, and the time left."""

from __future__ import annotations

import re

import pytest

from ..conftest import write_tiny_zoo
from .conftest import TWO_WORKERS, run_in_process, run_pytest

pytestmark = pytest.mark.slow

PROGRESS = re.compile(r"pruneenergy: (\d+) of (\d+) items, \d+ s so far, about .+ left")
ARGS = ("--prune-models=models", "--prune-batch-sizes=1,2", "--energy-progress-seconds=0")


def progress_counts(output: str) -> list[tuple[int, int]]:
    return [(int(done), int(total)) for done, total in PROGRESS.findall(output)]


def test_every_item_but_the_last_says_how_far_the_run_has_got(tmp_path):
    write_tiny_zoo(tmp_path / "models")
    run = run_in_process(tmp_path, *ARGS)
    assert run.returncode == 0, run.output
    # 3 models x 2 batch sizes; the last item's line is the run's end.
    assert progress_counts(run.output) == [(done, 6) for done in range(1, 6)]


def test_under_xdist_the_controller_counts_every_workers_items(tmp_path):
    write_tiny_zoo(tmp_path / "models")
    run = run_pytest(tmp_path, *ARGS, *TWO_WORKERS)
    assert run.returncode == 0, run.output
    assert progress_counts(run.output) == [(done, 6) for done in range(1, 6)]


def test_a_short_run_says_nothing_before_its_end(tmp_path):
    write_tiny_zoo(tmp_path / "models")
    run = run_in_process(tmp_path, "--prune-models=models", "--prune-batch-sizes=1")
    assert run.returncode == 0, run.output
    assert "items, " not in run.output
