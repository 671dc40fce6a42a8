"""Energy per million inferences, in kWh, CO2e and money (report/units.py)."""

from __future__ import annotations

import math

import pytest

from pytest_pruneenergy.report.schema import (
    CO2E_GRAMS_PER_MILLION,
    COST_PER_MILLION,
    KWH_PER_MILLION,
)
from pytest_pruneenergy.report.units import (
    DEFAULT_GRID_GCO2E_PER_KWH,
    DEFAULT_PUE,
    DeploymentUnits,
    kwh_per_million,
    per_million_sentence,
    with_units,
)
from pytest_pruneenergy.settings import RawOptions, SettingsError, resolve_settings

from .tables import pruned, table, unpruned


def test_a_joule_per_sample_is_a_million_joules_a_million_inferences():
    assert kwh_per_million(3.6) == pytest.approx(1.0)  # 3.6 MJ = 1 kWh
    assert kwh_per_million(0.036) == pytest.approx(0.01)


def test_co2e_and_cost_are_of_the_facilitys_energy_and_cost_needs_a_price():
    results = table(unpruned(joules=3.6))
    priced = with_units(
        results, DeploymentUnits(grid_gco2e_per_kwh=400.0, pue=1.5, price_per_kwh=0.2)
    )
    [row] = priced.to_dict("records")
    assert row[KWH_PER_MILLION] == pytest.approx(1.0)
    assert row[CO2E_GRAMS_PER_MILLION] == pytest.approx(1.0 * 1.5 * 400.0)
    assert row[COST_PER_MILLION] == pytest.approx(1.0 * 1.5 * 0.2)
    [unpriced] = with_units(results, DeploymentUnits()).to_dict("records")
    assert unpriced[CO2E_GRAMS_PER_MILLION] == pytest.approx(
        DEFAULT_PUE * DEFAULT_GRID_GCO2E_PER_KWH
    )
    assert math.isnan(unpriced[COST_PER_MILLION])  # no price given: empty, never 0


def test_a_row_without_energy_has_no_per_million_figures():
    results = table(unpruned()).assign(**{"Mean Energy per Sample (J)": [None]})
    [row] = with_units(results, DeploymentUnits(price_per_kwh=0.1)).to_dict("records")
    assert all(
        math.isnan(row[column])
        for column in (KWH_PER_MILLION, CO2E_GRAMS_PER_MILLION, COST_PER_MILLION)
    )


def test_the_summary_gives_the_unpruned_and_the_lowest_pruned_per_million_at_the_largest_batch():
    results = table(
        unpruned(joules=3.6, batch_size=64),
        pruned(1, 50, cr_percent=50, reduction_percent=50.0, batch_size=64, unpruned_joules=3.6),
        pruned(2, 50, cr_percent=50, reduction_percent=25.0, batch_size=64, unpruned_joules=3.6),
        unpruned(joules=7.2, batch_size=1),
    )
    units = DeploymentUnits(grid_gco2e_per_kwh=100.0, pue=1.0, price_per_kwh=0.5)
    sentence = per_million_sentence(with_units(results, units))
    assert sentence == (
        "Per million inferences at batch 64: VGG16 unpruned 1 kWh, 100 g CO2e, cost 0.5, its "
        "lowest pruned 0.5 kWh, 50 g CO2e, cost 0.25"
    )
    assert per_million_sentence(results.drop(columns=[KWH_PER_MILLION])) is None


def test_the_options_set_the_units_and_a_pue_below_one_is_refused(tmp_path):
    raw = RawOptions(cli_grid_gco2e_per_kwh="56", cli_pue="1.1", ini_price_per_kwh="0.25")
    settings = resolve_settings(raw, invocation_dir=tmp_path, ini_dir=tmp_path)
    assert settings.deployment_units == DeploymentUnits(56.0, 1.1, 0.25)
    with pytest.raises(SettingsError, match=r"^--energy-pue: '0.9' must be 1 or more"):
        resolve_settings(RawOptions(cli_pue="0.9"), invocation_dir=tmp_path, ini_dir=tmp_path)
