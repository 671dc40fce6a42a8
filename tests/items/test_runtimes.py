"""Runtimes: an item's model run eagerly or compiled, named apart, paired with its baseline in
its own runtime; a runtime that cannot take a model fails that item alone."""

from __future__ import annotations

import sys
import time

import pytest
import torch

from pytest_pruneenergy.items.ids import item_name, parse_item_id
from pytest_pruneenergy.items.measurement import ItemFailure, baselines_of_measurements, item_label
from pytest_pruneenergy.items.runner import (
    ItemProblem,
    ModelRequest,
    measure_item,
    prepare_model,
    random_input,
)
from pytest_pruneenergy.items.runtimes import (
    COMPILE,
    EAGER,
    ONNXRUNTIME,
    OnnxRuntimeModel,
    RuntimeUnavailable,
    apply_runtime,
    item_variant,
    runtime_or_none,
    setup_seconds,
)
from pytest_pruneenergy.settings import SettingsError, parse_runtimes

from ..factories import make_measurement
from .test_runner import MODEL_PATH, SteadyMeter, load_tiny, measure, settings


def test_an_eager_item_keeps_the_key_and_id_it_had_before_runtimes():
    assert runtime_or_none(EAGER) is None
    assert item_variant(None, None) is None
    assert item_variant("bfloat16", None) == "bfloat16"
    assert item_name("M_UNPRUNED", 8) == "test_energy[M_UNPRUNED-bs8]"


def test_a_compiled_item_is_named_and_keyed_apart():
    assert item_variant(None, COMPILE) == "compile"
    assert item_variant("bfloat16", COMPILE) == "bfloat16 compile"
    assert item_label(("M_UNPRUNED", 8, item_variant("bfloat16", COMPILE))) == (
        "M_UNPRUNED (bs 8, bfloat16 compile)"
    )
    name = item_name("M_UNPRUNED", 8, "fam", dtype="bf16", round_number=2, runtime=COMPILE)
    assert name == "test_energy[M_UNPRUNED-bs8-bf16-compile-r2]@fam"
    parsed = parse_item_id(f"models/M_UNPRUNED.pth::{name}")
    assert parsed is not None
    assert (parsed.stem, parsed.batch_size, parsed.dtype, parsed.runtime, parsed.round) == (
        "M_UNPRUNED",
        8,
        "bf16",
        COMPILE,
        2,
    )


def test_a_pruned_model_is_paired_with_its_baseline_in_its_own_runtime():
    base_eager = make_measurement("A_D_UNPRUNED", 8)
    base_compiled = make_measurement("A_D_UNPRUNED", 8, runtime=COMPILE)
    pruned_compiled = make_measurement("A_D_random_PD1_GPR-50_PRUNED", 8, runtime=COMPILE)
    pruned_eager = make_measurement("A_D_random_PD1_GPR-50_PRUNED", 8)
    baselines = baselines_of_measurements(
        [base_eager, base_compiled, pruned_compiled, pruned_eager]
    )
    assert baselines[2] is base_compiled
    assert baselines[3] is base_eager


def test_runtimes_are_read_in_order_and_a_wrong_one_is_a_clear_error():
    assert parse_runtimes("--prune-runtimes", " Compile, eager,compile") == (COMPILE, EAGER)
    with pytest.raises(
        SettingsError, match="--prune-runtimes: 'onnx' is not one of eager, compile"
    ):
        parse_runtimes("--prune-runtimes", "eager,onnx")
    with pytest.raises(SettingsError, match="no runtime given"):
        parse_runtimes("--prune-runtimes", " , ")
    with pytest.raises(ValueError, match="unknown runtime 'tensorrt'"):
        apply_runtime(torch.nn.Identity(), "tensorrt")


def test_a_compiled_item_is_measured_and_its_compile_time_reported_apart():
    compiled = prepare_model(ModelRequest(MODEL_PATH, "cpu", (4,), runtime=COMPILE), load_tiny)
    measurement = measure(compiled, SteadyMeter(time.perf_counter), clock=None)
    assert measurement.runtime == COMPILE
    assert measurement.key == ("Tiny_TEST_UNPRUNED", 2, "compile")
    # The first pass compiled; the measurement's passes are far shorter than it.
    assert measurement.compile_seconds is not None
    seconds_per_pass = measurement.stats.seconds_per_sample_mean * 2
    assert measurement.compile_seconds > 10 * seconds_per_pass
    eager = prepare_model(ModelRequest(MODEL_PATH, "cpu", (4,)), load_tiny)
    assert measure(eager, SteadyMeter(time.perf_counter), clock=None).compile_seconds is None


class Widths(torch.nn.Module):
    """One class at many widths, as a zoo's pruned models are: they share ``forward``'s code."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.inner = torch.nn.Linear(4, width)
        self.outer = torch.nn.Linear(width, 2)

    def forward(self, batch):
        return self.outer(torch.relu(self.inner(batch)))


@pytest.fixture
def compiled_graphs(monkeypatch):
    """The input shapes of every graph torch.compile builds from here on (dynamo for real, with
    its eager backend to stay fast); an input that is no tensor is a symbolic size."""
    graphs: list[list[object]] = []

    def recording_backend(graph_module, example_inputs):
        graphs.append(
            [tuple(x.shape) if isinstance(x, torch.Tensor) else x for x in example_inputs]
        )
        return graph_module.forward

    real_compile = torch.compile
    monkeypatch.setattr(
        torch,
        "compile",
        lambda module, **options: real_compile(module, backend=recording_backend, **options),
    )
    yield graphs
    torch.compiler.reset()


def test_compile_builds_one_static_graph_per_batch_size_and_per_model_however_many(
    compiled_graphs,
):
    # Left to itself, dynamo makes the second batch size's graph symbolic in the batch, and past
    # 8 graphs of one forward's code it runs the models eagerly: items labelled compile would
    # measure something else.
    model = apply_runtime(Widths(16).eval(), COMPILE)
    batch_sizes = range(1, 11)
    with torch.inference_mode():
        for batch_size in batch_sizes:
            model(torch.randn(batch_size, 4))
            model(torch.randn(batch_size, 4))  # the same shape again compiles nothing
        for width in range(3, 13):
            apply_runtime(Widths(width).eval(), COMPILE)(torch.randn(8, 4))
    per_batch_size, per_width = compiled_graphs[:10], compiled_graphs[10:]
    assert len(per_batch_size) == 10 and len(per_width) == 10
    for batch_size, inputs in zip(batch_sizes, per_batch_size, strict=True):
        assert all(isinstance(shape, tuple) for shape in inputs)  # no symbolic size
        assert (batch_size, 4) in inputs
    assert [max(shape[0] for shape in inputs if len(shape) == 2) for inputs in per_width] == [
        max(width, 8) for width in range(3, 13)
    ]


def test_a_runtime_that_cannot_take_the_model_fails_the_item_in_one_line():
    def load_scripted(path, device):
        return torch.jit.script(load_tiny(path, device))

    request = ModelRequest(MODEL_PATH, "cpu", (4,), runtime=COMPILE)
    # torch.compile refuses TorchScript when asked (newer torch) or at the first pass (older).
    with pytest.raises(ItemProblem) as raised:
        scripted = prepare_model(request, load_scripted)
        measure(scripted, SteadyMeter(time.perf_counter), clock=None)
    message = str(raised.value)
    assert message.startswith("Tiny_TEST_UNPRUNED: the ")
    assert "compile runtime" in message
    assert "torch.compile does not support compiling torch.jit.script" in message
    assert "\n" not in message


def test_cuda_graphs_are_refused_for_a_runtime_other_than_eager():
    compiled = prepare_model(ModelRequest(MODEL_PATH, "cpu", (4,), runtime=COMPILE), load_tiny)
    with pytest.raises(ItemProblem, match="--energy-cuda-graphs captures eager passes"):
        measure(compiled, SteadyMeter(time.perf_counter), clock=None, cli_cuda_graphs=True)


# -- ONNX Runtime ---------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_an_onnxruntime_item_runs_the_exported_model_and_reports_the_export_apart():
    request = ModelRequest(MODEL_PATH, "cpu", (4,), runtime=ONNXRUNTIME)
    exported = prepare_model(request, load_tiny)
    assert isinstance(exported.forward, OnnxRuntimeModel)
    assert exported.runtime_seconds > 0
    # The session computes what the module does, at any batch size (the batch axis is free).
    batch = torch.randn(3, 4)
    (outputs,) = exported.forward(batch)
    with torch.inference_mode():
        expected = exported.module(batch)
    assert outputs.shape == (3, 2)
    assert torch.allclose(torch.from_numpy(outputs), expected, atol=1e-5)
    measurement = measure_item(
        exported,
        2,
        meter=SteadyMeter(time.perf_counter),
        make_input=random_input,
        protocol=settings().protocol_settings,
        cuda_graphs=False,
        idle_watts=None,
        runtime_seconds=0.25,
    )
    assert measurement.runtime == ONNXRUNTIME
    assert measurement.key == ("Tiny_TEST_UNPRUNED", 2, "onnxruntime")
    # The export is this item's (it loaded the model); no first-pass compile is added.
    assert measurement.compile_seconds == 0.25


def test_onnxruntime_on_a_gpu_is_refused_in_one_line_before_anything_is_exported():
    class OnCuda(torch.nn.Module):
        def forward(self, x):
            return x

    example = torch.empty(1, 4, device="meta")
    with pytest.raises(RuntimeUnavailable, match="not on a meta device; measure it with"):
        apply_runtime(OnCuda(), ONNXRUNTIME, lambda: example)


def test_only_an_export_makes_the_example_batch_and_an_export_needs_one():
    made = []

    def example():
        made.append(True)
        return torch.randn(1, 4)

    apply_runtime(torch.nn.Identity(), COMPILE, example)
    apply_runtime(torch.nn.Identity(), None, example)
    assert made == []
    with pytest.raises(ValueError, match="exports on an example batch: none given"):
        apply_runtime(torch.nn.Identity(), ONNXRUNTIME)


def test_without_onnxruntime_installed_the_item_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now fails
    with pytest.raises(ItemProblem) as raised:
        prepare_model(ModelRequest(MODEL_PATH, "cpu", (4,), runtime=ONNXRUNTIME), load_tiny)
    assert str(raised.value) == (
        "Tiny_TEST_UNPRUNED: the onnxruntime runtime cannot take this model: onnxruntime is not "
        "installed (pip install onnx onnxruntime)"
    )


def test_what_preparing_a_runtime_cost_an_item():
    assert setup_seconds(None, 0.0, 0.3) is None  # eager: nothing to prepare
    assert setup_seconds(COMPILE, 0.01, 12.0) == pytest.approx(12.01)  # its first pass compiled
    assert setup_seconds(ONNXRUNTIME, 0.8, 0.002) == pytest.approx(0.8)  # exported beforehand
    assert setup_seconds(ONNXRUNTIME, 0.0, 0.002) == 0.0  # a later item of the same model


@pytest.mark.parametrize(
    ("dtype", "runtime", "variant"),
    [
        (None, None, None),
        ("bfloat16", None, "bfloat16"),
        (None, COMPILE, "compile"),
        ("bfloat16", COMPILE, "bfloat16 compile"),
    ],
)
def test_a_measurement_and_a_failure_name_their_variant_alike(dtype, runtime, variant):
    measured = make_measurement("Tiny_TEST_UNPRUNED", 2, dtype=dtype, runtime=runtime)
    failed = ItemFailure("Tiny_TEST_UNPRUNED", "/m.pt", 2, "broke", dtype=dtype, runtime=runtime)
    assert measured.variant == failed.variant == variant
    assert measured.key == ("Tiny_TEST_UNPRUNED", 2, variant)
