"""Every parser of user input, fed anything: it gives a value or a one-line error naming the
problem, never a traceback (hypothesis draws the inputs)."""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_pruneenergy import cli
from pytest_pruneenergy import settings as options
from pytest_pruneenergy.items.journal import read_journal
from pytest_pruneenergy.models.naming import format_model_name, parse_model_name
from pytest_pruneenergy.report.analysis import read_metadata
from pytest_pruneenergy.report.reading import ResultsFileError, read_results_csv
from pytest_pruneenergy.report.schema import SEED_COLUMNS
from pytest_pruneenergy.track.store import RunStoreError, read_run
from pytest_pruneenergy.track.thresholds import (
    KINDS,
    ThresholdError,
    parse_marker,
    parse_rule,
)

# As many examples as the profile gives (tests/conftest.py): 50 by default, 200 with
# --hypothesis-profile=thorough.
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
TEXT = st.text(max_size=80)


def one_line(error: Exception) -> None:
    message = str(error)
    assert message.strip(), f"{type(error).__name__} without a message"
    assert "\n" not in message.strip(), message
    assert "Traceback" not in message


# -- model names ------------------------------------------------------------------------------


@FUZZ
@given(TEXT)
def test_any_file_stem_parses_to_a_name_or_none(stem: str) -> None:
    name = parse_model_name(stem)
    assert name is None or name.stem == stem


PARTS = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-", min_size=1
)


@FUZZ
@given(
    architecture=PARTS,
    dataset=st.lists(PARTS, min_size=1, max_size=3).map("_".join),
    method=PARTS,
    pd_number=st.integers(1, 99),
    gpr=st.integers(0, 99) | st.floats(0.5, 99.5).map(lambda value: round(value, 1)),
    fine_tuned=st.booleans(),
    seed=st.none() | st.integers(0, 10_000),
)
def test_a_name_written_by_the_convention_reads_back(
    architecture, dataset, method, pd_number, gpr, fine_tuned, seed
) -> None:
    stem = format_model_name(
        architecture,
        dataset,
        method=method,
        pruning_distribution=pd_number,
        global_pruning_rate_percent=gpr,
        fine_tuned=fine_tuned,
        seed=seed,
    )
    name = parse_model_name(stem)
    assert name is not None
    assert (name.architecture, name.pruning_distribution, name.seed) == (
        architecture,
        pd_number,
        seed,
    )
    assert float(name.global_pruning_rate_percent) == pytest.approx(float(gpr))
    assert name.fine_tuned == fine_tuned


# -- options ------------------------------------------------------------------------------------

TEXT_PARSERS = [
    options.parse_positive_ints,
    options.parse_device,
    options.parse_meter,
    options.parse_number,
    options.parse_positive_float,
    options.parse_non_negative_float,
    options.parse_protocol,
    options.parse_target_ci_fraction,
    options.parse_bool,
]


@pytest.mark.parametrize("parse", TEXT_PARSERS, ids=lambda parse: parse.__name__)
@FUZZ
@given(text=TEXT)
def test_every_option_parser_gives_a_value_or_a_one_line_error(parse, text: str) -> None:
    try:
        parse("--the-option", text)
    except options.SettingsError as error:
        one_line(error)
        assert str(error).startswith("--the-option")


@FUZZ
@given(st.lists(TEXT, max_size=3))
def test_compare_fail_gives_fractions_or_a_one_line_error(texts: list[str]) -> None:
    try:
        fractions = options.parse_compare_fail(texts)
    except options.SettingsError as error:
        one_line(error)
    else:
        assert set(fractions) <= set(options.COMPARE_FAIL_MEASURES)


# An ini file's line list splits at line ends: a rule never holds one.
LINES = st.text(max_size=80).filter(lambda line: "\n" not in line and "\r" not in line)


@FUZZ
@given(st.lists(LINES, max_size=3))
def test_an_ini_gate_rule_gives_rules_or_a_one_line_error(lines: list[str]) -> None:
    for line in lines:
        try:
            parse_rule(line)
        except ThresholdError as error:
            one_line(error)


@FUZZ
@given(st.dictionaries(st.sampled_from([*KINDS, "other"]), st.none() | TEXT | st.floats()))
def test_a_marker_gives_thresholds_or_a_one_line_error(keywords) -> None:
    try:
        parse_marker((), keywords)
    except ThresholdError as error:
        one_line(error)


@pytest.mark.parametrize(
    "parse", [cli.int_list, cli.positive_int_list, cli.number_list, cli.name_list]
)
@FUZZ
@given(text=TEXT)
def test_every_command_line_list_gives_a_list_or_a_one_line_error(parse, text: str) -> None:
    try:
        assert isinstance(parse(text), list)
    except argparse.ArgumentTypeError as error:
        one_line(error)


# -- files ------------------------------------------------------------------------------------

CSV_CELLS = st.one_of(
    st.just(""),
    st.just("nan"),
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
)


def csv_text(columns: list[str], rows: list[list[str]]) -> str:
    frame = pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
    return frame.to_csv(index=False)


@st.composite
def results_csvs(draw: st.DrawFn) -> str:
    """A CSV with some or all of the seed's columns, or none, and cells of any kind."""
    columns = draw(
        st.lists(st.sampled_from([*SEED_COLUMNS, "Status", "Error", "junk"]), unique=True)
    )
    width = len(columns)
    rows = draw(st.lists(st.lists(CSV_CELLS, min_size=width, max_size=width), max_size=6))
    return csv_text(columns, rows) if columns else draw(st.text(max_size=200))


def in_a_file(content: str | bytes) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="pruneenergy-fuzz-"))
    path = folder / "input.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


@FUZZ
@given(results_csvs() | st.binary(max_size=300))
def test_a_results_csv_reads_as_a_table_or_a_one_line_error(content) -> None:
    try:
        table = read_results_csv(in_a_file(content))
    except ResultsFileError as error:
        one_line(error)
    else:
        assert isinstance(table, pd.DataFrame)


@FUZZ
@given(
    st.lists(st.sampled_from(["MODEL_NAME", "accuracy", "top5", " MODEL_NAME "]), unique=True)
    .flatmap(
        lambda columns: st.tuples(
            st.just(columns),
            st.lists(st.lists(CSV_CELLS, min_size=len(columns), max_size=len(columns)), max_size=5),
        )
    )
    .map(lambda drawn: csv_text(*drawn) if drawn[0] else "")
)
def test_a_metadata_file_reads_as_a_table_or_a_one_line_error(content: str) -> None:
    try:
        table = read_metadata(in_a_file(content))
    except ValueError as error:
        one_line(error)
    else:
        assert "MODEL_NAME" in table.columns


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)


@FUZZ
@given(
    st.fixed_dictionaries(
        {"format": st.just("pytest-pruneenergy-run"), "format_version": st.just(1)},
        optional={
            "run_id": JSON_VALUES,
            "created_utc": JSON_VALUES,
            "git": JSON_VALUES,
            "machine": JSON_VALUES,
            "machine_key": JSON_VALUES,
            "settings": JSON_VALUES,
            "items": JSON_VALUES,
        },
    )
    | JSON_VALUES
)
def test_a_stored_run_reads_as_a_record_or_a_one_line_error(data) -> None:
    path = in_a_file(json.dumps(data))
    try:
        read_run(path)
    except RunStoreError as error:
        one_line(error)


@FUZZ
@given(st.lists(st.text(max_size=60) | JSON_VALUES.map(json.dumps), max_size=5))
def test_a_journal_line_of_anything_is_skipped_and_counted(lines: list[str]) -> None:
    folder = in_a_file("").parent / "journal"
    folder.mkdir()
    (folder / "main.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    contents = read_journal(folder)
    assert contents.measurements == {}
    written = "\n".join(lines).split("\n")  # a drawn line may hold line ends of its own
    assert contents.unreadable_lines == sum(1 for line in written if line.strip())
