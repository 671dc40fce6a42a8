import pytest

from pytest_pruneenergy.report.findings.uncertainty import (
    CI95,
    STD,
    Estimate,
    indistinguishable,
    kind_text,
    leaders,
    listed,
    mean_estimate,
    span,
)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (Estimate(10.0, 1.0), Estimate(11.5, 1.0), True),  # overlap
        (Estimate(10.0, 1.0), Estimate(12.0, 1.0), True),  # touching intervals
        (Estimate(10.0, 1.0), Estimate(12.1, 1.0), False),  # apart
        (Estimate(10.0, None), Estimate(10.5, 5.0), False),  # unknown: only ties are ties
        (Estimate(10.0, None), Estimate(10.0, None), True),  # an exact tie
    ],
)
def test_overlapping_intervals_are_indistinguishable(a, b, expected):
    assert indistinguishable(a, b) is expected
    assert indistinguishable(b, a) is expected


def test_the_leaders_are_all_those_indistinguishable_from_the_top_never_a_tie_break():
    estimates = {"PD1": Estimate(10.0, 1.0), "PD2": Estimate(9.5, 0.6), "PD3": Estimate(5.0, 1.0)}
    assert leaders(estimates) == ["PD1", "PD2"]
    assert leaders(estimates, highest=False) == ["PD3"]
    tied = {"PD2": Estimate(7.0, None), "PD1": Estimate(7.0, None)}
    assert leaders(tied) == ["PD1", "PD2"]  # an exact tie: both lead, neither wins
    assert leaders({}) == []


def test_a_mean_of_independent_estimates_adds_their_widths_in_quadrature():
    mean = mean_estimate([Estimate(1.0, 0.3), Estimate(3.0, 0.4)])
    assert (mean.value, mean.half_width) == pytest.approx((2.0, 0.25))
    assert mean_estimate([Estimate(1.0, 0.3), Estimate(3.0)]).half_width is None
    with pytest.raises(ValueError, match="no estimates"):
        mean_estimate([])


def test_estimates_and_ranges_in_words():
    assert Estimate(12.34, 0.46).text(".1f", " %") == "12.3 ± 0.5 %"
    assert Estimate(28.9, 0.04).text(".1f", " %") == "28.9 ± 0.04 %"  # not "± 0.0"
    assert Estimate(12.34).text(".1f", " %") == "12.3 %"
    assert span([0.86, 0.91, 0.88]) == "0.86-0.91"
    assert span([-20.0, -16.3], ".1f") == "-20.0 to -16.3"
    assert span([1.0, 1.0]) == "1.00"
    assert listed(["PD1", "PD2", "PD3"]) == "PD1, PD2 and PD3"
    assert kind_text(CI95) == "± 95 % CI"
    assert "STD" in kind_text(STD) and kind_text(None) == "uncertainty unknown"
