import pytest
import torch

from pytest_pruneenergy.models import zoo
from pytest_pruneenergy.models.architectures import (
    ArchitectureError,
    pruned_architecture,
    unpruned_architecture,
)
from pytest_pruneenergy.models.loading import load_model_file
from pytest_pruneenergy.models.naming import parse_model_name
from pytest_pruneenergy.models.zoo import build_zoo

from ..conftest import tiny_alexnet


def payload(path):
    return torch.load(path, weights_only=True)


def test_each_layout_gets_an_unpruned_model_and_one_per_pd_and_gpr(tmp_path):
    paths = build_zoo(tmp_path, layouts=("vgg16", "alexnet"), pds=(3, 1), gprs=(40,))
    assert [path.name for path in paths] == [
        "AlexNet_CIFAR10_UNPRUNED.pth",
        "AlexNet_CIFAR10_random_PD1_GPR-40_PRUNED.pth",
        "AlexNet_CIFAR10_random_PD3_GPR-40_PRUNED.pth",
        "VGG16_CIFAR10_UNPRUNED.pth",
        "VGG16_CIFAR10_random_PD1_GPR-40_PRUNED.pth",
        "VGG16_CIFAR10_random_PD3_GPR-40_PRUNED.pth",
    ]
    assert sorted(tmp_path.iterdir()) == sorted(paths)


def test_the_default_zoo_is_three_architectures_times_one_plus_five_pds_times_three_gprs(tmp_path):
    assert len(build_zoo(tmp_path)) == 3 * (1 + 5 * 3)


def test_gprs_are_ordered_numerically_and_duplicates_written_once(tmp_path):
    paths = build_zoo(tmp_path, layouts=("vgg11",), pds=(2,), gprs=(50, 5, 12.5, 5))
    assert [parse_model_name(path.stem).global_pruning_rate_percent for path in paths[1:]] == [
        5,
        12.5,
        50,
    ]


def test_file_names_carry_dataset_method_pd_and_gpr(tmp_path):
    [_, pruned] = build_zoo(
        tmp_path, layouts=("vgg11",), pds=(4,), gprs=(20,), dataset="Tiny_Images", method="weight"
    )
    name = parse_model_name(pruned.stem)
    assert (name.architecture, name.dataset, name.method) == ("VGG11", "Tiny_Images", "weight")
    assert (name.pruning_distribution, name.global_pruning_rate_percent) == (4, 20)


def test_files_hold_the_description_and_input_shape_but_no_weights(tmp_path):
    [unpruned, pruned] = build_zoo(
        tmp_path, layouts=("alexnet",), pds=(5,), gprs=(30,), input_size=96, num_classes=7, seed=3
    )
    saved = payload(pruned)
    assert saved["architecture"] == pruned_architecture("alexnet", 5, 30, num_classes=7)
    assert saved["input_shape"] == [3, 96, 96]
    assert saved["state_dict"] is None
    assert saved["init_seed"] == 3
    assert payload(unpruned)["architecture"] == unpruned_architecture("alexnet", num_classes=7)


def test_the_same_request_writes_the_same_files(tmp_path):
    first = build_zoo(tmp_path / "a", layouts=("vgg11",), pds=(1, 2), gprs=(10,))
    second = build_zoo(tmp_path / "b", layouts=("vgg11",), pds=(1, 2), gprs=(10,))
    assert [payload(path) for path in first] == [payload(path) for path in second]


def test_with_weights_files_hold_the_weights_their_seed_would_draw(tmp_path, monkeypatch):
    # A tiny stand-in for the unpruned AlexNet keeps the weights a few hundred numbers.
    monkeypatch.setattr(zoo, "unpruned_architecture", lambda layout, num_classes: tiny_alexnet())
    request = {"layouts": ("alexnet",), "pds": (), "input_size": 64, "seed": 5}
    [with_weights] = build_zoo(tmp_path / "weights", with_weights=True, **request)
    [described] = build_zoo(tmp_path / "described", **request)
    stored = payload(with_weights)["state_dict"]
    drawn = load_model_file(described, allow_pickle=False).module.state_dict()
    assert stored.keys() == drawn.keys()
    assert all(torch.equal(stored[key], drawn[key]) for key in stored)


def test_progress_is_reported_after_each_file(tmp_path):
    calls = []
    build_zoo(
        tmp_path,
        layouts=("vgg11",),
        pds=(1,),
        gprs=(10,),
        progress=lambda *call: calls.append(call),
    )
    assert calls == [
        (1, 2, "VGG11_CIFAR10_UNPRUNED.pth"),
        (2, 2, "VGG11_CIFAR10_random_PD1_GPR-10_PRUNED.pth"),
    ]


def test_layouts_without_a_pd_table_can_be_written_unpruned(tmp_path):
    [path] = build_zoo(tmp_path, layouts=("vgg19",), pds=())
    assert path.name == "VGG19_CIFAR10_UNPRUNED.pth"


@pytest.mark.parametrize(
    ("request_", "error", "message"),
    [
        ({"layouts": ("alexnet", "vgg12")}, ArchitectureError, "unknown layout 'vgg12'"),
        ({"pds": (1, 6)}, ArchitectureError, "6 is not one of PD1"),
        ({"gprs": (10, 0)}, ArchitectureError, "global pruning rate 0 must be a positive"),
        ({"gprs": (30, 70)}, ArchitectureError, "alexnet PD2 .* conv layer 5 would lose all"),
        ({"layouts": ("vgg13",)}, ArchitectureError, "no pruning distribution table"),
        ({"input_size": 32}, ArchitectureError, "alexnet cannot take 32x32 inputs"),
        ({"method": "l1_norm"}, ValueError, "method 'l1_norm' must not contain '_'"),
        ({"dataset": "a/b"}, ValueError, "contains a path separator"),
    ],
)
def test_bad_requests_fail_before_anything_is_written(tmp_path, request_, error, message):
    out_dir = tmp_path / "zoo"
    with pytest.raises(error, match=message):
        build_zoo(out_dir, **request_)
    assert not out_dir.exists()


def test_an_out_dir_that_is_a_file_is_refused(tmp_path):
    not_a_folder = tmp_path / "zoo"
    not_a_folder.write_text("keep me")
    with pytest.raises(NotADirectoryError, match="is not a folder"):
        build_zoo(not_a_folder)
    assert not_a_folder.read_text() == "keep me"
