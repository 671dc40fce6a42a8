"""Runtimes: how an item's model is run, as deployed rather than as saved (issue 27).

- ``eager``: the module called as it is, op by op (the seed tool's way, and the default);
- ``compile``: ``torch.compile`` with its default backend (inductor), which fuses ops into
  generated kernels; the first pass at each input shape compiles, for that shape alone (see
  ``CompiledPerShape``);
- ``onnxruntime``: the module exported to ONNX (torch's TorchScript-based exporter, the batch
  dimension left free) and run by an ONNX Runtime session on the CPU execution provider.

What preparing the runtime costs (compiling, exporting and opening the session) is reported apart
(``Compile Seconds``), never inside the measurement. A model compared with its baseline runs in
the same runtime: an item's runtime is part of its key, beside its numeric format. A runtime that
cannot take a model (TorchScript under ``torch.compile``, say, an op ONNX cannot express, or no
C++ compiler for inductor on the CPU) fails that item with the error's first line, and every
other item is measured as usual.
"""

from __future__ import annotations

import inspect
import io
from collections.abc import Callable
from typing import Any

EAGER = "eager"
COMPILE = "compile"
ONNXRUNTIME = "onnxruntime"
RUNTIMES = (EAGER, COMPILE, ONNXRUNTIME)
# Runtimes that prepare on the first pass at each input shape, not when the model is loaded.
PREPARED_AT_FIRST_PASS = (COMPILE,)


class RuntimeUnavailable(Exception):
    """A runtime that cannot run here: not installed, or not for this device. One line."""


def runtime_or_none(runtime: str) -> str | None:
    """How an item stores its runtime: None for eager, so that eager items keep the ids,
    journal keys and run-store keys they had before runtimes were an axis."""
    return None if runtime == EAGER else runtime


def item_variant(dtype: str | None, runtime: str | None) -> str | None:
    """What sets an item apart beside its model and batch size: its numeric format (None: as
    saved) and its runtime where it is not eager, as item keys and labels name them
    (``bfloat16``, ``compile``, ``bfloat16 compile``)."""
    if runtime is None or runtime == EAGER:
        return dtype
    return runtime if dtype is None else f"{dtype} {runtime}"


def setup_seconds(
    runtime: str | None, handed_over_seconds: float, first_pass_seconds: float
) -> float | None:
    """What preparing its runtime cost an item (None for eager): handing the model over (0 on
    items after the one that loaded it) and, for a runtime that prepares at the first pass of
    each shape (compile), that pass. Reported, never measured."""
    if runtime is None or runtime == EAGER:
        return None
    first_pass = first_pass_seconds if runtime in PREPARED_AT_FIRST_PASS else 0.0
    return handed_over_seconds + first_pass


def apply_runtime(
    module: Any, runtime: str | None, example: Callable[[], Any] | None = None
) -> Any:
    """What ``runtime`` calls instead of ``module``: ``module`` itself for eager, its compiled
    form (compiled lazily, at the first pass of each shape), or an ONNX Runtime session exported
    on the batch ``example()`` makes (on the module's device, in its format; made only for an
    export)."""
    if runtime is None or runtime == EAGER:
        return module
    if runtime == COMPILE:
        return CompiledPerShape(module)
    if runtime == ONNXRUNTIME:
        if example is None:
            raise ValueError(f"the {ONNXRUNTIME} runtime exports on an example batch: none given")
        return OnnxRuntimeModel.export(module, example())
    raise ValueError(f"unknown runtime {runtime!r}; one of {', '.join(RUNTIMES)}")


class CompiledPerShape:
    """``torch.compile`` of a module, compiled afresh for each input shape and format it meets,
    as if that shape were the only one deployed.

    Left to itself, dynamo would measure something else: at a module's second batch size it
    recompiles with the batch dimension symbolic ("automatic dynamic shapes"), and past its
    recompile limit (8 graphs per ``forward`` code object, which every model of one class
    shares: a zoo's pruned VGG16s are one code object) it runs the module eagerly with only a
    warning, so an item labelled ``compile`` would measure eager passes. So each new shape
    clears dynamo's caches (``torch.compiler.reset``, which also drops what other code in the
    process compiled) and compiles with ``dynamic=False``: one static graph per item, however
    many models and batch sizes a run holds.
    """

    def __init__(self, module: Any) -> None:
        self._module = module
        self._compiled: Any = None
        self._signature: tuple[Any, ...] | None = None

    def __call__(self, batch: Any) -> Any:
        import torch

        signature = (tuple(batch.shape), batch.dtype, batch.device, batch.stride())
        if signature != self._signature:
            torch.compiler.reset()
            self._compiled = torch.compile(self._module, dynamic=False)
            self._signature = signature
        return self._compiled(batch)


class OnnxRuntimeModel:
    """An ONNX Runtime session called like the module it was exported from: a torch batch in,
    the session's outputs out.

    The batch is handed over as a NumPy array that shares its memory (a CPU tensor's
    ``numpy()``), converted once for the batch a measurement passes again and again, so a timed
    pass is the session's run alone.
    """

    INPUT = "input"

    def __init__(self, session: Any) -> None:
        self._session = session
        self._batch: Any = None
        self._feed: dict[str, Any] = {}

    @classmethod
    def export(cls, module: Any, example: Any) -> OnnxRuntimeModel:
        import torch

        if example is None or example.device.type != "cpu":
            where = "no example input" if example is None else f"a {example.device.type} device"
            raise RuntimeUnavailable(
                f"onnxruntime runs on the CPU execution provider here, not on {where}; "
                "measure it with --prune-device=cpu"
            )
        try:
            import onnxruntime
        except ImportError:
            raise RuntimeUnavailable(
                "onnxruntime is not installed (pip install onnx onnxruntime)"
            ) from None
        exported = io.BytesIO()
        # The TorchScript-based exporter: it takes any traceable module and needs no extra
        # package; newer torch makes the dynamo-based one the default, so ask for this one.
        choice = (
            {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
        )
        torch.onnx.export(
            module,
            (example,),
            exported,
            input_names=[cls.INPUT],
            dynamic_axes={cls.INPUT: {0: "batch"}},
            **choice,
        )
        session = onnxruntime.InferenceSession(
            exported.getvalue(), providers=["CPUExecutionProvider"]
        )
        return cls(session)

    def __call__(self, batch: Any) -> Any:
        if batch is not self._batch:
            self._batch = batch
            self._feed = {self.INPUT: batch.detach().contiguous().numpy()}
        return self._session.run(None, self._feed)
