"""Models as people deploy them: numeric formats, runtimes, masks, pairing beyond names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from pytest_pruneenergy.report.page import escape_html

from ..conftest import tiny_alexnet, write_tiny_model, write_tiny_zoo
from .conftest import run_in_process, run_on_tiny_zoo

pytestmark = pytest.mark.slow


def test_each_numeric_format_is_an_item_and_pairs_within_its_format(tmp_path: Path) -> None:
    result = run_on_tiny_zoo(
        tmp_path,
        "--prune-batch-sizes=2",
        "--prune-dtypes=float32,bfloat16",
        "--prune-channels-last",
    )
    assert result.returncode == 0, result.output
    assert "test_energy[AlexNet_TINY_UNPRUNED-bs2-bf16]" in result.output
    assert "test_energy[AlexNet_TINY_UNPRUNED-bs2-fp32]" in result.output
    table = result.table("report")
    assert sorted(set(table["Dtype"])) == ["bfloat16", "float32"]
    assert table["Channels Last"].all()
    pruned = table[table["stem"] == "AlexNet_TINY_random_PD1_GPR-50_PRUNED"]
    assert len(pruned) == 2 and pruned["Energy Reduction (%)"].notna().all()
    # Counting does not depend on the format.
    assert pruned["Parameters"].nunique() == 1 and pruned["MACs"].nunique() == 1


@pytest.mark.filterwarnings("ignore:`torch.jit.*deprecated:DeprecationWarning")
def test_each_runtime_is_an_item_and_pairs_within_its_runtime(tmp_path: Path) -> None:
    small = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten()
    )
    (tmp_path / "models").mkdir()
    torch.jit.save(torch.jit.script(small), tmp_path / "models" / "Scripted_TINY_UNPRUNED.pt")
    result = run_on_tiny_zoo(
        tmp_path,
        "--prune-batch-sizes=2",
        "--prune-runtimes=eager,compile,onnxruntime",
        # At 64x64 the tiny AlexNet's adaptive pooling does not divide its input, which
        # torch's TorchScript-based ONNX exporter refuses; at the seed's size it exports.
        "--prune-input-shape=3,224,224",
    )
    # The TorchScript file cannot be compiled: that item fails, alone and in one line.
    assert result.returncode == 1, result.output
    assert "test_energy[AlexNet_TINY_UNPRUNED-bs2-compile] PASSED" in result.output
    assert "test_energy[AlexNet_TINY_UNPRUNED-bs2] PASSED" in result.output
    assert "test_energy[Scripted_TINY_UNPRUNED-bs2] PASSED" in result.output
    assert "test_energy[Scripted_TINY_UNPRUNED-bs2-compile] FAILED" in result.output
    assert "test_energy[AlexNet_TINY_UNPRUNED-bs2-onnxruntime] PASSED" in result.output
    table = result.table("report")
    failed = table[table["Status"] == "failed"]
    assert list(zip(failed["stem"], failed["Runtime"], strict=True)) == [
        ("Scripted_TINY_UNPRUNED", "compile")
    ]
    assert "compile runtime" in failed["Error"].iloc[0]
    measured = table[table["Status"] == "measured"]
    runtime = measured["Runtime"]
    compiled, exported = measured[runtime == "compile"], measured[runtime == "onnxruntime"]
    assert (len(measured[runtime == "eager"]), len(compiled), len(exported)) == (4, 3, 4)
    assert compiled["Compile Seconds"].gt(0).all() and exported["Compile Seconds"].gt(0).all()
    assert measured[runtime == "eager"]["Compile Seconds"].isna().all()
    # Each pruned row is compared with its baseline in its own runtime.
    pruned = measured[measured["stem"] == "AlexNet_TINY_random_PD1_GPR-50_PRUNED"]
    assert len(pruned) == 3 and pruned["Energy Reduction (%)"].notna().all()
    assert " runtime " in result.output  # the terminal table's column


def test_a_masked_model_is_said_to_save_nothing_in_every_format(tmp_path: Path) -> None:
    from pytest_pruneenergy.models.architectures import build_model
    from pytest_pruneenergy.models.loading import save_described_model

    models = tmp_path / "models"
    write_tiny_zoo(models)
    masked = build_model(tiny_alexnet()).eval()
    with torch.no_grad():
        for layer in masked.modules():
            if isinstance(layer, (torch.nn.Conv2d, torch.nn.Linear)):
                layer.weight[layer.weight.abs() < layer.weight.abs().median()] = 0
    save_described_model(
        models / "AlexNet_TINY_magnitude_PD1_GPR-50_PRUNED.pth",
        tiny_alexnet(),
        input_shape=(3, 64, 64),
        state_dict=masked.state_dict(),
    )
    # TorchScript, as the README recommends: its modules are no nn.Conv2d or nn.Linear.
    torch.jit.save(torch.jit.script(masked), models / "AlexNet_TINY_scripted_PD1_GPR-50_PRUNED.pt")
    traced = torch.jit.trace(masked, torch.randn(1, 3, 64, 64))
    torch.jit.save(traced, models / "AlexNet_TINY_traced_PD1_GPR-50_PRUNED.ts")
    result = run_in_process(
        tmp_path,
        "--prune-models=models",
        "--prune-batch-sizes=1",
        "--prune-input-shape=3,64,64",
        "--energy-report=report",
    )
    assert result.returncode == 0, result.output
    files = [
        "AlexNet_TINY_magnitude_PD1_GPR-50_PRUNED.pth",
        "AlexNet_TINY_scripted_PD1_GPR-50_PRUNED.pt",
        "AlexNet_TINY_traced_PD1_GPR-50_PRUNED.ts",
    ]
    zeros = result.table("report").set_index("MODEL_NAME")["Zero Weights (%)"][files]
    assert zeros.nunique() == 1 and zeros.iloc[0] >= 45
    summary = " ".join(result.summary().split())
    assert "zero weights: 3 model(s) are 20 % zeros or more" in summary
    assert "dense kernels multiply zeros like any weight" in summary
    not_smaller = (
        f"named GPR-50 but no smaller than their baselines: {', '.join(files)} "
        "(parameters and FLOPs as the unpruned models')"
    )
    assert not_smaller in summary
    page = (tmp_path / "report" / "report.html").read_text()
    assert escape_html(not_smaller) in page


def test_a_manifest_pairs_files_named_any_way(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    write_tiny_model(models / "dense.pth")
    write_tiny_model(models / "slim_a.pth", conv_channels=(2,) * 5)
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nprune_manifest =\n    slim_*.pth -> dense.pth method=l1 gpr=50\n"
    )
    result = run_in_process(
        tmp_path, "--prune-models=models", "--prune-batch-sizes=1", "--energy-report"
    )
    assert result.returncode == 0, result.output
    assert "name follows neither" not in result.output
    table = result.table()
    slim = table[table["stem"] == "slim_a"].iloc[0]
    assert (slim["Baseline Model"], slim["Method"], slim["GPR"]) == ("dense.pth", "l1", 50.0)
    assert slim["CR (%) measured in FLOPs"] > 0


PARSER = """
from pytest_pruneenergy.models.naming import ModelName

def pytest_pruneenergy_parse_name(path):
    team, arch, rate = path.stem.split("-")
    return ModelName(stem=path.stem, architecture=arch, dataset=team, is_baseline=rate == "0",
                     method="ours", global_pruning_rate_percent=float(rate))
"""


def test_a_teams_own_naming_convention_through_the_parse_hook(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    write_tiny_model(models / "vision-alexnet-0.pth")
    write_tiny_model(models / "vision-alexnet-50.pth", conv_channels=(2,) * 5)
    (tmp_path / "conftest.py").write_text(PARSER)
    result = run_in_process(
        tmp_path, "--prune-models=models", "--prune-batch-sizes=1", "--energy-report"
    )
    assert result.returncode == 0, result.output
    table = result.table()
    pruned = table[table["stem"] == "vision-alexnet-50"].iloc[0]
    assert pruned["Baseline Model"] == "vision-alexnet-0.pth"
    assert re.fullmatch(r"-?\d+(\.\d+)?", str(pruned["Energy Reduction (%)"]))
