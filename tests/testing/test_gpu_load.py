"""The GPU load that tests and benchmarks share: built the same on every call, and a neighbour
script that Python can run."""

from __future__ import annotations

import torch

from pytest_pruneenergy.testing.gpu_load import GPU_NEIGHBOUR_SCRIPT, conv_net


def test_the_conv_net_is_the_same_on_every_call_at_its_width():
    first, again = conv_net(8), conv_net(8)
    assert first[0].out_channels == 8 and first[-1].in_features == 8
    pairs = zip(first.parameters(), again.parameters(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
    assert first(torch.randn(2, 3, 16, 16)).shape == (2, 10)


def test_the_neighbour_script_is_python_that_says_ready_once_it_computes():
    compile(GPU_NEIGHBOUR_SCRIPT, "neighbour", "exec")
    assert 'print("ready", flush=True)' in GPU_NEIGHBOUR_SCRIPT
    assert GPU_NEIGHBOUR_SCRIPT.index("ready") < GPU_NEIGHBOUR_SCRIPT.index("while True")
