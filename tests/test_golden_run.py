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

from pytest_pruneenergy.items.measurement import ItemFailure, Measurement
from pytest_pruneenergy.report.schema import CSV_NAME, RUN_CSV_NAME, model_stem
from pytest_pruneenergy.report.writer import write_report
from pytest_pruneenergy.track.gates import (
    judge_gates,
    table_cells,
)
from pytest_pruneenergy.track.thresholds import (
    GateSettings,
    parse_rule,
)

GOLDEN = Path(__file__).parent / "data" / "golden-run"


def golden_measurements() -> list[Measurement]:
    lines = (GOLDEN / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    return [Measurement.from_dict(json.loads(line)["measurement"]) for line in lines]


def golden_failures() -> list[ItemFailure]:
    table = pd.read_csv(GOLDEN / CSV_NAME)
    failed = table[table["Status"] == "failed"]
    return [
        # The CSV names the model's file; the failure, as the plugin records it, its stem.
        ItemFailure(
            model_stem(row["MODEL_NAME"]), row["Model Path"], int(row["BATCH_SIZE"]), row["Error"]
        )
        for _, row in failed.iterrows()
    ]


def golden_gates(measurements: list[Measurement]) -> dict:
    ini = configparser.ConfigParser()
    ini.read(GOLDEN / "pytest.ini")
    rules = [line for line in ini["pytest"]["energy_thresholds"].splitlines() if line.strip()]
    gates = GateSettings(rules=tuple(parse_rule(line) for line in rules))
    thresholds = {m.key: gates.for_item(m.model, m.batch_size) for m in measurements}
    return table_cells(judge_gates(measurements, thresholds))


def test_the_golden_runs_measurements_give_its_csvs_byte_for_byte(tmp_path: Path) -> None:
    measurements = golden_measurements()
    outcome = write_report(
        measurements, golden_failures(), tmp_path, gates=golden_gates(measurements)
    )
    assert outcome.not_written == []
    for name in (CSV_NAME, RUN_CSV_NAME):
        written = (tmp_path / name).read_text(encoding="utf-8")
        assert written == (GOLDEN / name).read_text(encoding="utf-8"), name
