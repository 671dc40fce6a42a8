"""A folder of model files -> ModelEntry list, each pruned model paired with its baseline."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .loading import MODEL_FILE_SUFFIXES
from .naming import ModelName, parse_model_name
from .pairing import baselines_of, family_label


class DiscoveryError(Exception):
    """A --prune-models folder that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class ModelEntry:
    path: Path
    name: ModelName | None  # None: the file name follows no convention
    baseline_stem: str | None  # the unpruned model this one is compared with

    @property
    def stem(self) -> str:
        return self.path.stem

    @property
    def family(self) -> str:
        """The family a baseline and the models compared with it share (models/pairing.py)."""
        return family_label(self.name, self.stem)


def find_model_files(folder: Path) -> list[Path]:
    """Model files directly inside ``folder``, sorted by name; other files are ignored."""
    if not folder.exists():
        raise DiscoveryError(f"--prune-models folder {folder} does not exist")
    if not folder.is_dir():
        raise DiscoveryError(f"--prune-models {folder} is not a folder")
    files = list_model_files(folder)
    if not files:
        suffixes = ", ".join(MODEL_FILE_SUFFIXES)
        skipped = skipped_files(folder)
        because = f"; skipped: {describe_skipped(skipped)}" if skipped else ""
        raise DiscoveryError(
            f"--prune-models folder {folder} holds no model files ({suffixes}){because}"
        )
    return files


@dataclass(frozen=True)
class SkippedFile:
    """A file in a models folder that looks like a model but is not measured, and why."""

    path: Path
    reason: str


# Model formats of other tools, found beside PyTorch models and skipped with a word on why.
_FOREIGN_FORMATS = {
    ".onnx": "an ONNX model: measure the PyTorch model it was exported from",
    ".pt2": (
        "a torch.export archive, not loaded (loading unpickles, and its graph is fixed to "
        "one batch size): save the model as TorchScript"
    ),
    ".safetensors": (
        "weights without an architecture: load them in a pytest_pruneenergy_load_model hook"
    ),
    ".ckpt": "a checkpoint (e.g. Lightning): save the model itself as .pth or TorchScript",
    ".bin": "weights in a .bin file: save the model itself as .pth or TorchScript",
    ".h5": "a Keras/HDF5 model: pytest-pruneenergy measures PyTorch models",
    ".keras": "a Keras model: pytest-pruneenergy measures PyTorch models",
    ".pb": "a TensorFlow graph: pytest-pruneenergy measures PyTorch models",
    ".tflite": "a TensorFlow Lite model: pytest-pruneenergy measures PyTorch models",
    ".engine": "a TensorRT engine: measure the PyTorch model it was built from",
}


def skipped_files(folder: Path) -> list[SkippedFile]:
    """Files directly inside ``folder`` that look like models but are not measured: other
    tools' formats, links to nowhere, and subfolders holding model files (not searched)."""
    skipped = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue
        suffix = path.suffix.lower()
        if path.is_symlink() and not path.exists():
            if suffix in MODEL_FILE_SUFFIXES or suffix in _FOREIGN_FORMATS:
                target = os.readlink(path)
                skipped.append(SkippedFile(path, f"a link to {target}, which does not exist"))
        elif path.is_dir():
            if _holds_model_files(path):
                skipped.append(
                    SkippedFile(
                        path,
                        "a folder of models (folders are not searched: add it as "
                        "another --prune-models)",
                    )
                )
        elif suffix in _FOREIGN_FORMATS:
            skipped.append(SkippedFile(path, _FOREIGN_FORMATS[suffix]))
    return skipped


def _holds_model_files(folder: Path) -> bool:
    try:
        return bool(list_model_files(folder))
    except OSError:
        return False


def describe_skipped(skipped: list[SkippedFile]) -> str:
    """``a.onnx (an ONNX model: ...); b.pth (a link to ...)``."""
    return "; ".join(f"{item.path.name} ({item.reason})" for item in skipped)


def list_model_files(folder: Path) -> list[Path]:
    """Model files directly inside an existing ``folder``, sorted by name.

    Hidden files (``.x.pth``, macOS's ``._x.pth`` resource forks) are not models.
    """
    return sorted(
        path
        for path in folder.iterdir()
        if path.is_file()
        and path.suffix.lower() in MODEL_FILE_SUFFIXES
        and not path.name.startswith(".")
    )


def pair_with_baselines(
    paths: list[Path], parse: Callable[[Path], ModelName | None] | None = None
) -> list[ModelEntry]:
    """Give each model file its baseline file (models/pairing.py), by stem; ``parse`` reads a
    file's name (default: the seed's convention)."""
    read = parse or (lambda path: parse_model_name(path.stem))
    named = [(path, read(path)) for path in paths]
    baselines = baselines_of(named, name_of=lambda pair: pair[1], stem_of=lambda pair: pair[0].stem)
    return [
        ModelEntry(
            path=path, name=name, baseline_stem=None if baseline is None else baseline[0].stem
        )
        for (path, name), baseline in zip(named, baselines, strict=True)
    ]
