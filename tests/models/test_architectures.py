import json

import pytest
import torch
from torch import nn

from pytest_pruneenergy.models.architectures import (
    ArchitectureError,
    build_model,
    pruned_architecture,
    unpruned_architecture,
)

# torchvision's module indices of the conv and linear layers (torchvision.models.alexnet, vgg*).
ALEXNET_WEIGHTED_LAYERS = ["features.0", "features.3", "features.6", "features.8", "features.10"]
ALEXNET_WEIGHTED_LAYERS += ["classifier.1", "classifier.4", "classifier.6"]
VGG16_WEIGHTED_LAYERS = [
    f"features.{index}" for index in (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)
] + ["classifier.0", "classifier.3", "classifier.6"]


def meta_model(architecture: dict) -> nn.Module:
    with torch.device("meta"):
        return build_model(architecture)


def tiny(layout: str, convs: int, **overrides) -> dict:
    architecture = {
        "layout": layout,
        "conv_channels": [2] * convs,
        "hidden_features": [4, 4],
        "num_classes": 3,
    }
    return {**architecture, **overrides}


@pytest.mark.parametrize(
    ("layout", "torchvision_params"),
    [
        ("alexnet", 61_100_840),
        ("vgg11", 132_863_336),
        ("vgg13", 133_047_848),
        ("vgg16", 138_357_544),
        ("vgg19", 143_667_240),
    ],
)
def test_unpruned_1000_class_models_have_torchvisions_parameter_counts(layout, torchvision_params):
    model = meta_model(unpruned_architecture(layout, num_classes=1000))
    assert sum(p.numel() for p in model.parameters()) == torchvision_params


def test_alexnet_state_dict_keys_are_torchvisions():
    model = meta_model(unpruned_architecture("alexnet", num_classes=1000))
    expected = [
        f"{layer}.{kind}" for layer in ALEXNET_WEIGHTED_LAYERS for kind in ("weight", "bias")
    ]
    assert list(model.state_dict()) == expected


def test_vgg16_state_dict_keys_are_torchvisions():
    model = meta_model(unpruned_architecture("vgg16", num_classes=1000))
    expected = [f"{layer}.{kind}" for layer in VGG16_WEIGHTED_LAYERS for kind in ("weight", "bias")]
    assert list(model.state_dict()) == expected


@pytest.mark.parametrize(
    ("family", "pooled", "classifier"),
    [
        # AlexNet drops out before its first two linear layers, VGG after them.
        ("alexnet", (6, 6), "Dropout Linear ReLU Dropout Linear ReLU Linear"),
        ("vgg11", (7, 7), "Linear ReLU Dropout Linear ReLU Dropout Linear"),
    ],
)
def test_each_family_pools_and_drops_out_as_torchvisions(family, pooled, classifier):
    model = meta_model(unpruned_architecture(family, num_classes=1000))
    assert model.avgpool.output_size == pooled
    assert [type(layer).__name__ for layer in model.classifier] == classifier.split()


def test_built_layers_have_the_described_channel_counts():
    architecture = tiny("vgg11", 8, conv_channels=[1, 2, 3, 4, 5, 6, 7, 8], in_channels=1)
    model = meta_model(architecture)
    convs = [layer for layer in model.features if isinstance(layer, nn.Conv2d)]
    assert [conv.in_channels for conv in convs] == [1, 1, 2, 3, 4, 5, 6, 7]
    assert [conv.out_channels for conv in convs] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [linear.out_features for linear in model.classifier[::3]] == [4, 4, 3]


@pytest.mark.parametrize(
    ("layout", "convs", "side_pixels"), [("alexnet", 5, 63), ("vgg16", 13, 32)]
)
def test_a_small_built_model_classifies_a_batch(layout, convs, side_pixels):
    model = build_model(tiny(layout, convs)).eval()
    with torch.no_grad():
        logits = model(torch.randn(2, 3, side_pixels, side_pixels))
    assert logits.shape == (2, 3)


def test_descriptions_survive_a_json_round_trip():
    architecture = pruned_architecture("vgg16", pd=4, gpr_percent=30, num_classes=10)
    assert json.loads(json.dumps(architecture)) == architecture


def test_pruned_alexnet_matches_a_hand_computation():
    # PD2 base (34, 48, 56, 66, 76) at GPR 30 -> trunc(B * 30 / 50) = 20, 28, 33, 39, 45 %;
    # removed round(20 % of 64) = 13, round(28 % of 192) = 54, 127, 100, 115;
    # hidden layers lose round(30 % of 4096) = 1229.
    architecture = pruned_architecture("alexnet", pd=2, gpr_percent=30, num_classes=10)
    assert architecture == {
        "layout": "alexnet",
        "conv_channels": [51, 138, 257, 156, 141],
        "hidden_features": [2867, 2867],
        "num_classes": 10,
        "in_channels": 3,
    }


def test_layer_rates_are_truncated_to_whole_percent_before_use():
    # AlexNet PD2 conv 4 at GPR 30: 66 * 30 / 50 = 39.6 % -> 39 % of 256 = 99.84 -> 100 removed
    # (39.6 % would remove 101).
    architecture = pruned_architecture("alexnet", pd=2, gpr_percent=30, num_classes=10)
    assert architecture["conv_channels"][3] == 256 - 100


@pytest.mark.parametrize(
    ("gpr_percent", "kept_hidden"),
    [
        (901 * 25 / 2048, 4096 - 450),  # removes 450.5 neurons: rounds down to even
        (903 * 25 / 2048, 4096 - 452),  # removes 451.5 neurons: rounds up to even
    ],
)
def test_half_channels_round_to_even_like_torch_prune(gpr_percent, kept_hidden):
    architecture = pruned_architecture("vgg11", pd=1, gpr_percent=gpr_percent, num_classes=10)
    assert architecture["hidden_features"] == [kept_hidden, kept_hidden]


def test_uniform_distribution_at_gpr_50_halves_every_conv_and_hidden_layer():
    architecture = pruned_architecture("vgg16", pd=1, gpr_percent=50, num_classes=10)
    unpruned = unpruned_architecture("vgg16", num_classes=10)
    assert architecture["conv_channels"] == [c // 2 for c in unpruned["conv_channels"]]
    assert architecture["hidden_features"] == [2048, 2048]


def test_the_output_layer_is_never_pruned():
    architecture = pruned_architecture("alexnet", pd=3, gpr_percent=60, num_classes=7)
    assert architecture["num_classes"] == 7


def test_the_seeds_whole_grid_up_to_gpr_65_is_valid():
    for layout in ("alexnet", "vgg11", "vgg16"):
        for pd in range(1, 6):
            for gpr_percent in range(5, 70, 5):
                pruned_architecture(layout, pd, gpr_percent, num_classes=10)


def test_a_rate_of_100_percent_or_more_names_the_layer_that_would_be_emptied():
    # AlexNet PD2 conv 5 at GPR 70: trunc(76 * 70 / 50) = 106 %.
    with pytest.raises(ArchitectureError, match="conv layer 5 would lose all 256 channels"):
        pruned_architecture("alexnet", pd=2, gpr_percent=70, num_classes=10)


def test_a_hidden_layer_rounded_to_no_neurons_is_refused():
    with pytest.raises(ArchitectureError, match="hidden fully-connected layer 1"):
        pruned_architecture("alexnet", pd=1, gpr_percent=99.99, num_classes=10)


@pytest.mark.parametrize("layout", ["vgg13", "vgg19"])
def test_layouts_without_a_pd_table_exist_only_unpruned(layout):
    assert unpruned_architecture(layout, num_classes=10)["layout"] == layout
    with pytest.raises(ArchitectureError, match=f"no pruning distribution table for '{layout}'"):
        pruned_architecture(layout, pd=1, gpr_percent=10, num_classes=10)


@pytest.mark.parametrize("pd", [0, 6, True, "1"])
def test_pruning_distributions_are_pd1_to_pd5(pd):
    with pytest.raises(ArchitectureError, match=r"not one of PD1\.\.PD5"):
        pruned_architecture("alexnet", pd=pd, gpr_percent=10, num_classes=10)


@pytest.mark.parametrize("gpr_percent", [0, -5, float("nan"), float("inf"), "10"])
def test_the_global_pruning_rate_must_be_a_positive_finite_number(gpr_percent):
    with pytest.raises(ArchitectureError, match="global pruning rate"):
        pruned_architecture("alexnet", pd=1, gpr_percent=gpr_percent, num_classes=10)


@pytest.mark.parametrize(
    ("architecture", "message"),
    [
        (["alexnet"], "is a dict, not a list"),
        (tiny("resnet18", 5), "unknown layout 'resnet18'; choose from alexnet, vgg11"),
        (tiny("alexnet", 4), "conv_channels has 4 entries; alexnet needs 5"),
        (tiny("vgg16", 8), "conv_channels has 8 entries; vgg16 needs 13"),
        (tiny("alexnet", 5, hidden_features=[4]), "hidden_features has 1 entries"),
        (tiny("alexnet", 5, conv_channels=[2, 2, 0, 2, 2]), r"conv_channels\[2\] must be a pos"),
        (tiny("alexnet", 5, conv_channels=[2, 2, 2.0, 2, 2]), r"conv_channels\[2\] must be a pos"),
        (tiny("alexnet", 5, num_classes=True), "num_classes must be a positive int, got True"),
        (tiny("alexnet", 5, in_channels=-3), "in_channels must be a positive int, got -3"),
        (tiny("alexnet", 5, hidden_features="4,4"), "hidden_features must be a list of ints"),
        (tiny("alexnet", 5, conv_channel=[2] * 5), "unknown key.*'conv_channel'"),
        ({"layout": "alexnet", "num_classes": 3}, "lacks conv_channels, hidden_features"),
    ],
)
def test_invalid_descriptions_say_what_is_wrong(architecture, message):
    with pytest.raises(ArchitectureError, match=message):
        build_model(architecture)


def test_random_weights_drawn_on_the_device_repeat_with_the_seed_and_look_like_torchvision():
    from pytest_pruneenergy.models.architectures import build_model_on

    # VGG11's layout and initialisation, at a sixteenth of its widths: 0.4 M classifier weights,
    # so the standard deviation below is estimated to within 0.2 %.
    architecture = {
        **unpruned_architecture("vgg11", num_classes=10),
        "conv_channels": [4, 8, 16, 16, 32, 32, 32, 32],
        "hidden_features": [256, 256],
    }
    first = build_model_on(architecture, "cpu", seed=3).state_dict()
    again = build_model_on(architecture, "cpu", seed=3).state_dict()
    other = build_model_on(architecture, "cpu", seed=4).state_dict()
    assert all(torch.equal(first[name], again[name]) for name in first)
    assert not all(torch.equal(first[name], other[name]) for name in first)
    classifier = [name for name in first if name.startswith("classifier") and "weight" in name]
    # torchvision's VGG initialisation: linear weights N(0, 0.01), biases 0.
    assert float(first[classifier[0]].std()) == pytest.approx(0.01, rel=0.05)
    assert float(first[classifier[0].replace("weight", "bias")].abs().max()) == 0.0
