"""What a new user hit, shown by runs of its own: behaviour no shared run of test_plugin.py can
show, such as what pytest's cache makes of a second run.

Runs happen in subprocesses (pytester's in-process runs unload modules that torch cannot import
twice).
"""

from __future__ import annotations

import pytest

from ..conftest import write_tiny_model

# As test_plugin.py's FAST, but with pytest's cache, which --lf reads.
MEASURE_FAST = (
    "--energy-meter=estimate",
    "--energy-max-seconds=0.2",
    "--energy-idle-seconds=0",
    "-p",
    "no:benchmark",
)


@pytest.mark.pytest_api
def test_lf_reruns_only_the_energy_items_that_failed(pytester: pytest.Pytester) -> None:
    models = pytester.path / "models"
    models.mkdir()
    write_tiny_model(models / "AlexNet_TINY_UNPRUNED.pth")
    (models / "AlexNet_TINY_random_PD1_GPR-50_PRUNED.pth").write_bytes(b"\x00\x01 not a model")
    arguments = ("models", "--prune-models=models", "--prune-batch-sizes=1,2", *MEASURE_FAST)
    first = pytester.runpytest_subprocess(*arguments)
    first.assert_outcomes(passed=2, failed=2)
    again = pytester.runpytest_subprocess(*arguments, "--lf", "-v")
    outcomes = again.parseoutcomes()
    assert (outcomes.get("failed"), outcomes.get("passed")) == (2, None), again.stdout.str()
    again.stdout.fnmatch_lines(["*run-last-failure: rerun previous 2 failures*"])


@pytest.mark.pytest_api
def test_a_toml_list_reaches_the_settings_as_a_list(pytester: pytest.Pytester) -> None:
    from pytest_pruneenergy.plugin.options import raw_options

    pytester.makepyprojecttoml(
        '[tool.pytest.ini_options]\nprune_batch_sizes = [1, 8]\nprune_dtypes = "bf16"\n'
    )
    raw = raw_options(pytester.parseconfig())
    assert (raw.ini["batch_sizes"], raw.ini["dtypes"]) == ([1, 8], "bf16")
