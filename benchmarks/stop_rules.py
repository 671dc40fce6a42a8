"""Which stop rule measures the grid soonest without losing items that meet the CI target?
(issue 25, items 1 and 2)

Every journaled item keeps the adaptive protocol's windows (``"windows"`` on its journal
line). This study replays other stop rules on those windows: at each of the protocol's checks
(every ``check_interval_seconds`` from the first window's start) it takes the windows that had
ended, asks the protocol's own ``reason_to_stop`` whether a rule would have stopped there, and
stops at the cap where the protocol would. A rule that stops an item earlier than the run did
saves the rest of that item's measuring; its figure is the mean of the windows up to there.

``render FOLDER... --page PAGE`` reads every journal under the folders (a grid run's parts, a
report folder) and gives, per rule and batch-size group, the seconds measured, the items that
met the target, and how far the early figures lie from the whole item's: the answer a floor or
an out-of-reach rule must be chosen from. The first rule is the one the items were measured
under: its replay must stop each item where the run did, which checks the replay itself.

What a replay cannot know is said, not guessed. A rule that would go on past the windows the
run recorded (a longer floor, a laxer out-of-reach rule) has no record there: such items are
counted apart as *beyond the record*, and the rule's totals are over the other items only.
A live window may end a little later than its recorded twin (a short trailing stretch joins
the last window), so a replayed check can stop a check earlier or later than the run did; the
first row says how often.

    python benchmarks/stop_rules.py render GRID_FOLDER... --page PAGE.md
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchlib import listed, write_page

from pytest_pruneenergy.items.journal import JOURNAL_DIR_NAME, read_journal
from pytest_pruneenergy.items.measurement import Measurement
from pytest_pruneenergy.measure.protocol import ProtocolSettings
from pytest_pruneenergy.measure.protocol.adaptive import (
    FINISH_SECONDS,
    ci_fraction,
    energy_per_sample,
    reason_to_stop,
)
from pytest_pruneenergy.measure.ticks import TickWindow
from pytest_pruneenergy.measure.window_stats import STOP_OUT_OF_REACH, STOP_TIME_CAP

# Candidate rules beside the one the items were measured under: measuring floors, and the
# out-of-reach rule's factor and the windows it waits for.
MEASURE_FLOORS_SECONDS = (0.5, 0.75, 1.0)
OUT_OF_REACH_FACTORS = (1.5, 2.0, 3.0)
OUT_OF_REACH_MIN_WINDOWS = (5, 10)
# An item's batch sizes fall in these groups: batch 1, paced by the host, is judged apart.
BATCH_GROUPS = (("batch 1", (1,)), ("batch sizes above 1", None))
BEYOND_THE_RECORD = "beyond the record"


@dataclass(frozen=True)
class Rule:
    """A stop rule: the settings the protocol's decision reads."""

    min_measure_seconds: float
    out_of_reach_factor: float
    out_of_reach_min_windows: int

    def label(self) -> str:
        factor = (
            "never" if math.isinf(self.out_of_reach_factor) else f"{self.out_of_reach_factor:g}x"
        )
        return (
            f"floor {self.min_measure_seconds:g} s, out of reach {factor} "
            f"from {self.out_of_reach_min_windows} windows"
        )

    def settings(self, item: RecordedItem) -> ProtocolSettings:
        return dataclasses.replace(
            ProtocolSettings(),
            target_ci_fraction=item.target_ci_fraction,
            max_seconds=item.max_seconds,
            min_measure_seconds=self.min_measure_seconds,
            out_of_reach_factor=self.out_of_reach_factor,
            out_of_reach_min_windows=self.out_of_reach_min_windows,
        )


@dataclass(frozen=True)
class RecordedItem:
    """A journaled item with its windows, and what the run did with it."""

    batch_size: int
    windows: tuple[TickWindow, ...]
    warmup_seconds: float
    max_seconds: float
    target_ci_fraction: float
    stop_reason: str | None
    joules_per_sample: float


@dataclass(frozen=True)
class Replay:
    """Where a rule stopped an item, and what it would have said there; None (stop, figure
    and CI) where the rule went on past the windows the run recorded."""

    reason: str
    measured_seconds: float | None = None
    joules_per_sample: float | None = None
    ci_fraction: float | None = None


def recorded_items(folders: Iterable[Path]) -> list[RecordedItem]:
    """Every item with windows in the journals under ``folders``, once: an item journaled
    again (resumed on another host, or a journal reached through two folders) is its later
    line, as a resumed run's report takes it."""
    items: dict[tuple[object, ...], RecordedItem] = {}
    for folder in folders:
        journals = [folder] if folder.name == JOURNAL_DIR_NAME else folder.rglob(JOURNAL_DIR_NAME)
        for journal in sorted({path.resolve() for path in journals}):
            for key, measurement in read_journal(journal).measurements.items():
                item = recorded_item(measurement, dict(key.settings))
                if item is not None:
                    items[(*measurement.key, measurement.round_number)] = item
    return list(items.values())


def recorded_item(measurement: Measurement, settings: dict[str, object]) -> RecordedItem | None:
    """The item as a replay needs it; None where it has no windows (the seed protocol, a line
    written before windows were kept) or its settings are not in its key."""
    stats = measurement.stats
    max_seconds, target = settings.get("max_seconds"), stats.target_ci_fraction
    if len(measurement.windows) < 2 or not isinstance(max_seconds, (int, float)) or not target:
        return None
    return RecordedItem(
        batch_size=measurement.batch_size,
        windows=measurement.windows,
        warmup_seconds=stats.warmup_seconds,
        max_seconds=float(max_seconds),
        target_ci_fraction=target,
        stop_reason=stats.stop_reason,
        joules_per_sample=stats.joules_per_sample_mean,
    )


def replay(item: RecordedItem, rule: Rule) -> Replay:
    """The protocol's decision each time a window ends, on the windows ended by then.

    The run decides at its checks, every ``check_interval_seconds``; the windows change only
    as one ends, and a window of a GPU's meter (two updates, ~0.2 s) is longer than a check,
    so the next check after a window's end sees just the windows up to it. (Where windows are
    shorter than a check, as the CPU estimate's, the run may have seen one more.)"""
    settings = rule.settings(item)
    cap_seconds = measuring_cap(item, settings)
    # The protocol's deadline, less what a stop costs after the last check (measuring_cap).
    deadline_seconds = cap_seconds + settings.check_interval_seconds + FINISH_SECONDS
    for count in range(2, len(item.windows) + 1):
        end_seconds = item.windows[count - 1].end_seconds
        reason = reason_to_stop(
            item.windows[:count],
            item.batch_size,
            settings,
            seconds_left=deadline_seconds - end_seconds,
        )
        if reason is not None:
            return _stopped(item, reason, count)
        if end_seconds >= cap_seconds:
            return _stopped(item, STOP_TIME_CAP, count)
    return Replay(BEYOND_THE_RECORD)


def measuring_cap(item: RecordedItem, settings: ProtocolSettings) -> float:
    """Where the time cap ends an item, in seconds from its first window: for an item the run
    took to its cap, where it ended; for another, the cap less its warm-up, a check and the
    wrap-up (the protocol's deadline counts from before the warm-up, and it stops a check
    early rather than end past it); never before the record's end."""
    recorded_end_seconds = item.windows[-1].end_seconds
    if item.stop_reason == STOP_TIME_CAP:
        return recorded_end_seconds
    estimate_seconds = (
        item.max_seconds - item.warmup_seconds - settings.check_interval_seconds - FINISH_SECONDS
    )
    return max(estimate_seconds, recorded_end_seconds)


def _stopped(item: RecordedItem, reason: str, window_count: int) -> Replay:
    kept = item.windows[:window_count]
    estimate = energy_per_sample(kept, item.batch_size)
    return Replay(
        reason,
        measured_seconds=kept[-1].end_seconds,
        joules_per_sample=estimate.value,
        ci_fraction=ci_fraction(kept, item.batch_size),
    )


def default_rule(settings: ProtocolSettings | None = None) -> Rule:
    """The protocol's own rule: its defaults in this code. A journal key holds only the
    options a user sets, so a replay of an older run under a rule since changed shows it: its
    first row then stops items elsewhere than the run did."""
    settings = settings or ProtocolSettings()
    return Rule(
        settings.min_measure_seconds,
        settings.out_of_reach_factor,
        settings.out_of_reach_min_windows,
    )


def candidate_rules(measured_under: Rule) -> list[Rule]:
    """The rule the items were measured under first, then every candidate but it."""
    rules = [
        Rule(floor, factor, windows)
        for floor in MEASURE_FLOORS_SECONDS
        for factor in OUT_OF_REACH_FACTORS
        for windows in OUT_OF_REACH_MIN_WINDOWS
    ]
    return [measured_under, *(rule for rule in rules if rule != measured_under)]


@dataclass(frozen=True)
class RuleSummary:
    """A rule over a group of items: what it cost and what it kept."""

    items: int
    beyond_the_record: int
    measured_seconds: float  # over the items it stopped within the record
    recorded_seconds: float  # the same items as the run measured them
    met_target: int
    stopped_out_of_reach: int
    stopped_at_cap: int
    # How far its figures lie from the whole item's, in percent of it: the median, and the
    # items whose whole figure lies outside the early figure's own CI.
    median_off_percent: float
    outside_own_ci: int


def summarize(items: Sequence[RecordedItem], replays: Sequence[Replay]) -> RuleSummary:
    stopped = [
        (item, result)
        for item, result in zip(items, replays, strict=True)
        if result.measured_seconds is not None
    ]
    offs = [_off_percent(item, result) for item, result in stopped]
    return RuleSummary(
        items=len(items),
        beyond_the_record=len(items) - len(stopped),
        measured_seconds=sum(result.measured_seconds or 0.0 for _, result in stopped),
        recorded_seconds=sum(item.windows[-1].end_seconds for item, _ in stopped),
        met_target=sum(
            1
            for item, result in stopped
            if result.ci_fraction is not None and result.ci_fraction <= item.target_ci_fraction
        ),
        stopped_out_of_reach=sum(1 for _, result in stopped if result.reason == STOP_OUT_OF_REACH),
        stopped_at_cap=sum(1 for _, result in stopped if result.reason == STOP_TIME_CAP),
        median_off_percent=statistics.median(abs(off) for off in offs) if offs else math.nan,
        outside_own_ci=sum(
            1
            for (_, result), off in zip(stopped, offs, strict=True)
            if result.ci_fraction is not None and abs(off) > 100 * result.ci_fraction
        ),
    )


def _off_percent(item: RecordedItem, result: Replay) -> float:
    assert result.joules_per_sample is not None
    return 100 * (result.joules_per_sample / item.joules_per_sample - 1)


def same_stop_as_recorded(items: Sequence[RecordedItem], replays: Sequence[Replay]) -> int:
    """How many items the replay of the run's own rule stopped where the run did: for the same
    reason, at the end of the same window."""
    return sum(
        1
        for item, result in zip(items, replays, strict=True)
        if result.reason == item.stop_reason
        and result.measured_seconds == item.windows[-1].end_seconds
    )


def _group(items: Sequence[RecordedItem], sizes: tuple[int, ...] | None) -> list[RecordedItem]:
    if sizes is not None:
        return [item for item in items if item.batch_size in sizes]
    return [item for item in items if item.batch_size not in _grouped_apart()]


def _grouped_apart() -> set[int]:
    return {size for _, sizes in BATCH_GROUPS if sizes is not None for size in sizes}


def rule_row(rule: Rule, summary: RuleSummary, *, as_measured: bool = False) -> str:
    known = summary.items - summary.beyond_the_record
    saved = summary.recorded_seconds - summary.measured_seconds
    share = f"{100 * saved / summary.recorded_seconds:.0f} %" if summary.recorded_seconds else "n/a"
    median = (
        "n/a" if math.isnan(summary.median_off_percent) else f"{summary.median_off_percent:.2f}"
    )
    return (
        f"| {rule.label()}{' (as measured)' if as_measured else ''} | "
        f"{summary.beyond_the_record} | {summary.measured_seconds:.0f} | "
        f"{saved:.0f} ({share}) | {summary.met_target}/{known} | {summary.stopped_out_of_reach} | "
        f"{summary.stopped_at_cap} | {median} | {summary.outside_own_ci} |"
    )


TABLE_HEAD = [
    "| rule | beyond the record | measured s | saved s (share) | met target | out of reach | "
    "at the cap | median off whole (%) | whole outside own CI |",
    "|---|---|---|---|---|---|---|---|---|",
]


def group_lines(
    name: str, items: Sequence[RecordedItem], rules: Sequence[Rule]
) -> tuple[list[str], dict[Rule, RuleSummary]]:
    replays = {rule: [replay(item, rule) for item in items] for rule in rules}
    summaries = {rule: summarize(items, replays[rule]) for rule in rules}
    agree = same_stop_as_recorded(items, replays[rules[0]])
    lines = [
        f"## {name}: {len(items)} items",
        "",
        f"Replayed under the rule they were measured under, {agree} of {len(items)} stopped where "
        "the run did, for the same reason at the end of the same window (the rest a window "
        "away: the replay's own error).",
        "",
        *TABLE_HEAD,
        *(rule_row(rule, summaries[rule], as_measured=rule == rules[0]) for rule in rules),
        "",
    ]
    return lines, summaries


def cheapest_keeping_met(summaries: dict[Rule, RuleSummary], measured_under: Rule) -> Rule | None:
    """The rule measuring least that left no item beyond the record, lost no item that met the
    target under the run's own rule, and left no more whole figures outside its early
    figures' CIs than the run's rule did; None where none does. (Where few items meet the
    target, as at batch 1, the last condition is what keeps an aggressive rule out.)"""
    own = summaries[measured_under]
    keeping = [
        rule
        for rule, summary in summaries.items()
        if summary.beyond_the_record == 0
        and summary.met_target >= own.met_target
        and summary.outside_own_ci <= own.outside_own_ci
    ]
    return min(keeping, key=lambda rule: summaries[rule].measured_seconds, default=None)


def render(args: argparse.Namespace) -> int:
    items = recorded_items(args.folders)
    if not items:
        print(
            "no journaled item with windows under "
            f"{listed([str(folder) for folder in args.folders])} (journals written before "
            "windows were kept have none)",
            file=sys.stderr,
        )
        return 2
    measured_under = default_rule()
    rules = candidate_rules(measured_under)
    answers, sections = [], []
    for name, sizes in BATCH_GROUPS:
        group = _group(items, sizes)
        if not group:
            continue
        lines, summaries = group_lines(name, group, rules)
        sections += lines
        answers.append(_answer(name, summaries, measured_under))
    command = " ".join(
        [
            "python benchmarks/stop_rules.py render",
            *map(str, args.folders),
            "--page",
            str(args.page),
        ]
    )
    page = [
        "# Stop rules replayed on recorded windows",
        "",
        "**Answer.** " + " ".join(answers),
        "",
        f"Rendered by `{command}`. Each item's recorded windows are replayed under each rule "
        "(benchmarks/stop_rules.py says how). *Measured s*: the seconds of windows up to where "
        "the rule stopped, summed over the items it stopped within the record; *saved*: against "
        "the run, over those items. *Median off whole*: how far the early figure lies from the "
        "whole item's, in percent. *Whole outside own CI*: items whose whole figure lies outside "
        "the early figure's CI.",
        "",
        *sections,
    ]
    write_page(args.page, page)
    return 0


def _answer(name: str, summaries: dict[Rule, RuleSummary], measured_under: Rule) -> str:
    own = summaries[measured_under]
    best = cheapest_keeping_met(summaries, measured_under)
    if best is None or best == measured_under:
        return (
            f"At {name}, no other rule measured less without losing an item that met the "
            f"target ({own.met_target} of {own.items} did)."
        )
    chosen = summaries[best]
    saved = own.measured_seconds - chosen.measured_seconds
    return (
        f"At {name}, *{best.label()}* measured {saved:.0f} s less than the run's own rule "
        f"({chosen.measured_seconds:.0f} s against {own.measured_seconds:.0f} s) and kept "
        f"{chosen.met_target} of {chosen.items} items within the target ({own.met_target} "
        f"under the run's rule); median {chosen.median_off_percent:.2f} % off the whole "
        "items' figures."
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True)
    render_parser = commands.add_parser("render", help="replay stop rules on journaled windows")
    render_parser.add_argument("folders", nargs="+", type=Path)
    render_parser.add_argument("--page", type=Path, required=True)
    render_parser.set_defaults(handler=render)
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
