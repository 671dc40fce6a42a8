"""Work for tests and benchmarks on a real GPU: a small conv net that keeps a GPU busy, and the
script of a neighbour process that computes on the same GPU until it is killed (what the
plugin's contention checks must see)."""

from __future__ import annotations

from typing import Any

# Run as ``python -c``: matrix products back to back on cuda:0; prints "ready" once they run.
GPU_NEIGHBOUR_SCRIPT = """
import torch
a = torch.randn(4096, 4096, device="cuda:0")
b = a @ a
torch.cuda.synchronize()
print("ready", flush=True)
while True:
    b = a @ a
"""


def conv_net(width: int = 64) -> Any:
    """Two 3x3 convolutions of ``width`` channels and a linear head, the same weights on every
    call: enough work per pass to keep a GPU busy, quick to build."""
    import torch

    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, width, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(width, width, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(width, 10),
    )
