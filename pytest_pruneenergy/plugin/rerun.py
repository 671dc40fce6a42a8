"""The end of the run's second look: items in doubt measured once more (items/remeasure.py).

It runs in the process that holds every result (the one pytest process, or the xdist
controller once its workers are done), before the report is written, so that the row can keep
both measurements. Each rerun is on the device its first measurement was made on, by that
device's meter, against the idle power the first used; it is journaled, so that
``--energy-resume`` keeps it. A rerun that fails costs nothing: the row keeps its first
measurement and says why.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ..items.measurement import ItemKey, Measurement, item_label
from ..items.remeasure import KEPT_RERUN, rerun_failed, settle, suspicious_items
from ..settings import Settings

if TYPE_CHECKING:
    from .running import Running


def measure_in_doubt_again(running: Running, session: pytest.Session) -> set[ItemKey]:
    """Measure the run's items in doubt once more and settle their rows in the run's
    measurements; returns the keys whose row now shows the rerun (their in-item gates are
    judged again at the end). Nothing is done where the run was stopped or interrupted, with
    several rounds (they are the repeat), or with --energy-remeasure=false."""
    state = running.state
    if not _wanted(state.settings, session):
        return set()
    in_doubt = suspicious_items(state.measurements)
    if not in_doubt:
        return set()
    state.say_now(
        f"pruneenergy: measuring {len(in_doubt)} item(s) in doubt once more "
        "(--energy-remeasure=false skips this)"
    )
    position = {measurement.key: index for index, measurement in enumerate(state.measurements)}
    now_rerun: set[ItemKey] = set()
    for count, (key, reason) in enumerate(in_doubt.items(), 1):
        first = state.measurements[position[key]]
        settled = _measure_again(running, first, reason)
        state.measurements[position[key]] = settled
        running.journal_measurement_again(settled)
        assert settled.remeasure is not None
        if settled.remeasure.outcome == KEPT_RERUN:
            now_rerun.add(key)
        state.say_now(f"  [{count}/{len(in_doubt)}] {item_label(key)}: {settled.remeasure.outcome}")
    state.cache.clear()
    return now_rerun


def _wanted(settings: Settings, session: pytest.Session) -> bool:
    stopped = bool(session.shouldstop or session.shouldfail)
    interrupted = session.exitstatus == pytest.ExitCode.INTERRUPTED
    return settings.remeasure and settings.rounds == 1 and not (stopped or interrupted)


def _measure_again(running: Running, first: Measurement, reason: str) -> Measurement:
    """The first measurement settled by a second; never raises but for an interruption: a
    rerun that fails leaves the first as it was, saying why."""
    try:
        device = first.device_id
        rerun, _ = running.measure_model(
            Path(first.path),
            first.name,
            first.batch_size,
            (first.dtype, first.runtime),
            device,
            running.meter_on(device),
            first.idle_watts,
        )
    except Exception as error:  # the first measurement stands; the row says why
        message = str(error).strip().splitlines()
        return rerun_failed(first, reason, message[0] if message else type(error).__name__)
    return settle(first, rerun, reason)
