"""The seed's pruning distributions on any CNN, through Torch-Pruning."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pytest_pruneenergy.models.counting import count_model
from pytest_pruneenergy.models.loading import load_model_file
from pytest_pruneenergy.models.naming import parse_model_name
from pytest_pruneenergy.models.pairing import baselines_of
from pytest_pruneenergy.models.torch_pruning_zoo import build_pruned_zoo, layer_rates, pd_rate

from . import small_cnns

SHAPE = (3, 16, 16)


def test_pd_rates_follow_the_seeds_shapes_over_depth():
    assert pd_rate(1, 0.0, 50) == pd_rate(1, 1.0, 50) == 0.5
    assert pd_rate(2, 0.0, 50) < pd_rate(2, 1.0, 50)  # bottom-up: deep layers most
    assert pd_rate(3, 0.0, 50) > pd_rate(3, 1.0, 50)  # top-down: early layers most
    assert pd_rate(4, 0.5, 50) > pd_rate(4, 0.0, 50)  # the middle most
    assert pd_rate(5, 0.0, 50) > pd_rate(5, 0.5, 50)  # the ends most
    assert pd_rate(3, 0.0, 20) == pytest.approx(0.7 * 20 / 50)  # scaled by GPR, as the seed
    assert pd_rate(2, 1.0, 90) == 0.95  # never all channels


def test_every_convolution_gets_the_rate_of_its_depth():
    rates = layer_rates(small_cnns.TinyResNet(), pd=3, gpr_percent=40)
    values = list(rates.values())
    assert len(values) == 6 and values == sorted(values, reverse=True)


@pytest.mark.parametrize("name", ["tiny_resnet", "tiny_mobilenet"])
def test_the_zoo_prunes_residual_and_depthwise_models_into_paired_files(tmp_path: Path, name):
    reference = {"source": "tests", "name": name, "kwargs": {}}
    paths = build_pruned_zoo(
        tmp_path, references=[reference], pds=[1, 3], gprs=[20, 60], input_size=16, seed=1
    )
    assert len(paths) == 5
    names = [parse_model_name(path.stem) for path in paths]
    assert names[0].is_baseline and names[0].architecture == name.replace("_", "-")
    baselines = baselines_of(
        paths, name_of=lambda p: parse_model_name(p.stem), stem_of=lambda p: p.stem
    )
    assert {baseline.stem for baseline in baselines} == {paths[0].stem}
    counts = {
        path.stem: count_model(load_model_file(path, allow_pickle=False).module, SHAPE)
        for path in paths
    }
    unpruned = counts[paths[0].stem]
    for path in paths[1:]:
        assert counts[path.stem].params < unpruned.params
        loaded = load_model_file(path, allow_pickle=False).module
        assert loaded(torch.randn((2, *SHAPE))).shape == (2, 10)  # the output is never pruned
    more = counts[next(p.stem for p in paths if "PD1_GPR-60" in p.stem)]
    less = counts[next(p.stem for p in paths if "PD1_GPR-20" in p.stem)]
    assert more.macs < less.macs


def test_the_zoo_command_prunes_a_registered_architecture(tmp_path: Path, monkeypatch, capsys):
    from pytest_pruneenergy import cli
    from pytest_pruneenergy.models import referenced

    monkeypatch.setitem(referenced._BUILDERS, "torchvision", small_cnns.build)
    arguments = ["zoo", str(tmp_path), "--source", "torchvision", "--archs", "tiny_resnet"]
    options = ["--pds", "1,5", "--gprs", "30", "--input-size", "16", "--num-classes", "10"]
    assert cli.main(arguments + options) == cli.EXIT_OK
    assert "wrote 3 model files" in capsys.readouterr().out
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "tiny-resnet_IMAGENET_UNPRUNED.pth",
        "tiny-resnet_IMAGENET_random_PD1_GPR-30_PRUNED.pth",
        "tiny-resnet_IMAGENET_random_PD5_GPR-30_PRUNED.pth",
    ]


def test_the_zoo_command_names_a_missing_library(tmp_path: Path, monkeypatch, capsys):
    from pytest_pruneenergy import cli
    from pytest_pruneenergy.models import referenced

    def no_timm(name: str, kwargs: dict) -> torch.nn.Module:
        raise ImportError("No module named 'timm'")

    monkeypatch.setitem(referenced._BUILDERS, "timm", no_timm)
    assert cli.main(["zoo", str(tmp_path), "--source", "timm", "--archs", "resnet50"]) == 2
    assert "needs a package that is not installed" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--archs", "tiny_resnet,no_such_net"], "cannot build 'no_such_net'"),
        (["--archs", "tiny_resnet", "--pds", "6"], "PD6 is not one of PD1-PD5"),
        (["--archs", "tiny_resnet", "--gprs", "100"], "100 % is not between 0 and 100"),
        (["--archs", "tiny_resnet", "--method", "taylor"], "'taylor' is not one of random, l1"),
    ],
)
def test_a_bad_zoo_request_writes_no_file(tmp_path: Path, monkeypatch, capsys, options, message):
    from pytest_pruneenergy import cli
    from pytest_pruneenergy.models import referenced

    def build(name: str, kwargs: dict) -> torch.nn.Module:
        if name == "no_such_net":
            raise KeyError(name)
        return small_cnns.build(name, kwargs)

    monkeypatch.setitem(referenced._BUILDERS, "torchvision", build)
    out = tmp_path / "zoo"
    arguments = ["zoo", str(out), "--source", "torchvision", "--input-size", "16", *options]
    assert cli.main(arguments) == cli.EXIT_USAGE
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_rounding_keeps_every_pruned_width_a_multiple_of_eight(tmp_path: Path):
    from pytest_pruneenergy.items.numerics import unaligned_width_percent

    reference = {"source": "tests", "name": "tiny_resnet", "kwargs": {}}
    widths = {}
    for round_to in (None, 8):
        [_, pruned] = build_pruned_zoo(
            tmp_path / str(round_to),
            references=[reference],
            pds=[1],
            gprs=[30],
            input_size=16,
            seed=1,
            round_to=round_to,
        )
        module = load_model_file(pruned, allow_pickle=False).module
        convolutions = [layer for layer in module.modules() if isinstance(layer, torch.nn.Conv2d)]
        widths[round_to] = [layer.out_channels for layer in convolutions]
        if round_to == 8:
            assert all(width % 8 == 0 for width in widths[round_to]), widths[round_to]
            shares = unaligned_width_percent(module)
            assert shares is not None and shares[8] < 100
    assert widths[None] != widths[8]  # unrounded, pruning leaves widths of no such multiple


def test_round_to_is_torch_prunings_and_refused_for_the_seeds_layouts(tmp_path, capsys):
    from pytest_pruneenergy import cli

    assert cli.main(["zoo", str(tmp_path / "zoo"), "--round-to", "8"]) == 2
    assert "--round-to takes one number, and is Torch-Pruning's" in capsys.readouterr().err
    assert not (tmp_path / "zoo").exists()
