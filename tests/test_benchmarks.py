"""The arithmetic and the loops of the GPU benchmark scripts, run on the CPU: the figures in
docs/benchmarks come from them."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from pytest_pruneenergy.meters.base import MeterReadError

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture
def scripts(monkeypatch: pytest.MonkeyPatch) -> None:
    # The scripts import their shared module as ``benchlib``, as when run from benchmarks/.
    monkeypatch.syspath_prepend(str(BENCHMARKS))


def test_the_cv_slope_is_a_half_where_the_cv_falls_as_one_over_root_time(scripts):
    from precision import cv_slope

    assert cv_slope(40.0, 1.0, 10.0, 2.0) == pytest.approx(0.5)
    assert cv_slope(40.0, 0.5, 10.0, 2.0) == pytest.approx(1.0)
    assert cv_slope(40.0, 3.0, 10.0, 2.0) < 0  # a CV that rose with time
    for undefined in ((10.0, 1.0, 10.0, 2.0), (40.0, 0.0, 10.0, 2.0), (40.0, math.nan, 10, 2)):
        assert math.isnan(cv_slope(*undefined))


def test_time_at_equal_cv_scales_with_the_chosen_law(scripts):
    from precision import seconds_at_equal_cv

    assert seconds_at_equal_cv(10.0, 2.0, 1.0, exponent=2) == pytest.approx(40.0)
    assert seconds_at_equal_cv(10.0, 2.0, 1.0, exponent=1) == pytest.approx(20.0)
    assert seconds_at_equal_cv(10.0, 0.5, 1.0, exponent=2) == pytest.approx(2.5)
    assert math.isnan(seconds_at_equal_cv(10.0, 2.0, 0.0, exponent=2))


class CountingMeter:
    """A meter whose value changes every 100 ms and whose reads take 4 ms, as NVML's."""

    def __init__(self, fail_after_reads: int | None = None) -> None:
        self.reads = 0
        self._fail_after_reads = fail_after_reads

    def read_joules(self) -> float:
        self.reads += 1
        if self._fail_after_reads is not None and self.reads > self._fail_after_reads:
            raise MeterReadError("NVML_ERROR_GPU_IS_LOST")
        time.sleep(0.004)
        return float(int(time.perf_counter() * 10))


ARMS = ("bare", "reused", "bare+poller", "reused+poller")


@pytest.mark.parametrize("poller", ["gate", "restart"])
def test_every_arm_gets_a_chunk_a_round_and_polled_arms_run_the_poller(scripts, poller):
    from harness_cost import interleaved_fps

    meter = CountingMeter()
    reads_by_arm: dict[str, int] = {}

    def run_chunk(arm: str) -> float:
        before = meter.reads
        time.sleep(0.05)
        reads_by_arm[arm] = reads_by_arm.get(arm, 0) + meter.reads - before
        return 100.0

    fps = interleaved_fps(
        ARMS, 2, run_chunk, settle=lambda: time.sleep(0.1), meter=meter, poller=poller
    )
    assert {arm: len(values) for arm, values in fps.items()} == dict.fromkeys(ARMS, 2)
    assert reads_by_arm["bare+poller"] > 0 and reads_by_arm["reused+poller"] > 0
    # Unpolled chunks see no reads, but for one already under way as the gate closed.
    assert reads_by_arm["bare"] <= 2 and reads_by_arm["reused"] <= 2


@pytest.mark.parametrize("poller", ["gate", "restart"])
def test_a_failing_meter_read_fails_the_run_rather_than_unpolling_the_arms(scripts, poller):
    from harness_cost import interleaved_fps

    with pytest.raises(MeterReadError, match="GPU_IS_LOST"):
        interleaved_fps(
            ARMS,
            2,
            lambda arm: (time.sleep(0.02), 100.0)[1],
            settle=lambda: time.sleep(0.05),
            meter=CountingMeter(fail_after_reads=3),
            poller=poller,
        )
