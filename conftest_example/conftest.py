"""Teach pytest-pruneenergy to load your own pruned models.

Your pruning code saves bare state_dicts (``torch.save(model.state_dict(), path)``). Such a file
holds tensors but not the architecture, so the plugin cannot build the model on its own: the
load hook below builds it. Files of other architectures fall through to the built-in loader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from pytest_pruneenergy.models.loading import LoadedModel, ModelLoadError

ARCHITECTURE = "TinyResNet"  # the ARCH part of the file names this hook loads
INPUT_SHAPE = (3, 32, 32)  # C, H, W of one sample; --prune-input-shape still overrides it
INPUT_SEED = 0


class BasicBlock(nn.Module):
    """conv-bn-relu-conv-bn plus the identity. Pruning removes ``mid_channels`` only: the
    block's output width is tied to its input by the residual addition."""

    def __init__(self, channels: int, mid_channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, mid_channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid_channels)
        self.conv2 = nn.Conv2d(mid_channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(x + self.bn2(self.conv2(out)))


class TinyResNet(nn.Module):
    def __init__(self, mid_channels: tuple[int, int] = (32, 64), num_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU()
        )
        self.block1 = BasicBlock(32, mid_channels[0])
        self.down = nn.Sequential(
            nn.Conv2d(32, 64, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU()
        )
        self.block2 = BasicBlock(64, mid_channels[1])
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.block2(self.down(self.block1(self.stem(x)))))

    @classmethod
    def from_state_dict(cls, state_dict: dict[str, torch.Tensor]) -> TinyResNet:
        """The kept channel counts of a pruned model are the shapes of its weights."""
        mid_channels = (
            state_dict["block1.conv1.weight"].shape[0],
            state_dict["block2.conv1.weight"].shape[0],
        )
        model = cls(mid_channels, num_classes=state_dict["head.2.weight"].shape[0])
        model.load_state_dict(state_dict)
        return model


# optionalhook: this conftest still loads when the plugin is disabled (-p no:pruneenergy).
@pytest.hookimpl(optionalhook=True)
def pytest_pruneenergy_load_model(path: Path, allow_pickle: bool) -> LoadedModel | None:
    if path.stem.split("_")[0].casefold() != ARCHITECTURE.casefold():
        return None  # not ours: the next implementation (the built-in loader) tries it
    try:
        # weights_only: a state_dict needs no code from the file.
        state_dict = torch.load(path, map_location="cpu", weights_only=True)
        model = TinyResNet.from_state_dict(state_dict)
    except Exception as error:
        # ModelLoadError: the item fails with this one line instead of a traceback.
        raise ModelLoadError(
            f"{path}: not a {ARCHITECTURE} state_dict ({type(error).__name__}: {error})"
        ) from error
    model = model.to(memory_format=torch.channels_last)
    return LoadedModel(module=model, file_format="state_dict", input_shape=INPUT_SHAPE)


@pytest.hookimpl(optionalhook=True)
def pytest_pruneenergy_make_input(
    model: Any, batch_size: int, input_shape: tuple[int, ...], device: str
) -> torch.Tensor:
    """The same input for every model and run (the default draws fresh noise each time)."""
    generator = torch.Generator(device=device).manual_seed(INPUT_SEED)
    batch = torch.randn((batch_size, *input_shape), generator=generator, device=device)
    if isinstance(model, TinyResNet):  # converted to channels-last by the load hook
        batch = batch.contiguous(memory_format=torch.channels_last)
    return batch
