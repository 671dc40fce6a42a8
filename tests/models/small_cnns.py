"""Small CNNs with the structures real ones have: residual additions, depthwise convolutions,
batch norms. Registered as the architecture source "tests", as torchvision's would be."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from pytest_pruneenergy.models.referenced import register_builder


class Residual(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(x + self.bn2(self.conv2(y)))


class TinyResNet(nn.Module):
    def __init__(self, num_classes: int = 10, width: int = 16) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(width)
        self.block1 = Residual(width)
        self.block2 = Residual(width)
        self.head = nn.Conv2d(width, 2 * width, 1)
        self.fc = nn.Linear(2 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn(self.stem(x)))
        x = self.block2(self.block1(x))
        x = torch.relu(self.head(x)).mean(dim=(2, 3))
        return self.fc(x)


class TinyMobileNet(nn.Module):
    """Pointwise expansion, depthwise convolution, pointwise projection (MobileNetV2's block)."""

    def __init__(self, num_classes: int = 10, width: int = 8) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, width, 3, padding=1)
        self.expand = nn.Conv2d(width, 4 * width, 1)
        self.depthwise = nn.Conv2d(4 * width, 4 * width, 3, padding=1, groups=4 * width)
        self.project = nn.Conv2d(4 * width, width, 1)
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.stem(x))
        x = x + self.project(torch.relu(self.depthwise(torch.relu(self.expand(x)))))
        return self.fc(x.mean(dim=(2, 3)))


_MODELS = {"tiny_resnet": TinyResNet, "tiny_mobilenet": TinyMobileNet}


def build(name: str, kwargs: dict[str, Any]) -> nn.Module:
    return _MODELS[name](**kwargs)


register_builder("tests", build)
