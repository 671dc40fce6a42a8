import csv
import io

import pandas as pd
import pytest
import torch
from torch import nn

from pytest_pruneenergy import cli
from pytest_pruneenergy.models.counting import count_architecture

from .conftest import TINY_INPUT_SHAPE, tiny_alexnet

SMALL_ZOO = ["--archs", "vgg11", "--pds", "1", "--gprs", "10", "--input-size", "32"]


class TerminalStream(io.StringIO):
    def isatty(self) -> bool:
        return True


def table_rows(stdout: str) -> list[list[str]]:
    """The table's model lines, split into cells, without the notes and the header."""
    lines = stdout.splitlines()
    header = next(index for index, line in enumerate(lines) if line.startswith("model "))
    return [line.split() for line in lines[header + 1 :]]


def tiny_counts(shape=TINY_INPUT_SHAPE):
    return count_architecture(tiny_alexnet(), shape)


# -- zoo ---------------------------------------------------------------------------------------


def test_zoo_writes_the_models_and_says_how_many_where(tmp_path, capsys):
    out_dir = tmp_path / "zoo"
    assert cli.main(["zoo", str(out_dir), *SMALL_ZOO]) == 0
    assert sorted(path.name for path in out_dir.iterdir()) == [
        "VGG11_CIFAR10_UNPRUNED.pth",
        "VGG11_CIFAR10_random_PD1_GPR-10_PRUNED.pth",
    ]
    assert capsys.readouterr().out == f"wrote 2 model files to {out_dir}\n"


def test_zoo_draws_no_progress_bar_into_logs(tmp_path, capsys):
    cli.main(["zoo", str(tmp_path), *SMALL_ZOO])
    assert capsys.readouterr().err == ""


def test_zoo_draws_a_progress_bar_on_a_terminal(tmp_path, monkeypatch):
    terminal = TerminalStream()
    monkeypatch.setattr("sys.stderr", terminal)
    cli.main(["zoo", str(tmp_path), *SMALL_ZOO])
    assert f"\r[{'#' * 15}{'.' * 15}] 1/2 VGG11_CIFAR10_UNPRUNED.pth" in terminal.getvalue()
    assert terminal.getvalue().endswith(
        f"[{'#' * 30}] 2/2 VGG11_CIFAR10_random_PD1_GPR-10_PRUNED.pth\x1b[K\n"
    )


def test_zoo_passes_every_option_on(tmp_path, capsys):
    options = ["--archs", "AlexNet", "--pds", "2,3", "--gprs", "20,12.5", "--input-size", "64"]
    options += ["--num-classes", "7", "--dataset", "TINY", "--method", "weight", "--seed", "4"]
    assert cli.main(["zoo", str(tmp_path), *options]) == 0
    names = sorted(path.name for path in tmp_path.iterdir())
    assert len(names) == 1 + 2 * 2
    assert "AlexNet_TINY_weight_PD3_GPR-12.5_PRUNED.pth" in names
    saved = torch.load(tmp_path / "AlexNet_TINY_UNPRUNED.pth", weights_only=True)
    assert (saved["architecture"]["num_classes"], saved["input_shape"], saved["init_seed"]) == (
        7,
        [3, 64, 64],
        4,
    )


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--gprs", "10,x", "--gprs: 'x' is not a number"),
        ("--pds", "1,2.5", "--pds: '2.5' is not a whole number"),
        ("--pds", "1,,2", "--pds: '1,,2' has an empty item"),
        ("--input-size", "big", "--input-size: invalid int value: 'big'"),
    ],
)
def test_zoo_list_options_that_do_not_parse_are_usage_errors(
    tmp_path, capsys, option, value, message
):
    assert cli.main(["zoo", str(tmp_path / "zoo"), option, value]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "zoo").exists()


def test_zoo_requests_the_rule_cannot_meet_are_usage_errors(tmp_path, capsys):
    assert cli.main(["zoo", str(tmp_path / "zoo"), "--gprs", "70"]) == 2
    assert (
        "pruneenergy zoo: error: alexnet PD2 at GPR 70 %: conv layer 5" in capsys.readouterr().err
    )
    assert not (tmp_path / "zoo").exists()


# -- count -------------------------------------------------------------------------------------


def test_count_prints_params_macs_and_flops_of_each_file_in_a_folder(tiny_zoo, capsys):
    assert cli.main(["count", str(tiny_zoo)]) == 0
    out = capsys.readouterr().out
    assert "FLOPs = 2 x MACs" in out.splitlines()[0]
    assert "fvcore = the seed tool's FLOPs" in out.splitlines()[1]
    assert out.splitlines()[2].split() == ["model", "params", "MACs", "FLOPs", "fvcore", "input"]
    rows = table_rows(out)
    assert [row[0] for row in rows] == [
        "AlexNet_TINY_UNPRUNED",
        "AlexNet_TINY_random_PD1_GPR-50_PRUNED",
        "AlexNet_TINY_random_PD3_GPR-50_PRUNED_SEED_1",
    ]
    counts = tiny_counts()
    assert rows[0][1:] == [
        f"{counts.params:,}",
        f"{counts.macs:,}",
        f"{counts.flops:,}",
        f"{counts.fvcore_flops:,}",
        "3x64x64",
    ]


def test_count_reads_only_model_files_directly_inside_a_folder(tiny_zoo, capsys):
    (tiny_zoo / "notes.txt").write_text("not a model")
    (tiny_zoo / "nested").mkdir()
    (tiny_zoo / "nested" / "AlexNet_TINY_UNPRUNED.pth").write_bytes(b"")
    assert cli.main(["count", str(tiny_zoo)]) == 0
    assert len(table_rows(capsys.readouterr().out)) == 3


def test_count_counts_a_file_named_twice_once(tiny_zoo, capsys):
    # Counted twice before: `count zoo zoo/AlexNet_TINY_UNPRUNED.pth` gave it two rows.
    one = tiny_zoo / "AlexNet_TINY_UNPRUNED.pth"
    assert cli.main(["count", str(tiny_zoo), str(one), str(tiny_zoo)]) == 0
    rows = table_rows(capsys.readouterr().out)
    assert [row[0] for row in rows].count("AlexNet_TINY_UNPRUNED") == 1 and len(rows) == 3


def test_count_input_shape_option_overrides_the_files_own(tiny_zoo, capsys):
    path = tiny_zoo / "AlexNet_TINY_UNPRUNED.pth"
    assert cli.main(["count", str(path), "--input-shape", "3,96,96"]) == 0
    [row] = table_rows(capsys.readouterr().out)
    counts = tiny_counts((3, 96, 96))
    assert row[2:] == [
        f"{counts.macs:,}",
        f"{counts.flops:,}",
        f"{counts.fvcore_flops:,}",
        "3x96x96",
    ]


@pytest.mark.filterwarnings("ignore:`torch.jit.*deprecated:DeprecationWarning")
def test_count_uses_3x224x224_for_files_that_record_no_input_shape(tmp_path, capsys):
    path = tmp_path / "pooled.ts"
    model = nn.Sequential(nn.Conv2d(3, 2, 1), nn.AdaptiveAvgPool2d(1))
    torch.jit.save(torch.jit.trace(model, torch.zeros(1, 3, 8, 8)), path)
    assert cli.main(["count", str(path)]) == 0
    [row] = table_rows(capsys.readouterr().out)
    # fvcore's pool count cannot be seen inside TorchScript: "-", not a wrong number.
    assert row[2:] == [f"{2 * 3 * 224 * 224:,}", f"{2 * 2 * 3 * 224 * 224:,}", "-", "3x224x224"]


def test_count_csv_holds_the_same_rows_with_raw_numbers(tiny_zoo, tmp_path, capsys):
    csv_path = tmp_path / "counts.csv"
    assert cli.main(["count", str(tiny_zoo), "--csv", str(csv_path)]) == 0
    with csv_path.open(newline="") as file:
        rows = list(csv.reader(file))
    counts = tiny_counts()
    assert rows[0] == ["model", "params", "macs", "flops_2x_macs", "input_shape", "fvcore_flops"]
    assert rows[1] == [
        "AlexNet_TINY_UNPRUNED",
        str(counts.params),
        str(counts.macs),
        str(counts.flops),
        "3x64x64",
        str(counts.fvcore_flops),
    ]
    assert len(rows) == 1 + 3


def test_count_reports_a_broken_file_and_counts_the_others(tiny_zoo, capsys):
    broken = tiny_zoo / "AlexNet_TINY_random_PD2_GPR-50_PRUNED.pth"
    broken.write_bytes(b"not a torch file")
    assert cli.main(["count", str(tiny_zoo)]) == 1
    captured = capsys.readouterr()
    assert f"pruneenergy count: {broken}: " in captured.err
    assert len(table_rows(captured.out)) == 3


def test_count_refuses_pickled_modules_unless_allowed(tmp_path, capsys):
    path = tmp_path / "whole.pth"
    torch.save(nn.Sequential(nn.Linear(4, 3)), path)
    assert cli.main(["count", str(path), "--input-shape", "4"]) == 1
    assert "pruneenergy count --allow-pickle" in capsys.readouterr().err
    assert cli.main(["count", str(path), "--input-shape", "4", "--allow-pickle"]) == 0
    [row] = table_rows(capsys.readouterr().out)
    assert row[1:3] == ["15", "12"]


def test_count_counts_described_files_without_building_their_weights(tiny_zoo, monkeypatch, capsys):
    def no_loading(*args, **kwargs):
        raise AssertionError("a described-model file was loaded with its weights")

    monkeypatch.setattr("pytest_pruneenergy.models.loading.load_model_file", no_loading)
    assert cli.main(["count", str(tiny_zoo)]) == 0
    assert table_rows(capsys.readouterr().out)[0][1] == f"{tiny_counts().params:,}"


def test_count_of_a_described_file_whose_weights_do_not_fit_says_so(tiny_zoo, capsys):
    from pytest_pruneenergy.models.loading import save_described_model

    path = tiny_zoo / "AlexNet_TINY_UNPRUNED.pth"
    save_described_model(
        path, tiny_alexnet(), input_shape=TINY_INPUT_SHAPE, state_dict={"x": torch.zeros(1)}
    )
    assert cli.main(["count", str(path)]) == 1
    assert f"{path}: architecture and weights do not fit" in capsys.readouterr().err


def test_count_reports_a_model_that_cannot_take_the_input_shape(tiny_zoo, capsys):
    path = tiny_zoo / "AlexNet_TINY_UNPRUNED.pth"
    assert cli.main(["count", str(path), "--input-shape", "3,8,8"]) == 1
    assert f"{path}: could not count parameters and FLOPs on an input of shape 1x3x8x8" in (
        capsys.readouterr().err
    )


class LinearOnFive(nn.Module):
    """Scripted, it fails inside the TorchScript interpreter on any input not ending in 5."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(5, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


def test_count_of_a_failing_torchscript_model_is_one_line_with_the_cause_and_the_hint(
    tmp_path, capsys
):
    path = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(LinearOnFive()), path)
    assert cli.main(["count", str(path), "--input-shape", "3,4"]) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        f"pruneenergy count: {path}: could not count parameters and FLOPs on an input of shape "
        "1x3x4 (RuntimeError: mat1 and mat2 shapes cannot be multiplied (3x4 and 5x2)). If the "
        "model expects another input shape, set --input-shape.\n"
    )
    assert captured.out == ""


def test_count_of_a_missing_path_is_a_usage_error(tiny_zoo, tmp_path, capsys):
    missing = tmp_path / "missing.pth"
    assert cli.main(["count", str(tiny_zoo), str(missing)]) == 2
    captured = capsys.readouterr()
    assert f"{missing}: no such file or folder" in captured.err
    assert captured.out == ""


def test_count_of_a_folder_without_models_is_a_usage_error(tmp_path, capsys):
    assert cli.main(["count", str(tmp_path)]) == 2
    assert "no model files (.pth, .pt, .ts, .jit)" in capsys.readouterr().err


@pytest.mark.parametrize("shape", ["3,x,8", "3,0,8"])
def test_count_input_shapes_must_be_positive_numbers(tiny_zoo, capsys, shape):
    assert cli.main(["count", str(tiny_zoo), "--input-shape", shape]) == 2
    assert "--input-shape:" in capsys.readouterr().err


# -- the command itself ------------------------------------------------------------------------


def test_a_subcommand_is_required(capsys):
    assert cli.main([]) == 2
    assert "required: COMMAND" in capsys.readouterr().err


def test_help_exits_cleanly(capsys):
    assert cli.main(["--help"]) == 0
    assert "zoo" in capsys.readouterr().out


@pytest.mark.slow
def test_demo_builds_the_zoo_and_measures_it_with_the_plugin(tmp_path):
    from .conftest import NO_HYPOTHESIS
    from .plugin.conftest import run_cli

    completed = run_cli(
        tmp_path,
        "demo",
        "--device=cpu",
        f"--out={tmp_path / 'demo'}",
        "--",
        *NO_HYPOTHESIS,
        "-k",
        "VGG11_CIFAR10_UNPRUNED or VGG11_CIFAR10_random_PD1_GPR-50_PRUNED",
        "--prune-batch-sizes=1",
        "--energy-max-seconds=0.3",
    )
    assert completed.returncode == 0, completed.output
    assert len(list((tmp_path / "demo" / "models").glob("*.pth"))) == 21
    assert "2 passed" in completed.stdout
    assert "-k 'VGG11_CIFAR10_UNPRUNED or VGG11_CIFAR10_random_PD1_GPR-50_PRUNED'" in (
        completed.stdout
    )
    table = pd.read_csv(tmp_path / "demo" / "report" / "pruneenergy_results.csv")
    pruned = table[table["MODEL_NAME"] == "VGG11_CIFAR10_random_PD1_GPR-50_PRUNED.pth"]
    assert pruned["Baseline Model"].iloc[0] == "VGG11_CIFAR10_UNPRUNED.pth"
    # The seed's FLOPs: fvcore's count of one batch (here of one sample), pool included.
    assert pruned["FLOPs"].iloc[0] > pruned["MACs"].iloc[0]


def test_demo_prints_its_pytest_command_so_that_it_can_be_copied_and_rerun():
    from pytest_pruneenergy.demo import command_line

    printed = command_line(["demo out/models", "-k", "VGG11 and bs1", "--prune-device=cpu"])
    assert printed == "pytest 'demo out/models' -k 'VGG11 and bs1' --prune-device=cpu"


def test_demo_refuses_an_unknown_device(tmp_path, capsys):
    assert cli.main(["demo", "--device", "gpu", "--out", str(tmp_path / "d")]) == cli.EXIT_USAGE
    assert "--device: 'gpu' is not one of auto, cpu, cuda, cuda:N" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_the_cli_reaches_no_pytest_glue():
    # pruneenergy merge stores runs with the code the plugin calls (track/run_end.py), not
    # through the plugin's own modules.
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(cli))
    modules = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert modules and not [name for name in modules if name.split(".")[0] == "plugin"]


@pytest.mark.parametrize("command", ["report", "merge", "history", "demo"])
def test_an_out_folder_that_cannot_be_one_is_refused_before_any_work(tmp_path, capsys, command):
    # "--out ''" wrote into the current folder; "--out FILE" failed with [Errno 17] after the
    # work was done.
    (tmp_path / "afile").write_text("a file")
    inputs = {"report": ["x.csv"], "merge": [str(tmp_path)], "history": [], "demo": []}[command]
    for out, message in (("", "an empty path (an unset variable?)"), ("afile", "is a file")):
        path = str(tmp_path / out) if out else out
        assert cli.main([command, *inputs, "--out", path]) == cli.EXIT_USAGE
        assert f"argument --out: {path + ' ' if out else ''}{message}" in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["afile"]


@pytest.mark.parametrize(
    ("text", "message"), [("0", "0 must be at least 1"), ("x", "'x' is not a whole number")]
)
def test_a_history_batch_size_that_is_none_is_a_usage_error(tmp_path, capsys, text, message):
    # "--batch 0" read as "no stored runs with matching items", exit 1.
    assert cli.main(["history", "--store", str(tmp_path), "--batch", text]) == cli.EXIT_USAGE
    assert f"argument --batch: {message}" in capsys.readouterr().err
