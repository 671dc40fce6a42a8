"""Zero weights: counted from the parameters, one figure for every format of a model, and
none (blank) where it cannot be known."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize, prune

from pytest_pruneenergy.items.numerics import zero_weight_percent
from pytest_pruneenergy.models.architectures import build_model
from pytest_pruneenergy.models.loading import load_model_file, save_described_model
from pytest_pruneenergy.models.referenced import save_referenced_model

from ..conftest import TINY_INPUT_SHAPE, tiny_alexnet
from ..models import small_cnns

ZEROED_FRACTION = 0.6
RESNET = {"source": "tests", "name": "tiny_resnet", "kwargs": {"num_classes": 10}}
RESNET_SHAPE = (3, 16, 16)


def masked(module: nn.Module) -> nn.Module:
    """``module`` with the first 60 % of each convolution's and linear layer's weights zeroed, as
    a mask leaves them; biases and batch-norm scales zeroed too, which are no weights."""
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                flat = layer.weight.view(-1)
                flat[: int(ZEROED_FRACTION * flat.numel())] = 0
            if isinstance(layer, (nn.Conv2d, nn.Linear, nn.BatchNorm2d)) and layer.bias is not None:
                layer.bias.zero_()
    return module.eval()


def conv_and_linear_zero_percent(module: nn.Module) -> float:
    """What the seed's formats (pickles) were counted as: convolutions and linear layers."""
    weights = [m.weight for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    return 100.0 * sum(int((w == 0).sum()) for w in weights) / sum(w.numel() for w in weights)


def scripted(module: nn.Module, path: Path, example: torch.Tensor) -> None:
    torch.jit.save(torch.jit.script(module), path)


def traced(module: nn.Module, path: Path, example: torch.Tensor) -> None:
    torch.jit.save(torch.jit.trace(module, example), path)


def pickled(module: nn.Module, path: Path, example: torch.Tensor) -> None:
    torch.save(module, path)


WRITERS: dict[str, Callable[[nn.Module, Path, torch.Tensor], None]] = {
    "scripted": scripted,
    "traced": traced,
    "pickled": pickled,
}


def loaded_zero_percent(path: Path) -> float | None:
    return zero_weight_percent(load_model_file(path, allow_pickle=True).module)


@pytest.mark.parametrize("write", WRITERS.values(), ids=WRITERS.keys())
def test_a_masked_alexnet_reads_as_many_zeros_in_any_format_as_described(tmp_path, write):
    module = masked(build_model(tiny_alexnet()))
    described = tmp_path / "described.pth"
    save_described_model(
        described, tiny_alexnet(), input_shape=TINY_INPUT_SHAPE, state_dict=module.state_dict()
    )
    other = tmp_path / "other.pt"
    write(module, other, torch.randn(1, *TINY_INPUT_SHAPE))
    expected = conv_and_linear_zero_percent(module)
    assert expected == pytest.approx(100 * ZEROED_FRACTION, abs=1)
    assert loaded_zero_percent(other) == loaded_zero_percent(described) == expected


@pytest.mark.parametrize("write", WRITERS.values(), ids=WRITERS.keys())
def test_a_masked_resnet_reads_as_many_zeros_in_any_format_as_referenced(tmp_path, write):
    module = masked(small_cnns.build(RESNET["name"], RESNET["kwargs"]))
    referenced = tmp_path / "referenced.pth"
    save_referenced_model(referenced, module, RESNET, input_shape=RESNET_SHAPE, with_weights=True)
    other = tmp_path / "other.pt"
    write(module, other, torch.randn(1, *RESNET_SHAPE))
    expected = conv_and_linear_zero_percent(module)
    assert loaded_zero_percent(other) == loaded_zero_percent(referenced) == expected


def test_biases_and_normalisation_scales_are_no_weights():
    module = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.LayerNorm(4))
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            parameter.fill_(0.0 if not name.startswith("0.weight") else 1.0)
    assert zero_weight_percent(module) == 0.0


def test_every_layer_kind_with_a_weight_matrix_or_kernel_counts():
    module = nn.Sequential(nn.Embedding(10, 4), nn.Conv1d(4, 4, 1), nn.Linear(4, 4))
    with torch.no_grad():
        module[0].weight.zero_()  # 40 of the 40 + 16 + 16 weights
    assert zero_weight_percent(module) == pytest.approx(100 * 40 / 72)


def test_a_weight_two_layers_share_counts_once():
    shared = nn.Linear(4, 4, bias=False)
    with torch.no_grad():
        shared.weight.zero_()
    module = nn.Sequential(shared, nn.Linear(4, 12, bias=False), shared)
    with torch.no_grad():
        module[1].weight.fill_(1.0)
    assert zero_weight_percent(module) == pytest.approx(100 * 16 / 64)


def l1_masked_linear() -> nn.Module:
    module = nn.Sequential(nn.Linear(8, 8))
    prune.l1_unstructured(module[0], "weight", amount=0.5)
    return module


@pytest.mark.parametrize(
    "as_run",
    [lambda m: m, lambda m: torch.jit.trace(m, torch.randn(1, 8))],
    ids=["eager", "traced"],
)
def test_a_mask_torch_prune_left_on_counts_its_zeros(as_run):
    assert zero_weight_percent(as_run(l1_masked_linear())) == 50.0


@pytest.mark.parametrize(
    "module",
    [nn.Sequential(nn.ReLU(), nn.Flatten()), nn.BatchNorm1d(4)],
    ids=["no parameters", "no weight matrix"],
)
def test_a_model_without_weights_has_no_figure(module):
    assert zero_weight_percent(module) is None


def test_weights_on_the_meta_device_have_no_figure():
    with torch.device("meta"):
        module = nn.Linear(4, 4)
    assert zero_weight_percent(module) is None


def test_weights_not_yet_initialised_have_no_figure():
    assert zero_weight_percent(nn.Sequential(nn.LazyLinear(4))) is None


class Doubled(nn.Module):
    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return 2 * weight


def test_a_parametrised_weight_counts_eagerly_and_has_no_figure_once_traced():
    module = nn.Sequential(nn.Linear(4, 4, bias=False))
    with torch.no_grad():
        module[0].weight[:2] = 0
    parametrize.register_parametrization(module[0], "weight", Doubled())
    assert zero_weight_percent(module) == 50.0
    assert zero_weight_percent(torch.jit.trace(module, torch.randn(1, 4))) is None


def test_quantized_layers_packed_weights_have_no_figure():
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4))
    quantized = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    assert zero_weight_percent(quantized) is None


def test_the_share_of_unaligned_widths_counts_each_weights_output_and_input_width():
    import torch

    from pytest_pruneenergy.items.numerics import unaligned_width_percent

    # Widths (out, in): conv 61x3, conv 64x61, linear 10x64: 61, 3, 61, 10 are no multiple of
    # 8 (4 of 6); of 64, the same four.
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 61, 3),
        torch.nn.Conv2d(61, 64, 3),
        torch.nn.Flatten(),
        torch.nn.Linear(64, 10),
    )
    shares = unaligned_width_percent(model)
    assert shares == pytest.approx({8: 400 / 6, 16: 400 / 6, 64: 400 / 6})
    # TorchScript and weights on the meta device give the same: shapes are enough.
    assert unaligned_width_percent(torch.jit.script(model)) == shares
    with torch.device("meta"):
        assert unaligned_width_percent(torch.nn.Linear(24, 16)) == {8: 0.0, 16: 50.0, 64: 100.0}
    assert unaligned_width_percent(torch.nn.ReLU()) is None  # no weight matrix: unknown, not 0
