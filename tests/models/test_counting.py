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


SMALL_CONVNET_COUNTS = ModelCounts(
    params=8 * (3 * 9 + 1) + 5 * (8 * 36 + 1),
    macs=8 * 3 * 9 * 6 * 6 + 5 * 8 * 36,  # out channels x in channels x kernel x output pixels
)


@pytest.mark.parametrize(
    ("layout", "torchvision_counts"),
    [
        ("alexnet", ModelCounts(params=61_100_840, macs=714_188_480)),
        ("vgg11", ModelCounts(params=132_863_336, macs=7_609_090_048)),
        ("vgg16", ModelCounts(params=138_357_544, macs=15_470_264_320)),
    ],
)
def test_unpruned_models_give_torchvisions_published_counts(layout, torchvision_counts):
    architecture = unpruned_architecture(layout, num_classes=1000)
    assert count_architecture(architecture, IMAGENET_SHAPE) == torchvision_counts


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
    assert count_architecture(architecture, IMAGENET_SHAPE) == ModelCounts(params, macs)


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
    assert count_model(scripted, (3, 8, 8)) == SMALL_CONVNET_COUNTS


def test_modules_that_read_tensor_values_fall_back_to_a_real_pass():
    assert count_model(BranchesOnValues(), (4,)) == ModelCounts(params=15, macs=12)


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
