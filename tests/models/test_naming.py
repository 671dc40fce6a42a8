import pytest

from pytest_pruneenergy.models.naming import format_model_name, parse_model_name, pd_shape


def test_the_seed_tools_pruned_name_parses():
    name = parse_model_name("AlexNet_DATASET_random_PD3_GPR-40_PRUNED_SEED_23")
    assert name is not None
    assert (name.architecture, name.dataset, name.method) == ("AlexNet", "DATASET", "random")
    assert name.pruning_distribution == 3
    assert name.global_pruning_rate_percent == 40
    assert name.seed == 23
    assert not name.is_baseline
    assert not name.fine_tuned


def test_the_seed_tools_unpruned_name_parses():
    name = parse_model_name("VGG16_DATASET_UNPRUNED")
    assert name is not None
    assert name.is_baseline
    assert (name.architecture, name.dataset) == ("VGG16", "DATASET")
    assert name.pruning_distribution is None


def test_fine_tuned_flag_and_missing_seed():
    name = parse_model_name("VGG11_CIFAR10_l1-norm_PD5_GPR-65_PRUNED_FT")
    assert name is not None
    assert name.fine_tuned
    assert name.seed is None
    assert name.method == "l1-norm"


def test_pruned_suffix_is_optional_and_gpr_may_be_fractional():
    name = parse_model_name("VGG11_CIFAR10_random_PD2_GPR-12.5")
    assert name is not None
    assert name.global_pruning_rate_percent == 12.5


def test_dataset_may_contain_underscores():
    name = parse_model_name("AlexNet_Tiny_ImageNet_random_PD1_GPR-10_PRUNED")
    assert name is not None
    assert name.dataset == "Tiny_ImageNet"
    assert name.method == "random"


@pytest.mark.parametrize("stem", ["resnet18", "AlexNet_PD3", "VGG16_UNPRUNED", "a_b_c_PDx_GPR-1"])
def test_names_outside_the_convention_give_none(stem):
    assert parse_model_name(stem) is None


def test_format_round_trips_through_parse():
    stem = format_model_name(
        "VGG16",
        "CIFAR10",
        method="random",
        pruning_distribution=4,
        global_pruning_rate_percent=30,
        seed=7,
    )
    assert stem == "VGG16_CIFAR10_random_PD4_GPR-30_PRUNED_SEED_7"
    name = parse_model_name(stem)
    assert (name.pruning_distribution, name.global_pruning_rate_percent, name.seed) == (4, 30, 7)
    assert format_model_name("VGG16", "CIFAR10") == "VGG16_CIFAR10_UNPRUNED"


def test_format_refuses_an_underscore_in_the_method():
    with pytest.raises(ValueError, match="method 'l1_norm' must not contain '_'"):
        format_model_name(
            "VGG16", "X", method="l1_norm", pruning_distribution=1, global_pruning_rate_percent=1
        )


@pytest.mark.parametrize(
    ("part", "arguments"),
    [("dataset", ("VGG16", "")), ("method", ("VGG16", "X")), ("architecture", (" ", "X"))],
)
def test_format_refuses_an_empty_part_whose_name_would_not_parse(part, arguments):
    # "pruneenergy zoo --dataset ''" wrote AlexNet__UNPRUNED.pth: nothing paired.
    method = "" if part == "method" else "random"
    with pytest.raises(ValueError, match=f"{part} must not be empty: the file name would not"):
        format_model_name(
            *arguments, method=method, pruning_distribution=1, global_pruning_rate_percent=1
        )


def test_pd_shapes_swap_mixed_shapes_between_alexnet_and_vgg():
    assert pd_shape("VGG16", 1) == "uniform"
    assert pd_shape("VGG16", 2) == "bottom-up"
    assert pd_shape("AlexNet", 3) == "top-down"
    assert pd_shape("VGG11", 4) == pd_shape("AlexNet", 5) == "middle-heavy"
    assert pd_shape("VGG11", 5) == pd_shape("AlexNet", 4) == "ends-heavy"
    assert pd_shape("VGG11", 9) is None
