"""Referenced models: any architecture, pruned or not, saved and loaded without code."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pytest_pruneenergy.models.loading import ModelLoadError, load_model_file
from pytest_pruneenergy.models.referenced import ReferenceProblem, rebuild, save_referenced_model
from pytest_pruneenergy.models.torch_pruning_zoo import prune

from . import small_cnns

RESNET = {"source": "tests", "name": "tiny_resnet", "kwargs": {"num_classes": 10}}
MOBILENET = {"source": "tests", "name": "tiny_mobilenet", "kwargs": {}}
SHAPE = (3, 16, 16)


def pruned(reference: dict, **options) -> torch.nn.Module:
    module = small_cnns.build(reference["name"], reference["kwargs"]).eval()
    return prune(module, torch.zeros((1, *SHAPE)), pd=3, gpr_percent=40, **options)


@pytest.mark.parametrize("reference", [RESNET, MOBILENET], ids=["residual", "depthwise"])
def test_a_pruned_model_comes_back_with_its_weights_and_outputs(tmp_path: Path, reference) -> None:
    module = pruned(reference)
    path = tmp_path / "model.pth"
    save_referenced_model(path, module, reference, input_shape=SHAPE, with_weights=True)
    loaded = load_model_file(path, allow_pickle=False)
    assert loaded.file_format == "referenced" and loaded.input_shape == SHAPE
    example = torch.randn((2, *SHAPE))
    with torch.no_grad():
        assert torch.allclose(loaded.module(example), module(example), atol=1e-6)


def test_without_weights_the_shapes_come_back_with_random_weights(tmp_path: Path) -> None:
    module = pruned(MOBILENET)
    path = tmp_path / "model.pth"
    save_referenced_model(path, module, MOBILENET, input_shape=SHAPE)
    loaded = load_model_file(path, allow_pickle=False).module
    shapes = {name: tensor.shape for name, tensor in loaded.state_dict().items()}
    assert shapes == {name: tensor.shape for name, tensor in module.state_dict().items()}
    depthwise = loaded.depthwise
    assert depthwise.groups == depthwise.in_channels == depthwise.out_channels < 32


def test_the_file_holds_no_code(tmp_path: Path) -> None:
    path = tmp_path / "model.pth"
    save_referenced_model(path, pruned(RESNET), RESNET, input_shape=SHAPE)
    payload = torch.load(path, weights_only=True)  # refuses anything that is not plain data
    assert payload["architecture"] == RESNET


def test_an_unknown_source_or_model_says_which(tmp_path: Path) -> None:
    path = tmp_path / "model.pth"
    save_referenced_model(path, pruned(RESNET), {**RESNET, "source": "nowhere"}, input_shape=SHAPE)
    with pytest.raises(ModelLoadError, match=r"unknown architecture source 'nowhere' \(known:"):
        load_model_file(path, allow_pickle=False)
    with pytest.raises(ReferenceProblem, match="tests cannot build 'tiny_vit'"):
        rebuild({**RESNET, "name": "tiny_vit"}, {}, device="cpu")


def test_shapes_that_do_not_fit_the_architecture_are_refused() -> None:
    with pytest.raises(ReferenceProblem, match="tensors and the file's differ"):
        rebuild(RESNET, {"stem.weight": [16, 3, 3, 3]}, device="cpu")
