import pytest
import torch
from torch import nn

from pytest_pruneenergy.models.architectures import pruned_architecture, unpruned_architecture
from pytest_pruneenergy.models.counting import ModelCounts, count_architecture, count_model

IMAGENET_SHAPE = (3, 224, 224)


class RecordsForwardCalls(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 3)
        self.input_devices: list[str] = []
        self.training_flags: list[bool] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.input_devices.append(x.device.type)
        self.training_flags.append(self.training)
        return self.linear(x)


class BranchesOnValues(nn.Module):
    """Reads a tensor value, which a meta tensor does not have."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:
            x = -x
        return self.linear(x)


def small_convnet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, kernel_size=3),
        nn.ReLU(),
        nn.Dropout(),
        nn.Flatten(),
        nn.Linear(8 * 6 * 6, 5),
    )


SMALL_CONVNET_MACS = 8 * 3 * 9 * 6 * 6 + 5 * 8 * 36  # out x in channels x kernel x output pixels
SMALL_CONVNET_COUNTS = ModelCounts(
    params=8 * (3 * 9 + 1) + 5 * (8 * 36 + 1),
    macs=SMALL_CONVNET_MACS,
    fvcore_flops=SMALL_CONVNET_MACS,  # nothing but multiply-adds
)


@pytest.mark.parametrize(
    ("layout", "params", "macs", "pooled_elements"),
    [
        ("alexnet", 61_100_840, 714_188_480, 256 * 6 * 6),
        ("vgg11", 132_863_336, 7_609_090_048, 512 * 7 * 7),
        ("vgg16", 138_357_544, 15_470_264_320, 512 * 7 * 7),
    ],
)
def test_unpruned_models_give_torchvisions_published_counts(layout, params, macs, pooled_elements):
    architecture = unpruned_architecture(layout, num_classes=1000)
    # fvcore adds the adaptive average pool's input elements to the multiply-adds.
    expected = ModelCounts(params, macs, fvcore_flops=macs + pooled_elements)
    assert count_architecture(architecture, IMAGENET_SHAPE) == expected


def test_pruned_alexnet_counts_match_a_hand_computation():
    architecture = pruned_architecture("alexnet", pd=2, gpr_percent=30, num_classes=1000)
    c1, c2, c3, c4, c5 = architecture["conv_channels"]  # 51, 138, 257, 156, 141
    h1, h2 = architecture["hidden_features"]  # 2867, 2867
    # Feature maps at 224x224: 55x55 after conv1, 27x27 after conv2, 13x13 for conv3-5, 6x6 out.
    macs = (
        c1 * 3 * 11 * 11 * 55 * 55
        + c2 * c1 * 5 * 5 * 27 * 27
        + (c3 * c2 + c4 * c3 + c5 * c4) * 3 * 3 * 13 * 13
        + h1 * c5 * 6 * 6
        + h2 * h1
        + 1000 * h2
    )
    params = (
        c1 * (3 * 11 * 11 + 1)
        + c2 * (c1 * 5 * 5 + 1)
        + c3 * (c2 * 9 + 1)
        + c4 * (c3 * 9 + 1)
        + c5 * (c4 * 9 + 1)
        + h1 * (c5 * 36 + 1)
        + h2 * (h1 + 1)
        + 1000 * (h2 + 1)
    )
    assert count_architecture(architecture, IMAGENET_SHAPE) == ModelCounts(
        params, macs, fvcore_flops=macs + c5 * 6 * 6
    )


def test_fvcore_counts_the_pools_input_elements_not_its_output():
    # At 64x64 AlexNet's last feature map is 1x1, which the pool spreads to 6x6: fvcore counts
    # the 1x1 input (as its rule for adaptive_avg_pool2d says), not the 6x6 output.
    architecture = pruned_architecture("alexnet", pd=3, gpr_percent=40, num_classes=10)
    counts = count_architecture(architecture, (3, 64, 64))
    assert counts.fvcore_flops - counts.macs == architecture["conv_channels"][-1] * 1 * 1


def test_fvcore_counts_norm_layers_and_upsampling_by_its_rules():
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3),  # 4 x 6 x 6 = 144 elements from here on
        nn.BatchNorm2d(4),  # eval, affine: 2 per element
        nn.GroupNorm(2, 4),  # affine: 5 per element
        nn.InstanceNorm2d(4),  # no affine weight: 4 per element
        nn.LayerNorm([4, 6, 6], elementwise_affine=False),  # 4 per element
        nn.Upsample(scale_factor=2, mode="bilinear"),  # 4 per output element (576)
        nn.Upsample(scale_factor=2),  # nearest: 1 per output element (2304)
        nn.AdaptiveAvgPool2d(1),  # 1 per input element (2304)
        nn.Flatten(),
        nn.Linear(4, 2),
    )
    counts = count_model(model, (3, 8, 8))
    elements = 144 * (2 + 5 + 4 + 4) + 4 * 576 + 2304 + 2304
    assert counts.fvcore_flops == counts.macs + elements


def test_fvcore_counts_a_training_batch_norm_like_the_other_norms():
    from pytest_pruneenergy.models.counting import fvcore_element_flops

    data = torch.zeros(1, 4, 2, 2)
    arguments = (data, None, None, torch.ones(4), None, True)
    assert fvcore_element_flops(nn.functional.batch_norm, arguments, data) == 5 * 16
    assert fvcore_element_flops(nn.functional.relu, (data,), data) == 0


def test_a_multiply_add_is_one_mac_and_two_flops_and_biases_are_not_counted():
    counts = count_model(nn.Linear(4, 3), (4,))
    assert (counts.params, counts.macs, counts.flops) == (4 * 3 + 3, 4 * 3, 2 * 4 * 3)


def test_counts_are_per_sample_of_the_given_input_shape():
    assert count_model(small_convnet(), (3, 8, 8)) == SMALL_CONVNET_COUNTS


def test_the_forward_pass_runs_on_the_meta_device_and_leaves_the_weights_alone():
    module = RecordsForwardCalls()
    weight_before = module.linear.weight.detach().clone()
    count_model(module, (4,))
    assert module.input_devices == ["meta"]
    assert module.linear.weight.device.type == "cpu"
    assert torch.equal(module.linear.weight, weight_before)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_torchscript_modules_are_counted_with_a_real_batch_of_one():
    scripted = torch.jit.script(small_convnet())
    # fvcore's element-wise operations are counted at functions a script does not call: unknown.
    assert count_model(scripted, (3, 8, 8)) == ModelCounts(
        SMALL_CONVNET_COUNTS.params, SMALL_CONVNET_COUNTS.macs, fvcore_flops=None
    )


def test_modules_that_read_tensor_values_fall_back_to_a_real_pass():
    assert count_model(BranchesOnValues(), (4,)) == ModelCounts(params=15, macs=12, fvcore_flops=12)


def test_models_are_counted_in_eval_mode():
    module = RecordsForwardCalls().train()
    count_model(module, (4,))
    assert module.training_flags == [False]


def test_counting_restores_train_mode():
    module = small_convnet().train()
    count_model(module, (3, 8, 8))
    assert all(submodule.training for submodule in module.modules())


def test_an_input_shape_the_model_cannot_take_raises():
    with pytest.raises(RuntimeError):
        count_model(small_convnet(), (1, 8, 8))


def test_a_description_is_counted_like_the_model_it_builds():
    from pytest_pruneenergy.models.counting import count_description
    from pytest_pruneenergy.models.loading import Description

    architecture = pruned_architecture("vgg11", pd=2, gpr_percent=30, num_classes=10)
    description = Description(architecture, (3, 32, 32), state_dict=None)
    assert count_description(description) == count_architecture(architecture, (3, 32, 32))
    assert count_description(description, (3, 64, 64)) == count_architecture(
        architecture, (3, 64, 64)
    )


def test_a_description_that_builds_nothing_or_whose_weights_do_not_fit_counts_as_none():
    from pytest_pruneenergy.models.counting import count_description
    from pytest_pruneenergy.models.loading import Description

    architecture = unpruned_architecture("alexnet", num_classes=10)
    assert count_description(Description({"layout": "resnet"}, (3, 64, 64), None)) is None
    wrong_weights = {"features.0.weight": torch.empty(1, device="meta")}
    assert count_description(Description(architecture, (3, 64, 64), wrong_weights)) is None
