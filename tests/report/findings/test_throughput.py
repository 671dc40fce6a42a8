import pytest

from pytest_pruneenergy.report.findings.throughput import (
    FALLS,
    FLAT,
    MORE_POWER,
    POWER_TOO,
    RISES,
    TIME_ONLY,
    fps_verdict,
    power_verdict,
    throughput_lines,
    throughput_sentences,
    time_reduction_percent,
)
from pytest_pruneenergy.report.findings.uncertainty import Estimate
from pytest_pruneenergy.report.schema import FPS_REDUCTION

from ..tables import pruned, table, unpruned


def test_the_time_saved_is_read_from_the_fps_reduction():
    assert time_reduction_percent(-100.0) == pytest.approx(50.0)  # twice as fast: half the time
    assert time_reduction_percent(0.0) == pytest.approx(0.0)
    assert time_reduction_percent(50.0) == pytest.approx(-100.0)  # half as fast: twice the time


@pytest.mark.parametrize(
    ("slope", "verdict"),
    [(Estimate(0.5, 0.1), RISES), (Estimate(0.05, 0.1), FLAT), (Estimate(-0.5, 0.1), FALLS)],
)
def test_fps_rises_only_where_the_time_slopes_ci_is_above_zero(slope, verdict):
    assert fps_verdict(slope) == verdict


def test_energy_against_time_under_the_uncertainty_rule():
    assert power_verdict(Estimate(1.0, 0.05), Estimate(0.5, 0.05)) == POWER_TOO
    assert power_verdict(Estimate(1.0, 0.05), Estimate(0.95, 0.05)) == TIME_ONLY
    assert power_verdict(Estimate(0.5, 0.05), Estimate(1.0, 0.05)) == MORE_POWER


def rows(fps_reduction, energy_reduction):
    """Pruned rows at FLOPs CR 10..50 whose FPS and energy reductions follow the functions."""
    return [
        {
            **pruned(1, cr, cr_percent=cr, reduction_percent=energy_reduction(cr)),
            FPS_REDUCTION: fps_reduction(cr),
        }
        for cr in (10, 20, 30, 40, 50)
    ]


def test_a_compute_bound_model_saves_time_and_energy_alike():
    # Time per sample falls with the CR exactly (FPS x 1 / (1 - CR)), and so does energy.
    results = table(unpruned(), *rows(lambda cr: 100 - 100 / (1 - cr / 100), lambda cr: cr))
    (line,) = throughput_lines(results)
    assert line.time.slope.value == pytest.approx(1.0)
    assert (line.fps, line.power) == (RISES, TIME_ONLY)
    assert line.best_fps_gain_percent == pytest.approx(100.0)  # CR 50: twice the FPS


def test_a_host_bound_model_saves_power_not_time():
    # FPS the same at every CR, energy falling with it.
    results = table(unpruned(), *rows(lambda cr: 0.0, lambda cr: 0.6 * cr))
    (line,) = throughput_lines(results)
    assert (line.fps, line.power) == (FLAT, POWER_TOO)
    first, flat = throughput_sentences(results)
    assert first.startswith("VGG16, batch 8: FPS does not move with FLOPs CR; per point of")
    assert "energy falls faster than time: part of the saving is lower power" in first
    assert flat.startswith("FPS does not rise with compression beyond its uncertainty in 1 of 1")
