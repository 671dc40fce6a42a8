import pytest

from pytest_pruneenergy.models.discovery import (
    DiscoveryError,
    find_model_files,
    pair_with_baselines,
)


def touch(folder, *names):
    for name in names:
        (folder / name).write_bytes(b"x")
    return folder


def test_model_files_are_sorted_and_other_files_ignored(tmp_path):
    touch(tmp_path, "b_UNPRUNED.pth", "a.pt", "metadata.csv", ".hidden.pth", "c.ts")
    (tmp_path / "sub").mkdir()
    touch(tmp_path / "sub", "d.pth")
    assert [p.name for p in find_model_files(tmp_path)] == ["a.pt", "b_UNPRUNED.pth", "c.ts"]


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DiscoveryError, match="nope does not exist"):
        find_model_files(tmp_path / "nope")


def test_empty_folder_is_a_clear_error(tmp_path):
    touch(tmp_path, "notes.txt")
    with pytest.raises(DiscoveryError, match="holds no model files"):
        find_model_files(tmp_path)


def test_a_file_given_as_folder_is_a_clear_error(tmp_path):
    touch(tmp_path, "a.pth")
    with pytest.raises(DiscoveryError, match="is not a folder"):
        find_model_files(tmp_path / "a.pth")


def baselines_of(folder, *names):
    """Each of ``names``, written into ``folder``, by stem -> its baseline's stem (None: none)."""
    entries = pair_with_baselines(find_model_files(touch(folder, *names)))
    return {entry.stem: entry.baseline_stem for entry in entries}


def test_baseline_matches_architecture_and_dataset(tmp_path):
    assert baselines_of(
        tmp_path,
        "AlexNet_CIFAR10_UNPRUNED.pth",
        "AlexNet_ImageNet_UNPRUNED.pth",
        "AlexNet_CIFAR10_random_PD1_GPR-10_PRUNED.pth",
        "AlexNet_ImageNet_random_PD1_GPR-10_PRUNED.pth",
        "VGG11_CIFAR10_random_PD1_GPR-10_PRUNED.pth",
        "mystery.pth",
    ) == {
        "AlexNet_CIFAR10_UNPRUNED": "AlexNet_CIFAR10_UNPRUNED",
        "AlexNet_ImageNet_UNPRUNED": "AlexNet_ImageNet_UNPRUNED",
        "AlexNet_CIFAR10_random_PD1_GPR-10_PRUNED": "AlexNet_CIFAR10_UNPRUNED",
        "AlexNet_ImageNet_random_PD1_GPR-10_PRUNED": "AlexNet_ImageNet_UNPRUNED",
        "VGG11_CIFAR10_random_PD1_GPR-10_PRUNED": None,
        "mystery": None,
    }
    (mystery,) = [e for e in pair_with_baselines(find_model_files(tmp_path)) if e.stem == "mystery"]
    assert mystery.name is None


def test_with_two_baselines_for_one_group_the_first_in_order_wins(tmp_path):
    found = baselines_of(
        tmp_path,
        "AlexNet_CIFAR10_UNPRUNED.pth",
        "alexnet_cifar10_UNPRUNED.pth",
        "AlexNet_CIFAR10_random_PD1_GPR-10_PRUNED.pth",
    )
    assert found["AlexNet_CIFAR10_random_PD1_GPR-10_PRUNED"] == "AlexNet_CIFAR10_UNPRUNED"
