"""A run's CSV and Markdown give energy per million inferences in the units asked for."""

from __future__ import annotations

import pytest

from ..conftest import write_tiny_zoo
from .conftest import run_in_process

pytestmark = pytest.mark.slow


def test_the_csv_gives_kwh_co2e_and_cost_per_million_from_the_options(tmp_path):
    write_tiny_zoo(tmp_path / "models")
    run = run_in_process(
        tmp_path,
        "--prune-models=models",
        "--prune-batch-sizes=2",
        "--energy-report",
        "--energy-grid-intensity=100",
        "--energy-pue=1.25",
        "--energy-price-per-kwh=0.4",
        f"--energy-markdown={tmp_path / 'summary.md'}",
    )
    assert run.returncode == 0, run.output
    table = run.table()
    joules = table["Mean Energy per Sample (J)"]
    kwh = table["Energy per Million Inferences (kWh)"]
    assert kwh.tolist() == pytest.approx((joules / 3.6).tolist())
    assert table["CO2e per Million Inferences (g)"].tolist() == pytest.approx(
        (kwh * 1.25 * 100).tolist()
    )
    assert table["Cost per Million Inferences"].tolist() == pytest.approx(
        (kwh * 1.25 * 0.4).tolist()
    )
    # And how many of each model's weight widths a tensor core would pad.
    assert table["Widths Not x8 (%)"].between(0, 100).all()
    assert (table["Widths Not x64 (%)"] >= table["Widths Not x8 (%)"]).all()
    markdown = (tmp_path / "summary.md").read_text()
    assert "Per million inferences at batch 2: AlexNet unpruned " in markdown
