"""The journal: one line per measured item, read back by --energy-resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_pruneenergy.items.devices import gpu_uuid_of
from pytest_pruneenergy.items.journal import (
    PREVIOUS_JOURNAL_DIR_NAME,
    JournalWriter,
    item_key,
    read_journal,
    set_aside,
)
from pytest_pruneenergy.items.measurement import Measurement
from pytest_pruneenergy.measure.meters import GpuFacts
from pytest_pruneenergy.measure.ticks import TickWindow

from ..factories import make_measurement, make_stats

SETTINGS = {"protocol": "adaptive", "max_seconds": 10.0, "input_shape": None}


def a_measurement(model: str = "AlexNet_TINY_UNPRUNED", batch_size: int = 1) -> Measurement:
    """Read back, it must equal itself: so a fraction of a sample, the GPU's facts (a value
    of their own) and the windows (written as rows) are in it, to go through JSON and back."""
    return make_measurement(
        model,
        batch_size,
        stats=make_stats(samples_measured=3000.5),
        gpu=GpuFacts("Test Board", "580.95.05", 123.5),
        windows=(TickWindow(0.0, 0.21, 30.5, 12.25), TickWindow(0.21, 0.4, 29.0, 11.75)),
    )


def model_file(folder: Path, name: str = "AlexNet_TINY_UNPRUNED.pth") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(b"model bytes")
    return path


def test_a_measurement_written_is_read_back_under_the_same_key(tmp_path: Path) -> None:
    path = model_file(tmp_path / "models")
    key = item_key(path, 1, device="cpu", settings=SETTINGS)
    writer = JournalWriter(tmp_path / "journal", "main")
    writer.append(key, a_measurement())
    writer.close()
    again = item_key(path, 1, device="cpu", settings=dict(SETTINGS))
    contents = read_journal(tmp_path / "journal")
    assert contents.measurements == {again: a_measurement()}
    assert contents.unreadable_lines == 0


def test_a_changed_file_other_settings_batch_size_or_device_are_other_keys(tmp_path) -> None:
    path = model_file(tmp_path / "models")
    key = item_key(path, 1, device="cpu", settings=SETTINGS)
    others = [
        item_key(path, 2, device="cpu", settings=SETTINGS),
        item_key(path, 1, device="cuda:0", settings=SETTINGS),
        item_key(path, 1, device="cpu", settings={**SETTINGS, "max_seconds": 3.0}),
    ]
    path.write_bytes(b"other model bytes")  # another size: another file
    others.append(item_key(path, 1, device="cpu", settings=SETTINGS))
    assert all(other != key for other in others)


def test_the_same_device_name_on_another_board_is_another_key(tmp_path: Path) -> None:
    """Two machines may share a host name, and cuda:0 names whichever board comes first: only
    the GPU's UUID tells that a resumed run is on the board that measured."""
    path = model_file(tmp_path / "models")
    here = item_key(path, 8, device="cuda:0", settings=SETTINGS, gpu_uuid="a1b2-board-one")
    there = item_key(path, 8, device="cuda:0", settings=SETTINGS, gpu_uuid="c3d4-board-two")
    assert here != there
    writer = JournalWriter(tmp_path / "journal", "main")
    writer.append(here, a_measurement(batch_size=8))
    writer.close()
    contents = read_journal(tmp_path / "journal")
    assert here in contents.measurements
    assert there not in contents.measurements


def test_a_line_written_before_the_gpu_uuid_was_kept_resumes_on_the_cpu_only(tmp_path) -> None:
    path = model_file(tmp_path / "models")
    folder = tmp_path / "journal"
    writer = JournalWriter(folder, "main")
    for device in ("cpu", "cuda:0"):
        writer.append(item_key(path, 1, device=device, settings=SETTINGS), a_measurement())
    writer.close()
    # As an earlier version wrote it: no gpu_uuid in the key at all.
    lines = (folder / "main.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    for record in records:
        del record["key"]["gpu_uuid"]
    (folder / "main.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    contents = read_journal(folder)
    assert contents.unreadable_lines == 0
    assert item_key(path, 1, device="cpu", settings=SETTINGS) in contents.measurements
    # The old GPU line reads as a key of no board, which no GPU item's key now is: measured
    # again, since which board measured it is not known.
    assert item_key(path, 1, device="cuda:0", settings=SETTINGS) in contents.measurements
    on_a_gpu = item_key(path, 1, device="cuda:0", settings=SETTINGS, gpu_uuid="a1b2-board-one")
    assert on_a_gpu not in contents.measurements


def journaled(folder: Path, process: str, path: Path, batch_size: int = 1) -> None:
    """One item of ``path`` at ``batch_size`` appended to ``process``'s journal file."""
    writer = JournalWriter(folder, process)
    key = item_key(path, batch_size, device="cpu", settings=SETTINGS)
    writer.append(key, a_measurement(batch_size=batch_size))
    writer.close()


def test_a_line_written_before_windows_were_kept_resumes_without_them(tmp_path) -> None:
    folder = tmp_path / "journal"
    journaled(folder, "main", model_file(tmp_path / "models"))
    record = json.loads((folder / "main.jsonl").read_text())
    del record["measurement"]["windows"]
    (folder / "main.jsonl").write_text(json.dumps(record) + "\n")
    contents = read_journal(folder)
    assert contents.unreadable_lines == 0
    (measurement,) = contents.measurements.values()
    assert measurement.windows == ()
    assert measurement.stats == a_measurement().stats


def test_the_cpu_has_no_gpu_uuid() -> None:
    assert gpu_uuid_of("cpu") is None


def test_a_line_cut_short_by_a_kill_is_skipped_and_the_next_append_starts_anew(tmp_path) -> None:
    path = model_file(tmp_path / "models")
    folder = tmp_path / "journal"
    journaled(folder, "gw0", path)
    with (folder / "gw0.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"format": "pytest-pruneenergy-journal", "key": {"pa')  # SIGKILL here
    journaled(folder, "gw0", path, batch_size=2)
    contents = read_journal(folder)
    assert sorted(key.batch_size for key in contents.measurements) == [1, 2]
    assert contents.unreadable_lines == 1


def test_lines_of_another_format_or_version_are_not_used(tmp_path: Path) -> None:
    folder = tmp_path / "journal"
    folder.mkdir()
    lines = [
        json.dumps({"format": "something else", "format_version": 1}),
        json.dumps({"format": "pytest-pruneenergy-journal", "format_version": 99}),
        "not json at all",
    ]
    (folder / "main.jsonl").write_text("\n".join(lines) + "\n")
    contents = read_journal(folder)
    assert contents.measurements == {}
    assert contents.unreadable_lines == 3


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("joules_per_sample_mean", "abc"),
        ("joules_per_sample_mean", None),
        ("frames_per_second", float("nan")),
        ("seconds_per_sample_mean", True),
        ("batch_size", "x"),
        ("windows", [[0.0, 0.2, "abc", 1.0]]),
        ("windows", [[0.0, 0.2]]),
    ],
)
def test_a_line_whose_figures_are_no_measurement_is_not_used(tmp_path, field, value) -> None:
    # Read back as a measurement, "abc" failed the resumed run's report at its end.
    path = model_file(tmp_path / "models")
    key = item_key(path, 1, device="cpu", settings=SETTINGS)
    writer = JournalWriter(tmp_path / "journal", "main")
    writer.append(key, a_measurement())
    writer.append(item_key(path, 8, device="cpu", settings=SETTINGS), a_measurement(batch_size=8))
    writer.close()
    journal = next((tmp_path / "journal").glob("*.jsonl"))
    first, second = journal.read_text().splitlines()
    record = json.loads(second)
    of_item = field in ("batch_size", "windows")
    holder = record["measurement"] if of_item else record["measurement"]["stats"]
    holder[field] = value
    journal.write_text(first + "\n" + json.dumps(record) + "\n")
    contents = read_journal(tmp_path / "journal")
    assert list(contents.measurements) == [key]  # the sound line is kept
    assert contents.unreadable_lines == 1


def test_every_process_file_of_the_folder_is_read(tmp_path: Path) -> None:
    path = model_file(tmp_path / "models")
    for worker, size in (("gw0", 1), ("gw1", 2)):
        writer = JournalWriter(tmp_path / "journal", worker)
        writer.append(item_key(path, size, device="cpu", settings=SETTINGS), a_measurement())
        writer.close()
    contents = read_journal(tmp_path / "journal")
    assert contents.files == 2
    assert len(contents.measurements) == 2


def test_a_new_run_sets_the_last_journal_aside_and_replaces_an_older_one(tmp_path) -> None:
    folder = tmp_path / "journal"
    assert set_aside(folder) is None  # nothing to set aside
    folder.mkdir()
    (folder / "main.jsonl").write_text("first run\n")
    assert set_aside(folder) == tmp_path / PREVIOUS_JOURNAL_DIR_NAME
    folder.mkdir()
    (folder / "main.jsonl").write_text("second run\n")
    set_aside(folder)
    assert not folder.exists()
    assert (tmp_path / PREVIOUS_JOURNAL_DIR_NAME / "main.jsonl").read_text() == "second run\n"
