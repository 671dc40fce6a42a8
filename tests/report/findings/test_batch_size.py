import pytest

from pytest_pruneenergy.report.findings.batch_size import (
    batch_effects,
    batch_sentences,
    saturated_from,
)
from pytest_pruneenergy.report.findings.summary import summary_sentences
from pytest_pruneenergy.report.schema import FPS, JOULES_PER_SAMPLE, JOULES_PER_SAMPLE_CI95

from ..tables import pruned, table, unpruned


def sweep(*, saving_at_1: float, saving_at_64: float):
    """VGG16 at batch 1, 8, 16 and 64: energy per sample falls, FPS levels off after 8."""
    return table(
        unpruned(batch_size=1, joules=1.0, ci95=0.01, fps=100.0),
        unpruned(batch_size=8, joules=0.55, ci95=0.01, fps=500.0),
        unpruned(batch_size=16, joules=0.52, ci95=0.01, fps=540.0),
        unpruned(batch_size=64, joules=0.5, ci95=0.01, fps=560.0),
        pruned(1, 50, cr_percent=50, reduction_percent=saving_at_1, batch_size=1, ci95=0.01),
        pruned(1, 50, cr_percent=50, reduction_percent=saving_at_64, batch_size=64, ci95=0.01,
               unpruned_joules=0.5),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("fps", "expected"),
    [
        ([100, 500, 540, 560, 570], 8),  # +8 %, +4 %, +2 % after batch 8
        ([100, 200, 300, 400, 500], None),  # still +25 % at the last step
        ([100, 105, 200, 205, 210], 16),  # a late jump restarts the count
        # an unknown FPS compared as no gain: it read as saturated from batch 32
        ([100, 500, 900, 1300, float("nan")], None),
    ],
)
def test_fps_saturates_from_the_batch_size_after_which_every_step_gains_little(fps, expected):
    assert saturated_from([1, 8, 16, 32, 64], fps) == expected


def test_energy_fps_and_the_saving_across_batch_sizes():
    (effect,) = batch_effects(sweep(saving_at_1=10.0, saving_at_64=30.0))

    assert effect.batch_sizes == (1, 8, 16, 64)
    assert effect.energy_change_percent == pytest.approx(-50.0)
    assert effect.near_lowest_batch == 8  # 0.55 J is within 10 % of 0.5 J
    assert effect.fps_ratio == pytest.approx(5.6)
    assert effect.fps_saturated_from == 8
    assert effect.saving_smallest.value == pytest.approx(10.0)
    assert effect.saving_largest.value == pytest.approx(30.0)


def test_the_sentence_says_pruning_saves_less_at_batch_1_beyond_the_uncertainty():
    (sentence,) = batch_sentences(sweep(saving_at_1=10.0, saving_at_64=30.0))

    assert sentence.startswith(
        "VGG16 (ImageNet), unpruned (VGG16_ImageNet_UNPRUNED): energy per sample falls from "
        "1 ± 0.01 J at batch 1 to 0.5 ± 0.01 J at batch 64 (-50 %), within 10% of its lowest "
        "from batch 8; FPS x5.6 from batch 1 to 64, each larger batch adding less than 10% "
        "from batch 8 on; pruning saves less at batch 1"
    )


def test_an_unknown_fps_or_energy_uncertainty_is_said_not_read_as_a_finding():
    rows = sweep(saving_at_1=10.0, saving_at_64=30.0).to_dict("records")
    rows[2][FPS] = float("nan")  # batch 16's
    rows[0][JOULES_PER_SAMPLE_CI95] = None  # batch 1's
    (effect,) = batch_effects(table(*rows))
    assert (effect.fps_ratio, effect.fps_saturated_from) == (None, None)
    (sentence,) = batch_sentences(table(*rows))
    assert "energy per sample falls (uncertainty unknown) from 1 J at batch 1" in sentence
    assert "; FPS not known at every batch size from 1 to 64; pruning saves" in sentence
    # the saving at batch 1 rests on a reduction whose uncertainty is unknown
    assert sentence.endswith(
        "than at batch 64 (mean 30.0 ± 2.4 %) over the pruned models (uncertainty unknown)"
    )
    # an exact tie is a tie, whatever is known
    rows[3][JOULES_PER_SAMPLE] = rows[0][JOULES_PER_SAMPLE]
    (tied,) = batch_sentences(table(*rows))
    assert "energy per sample does not change beyond its uncertainty from 1 J" in tied
    summary = summary_sentences(table(*rows))[-1]
    assert summary.endswith("; FPS not known at every batch size for VGG16")
    assert "saturates" not in summary


def test_savings_within_their_uncertainty_are_about_as_much():
    (sentence,) = batch_sentences(sweep(saving_at_1=30.0, saving_at_64=30.5))
    assert "pruning saves about as much at batch 1 (mean 30.0 ± 1.2 %) as at batch 64" in sentence


def test_a_mean_over_models_says_how_far_the_models_spread_around_it():
    from ..tables import pruned

    results = sweep(saving_at_1=10.0, saving_at_64=30.0)
    # A second pruned model saving 20 points more at batch 64: SD 14.1 around the mean.
    results.loc[len(results)] = pruned(
        2,
        50,
        cr_percent=50,
        reduction_percent=50.0,
        batch_size=64,
        unpruned_joules=0.5,
        ci95=0.005,
    )
    (effect,) = batch_effects(results)
    assert effect.spread_largest == pytest.approx(14.142, abs=1e-3)
    assert effect.spread_smallest is None  # one model at batch 1: no spread to speak of
    (sentence,) = batch_sentences(results)
    assert "(mean 40.0 ± " in sentence and "%, the models spread SD 14.1 points)" in sentence


def test_a_model_at_one_batch_size_says_nothing_about_batch_size():
    assert batch_effects(table(unpruned())) == []
