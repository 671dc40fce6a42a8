import pytest
import torch

from pytest_pruneenergy.models.loading import (
    LoadedModel,
    ModelLoadError,
    PickleRefused,
    load_model_file,
    read_description,
    save_described_model,
)

from ..conftest import TINY_INPUT_SHAPE, tiny_alexnet, write_tiny_model


def test_described_model_without_weights_loads_the_same_weights_every_time(tmp_path):
    path = write_tiny_model(tmp_path / "m.pth")
    first = load_model_file(path, allow_pickle=False)
    second = load_model_file(path, allow_pickle=False)
    assert first.file_format == "described"
    assert first.input_shape == TINY_INPUT_SHAPE
    for a, b in zip(
        first.module.state_dict().values(), second.module.state_dict().values(), strict=False
    ):
        assert torch.equal(a, b)


def test_described_model_with_weights_keeps_them(tmp_path):
    from pytest_pruneenergy.models.architectures import build_model

    module = build_model(tiny_alexnet())
    with torch.no_grad():
        module.classifier[-1].bias.fill_(3.5)
    path = tmp_path / "m.pth"
    save_described_model(
        path, tiny_alexnet(), input_shape=TINY_INPUT_SHAPE, state_dict=module.state_dict()
    )
    loaded = load_model_file(path, allow_pickle=False)
    assert torch.all(loaded.module.classifier[-1].bias == 3.5)


def test_torchscript_loads_without_the_pickle_opt_in(tmp_path):
    path = tmp_path / "scripted.pt"
    torch.jit.script(torch.nn.Linear(3, 2)).save(str(path))
    loaded = load_model_file(path, allow_pickle=False)
    assert loaded.file_format == "torchscript"
    assert loaded.module(torch.ones(1, 3)).shape == (1, 2)


def test_pickled_module_is_refused_naming_the_file_and_the_opt_in(tmp_path):
    path = tmp_path / "whole.pth"
    torch.save(torch.nn.Sequential(torch.nn.Linear(3, 2)), path)
    with pytest.raises(PickleRefused) as refused:
        load_model_file(path, allow_pickle=False)
    assert str(path) in str(refused.value)
    assert "--prune-allow-pickle" in str(refused.value)


def test_pickled_module_loads_with_the_opt_in(tmp_path):
    path = tmp_path / "whole.pth"
    torch.save(torch.nn.Sequential(torch.nn.Linear(3, 2)), path)
    loaded = load_model_file(path, allow_pickle=True)
    assert isinstance(loaded, LoadedModel)
    assert loaded.file_format == "pickle"


def test_corrupt_file_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.pth"
    path.write_bytes(b"this is not a model")
    with pytest.raises(ModelLoadError, match=r"broken\.pth: a text file, not a model"):
        load_model_file(path, allow_pickle=False)


def test_bare_state_dict_asks_for_an_architecture(tmp_path):
    path = tmp_path / "weights.pth"
    torch.save(torch.nn.Linear(3, 2).state_dict(), path)
    with pytest.raises(ModelLoadError, match=r"holds a state_dict without an architecture\. Save"):
        load_model_file(path, allow_pickle=False)


def test_newer_file_format_asks_for_an_upgrade(tmp_path):
    path = write_tiny_model(tmp_path / "m.pth")
    payload = torch.load(path, weights_only=True)
    payload["format_version"] = 99
    torch.save(payload, path)
    with pytest.raises(ModelLoadError, match=r"format version 99.*Upgrade pytest-pruneenergy"):
        load_model_file(path, allow_pickle=False)


def test_weights_that_do_not_fit_the_architecture_are_a_clear_error(tmp_path):
    from pytest_pruneenergy.models.architectures import build_model

    path = tmp_path / "m.pth"
    wrong = build_model(tiny_alexnet(conv_channels=(2, 2, 2, 2, 2))).state_dict()
    save_described_model(path, tiny_alexnet(), input_shape=TINY_INPUT_SHAPE, state_dict=wrong)
    with pytest.raises(ModelLoadError, match="architecture and weights do not fit"):
        load_model_file(path, allow_pickle=False)


def test_missing_file(tmp_path):
    with pytest.raises(ModelLoadError, match="no such model file"):
        load_model_file(tmp_path / "gone.pth", allow_pickle=False)


def test_corrupt_bytes_are_not_mistaken_for_a_pickle(tmp_path):
    path = tmp_path / "garbage.pth"
    path.write_bytes(b"\x00garbage")
    with pytest.raises(ModelLoadError) as error:
        load_model_file(path, allow_pickle=False)
    assert not isinstance(error.value, PickleRefused)
    assert "--prune-allow-pickle" not in str(error.value)


def test_a_torch_save_file_cut_in_half_is_called_a_damaged_torch_save_archive(tmp_path):
    path = tmp_path / "m.pth"
    torch.save({"weight": torch.zeros(4096)}, path)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ModelLoadError) as error:
        load_model_file(path, allow_pickle=False)
    message = str(error.value)
    assert "m.pth: a damaged torch.save archive: the file ends before the zip archive's" in message
    assert "save it again" in message
    assert "not a model file" not in message


def test_a_zip_cut_short_before_its_first_name_is_a_damaged_zip_archive(tmp_path):
    path = write_tiny_model(tmp_path / "m.pth", with_weights=True)
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(ModelLoadError, match=r"m\.pth: a damaged zip archive \(torch\.save"):
        load_model_file(path, allow_pickle=False)


def test_a_description_is_read_without_the_weights_values(tmp_path):
    from pytest_pruneenergy.models.architectures import build_model

    path = tmp_path / "m.pth"
    weights = build_model(tiny_alexnet()).state_dict()
    save_described_model(path, tiny_alexnet(), input_shape=TINY_INPUT_SHAPE, state_dict=weights)
    description = read_description(path)
    assert description.architecture == tiny_alexnet()
    assert description.input_shape == TINY_INPUT_SHAPE
    stored = description.state_dict["features.0.weight"]
    assert (stored.device.type, stored.shape) == ("meta", weights["features.0.weight"].shape)


def test_only_described_files_of_this_version_have_a_description(tmp_path):
    torchscript = tmp_path / "m.ts"
    torch.jit.save(torch.jit.trace(torch.nn.Linear(2, 2), torch.zeros(1, 2)), torchscript)
    newer = write_tiny_model(tmp_path / "newer.pth")
    payload = torch.load(newer, weights_only=True)
    payload["format_version"] = 99
    torch.save(payload, newer)
    bare = tmp_path / "bare.pth"
    torch.save({"weight": torch.zeros(1)}, bare)
    text = tmp_path / "notes.pth"
    text.write_text("not a model")
    for path in (torchscript, newer, bare, text, tmp_path / "missing.pth"):
        assert read_description(path) is None, path
