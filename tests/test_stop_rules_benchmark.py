"""benchmarks/stop_rules.py: other stop rules replayed on an item's recorded windows."""

from __future__ import annotations

import dataclasses
import functools
import random
from pathlib import Path

import pytest

from pytest_pruneenergy.items.journal import JournalWriter, item_key
from pytest_pruneenergy.measure.protocol import measure
from pytest_pruneenergy.measure.ticks import TickWindow, from_first_window
from pytest_pruneenergy.measure.window_stats import STOP_OUT_OF_REACH, STOP_TARGET, STOP_TIME_CAP
from pytest_pruneenergy.testing.simulated_clock import SimulatedClock, TickingMeter

from .factories import make_measurement, make_stats
from .measure.test_protocol import FAST

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
BATCH_SIZE = 8
# The protocol's floors and out-of-reach rule as they are; a shorter cap, finer windows and a
# short warm-up, so that an item is a few simulated seconds.
SETTINGS = dataclasses.replace(FAST, max_seconds=4.0)


@pytest.fixture
def stop_rules(monkeypatch: pytest.MonkeyPatch):
    # The scripts import their shared module as ``benchlib``, as when run from benchmarks/.
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import stop_rules

    return stop_rules


def measured_item(stop_rules, scatter: float, seed: int = 1, batch_size: int = BATCH_SIZE):
    """An item measured by the protocol on the simulated clock, its board's power scattering
    by ``scatter`` (a fraction) from one meter period to the next, as a RecordedItem."""
    clock = SimulatedClock()
    draw = random.Random(seed)
    watts = functools.cache(lambda period: 100.0 * (1 + scatter * draw.uniform(-1, 1)))
    kept: list[TickWindow] = []
    stats = measure(
        functools.partial(clock.sleep, 0.002),
        "cpu",
        TickingMeter(clock, watts, period_seconds=0.05),
        batch_size,
        SETTINGS,
        clock=clock,
        tick_recorder=clock.tick_recorder,
        on_windows=kept.extend,
    )
    measurement = make_measurement(
        "AlexNet_TINY_UNPRUNED", batch_size, stats=stats, windows=from_first_window(kept)
    )
    return stop_rules.recorded_item(measurement, {"max_seconds": SETTINGS.max_seconds})


def own_rule(stop_rules):
    return stop_rules.default_rule(SETTINGS)


@pytest.mark.parametrize(
    ("scatter", "reason"), [(0.02, STOP_TARGET), (0.6, STOP_OUT_OF_REACH), (0.1, STOP_TIME_CAP)]
)
def test_the_runs_own_rule_replayed_stops_each_item_where_the_run_did(stop_rules, scatter, reason):
    item = measured_item(stop_rules, scatter)
    assert item.stop_reason == reason  # the three ways an item ends, each replayed
    replay = stop_rules.replay(item, own_rule(stop_rules))
    assert replay.reason == reason
    recorded_end = item.windows[-1].end_seconds
    assert replay.measured_seconds == recorded_end  # at the end of the same window
    assert stop_rules.same_stop_as_recorded([item], [replay]) == 1


def test_a_shorter_floor_stops_a_steady_item_sooner_and_its_figure_within_its_own_ci(stop_rules):
    item = measured_item(stop_rules, 0.02)
    shorter = dataclasses.replace(own_rule(stop_rules), min_measure_seconds=0.5)
    replay = stop_rules.replay(item, shorter)
    assert replay.reason == STOP_TARGET
    assert replay.measured_seconds < item.windows[-1].end_seconds - 0.3
    off = replay.joules_per_sample / item.joules_per_sample - 1
    assert abs(off) <= replay.ci_fraction <= item.target_ci_fraction


def test_a_rule_that_would_measure_past_the_record_is_counted_apart_not_guessed(stop_rules):
    item = measured_item(stop_rules, 0.02)
    longer = dataclasses.replace(own_rule(stop_rules), min_measure_seconds=2.5)
    replay = stop_rules.replay(item, longer)
    assert replay.reason == stop_rules.BEYOND_THE_RECORD
    assert replay.measured_seconds is None and replay.joules_per_sample is None
    summary = stop_rules.summarize([item], [replay])
    assert (summary.beyond_the_record, summary.met_target, summary.measured_seconds) == (1, 0, 0)


def test_an_item_the_run_took_to_its_cap_runs_to_the_same_cap_under_a_laxer_rule(stop_rules):
    item = measured_item(stop_rules, 0.1)
    never_out_of_reach = dataclasses.replace(own_rule(stop_rules), out_of_reach_factor=float("inf"))
    replay = stop_rules.replay(item, never_out_of_reach)
    assert replay.reason == STOP_TIME_CAP
    assert replay.measured_seconds == item.windows[-1].end_seconds


def test_an_item_without_windows_or_its_cap_is_no_item_to_replay(stop_rules):
    assert stop_rules.recorded_item(make_measurement("A_B_UNPRUNED"), {"max_seconds": 4.0}) is None
    with_windows = make_measurement(
        "A_B_UNPRUNED",
        stats=make_stats(target_ci_fraction=0.01),
        windows=(TickWindow(0, 0.2, 1, 1), TickWindow(0.2, 0.4, 1, 1)),
    )
    assert stop_rules.recorded_item(with_windows, {}) is None
    assert stop_rules.recorded_item(with_windows, {"max_seconds": 4.0}) is not None


def journal_of(folder: Path, measurements) -> None:
    model = folder / "models" / "AlexNet_TINY_UNPRUNED.pth"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"weights")
    writer = JournalWriter(folder / "report" / "journal", "main")
    for measurement in measurements:
        settings = {"max_seconds": SETTINGS.max_seconds, "protocol": "adaptive"}
        writer.append(
            item_key(model, measurement.batch_size, device="cpu", settings=settings), measurement
        )
    writer.close()


def test_the_page_answers_per_batch_group_from_every_journal_under_a_folder(stop_rules, tmp_path):
    items = []
    for batch_size, scatter in ((1, 0.1), (8, 0.02), (64, 0.02)):
        item = measured_item(stop_rules, scatter, seed=batch_size, batch_size=batch_size)
        stats = make_stats(
            joules_per_sample_mean=item.joules_per_sample,
            warmup_seconds=item.warmup_seconds,
            target_ci_fraction=item.target_ci_fraction,
            stop_reason=item.stop_reason,
        )
        items.append(
            make_measurement("AlexNet_TINY_UNPRUNED", batch_size, stats=stats, windows=item.windows)
        )
    journal_of(tmp_path / "part", items)
    page = tmp_path / "page.md"
    assert stop_rules.main(["render", str(tmp_path / "part"), "--page", str(page)]) == 0
    text = page.read_text()
    assert text.startswith("# Stop rules replayed on recorded windows\n\n**Answer.** At batch 1")
    assert "## batch 1: 1 items" in text and "## batch sizes above 1: 2 items" in text
    assert "floor 0.5 s, out of reach 1.5x from 5 windows" in text
    # The run's own rule, first, stops each item where the run did: its figures are the run's.
    own = "| floor 1 s, out of reach 2x from 10 windows (as measured) | 0 | "
    lines = text.splitlines()
    first_rows = [lines[at + 1] for at, line in enumerate(lines) if line.startswith("|---")]
    assert len(first_rows) == 2
    assert all(row.startswith(own) and "| 0.00 | 0 |" in row for row in first_rows)


def test_an_item_journaled_twice_is_replayed_once_as_its_later_line(stop_rules, tmp_path):
    item = measured_item(stop_rules, 0.02)
    stats = make_stats(target_ci_fraction=0.01)
    first = make_measurement("AlexNet_TINY_UNPRUNED", BATCH_SIZE, stats=stats, windows=item.windows)
    later = dataclasses.replace(first, windows=item.windows[:-1])
    journal_of(tmp_path / "part", [first, later])
    # The part and its journal named both: one journal, read once.
    part = tmp_path / "part"
    items = stop_rules.recorded_items([part, part / "report" / "journal"])
    assert [len(recorded.windows) for recorded in items] == [len(item.windows) - 1]


def summary_of(stop_rules, seconds: float, met: int, outside: int):
    return stop_rules.RuleSummary(
        items=10,
        beyond_the_record=0,
        measured_seconds=seconds,
        recorded_seconds=20.0,
        met_target=met,
        stopped_out_of_reach=0,
        stopped_at_cap=0,
        median_off_percent=0.1,
        outside_own_ci=outside,
    )


def test_the_answer_takes_no_rule_that_puts_more_whole_figures_outside_its_cis(stop_rules):
    own, lax, wild = (stop_rules.Rule(floor, 2.0, 10) for floor in (1.0, 0.75, 0.5))
    summaries = {
        own: summary_of(stop_rules, 20.0, met=2, outside=1),
        lax: summary_of(stop_rules, 15.0, met=2, outside=1),
        wild: summary_of(stop_rules, 8.0, met=2, outside=3),  # cheapest, but off more often
    }
    assert stop_rules.cheapest_keeping_met(summaries, own) == lax
    fewer_met = {**summaries, lax: summary_of(stop_rules, 15.0, met=1, outside=0)}
    assert stop_rules.cheapest_keeping_met(fewer_met, own) == own


def test_folders_without_windows_say_so_and_write_no_page(stop_rules, tmp_path, capsys):
    journal_of(tmp_path / "old", [make_measurement("AlexNet_TINY_UNPRUNED")])
    page = tmp_path / "page.md"
    assert stop_rules.main(["render", str(tmp_path / "old"), "--page", str(page)]) == 2
    assert "no journaled item with windows under" in capsys.readouterr().err
    assert not page.exists()
