"""Pruned widths off multiples of 8: named, and set beside aligned ones where the run has both."""

from pytest_pruneenergy.report.analysis import BREAKS_QUESTION, findings_by_question
from pytest_pruneenergy.report.findings.alignment import alignment_sentences
from pytest_pruneenergy.report.schema import UNALIGNED_X8

from ..tables import pruned, table, unpruned


def widths(row: dict, share_percent: float | None) -> dict:
    return {**row, UNALIGNED_X8: share_percent}


def test_mostly_unaligned_pruned_models_are_named_against_the_unpruned_share():
    results = table(
        widths(unpruned(), 3.0),
        widths(pruned(1, 30, cr_percent=50.0, reduction_percent=10.0), 99.0),
        widths(pruned(2, 30, cr_percent=40.0, reduction_percent=20.0), 3.0),
    )
    first, side_by_side = alignment_sentences(results)
    assert first.startswith(
        "1 of 2 pruned models have more than half of their layer widths off multiples of 8 "
        "(VGG16_ImageNet_random_PD1_GPR-30_PRUNED), against at most 3 % in the unpruned models"
    )
    assert "round_to=8" in first
    # Energy saved per point of FLOPs CR: 10 / 50 for the unaligned model, 20 / 40 for the other.
    assert side_by_side == (
        "VGG16, batch 8: per point of FLOPs CR, the mostly unaligned pruned models saved 0.20 "
        "points of energy on average and the others 0.50"
    )
    (breaks,) = [s for q, s in findings_by_question(results) if q == BREAKS_QUESTION]
    assert first in breaks


def test_nothing_is_said_where_widths_are_aligned_unknown_or_not_counted():
    aligned = table(
        widths(unpruned(), 3.0),
        widths(pruned(1, 30, cr_percent=50.0, reduction_percent=10.0), 50.0),  # half: not most
    )
    assert alignment_sentences(aligned) == []
    unknown = table(
        widths(unpruned(), None),
        widths(pruned(1, 30, cr_percent=50.0, reduction_percent=10.0), None),
    )
    assert alignment_sentences(unknown) == []
    # The seed tool's CSV has no such column.
    seed_like = table(unpruned(), pruned(1, 30, cr_percent=50.0, reduction_percent=10.0))
    assert alignment_sentences(seed_like.drop(columns=[UNALIGNED_X8])) == []


def test_many_unaligned_models_are_counted_past_the_first_four_and_compared_per_batch_size():
    rows = [widths(unpruned(batch_size=batch), 0.0) for batch in (8, 64)]
    rows += [
        widths(pruned(pd, 30, cr_percent=50.0, reduction_percent=10.0, batch_size=batch), 90.0)
        for pd in (1, 2, 3, 4, 5)
        for batch in (8, 64)
    ]
    first, *rest = alignment_sentences(table(*rows))
    assert first.startswith("5 of 5 pruned models")
    assert "PD4_GPR-30_PRUNED and others)" in first and "PD5" not in first
    assert rest == []  # no aligned pruned model to set them beside
