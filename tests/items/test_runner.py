"""One item without pytest: loading through the cache, measuring, and the problems users see.

Items are measured on a simulated clock (pytest_pruneenergy.testing.simulated_clock), on which a
forward pass of the tiny model takes 1 ms; one is measured on the host's clock, with the
poller's real thread, as the plugin measures them.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import itertools
import time
import weakref
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from pytest_pruneenergy.items.devices import is_out_of_memory
from pytest_pruneenergy.items.idle_power import IdlePower, measure_idle
from pytest_pruneenergy.items.prepared import PreparedModel
from pytest_pruneenergy.items.runner import (
    ItemProblem,
    ModelCache,
    ModelRequest,
    as_loaded_model,
    measure_item,
    prepare_model,
    random_input,
)
from pytest_pruneenergy.measure.conditions import GpuActivity, HostCpu
from pytest_pruneenergy.measure.meters import GpuFacts, MeterReadError
from pytest_pruneenergy.measure.protocol import ProtocolSettings
from pytest_pruneenergy.measure.window_stats import STOP_REASONS
from pytest_pruneenergy.models.loading import LoadedModel, ModelLoadError
from pytest_pruneenergy.settings import RawOptions, resolve_settings
from pytest_pruneenergy.testing.simulated_clock import SimulatedClock

MODEL_PATH = Path("/models/Tiny_TEST_UNPRUNED.pt")
INPUT_SHAPE = (4,)
WATTS = 20.0
PASS_SECONDS = 0.001
# As a meter from a conftest hook written before the facts were typed gives them.
FACTS = {"gpu_name": "Test GPU", "driver": "1.0", "power_limit_watts": "300"}


class SteadyMeter:
    """Draws ``WATTS`` all the time, counted continuously on ``clock``, like a board at
    constant power."""

    name = "steady"
    is_estimate = False
    description = f"steady: {WATTS} W"

    def __init__(self, clock: Callable[[], float], *, fail_after_reads: int | None = None) -> None:
        self.reads = 0
        self.clock = clock
        self.fail_after_reads = fail_after_reads
        self.gpu_facts = dict(FACTS)

    def read_joules(self) -> float:
        self.reads += 1
        if self.fail_after_reads is not None and self.reads > self.fail_after_reads:
            raise MeterReadError("NVML_ERROR_GPU_IS_LOST")
        return WATTS * self.clock()

    def close(self) -> None:
        """Nothing to release."""


class FrozenMeter(SteadyMeter):
    """A counter that never moves: no tick ever comes."""

    name = "frozen"

    def read_joules(self) -> float:
        return 1.0


class FactlessMeter(SteadyMeter):
    """A meter from a conftest hook written before meters had ``gpu_facts``."""

    def __init__(self, clock: Callable[[], float]) -> None:
        super().__init__(clock)
        del self.gpu_facts


class EstimateLikeMeter(SteadyMeter):
    is_estimate = True


def tiny_module() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))


def load_tiny(path: Path, device: str) -> torch.nn.Module:
    return tiny_module()


def settings(**cli: str):
    options = {"cli_max_seconds": "0.3", **cli}
    return resolve_settings(RawOptions(**options), invocation_dir=Path("/"), ini_dir=Path("/"))


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock()


@pytest.fixture
def prepared(clock: SimulatedClock) -> PreparedModel:
    """The tiny model, each forward pass of which takes ``PASS_SECONDS`` of ``clock``."""

    def load(path: Path, device: str) -> torch.nn.Module:
        module = tiny_module()
        module.register_forward_hook(lambda *_: clock.sleep(PASS_SECONDS))
        return module

    return prepare_model(ModelRequest(MODEL_PATH, "cpu", (4,)), load)


def measure(
    prepared: PreparedModel,
    meter,
    *,
    clock: SimulatedClock | None,
    idle_watts=None,
    protocol: ProtocolSettings | None = None,
    item: dict | None = None,
    **cli,
):
    """``measure_item`` at batch size 2: on the simulated ``clock``, or on the host's (None)
    with the poller's thread, as the plugin measures; ``protocol`` in place of the one ``cli``
    gives, ``item``: more of ``measure_item``'s keywords."""
    time_sources = {} if clock is None else {"clock": clock, "tick_recorder": clock.tick_recorder}
    # On the simulated clock, the host's real load says nothing of the simulated item.
    host = {} if clock is None else {"read_host": lambda: None}
    return measure_item(
        prepared,
        2,
        meter=meter,
        make_input=random_input,
        protocol=protocol or settings(**cli).protocol_settings,
        cuda_graphs=settings(**cli).cuda_graphs,
        idle_watts=idle_watts,
        **time_sources,
        **{**host, **(item or {})},
    )


def idle_on(clock: SimulatedClock) -> Callable[..., float | None]:
    """``measure_idle`` on the simulated ``clock``."""
    return functools.partial(
        measure_idle, clock=clock, sleep=clock.sleep, tick_recorder=clock.tick_recorder
    )


# -- pure parts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 80.00 GiB"),
        RuntimeError("CUDA out of memory. Tried to allocate 2.00 MiB"),
        RuntimeError(
            "[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory"
        ),
    ],
)
def test_out_of_memory_is_recognised_on_gpu_and_cpu(error):
    assert is_out_of_memory(error)


@pytest.mark.parametrize(
    "error",
    [RuntimeError("mat1 and mat2 shapes cannot be multiplied"), ValueError("out of memory")],
)
def test_other_errors_are_not_out_of_memory(error):
    assert not is_out_of_memory(error)


def test_a_bare_module_from_a_hook_becomes_a_loaded_model_without_a_shape():
    module = tiny_module()
    loaded = as_loaded_model(MODEL_PATH, module)
    assert (loaded.module, loaded.file_format, loaded.input_shape) == (module, "hook", None)


def test_a_loaded_model_from_a_hook_is_kept_as_it_is():
    loaded = LoadedModel(module=tiny_module(), file_format="hook", input_shape=(4,))
    assert as_loaded_model(MODEL_PATH, loaded) is loaded


def test_anything_else_from_a_hook_names_the_hook_and_what_it_returned():
    with pytest.raises(
        ItemProblem, match=r"load_model hook returned a dict, not a torch\.nn\.Module"
    ):
        as_loaded_model(MODEL_PATH, {"state": "dict"})


def test_protocol_settings_carry_the_users_choices():
    chosen = settings(cli_protocol="seed", cli_target_ci_fraction="2").protocol_settings
    assert (chosen.protocol, chosen.target_ci_fraction, chosen.max_seconds) == ("seed", 0.02, 0.3)


# -- the cache --------------------------------------------------------------------------------


class CountingLoader:
    def __init__(self, result=None) -> None:
        self.calls = 0
        self.result = result

    def __call__(self, path: Path, device: str):
        self.calls += 1
        if self.result is None:
            raise ModelLoadError(f"{path.name}: not a readable PyTorch file")
        return self.result


def test_cache_loads_a_file_once_for_all_its_batch_sizes():
    cache, load = ModelCache(), CountingLoader(tiny_module())
    first = cache.get(ModelRequest(MODEL_PATH, "cpu", INPUT_SHAPE), load)
    assert cache.get(ModelRequest(MODEL_PATH, "cpu", INPUT_SHAPE), load) is first
    assert load.calls == 1
    assert first.counts.params == 4 * 8 + 8 + 8 * 2 + 2


def test_the_item_that_loads_a_model_is_told_so_and_what_it_cost():
    cache, load = ModelCache(), CountingLoader(tiny_module())
    first = cache.get(ModelRequest(MODEL_PATH, "cpu", INPUT_SHAPE), load)
    assert cache.loaded_now and first.load_seconds > 0
    assert not cache.warm  # nothing has run on it yet
    cache.warm = True
    cache.get(ModelRequest(MODEL_PATH, "cpu", INPUT_SHAPE), load)
    assert not cache.loaded_now and cache.warm
    cache.clear()
    assert not cache.warm


def test_a_model_that_has_just_run_warms_up_only_shortly(prepared, clock):
    protocol = dataclasses.replace(
        settings(cli_max_seconds="4").protocol_settings,
        warmup_min_seconds=1.2,
        rewarm_min_seconds=0.2,
        warmup_steady_fraction=0.9,
    )

    cold, warm = (
        measure(prepared, SteadyMeter(clock), clock=clock, protocol=protocol, item={"rewarm": r})
        for r in (False, True)
    )
    assert cold.stats.warmup_seconds >= 1.2
    assert warm.stats.warmup_seconds < 1.0


@pytest.mark.parametrize("in_a_cycle", [False, True])
def test_clearing_the_cache_frees_the_model_and_collects_only_where_a_cycle_holds_it(
    monkeypatch, in_a_cycle
):
    collections = []
    real_collect = gc.collect
    monkeypatch.setattr(gc, "collect", lambda *args: collections.append(args) or real_collect())
    module = tiny_module()
    if in_a_cycle:
        module.keep = [module]  # as a hook or a wrapper that refers back to its model does
    freed = weakref.ref(module)
    cache = ModelCache()
    cache.get(ModelRequest(MODEL_PATH, "cpu", INPUT_SHAPE), CountingLoader(module))
    del module
    cache.clear()
    assert freed() is None
    assert len(collections) == (1 if in_a_cycle else 0)


def test_cache_keeps_a_failure_so_a_broken_file_is_read_once():
    cache, load = ModelCache(), CountingLoader()
    for _ in range(2):
        with pytest.raises(ItemProblem, match=r"Tiny_TEST_UNPRUNED\.pt: not a readable PyTorch"):
            cache.get(ModelRequest(MODEL_PATH, "cpu", INPUT_SHAPE), load)
    assert load.calls == 1


def test_cache_loads_again_for_another_input_shape():
    cache, load = ModelCache(), CountingLoader(tiny_module())
    cache.get(ModelRequest(MODEL_PATH, "cpu", INPUT_SHAPE), load)
    cache.get(ModelRequest(MODEL_PATH, "cpu", (3, 4)), load)
    assert load.calls == 2


# -- idle power -------------------------------------------------------------------------------


def test_idle_power_of_a_steady_meter_is_its_draw(clock):
    watts = idle_on(clock)(SteadyMeter(clock), "cpu", seconds=0.1)
    assert watts == pytest.approx(WATTS, rel=1e-9)


@pytest.mark.parametrize("meter_class", [SteadyMeter, EstimateLikeMeter])
def test_idle_power_is_not_measured_when_turned_off_or_estimated(clock, meter_class):
    meter = meter_class(clock)
    seconds = 0.0 if meter_class is SteadyMeter else 0.1
    assert idle_on(clock)(meter, "cpu", seconds=seconds) is None
    assert meter.reads == 0


def test_idle_power_is_measured_once_per_device(clock):
    idle, meter = IdlePower(seconds=0.05, measure=idle_on(clock)), SteadyMeter(clock)
    first = idle.of(meter, "cpu", warn=pytest.fail)
    reads = meter.reads
    assert idle.of(meter, "cpu", warn=pytest.fail) == first
    assert meter.reads == reads
    idle.of(meter, "meta", warn=pytest.fail)  # another device: measured on its own
    assert meter.reads > reads


def test_idle_power_that_cannot_be_read_is_warned_about_once_and_left_empty(clock):
    idle, warnings = IdlePower(seconds=0.05, measure=idle_on(clock)), []
    meter = SteadyMeter(clock, fail_after_reads=0)
    assert idle.of(meter, "cpu", warn=warnings.append) is None
    assert idle.of(meter, "cpu", warn=warnings.append) is None
    assert warnings == [
        "idle power on cpu could not be measured (steady: NVML_ERROR_GPU_IS_LOST); "
        "dynamic energy is left empty for this device"
    ]


# -- measuring --------------------------------------------------------------------------------


def test_measured_item_says_what_was_measured_and_how():
    """On the host's clock, with the poller's thread, as the plugin measures."""
    on_host = prepare_model(ModelRequest(MODEL_PATH, "cpu", (4,)), load_tiny)
    measurement = measure(on_host, SteadyMeter(time.perf_counter), clock=None, idle_watts=5.0)
    assert (measurement.model, measurement.batch_size, measurement.meter) == (
        "Tiny_TEST_UNPRUNED",
        2,
        "steady",
    )
    assert measurement.input_shape == INPUT_SHAPE
    assert measurement.stats.protocol == "adaptive"
    assert measurement.stats.target_ci_fraction == 0.01
    assert measurement.stats.joules_per_sample_mean == pytest.approx(
        WATTS * measurement.stats.seconds_per_sample_mean, rel=0.2
    )
    assert measurement.idle_watts == 5.0
    assert measurement.gpu == GpuFacts("Test GPU", "1.0", 300.0)
    assert measurement.cuda_graph is False


def test_cuda_graphs_on_a_cpu_fail_the_item_and_say_what_to_change(prepared, clock):
    with pytest.raises(
        ItemProblem,
        match=r"^Tiny_TEST_UNPRUNED at batch size 2: CUDA graphs need a CUDA device, and the "
        r"models run on cpu: drop --energy-cuda-graphs or set --prune-device=cuda$",
    ):
        measure(prepared, SteadyMeter(clock), clock=clock, cli_cuda_graphs=True)


@pytest.mark.gpu
def test_cuda_graph_replays_the_forward_pass_and_is_said_in_the_measurement():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    on_gpu = prepare_model(
        ModelRequest(MODEL_PATH, "cuda", (4,)), lambda path, device: tiny_module()
    )
    measurement = measure(on_gpu, SteadyMeter(time.perf_counter), clock=None, cli_cuda_graphs=True)
    assert measurement.cuda_graph is True
    assert measurement.stats.samples_measured > 0
    assert measurement.stats.stop_reason in STOP_REASONS  # on the device's own clocks


@pytest.mark.gpu
def test_a_pass_that_syncs_with_the_host_cannot_be_captured_and_says_so():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")

    class HostSync(torch.nn.Module):
        def forward(self, x):
            return x * float(x.sum().item())  # .item() waits for the GPU: not capturable

    on_gpu = prepare_model(ModelRequest(MODEL_PATH, "cuda", (4,)), lambda path, device: HostSync())
    with pytest.raises(ItemProblem, match=r"cannot be captured as a CUDA graph.*without"):
        measure(on_gpu, SteadyMeter(time.perf_counter), clock=None, cli_cuda_graphs=True)
    # The device is usable afterwards: the next item measures as usual.
    assert measure(on_gpu, SteadyMeter(time.perf_counter), clock=None).cuda_graph is False


def test_the_seed_protocol_is_chosen_by_the_settings(prepared, clock):
    measurement = measure(prepared, SteadyMeter(clock), clock=clock, cli_protocol="seed")
    stats = measurement.stats
    assert (stats.protocol, stats.windows, stats.samples_measured) == ("seed", 20, 20 * 500 * 2)
    assert measurement.windows == ()  # trials, not tick windows: nothing to replay


def test_an_item_keeps_the_windows_its_figure_was_made_of_timed_from_the_first(prepared, clock):
    measurement = measure(prepared, SteadyMeter(clock), clock=clock, cli_max_seconds="2")
    windows, stats = measurement.windows, measurement.stats
    assert len(windows) == stats.windows >= 2
    assert windows[0].start_seconds == 0
    assert all(a.end_seconds == b.start_seconds for a, b in itertools.pairwise(windows))
    assert windows[-1].end_seconds == pytest.approx(stats.seconds_measured)
    samples = sum(window.passes for window in windows) * measurement.batch_size
    assert sum(w.joules for w in windows) / samples == pytest.approx(stats.joules_per_sample_mean)


def test_a_meter_without_gpu_facts_gives_none(prepared, clock):
    assert measure(prepared, FactlessMeter(clock), clock=clock).gpu is None


def test_a_meter_read_failing_mid_run_fails_the_item_naming_meter_and_error(prepared, clock):
    with pytest.raises(ItemProblem) as problem:
        measure(prepared, SteadyMeter(clock, fail_after_reads=50), clock=clock)
    assert str(problem.value) == (
        "Tiny_TEST_UNPRUNED at batch size 2: steady read failed: NVML_ERROR_GPU_IS_LOST"
    )


def test_a_meter_that_never_ticks_fails_the_item_and_says_what_to_raise(prepared, clock):
    with pytest.raises(
        ItemProblem,
        match=r"^Tiny_TEST_UNPRUNED at batch size 2: frozen .*"
        r"Raise --energy-max-seconds",
    ):
        measure(prepared, FrozenMeter(clock), clock=clock)


def test_a_forward_pass_that_raises_points_at_the_input_shape(prepared, clock):
    wrong = dataclasses.replace(prepared, input_shape=(5,))
    with pytest.raises(ItemProblem, match=r"shape 2x5 raised RuntimeError.*--prune-input-shape"):
        measure(wrong, SteadyMeter(clock), clock=clock)


def test_a_batch_that_runs_out_of_memory_fails_alone_and_says_what_to_drop(prepared, clock):
    class OutOfMemory(torch.nn.Module):
        def forward(self, x):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 80.00 GiB")

    hungry = dataclasses.replace(prepared, module=OutOfMemory())
    with pytest.raises(ItemProblem, match=r"batch size 2 does not fit in cpu memory.*Drop it"):
        measure(hungry, SteadyMeter(clock), clock=clock)


# -- what else happened meanwhile ---------------------------------------------------------------


def test_an_item_measured_beside_a_busy_neighbour_says_so(prepared, clock):
    # Two host readings around the measurement: in 2 s, 3 busy seconds, 0.5 of them ours.
    readings = iter([HostCpu(10.0, 1.0, 100.0, cores=2), HostCpu(13.0, 1.5, 102.0, cores=2)])
    measured = measure(
        prepared, SteadyMeter(clock), clock=clock, item={"read_host": lambda: next(readings)}
    )
    assert measured.disturbances == ("other processes kept 1.25 CPU cores busy of 2",)
    quiet = measure(prepared, SteadyMeter(clock), clock=clock)
    assert quiet.disturbances == ()


@pytest.mark.parametrize(
    ("quiet_seconds", "disturbed"),
    [(1.0, True), (0.15, True), (0.1, False), (None, False)],
)
def test_a_board_left_quiet_long_enough_is_read_first_and_a_neighbours_draw_is_said(
    prepared, clock, quiet_seconds, disturbed
):
    class NeighbourOnTheBoard(SteadyMeter):
        # The board draws 300 W whenever asked: a neighbour NVML's process list does not show.
        def gpu_activity(self) -> GpuActivity:
            return GpuActivity(board_watts=300.0)

    measured = measure(
        prepared,
        NeighbourOnTheBoard(clock),
        clock=clock,
        idle_watts=70.0,
        item={"quiet_seconds": quiet_seconds},
    )
    said = "the board drew 300 W before the item, while this process left it quiet (idle 70 W)"
    assert measured.disturbances == ((said,) if disturbed else ())
