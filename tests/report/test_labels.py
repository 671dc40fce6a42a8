"""Long model names cut to a width, keeping the part that tells them apart."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pytest_pruneenergy.report.labels import shorten_end, shorten_middle, shorten_names


def test_shorten_middle_keeps_short_text() -> None:
    assert shorten_middle("AlexNet", 10) == "AlexNet"


def test_shorten_middle_fits_the_width() -> None:
    assert shorten_middle("abcdefghijkl", 7) == "abc…jkl"


def test_shorten_end_marks_the_cut() -> None:
    assert shorten_end("abcdefghijkl", 7) == "abcdef…"


def test_the_shared_parts_go_first_and_the_differing_method_stays() -> None:
    labels = shorten_names(
        [
            "RESNET18_CIFAR10_l1-normed_PD1_GPR-30_PRUNED",
            "RESNET18_CIFAR10_random_PD1_GPR-30_PRUNED",
        ],
        40,
    )
    assert labels == {
        "RESNET18_CIFAR10_l1-normed_PD1_GPR-30_PRUNED": "RESNET18…l1-normed_PD1_GPR-30_PRUNED",
        "RESNET18_CIFAR10_random_PD1_GPR-30_PRUNED": "RESNET18…random_PD1_GPR-30_PRUNED",
    }


def test_names_that_fit_are_left_alone() -> None:
    names = ["AlexNet_TINY_UNPRUNED", "AlexNet_TINY_random_PD1_GPR-50_PRUNED"]
    assert shorten_names(names, 40) == {name: name for name in names}


def test_parts_shared_within_an_architecture_go_when_others_differ() -> None:
    names = [
        "AlexNet_TINY_random_PD3_GPR-50_PRUNED_SEED_1",
        "AlexNet_TINY_UNPRUNED",
        "VGG16_CIFAR10_UNPRUNED",
    ]
    assert shorten_names(names, 40)[names[0]] == "AlexNet…random_PD3_GPR-50_PRUNED_SEED_1"


NAMES = st.lists(
    st.text(alphabet="ab_-1", min_size=1, max_size=60), min_size=1, max_size=8, unique=True
)


@given(names=NAMES, width=st.integers(3, 50))
def test_every_label_fits_and_names_that_fit_stay_whole(names: list[str], width: int) -> None:
    labels = shorten_names(names, width)
    assert set(labels) == set(names)
    assert all(len(label) <= width for label in labels.values())
    fitting = [name for name in names if len(name) <= width]
    assert all(labels[name] == name for name in fitting)
