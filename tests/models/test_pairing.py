"""One rule pairs a model with its baseline, wherever a baseline is needed."""

from __future__ import annotations

from pathlib import Path

from pytest_pruneenergy.models.discovery import ModelEntry
from pytest_pruneenergy.models.naming import parse_model_name
from pytest_pruneenergy.models.pairing import baselines_of, family_key, family_label


def entry(stem: str) -> ModelEntry:
    return ModelEntry(Path(f"{stem}.pth"), parse_model_name(stem), None)


def test_the_family_is_architecture_and_dataset_ignoring_case():
    pruned = parse_model_name("alexnet_cifar10_random_PD1_GPR-10_PRUNED")
    baseline = parse_model_name("AlexNet_CIFAR10_UNPRUNED")
    other_dataset = parse_model_name("AlexNet_ImageNet_UNPRUNED")
    assert family_key(pruned) == family_key(baseline) == ("alexnet", "cifar10")
    assert family_key(pruned) != family_key(other_dataset)
    assert family_key(None) is None


def test_a_baseline_and_its_pruned_models_form_one_family():
    pruned = entry("VGG16_CIFAR10_random_PD3_GPR-40_PRUNED_SEED_23")
    assert pruned.family == entry("VGG16_CIFAR10_UNPRUNED").family == "vgg16_cifar10"
    # Paired with its baseline case-insensitively, so grouped the same way.
    assert entry("vgg16_cifar10_random_PD1_GPR-20_PRUNED").family == pruned.family
    assert entry("VGG16_IMAGENET_UNPRUNED").family != pruned.family
    assert ModelEntry(Path("my model.pth"), None, None).family == "my model"
    stem = "VGG16_CIFAR10_random_PD3_GPR-40_PRUNED_SEED_23"
    assert family_label(parse_model_name(stem), stem) == pruned.family


def pair(*items: tuple[str, int]) -> list[str | None]:
    """Each (stem, batch size)'s baseline stem."""
    baselines = baselines_of(
        items,
        name_of=lambda item: parse_model_name(item[0]),
        stem_of=lambda item: item[0],
        setting_of=lambda item: item[1],
    )
    return [None if baseline is None else baseline[0] for baseline in baselines]


def test_a_model_is_paired_in_its_family_at_its_own_batch_size():
    assert pair(
        ("AlexNet_CIFAR10_random_PD1_GPR-10_PRUNED", 8),
        ("AlexNet_CIFAR10_UNPRUNED", 1),
        ("AlexNet_CIFAR10_UNPRUNED", 8),
        ("AlexNet_IMAGENET_random_PD1_GPR-10_PRUNED", 8),
        ("my_model", 8),
    ) == [
        "AlexNet_CIFAR10_UNPRUNED",
        "AlexNet_CIFAR10_UNPRUNED",
        "AlexNet_CIFAR10_UNPRUNED",
        None,  # no ImageNet baseline, and never the CIFAR10 one
        None,  # an unparsed name has none
    ]
    assert pair(
        ("AlexNet_CIFAR10_random_PD1_GPR-10_PRUNED", 4), ("AlexNet_CIFAR10_UNPRUNED", 8)
    ) == [
        None,
        "AlexNet_CIFAR10_UNPRUNED",
    ]


def test_of_two_baselines_the_first_by_name_is_chosen_and_each_is_its_own():
    assert pair(
        ("alexnet_cifar10_UNPRUNED", 1),
        ("AlexNet_CIFAR10_random_PD1_GPR-10_PRUNED", 1),
        ("AlexNet_CIFAR10_UNPRUNED", 1),
    ) == ["alexnet_cifar10_UNPRUNED", "AlexNet_CIFAR10_UNPRUNED", "AlexNet_CIFAR10_UNPRUNED"]
