"""The same measurements give the same report, byte for byte, as before the house was reshaped.

``tests/data/golden-run`` holds a run of the plugin on the tiny zoo with a metered test board
(idle power, GPU facts), an unparsed name, a model that fails and two ini gate rules: its
journal (every measurement as the plugin recorded it), its ``pytest.ini`` and the two CSVs it
wrote. Rebuilt from the journal by today's code, the CSVs must come out identical: columns,
rows, order and every value.
"""

from __future__ import annotations

import configparser
import json
from pathlib import Path

import pandas as pd

from pytest_pruneenergy.measurement import ItemFailure, Measurement
from pytest_pruneenergy.reporting import CSV_NAME, RUN_CSV_NAME, write_report
from pytest_pruneenergy.results import baseline_measurements
from pytest_pruneenergy.thresholds import GateSettings, judge_measurement, parse_rule

GOLDEN = Path(__file__).parent / "data" / "golden-run"


def golden_measurements() -> list[Measurement]:
    lines = (GOLDEN / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    return [Measurement.from_dict(json.loads(line)["measurement"]) for line in lines]


def golden_failures() -> list[ItemFailure]:
    table = pd.read_csv(GOLDEN / CSV_NAME)
    failed = table[table["Status"] == "failed"]
    return [
        ItemFailure(row["MODEL_NAME"], row["Model Path"], int(row["BATCH_SIZE"]), row["Error"])
        for _, row in failed.iterrows()
    ]


def golden_gates(measurements: list[Measurement]) -> dict:
    ini = configparser.ConfigParser()
    ini.read(GOLDEN / "pytest.ini")
    rules = [line for line in ini["pytest"]["energy_thresholds"].splitlines() if line.strip()]
    gates = GateSettings(rules=tuple(parse_rule(line) for line in rules))
    baselines = baseline_measurements(measurements)
    verdicts = {}
    for measurement in measurements:
        key = (measurement.model, measurement.batch_size)
        thresholds = gates.for_item(measurement.model, measurement.batch_size)
        if thresholds:
            verdicts[key] = judge_measurement(measurement, thresholds, baseline=baselines.get(key))
    return verdicts


def test_the_golden_runs_measurements_give_its_csvs_byte_for_byte(tmp_path: Path) -> None:
    measurements = golden_measurements()
    outcome = write_report(
        measurements, golden_failures(), tmp_path, gates=golden_gates(measurements)
    )
    assert outcome.not_written == []
    for name in (CSV_NAME, RUN_CSV_NAME):
        written = (tmp_path / name).read_text(encoding="utf-8")
        assert written == (GOLDEN / name).read_text(encoding="utf-8"), name
