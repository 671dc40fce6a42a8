"""One energy item, start to end, without pytest: load -> count -> input -> measure.

Every way an item can fail that a user can cause or fix is raised as ItemProblem with a
message naming the model, the batch size and what to do; the plugin shows only that message.
"""

from __future__ import annotations

import dataclasses
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..common.errors import count_failure, error_summary
from ..measure.conditions import (
    QUIET_SECONDS,
    Conditions,
    HostCpu,
    conditions_between,
    gpu_activity_of,
    host_role_of,
    read_host_cpu,
)
from ..measure.ticks import TickWindow, from_first_window
from ..models.loading import DEFAULT_INPUT_SHAPE, LoadedModel, ModelLoadError
from ..models.naming import ModelName
from .devices import describe_device, free_device_memory, is_out_of_memory
from .first_pass import checked_pass, item_problem
from .measurement import Measurement
from .numerics import (
    cast_module,
    module_dtype,
    unaligned_width_percent,
    zero_weight_percent,
)
from .prepared import PreparedModel
from .problems import ItemProblem
from .runtimes import RuntimeUnavailable, apply_runtime, setup_seconds

if TYPE_CHECKING:
    import torch

    from ..measure.meters import Meter
    from ..measure.protocol import ProtocolSettings
    from ..measure.ticks import TickRecorder
    from ..measure.window_stats import WindowStats


def resolve_device(requested: str) -> str:
    """``auto`` -> the first CUDA device if there is one, else ``cpu``."""
    import torch

    if requested == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda"):
        index = int(requested.split(":")[1])
        if not torch.cuda.is_available():
            raise ItemProblem(f"--prune-device={requested}, but torch sees no CUDA device")
        if index >= torch.cuda.device_count():
            raise ItemProblem(
                f"--prune-device={requested}, but torch sees only "
                f"{torch.cuda.device_count()} CUDA device(s)"
            )
    return requested


def as_loaded_model(path: Path, loaded: Any) -> LoadedModel:
    """A load hook may answer with a bare module or a LoadedModel."""
    import torch

    if isinstance(loaded, LoadedModel):
        return loaded
    if isinstance(loaded, torch.nn.Module):
        return LoadedModel(module=loaded, file_format="hook", input_shape=None)
    raise ItemProblem(
        f"{path}: the pytest_pruneenergy_load_model hook returned a {type(loaded).__name__}, "
        "not a torch.nn.Module or LoadedModel"
    )


@dataclass(frozen=True)
class ModelRequest:
    """What an item asks of a model file: the device it runs on, its input shape per sample
    (None: the file's own, else the seed's), its numeric format (None: as saved) and whether
    channels-last."""

    path: Path
    device: str
    input_shape: tuple[int, ...] | None = None
    dtype: str | None = None
    channels_last: bool = False
    # items/runtimes.py; None: eager.
    runtime: str | None = None


def prepare_model(request: ModelRequest, load: Callable[[Path, str], Any]) -> PreparedModel:
    """Load (``load(path, device)``), count (on the meta device), move to the device, cast and
    hand to its runtime as the request asks."""
    from ..models.counting import count_model

    path, device = request.path, request.device

    began = time.perf_counter()
    try:
        loaded = as_loaded_model(path, load(path, device))
    except ModelLoadError as error:
        raise ItemProblem(str(error)) from error
    shape = request.input_shape or loaded.input_shape or DEFAULT_INPUT_SHAPE
    module = loaded.module.eval()
    try:
        counts = count_model(module, shape)
    except Exception as error:
        raise ItemProblem(count_failure(path.stem, shape, error)) from error
    # On the weights as saved: a cast to half precision would flush the smallest to zero.
    zero_percent = zero_weight_percent(module)
    try:
        module = cast_module(module.to(device), request.dtype, request.channels_last)
    except Exception as error:
        if is_out_of_memory(error):
            free_device_memory(device)
            raise ItemProblem(f"{path.stem}: the model does not fit in {device} memory") from error
        raise
    load_seconds = time.perf_counter() - began
    prepared = PreparedModel(
        path=path,
        module=module,
        device=device,
        input_shape=tuple(shape),
        counts=counts,
        load_seconds=load_seconds,
        requested_dtype=request.dtype,
        dtype=module_dtype(module),
        channels_last=request.channels_last,
        zero_weight_percent=zero_percent,
        unaligned_percent=unaligned_width_percent(module),
        runtime=request.runtime,
    )
    return _in_runtime(prepared)


def _in_runtime(prepared: PreparedModel) -> PreparedModel:
    """``prepared`` handed to its runtime (unchanged for eager), and what that took."""
    import torch

    runtime = prepared.runtime
    if runtime is None:
        return prepared
    began = time.perf_counter()

    def example() -> Any:
        # One sample, as the items' inputs are made: the exporters trace on it.
        return prepared.conform(torch.randn((1, *prepared.input_shape)).to(prepared.device))

    try:
        with torch.inference_mode():
            runs = apply_runtime(prepared.module, runtime, example)
    except Exception as error:
        reason = str(error) if isinstance(error, RuntimeUnavailable) else error_summary(error)
        raise ItemProblem(
            f"{prepared.path.stem}: the {runtime} runtime cannot take this model: {reason}"
        ) from error
    return dataclasses.replace(prepared, runs=runs, runtime_seconds=time.perf_counter() - began)


class ModelCache:
    """Keeps the last prepared model, so the items of one file load it once.

    Items run file by file, so one slot is enough, and a GPU never holds two models at once.
    A failure is kept too: every batch size of a corrupt file then fails with the same message
    without reading the file again. ``loaded_now`` says whether the last ``get`` loaded the
    file (its item pays the load), ``warm`` whether the model has already run a measurement
    (its next batch size needs only a short warm-up).
    """

    def __init__(self) -> None:
        self._key: ModelRequest | None = None
        self._value: PreparedModel | ItemProblem | None = None
        self.loaded_now = False
        self.warm = False

    def get(self, request: ModelRequest, load: Callable[[Path, str], Any]) -> PreparedModel:
        self.loaded_now = request != self._key
        if self.loaded_now:
            self.clear()
            try:
                self._value = prepare_model(request, load)
            except ItemProblem as problem:
                self._value = problem
            self._key = request
        if isinstance(self._value, ItemProblem):
            raise ItemProblem(str(self._value))
        assert self._value is not None
        return self._value

    def clear(self) -> None:
        prepared = self._value if isinstance(self._value, PreparedModel) else None
        self._key = None
        self._value = None
        self.warm = False
        if prepared is None:
            return
        device, module = prepared.device, weakref.ref(prepared.module)
        del prepared
        # A full collection costs a tenth of a second in a process holding torch and pandas,
        # once per model. A GPU's memory is worth it whatever holds the model in a cycle; on
        # the CPU only a model that outlived its last reference needs it.
        if device.startswith("cuda") or module() is not None:
            free_device_memory(device)


def measure_item(
    prepared: PreparedModel,
    batch_size: int,
    *,
    meter: Meter,
    make_input: Callable[[int, tuple[int, ...], str], Any],
    protocol: ProtocolSettings,
    cuda_graphs: bool,
    idle_watts: float | None,
    name: ModelName | None = None,
    rewarm: bool = False,
    load_seconds: float = 0.0,
    runtime_seconds: float = 0.0,
    clock: Callable[[], float] = time.perf_counter,
    tick_recorder: Callable[[Meter], TickRecorder] | None = None,
    read_host: Callable[[], HostCpu | None] = read_host_cpu,
    quiet_seconds: float | None = None,
) -> Measurement:
    """Measure energy per sample and FPS of one model at one batch size.

    ``idle_watts``: the device's, for the dynamic energy. ``name``: the model's parsed name.
    ``rewarm``: the model has just run at another batch size (a short warm-up settles it).
    ``load_seconds``, ``runtime_seconds``: what loading the model and handing it to its runtime
    cost this item (0 where an earlier item paid). ``clock``, ``tick_recorder``: the protocol's
    time (tests: simulated). ``read_host``: the host's CPU time, read either side
    (measure/conditions.py). ``quiet_seconds``: since this process last worked on the device
    (None: unknown); long enough, the board's power is read first.
    """
    try:
        stats, windows, conditions, first_pass_seconds = _first_pass_and_protocol(
            prepared,
            batch_size,
            meter,
            protocol,
            make_input,
            cuda_graphs,
            rewarm=rewarm,
            idle_watts=idle_watts,
            clock=clock,
            tick_recorder=tick_recorder,
            read_host=read_host,
            quiet_seconds=quiet_seconds,
        )
    except Exception as error:  # an ItemProblem is no other kind: it goes up as it is
        problem = item_problem(error, prepared, batch_size, meter)
        if problem is None:
            raise
        raise problem from (None if is_out_of_memory(error) else error)
    return _measurement(
        prepared,
        batch_size,
        meter,
        stats,
        idle_watts,
        conditions,
        name=name,
        cuda_graphs=cuda_graphs,
        load_seconds=load_seconds,
        compile_seconds=setup_seconds(prepared.runtime, runtime_seconds, first_pass_seconds),
        windows=windows,
    )


def _first_pass_and_protocol(
    prepared: PreparedModel,
    batch_size: int,
    meter: Meter,
    protocol: ProtocolSettings,
    make_input: Callable[[int, tuple[int, ...], str], Any],
    cuda_graphs: bool,
    *,
    rewarm: bool,
    idle_watts: float | None,
    clock: Callable[[], float],
    tick_recorder: Callable[[Meter], TickRecorder] | None,
    read_host: Callable[[], HostCpu | None],
    quiet_seconds: float | None,
) -> tuple[WindowStats, tuple[TickWindow, ...], Conditions, float]:
    """The item's checked first pass, then the protocol's figures and windows (timed from the
    first window's start; none for the seed protocol) and what else ran meanwhile
    (the host's CPU time and the GPU's activity read either side, and first the board's power
    where this process left it quiet long enough); and how long the first pass took.
    ``rewarm``: the model has just run at another batch size, so a short warm-up will do."""
    import torch

    from ..measure.protocol import measure, rewarm_settings

    protocol = rewarm_settings(protocol) if rewarm else protocol

    quiet = quiet_seconds is not None and quiet_seconds >= QUIET_SECONDS
    quiet_board = gpu_activity_of(meter) if quiet else None
    with torch.inference_mode():
        run_batch, first_pass_seconds = checked_pass(prepared, batch_size, make_input, cuda_graphs)
        host_before, gpu_before = read_host(), gpu_activity_of(meter)
        windows: list[TickWindow] = []
        stats = measure(
            run_batch,
            prepared.device,
            meter,
            batch_size,
            protocol,
            clock=clock,
            on_windows=windows.extend,
            tick_recorder=tick_recorder,
        )
        conditions = conditions_between(
            host_before,
            read_host(),
            gpu_before,
            gpu_activity_of(meter),
            host_role=host_role_of(prepared.device, meter),
            quiet_board=quiet_board,
            idle_watts=idle_watts,
        )
    return stats, from_first_window(windows), conditions, first_pass_seconds


def _measurement(
    prepared: PreparedModel,
    batch_size: int,
    meter: Meter,
    stats: WindowStats,
    idle_watts: float | None,
    conditions: Conditions,
    *,
    name: ModelName | None,
    cuda_graphs: bool,
    load_seconds: float,
    compile_seconds: float | None,
    windows: tuple[TickWindow, ...],
) -> Measurement:
    """The item's record: what was measured, of which model, how, and what was seen."""
    from ..measure.meters import gpu_facts_of

    counts = prepared.counts
    return Measurement(
        model=prepared.path.stem,
        path=str(prepared.path),
        batch_size=batch_size,
        input_shape=prepared.input_shape,
        device=describe_device(prepared.device),
        meter=meter.name,
        meter_description=meter.description,
        meter_is_estimate=meter.is_estimate,
        params=counts.params,
        macs=counts.macs,
        fvcore_flops=counts.fvcore_flops,
        stats=stats,
        idle_watts=idle_watts,
        gpu=gpu_facts_of(meter),
        name=name,
        cuda_graph=cuda_graphs,
        load_seconds=load_seconds,
        dtype=prepared.requested_dtype,
        weights_dtype=prepared.dtype,
        channels_last=prepared.channels_last,
        zero_weight_percent=prepared.zero_weight_percent,
        **_unaligned_fields(prepared.unaligned_percent),
        disturbances=conditions.disturbances,
        runtime=prepared.runtime,
        compile_seconds=compile_seconds,
        windows=windows,
    )


def _unaligned_fields(shares: dict[int, float] | None) -> dict[str, float | None]:
    shares = shares or {}
    return {
        "unaligned_x8_percent": shares.get(8),
        "unaligned_x16_percent": shares.get(16),
        "unaligned_x64_percent": shares.get(64),
    }


def random_input(batch_size: int, input_shape: tuple[int, ...], device: str) -> torch.Tensor:
    """The seed tool's input: standard normal noise, FP32.

    Drawn on the CPU and copied, so that no item depends on the state of torch's CUDA
    generator: a CUDA graph capture that failed elsewhere in the process (in a user's own
    tests, say) can leave it unusable ("Offset increment outside graph capture", torch 2.11);
    ours leave it clean (measure/cuda_graphs.py).
    """
    import torch

    return torch.randn((batch_size, *input_shape), dtype=torch.float32).to(device)
