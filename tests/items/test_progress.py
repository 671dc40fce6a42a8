import pytest

from pytest_pruneenergy.items.progress import Progress, duration_text, progress_line


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0 s"), (44.6, "45 s"), (60, "1 min 00 s"), (362, "6 min 02 s"), (3900, "1 h 05 min")],
)
def test_a_duration_reads_in_the_largest_units_that_matter(seconds, text):
    assert duration_text(seconds) == text


def test_the_time_left_is_the_pace_of_the_items_measured_times_those_left():
    # 10 items in 100 s: 10 s each; 30 left.
    assert progress_line(10, 40, 100.0, 10) == (
        "pruneenergy: 10 of 40 items, 1 min 40 s so far, about 5 min 00 s left"
    )
    # 5 of the 10 came back from the journal at no cost: 20 s each.
    assert progress_line(10, 40, 100.0, 5).endswith("about 10 min 00 s left")
    # Nothing measured yet: no pace to go by.
    assert progress_line(10, 40, 1.0, 0) == "pruneenergy: 10 of 40 items, 1 s so far"


def test_a_line_comes_at_most_once_an_interval_and_never_for_the_last_item():
    progress = Progress(total=5, started_seconds=0.0, interval_seconds=30.0)
    assert progress.record(10.0) is None  # too soon after the start
    assert progress.record(31.0) == ("pruneenergy: 2 of 5 items, 31 s so far, about 46 s left")
    assert progress.record(50.0) is None  # 19 s after the last line
    assert progress.record(62.0, measured=False) is not None
    assert (progress.done, progress.measured) == (4, 3)
    assert progress.record(200.0) is None  # the last item: the run's end says the rest
