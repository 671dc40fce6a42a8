"""Parameters and multiply-accumulates (MACs) of a model, per sample, without real compute.

MACs come from ``torch.utils.flop_counter.FlopCounterMode`` on a batch of one. It counts a
multiply-add of a convolution or a matrix product as 2 FLOPs and leaves bias additions,
activations and pooling out, which is the convention of torchvision's published "GFLOPS"
(really GMACs); so MACs = counted FLOPs // 2, and ``ModelCounts.flops`` = 2 x MACs.

``ModelCounts.fvcore_flops`` is the count of the seed tool (PruneEnergyAnalyzer), which uses
fvcore's ``FlopCountAnalysis``: a multiply-add is ONE flop, and fvcore adds a few operations that
MACs leave out, per element, by its default rules (``_FVCORE_ELEMENT_RULES``): the adaptive
average pool (one per input element; in torchvision's AlexNet and VGG at 224x224, whose pool
input already has the pooled size, that equals its output elements), normalisation layers and
upsampling. Bias additions, activations and max pooling stay out, as in fvcore.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode
from torch.utils.flop_counter import FlopCounterMode

from .architectures import ArchitectureError, build_model
from .loading import Description


@dataclass(frozen=True)
class ModelCounts:
    """Per sample (batch of one). FLOPs = 2 x MACs: one multiply-add counts as two FLOPs.

    ``fvcore_flops``: fvcore's count, the seed tool's (MACs plus the element-wise operations
    fvcore counts, see the module docstring); None where those could not be seen (a TorchScript
    module runs its own code, past the functions they are counted at).
    """

    params: int
    macs: int
    fvcore_flops: int | None = None

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
            macs, extras = _macs_on_own_device(module, input_shape), None
        else:
            try:
                macs, extras = _counted(lambda: _macs_on_meta(module, input_shape))
            except Exception:
                # Meta kernels refuse data-dependent ops and device mixes; a real pass still works
                # and raises the user's actual error if the input shape is wrong.
                macs, extras = _counted(lambda: _macs_on_own_device(module, input_shape))
    fvcore_flops = None if extras is None else macs + extras
    return ModelCounts(params=params, macs=macs, fvcore_flops=fvcore_flops)


def count_architecture(architecture: dict[str, Any], input_shape: tuple[int, ...]) -> ModelCounts:
    """Counts of the model an architecture description builds, built on the meta device."""
    with torch.device("meta"):
        module = build_model(architecture)
    return count_model(module, input_shape)


def count_description(
    description: Description, input_shape: tuple[int, ...] | None = None
) -> ModelCounts | None:
    """Counts of a described-model file's model from its description alone, built on the meta
    device: no weights are drawn or read (``pruneenergy count`` on a zoo of full-size VGGs
    would spend nearly all its time drawing random weights). ``input_shape``: default, the
    file's own. None where the description is not valid or its stored weights do not fit it:
    loading the file then says what is wrong."""
    try:
        with torch.device("meta"):
            module = build_model(description.architecture)
    except ArchitectureError:
        return None
    if description.state_dict is not None and not _same_shapes(
        module.state_dict(), description.state_dict
    ):
        return None
    return count_model(module, input_shape or description.input_shape)


def _same_shapes(expected: dict[str, Any], stored: dict[str, Any]) -> bool:
    if set(expected) != set(stored):
        return False
    return all(tuple(expected[key].shape) == tuple(stored[key].shape) for key in expected)


def fvcore_element_flops(func: Callable[..., Any], args: tuple[Any, ...], result: Any) -> int:
    """What fvcore counts for one call of ``func`` beyond multiply-adds; 0 for other functions.

    ``args``: the call's arguments with its keywords bound by name (``_bound_arguments``).
    """
    rule = _FVCORE_ELEMENT_RULES.get(func)
    return 0 if rule is None else rule(args, result)


def _counted(count_macs: Callable[[], int]) -> tuple[int, int]:
    """``count_macs()``'s MACs, and fvcore's element-wise flops of the same forward pass."""
    extras = _FvcoreElementCounter()
    with extras:
        macs = count_macs()
    return macs, extras.flops


class _FvcoreElementCounter(TorchFunctionMode):
    """Adds up ``fvcore_element_flops`` over the torch functions a forward pass calls.

    At the level of ``torch.nn.functional``, where fvcore's traced graph sees these operations:
    below it, PyTorch turns a pool to one pixel into a mean, which would hide it. While this
    handler runs the mode is off, so the functions that a counted one calls are not counted again.
    """

    def __init__(self) -> None:
        super().__init__()
        self.flops = 0

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        if func in _FVCORE_ELEMENT_RULES:
            self.flops += fvcore_element_flops(func, _bound_arguments(func, args, kwargs), result)
        return result


def _bound_arguments(
    func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    """The positional arguments of a call, keywords put in their places, defaults filled in."""
    import inspect

    bound = inspect.signature(func).bind(*args, **kwargs)
    bound.apply_defaults()
    return tuple(bound.arguments.values())


def _elements(tensor: Any) -> int:
    return int(tensor.numel()) if isinstance(tensor, torch.Tensor) else 0


def _batch_norm(args: tuple[Any, ...], _result: Any) -> int:
    # F.batch_norm(input, running_mean, running_var, weight, bias, training, ...); fvcore
    # counts an affine batch norm as 2 per element in eval, a training one as the other norms.
    data, weight, training = args[0], args[3], args[5]
    if training:
        return _elements(data) * (5 if weight is not None else 4)
    return _elements(data) * (2 if weight is not None else 1)


def _norm(weight_index: int) -> Callable[[tuple[Any, ...], Any], int]:
    """fvcore's rule for group, layer and instance norm: 5 per element with an affine weight,
    4 without."""

    def flops(args: tuple[Any, ...], _result: Any) -> int:
        return _elements(args[0]) * (5 if args[weight_index] is not None else 4)

    return flops


def _interpolate(args: tuple[Any, ...], result: Any) -> int:
    # F.interpolate(input, size, scale_factor, mode, ...): fvcore knows only the 2-D nearest
    # (1 per output element) and bilinear (4) upsampling.
    data, mode = args[0], args[3]
    if not isinstance(data, torch.Tensor) or data.dim() != 4:
        return 0
    return _elements(result) * {"nearest": 1, "bilinear": 4}.get(mode, 0)


_FVCORE_ELEMENT_RULES: dict[Callable[..., Any], Callable[[tuple[Any, ...], Any], int]] = {
    F.adaptive_avg_pool2d: lambda args, _result: _elements(args[0]),
    F.batch_norm: _batch_norm,
    F.group_norm: _norm(weight_index=2),
    F.layer_norm: _norm(weight_index=2),
    F.instance_norm: _norm(weight_index=3),
    F.interpolate: _interpolate,
    F.grid_sample: lambda _args, result: 4 * _elements(result),
}


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
