"""The simulated clock: time passes by sleeps alone, processes run at their own instants, and a
protocol run on it gives the same figures every time."""

from __future__ import annotations

import threading

import pytest

from pytest_pruneenergy.measure.meters import MeterReadError
from pytest_pruneenergy.measure.protocol import ProtocolSettings, measure
from pytest_pruneenergy.measure.window_stats import WindowStats
from pytest_pruneenergy.testing.simulated_clock import (
    SimulatedClock,
    SimulationStalled,
    TickingMeter,
)


def test_time_passes_only_by_sleeps_and_adds_exactly():
    clock = SimulatedClock(1.5)
    assert clock() == clock.now() == 1.5
    for _ in range(3):
        clock.sleep(0.1)
    assert clock() == 1.8  # 1.5 + 0.1 + 0.1 + 0.1 in floats is 1.8000000000000003


def test_a_negative_sleep_is_refused():
    with pytest.raises(ValueError, match=r"seconds must be >= 0, got -0\.1"):
        SimulatedClock().sleep(-0.1)


def test_a_process_runs_at_its_own_instants_while_the_driver_sleeps():
    clock = SimulatedClock()
    seen = []

    def poll() -> None:
        for _ in range(4):
            seen.append(clock())
            clock.sleep(0.003)

    process = clock.spawn(poll, name="poller")
    clock.sleep(0.01)
    # The process's sleeps are its own: the driver's 10 ms are not lengthened by them.
    assert seen == pytest.approx([0.0, 0.003, 0.006, 0.009])
    assert clock() == 0.01
    clock.join(process)
    assert process.finished
    assert clock() == pytest.approx(0.012)  # joined at the end of its last sleep


def test_processes_due_together_run_in_the_order_they_were_scheduled_and_before_the_driver():
    clock = SimulatedClock()
    order = []

    def step(name: str) -> None:
        clock.sleep(0.005)
        order.append(name)

    first = clock.spawn(lambda: step("first"), name="first")
    second = clock.spawn(lambda: step("second"), name="second")
    clock.sleep(0.005)
    order.append("driver")
    clock.join(first)
    clock.join(second)
    assert order == ["first", "second", "driver"]


def test_an_interrupt_cuts_a_rest_short_and_join_waits_for_what_follows_it():
    clock = SimulatedClock()
    woke = []

    def rest_then_read() -> None:
        process.rest(10.0)
        woke.append(clock())
        clock.sleep(0.004)  # a last read after the stop

    process = clock.spawn(rest_then_read, name="poller")
    clock.sleep(0.001)
    process.interrupt()
    clock.join(process)
    assert woke == [0.001]
    assert clock() == pytest.approx(0.005)


def test_an_interrupt_during_a_read_ends_the_rest_that_follows_at_once():
    clock = SimulatedClock()

    def read_then_rest() -> None:
        clock.sleep(0.004)
        process.rest(10.0)

    process = clock.spawn(read_then_rest, name="poller")
    clock.sleep(0.001)
    process.interrupt()
    clock.join(process)
    assert clock() == pytest.approx(0.004)


def test_an_interrupt_leaves_a_plain_sleep_alone():
    clock = SimulatedClock()
    process = clock.spawn(lambda: clock.sleep(0.5), name="reader")
    clock.sleep(0.001)
    process.interrupt()
    clock.join(process)
    assert clock() == 0.5


def test_join_raises_what_the_process_raised():
    clock = SimulatedClock()
    process = clock.spawn(lambda: 1 / 0, name="broken")
    with pytest.raises(ZeroDivisionError):
        clock.join(process)


def test_a_process_that_waits_outside_the_clock_is_reported_not_waited_for_forever():
    clock = SimulatedClock(stall_seconds=0.05)
    elsewhere = threading.Event()
    clock.spawn(elsewhere.wait, name="stuck")
    try:
        with pytest.raises(SimulationStalled, match=r"stuck neither paused nor ended within 0\.05"):
            clock.sleep(0.001)
    finally:
        elsewhere.set()


def test_ticking_meter_changes_only_at_ticks_by_the_watts_of_each_period():
    clock = SimulatedClock()
    meter = TickingMeter(clock, lambda period: 10.0 * (period + 1), period_seconds=0.1)
    values = []
    for _ in range(4):
        values.append(meter.read_joules())
        clock.sleep(0.05)
        values.append(meter.read_joules())
        clock.sleep(0.05)
    # 1 J in the first period, 2 J in the second...: the value holds between ticks.
    assert values == pytest.approx([0.0, 0.0, 1.0, 1.0, 3.0, 3.0, 6.0, 6.0])
    assert meter.ticks_by(0.3) == 3  # 0.3 / 0.1 is 2.9999999999999996 in floats


def test_ticking_meter_fails_after_its_reads():
    meter = TickingMeter(SimulatedClock(), fail_after=2)
    meter.read_joules()
    meter.read_joules()
    with pytest.raises(MeterReadError, match="GPU_IS_LOST"):
        meter.read_joules()


def test_the_simulated_poller_stamps_each_change_halfway_between_two_reads():
    clock = SimulatedClock()
    meter = TickingMeter(clock, 50.0, period_seconds=0.02)
    with clock.tick_recorder(meter) as recorder:
        clock.sleep(0.1)
    # Reads every 2 ms, free: a change at 20 ms is seen by the read at 20 ms, stamped at 19 ms.
    ticks = recorder.ticks()
    assert [tick.seconds for tick in ticks] == pytest.approx([0.019, 0.039, 0.059, 0.079, 0.099])
    assert [tick.joules for tick in ticks] == pytest.approx([1.0, 2.0, 3.0, 4.0, 5.0])


def measured_on_a_fresh_clock() -> WindowStats:
    clock = SimulatedClock()
    meter = TickingMeter(clock, lambda period: 100.0 + period % 7, period_seconds=0.02)
    settings = ProtocolSettings(max_seconds=2.0, warmup_min_seconds=0.1)
    return measure(
        lambda: clock.sleep(0.0013),
        "cpu",
        meter,
        4,
        settings,
        clock=clock,
        tick_recorder=clock.tick_recorder,
    )


def test_a_protocol_run_gives_the_same_figures_every_time():
    assert measured_on_a_fresh_clock() == measured_on_a_fresh_clock()
