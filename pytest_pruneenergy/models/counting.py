"""Parameters and multiply-accumulates (MACs) of a model, per sample, without real compute.

MACs come from ``torch.utils.flop_counter.FlopCounterMode`` on a batch of one. It counts a
multiply-add of a convolution or a matrix product as 2 FLOPs and leaves bias additions,
activations and pooling out, which is the convention of torchvision's published "GFLOPS"
(really GMACs); so MACs = counted FLOPs // 2, and ``ModelCounts.flops`` = 2 x MACs.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .architectures import build_model


@dataclass(frozen=True)
class ModelCounts:
    """Per sample (batch of one). FLOPs = 2 x MACs: one multiply-add counts as two FLOPs."""

    params: int
    macs: int

    @property
    def flops(self) -> int:
        return 2 * self.macs


def count_model(module: nn.Module, input_shape: tuple[int, ...]) -> ModelCounts:
    """Parameters and per-sample MACs of ``module`` for inputs of ``input_shape`` (no batch dim).

    The forward pass runs on the meta device: parameters and buffers are swapped for meta
    tensors of the same shapes (``torch.func.functional_call``), so no weights are copied and
    nothing is computed, even for a full-size VGG. Modules that cannot run on meta (TorchScript
    modules, forwards that read tensor values or hold unregistered tensors) are counted instead
    with one real forward pass of a batch of one on their own device, under ``torch.no_grad``.
    Either way the module is counted in eval mode and left in the mode it was in.
    """
    params = sum(parameter.numel() for parameter in module.parameters())
    with _eval_mode(module):
        if isinstance(module, torch.jit.ScriptModule):
            macs = _macs_on_own_device(module, input_shape)
        else:
            try:
                macs = _macs_on_meta(module, input_shape)
            except Exception:
                # Meta kernels refuse data-dependent ops and device mixes; a real pass still works
                # and raises the user's actual error if the input shape is wrong.
                macs = _macs_on_own_device(module, input_shape)
    return ModelCounts(params=params, macs=macs)


def count_architecture(architecture: dict[str, Any], input_shape: tuple[int, ...]) -> ModelCounts:
    """Counts of the model an architecture description builds, built on the meta device."""
    with torch.device("meta"):
        module = build_model(architecture)
    return count_model(module, input_shape)


def _macs_on_meta(module: nn.Module, input_shape: tuple[int, ...]) -> int:
    meta_tensors = {
        name: torch.empty_like(tensor, device="meta")
        for name, tensor in itertools.chain(
            module.named_parameters(remove_duplicate=False),
            module.named_buffers(remove_duplicate=False),
        )
    }
    example = torch.empty((1, *input_shape), dtype=_input_dtype(module), device="meta")
    return _macs_of(lambda: torch.func.functional_call(module, meta_tensors, (example,)))


def _macs_on_own_device(module: nn.Module, input_shape: tuple[int, ...]) -> int:
    tensors = itertools.chain(module.parameters(), module.buffers())
    device = next((tensor.device for tensor in tensors), torch.device("cpu"))
    example = torch.zeros((1, *input_shape), dtype=_input_dtype(module), device=device)
    with torch.no_grad():
        try:
            return _macs_of(lambda: module(example))
        except Exception:
            # Under the counter's dispatch mode a TorchScript model's error loses its message
            # ("RuntimeError: " and nothing more); the same pass without it raises the real one.
            module(example)
            raise


def _macs_of(forward: Callable[[], object]) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        forward()
    return counter.get_total_flops() // 2


def _input_dtype(module: nn.Module) -> torch.dtype:
    floating = (p.dtype for p in module.parameters() if p.dtype.is_floating_point)
    return next(floating, torch.get_default_dtype())


@contextlib.contextmanager
def _eval_mode(module: nn.Module) -> Iterator[None]:
    # Counting must not update batch-norm statistics or change what dropout costs; the caller's
    # train/eval flags come back afterwards, submodule by submodule.
    training = {submodule: submodule.training for submodule in module.modules()}
    module.eval()
    try:
        yield
    finally:
        for submodule, was_training in training.items():
            submodule.training = was_training
