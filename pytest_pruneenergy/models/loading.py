"""Model files -> torch modules, safe by default.

Three formats:

* described (what ``pruneenergy zoo`` writes): a dict holding an architecture description and,
  optionally, a state_dict, loaded with ``torch.load(weights_only=True)`` so no code runs;
* TorchScript archives (``torch.jit.save``), which hold code but no pickled Python objects;
* whole pickled modules (``torch.save(model)``, what the seed tool loads). Unpickling runs code
  chosen by whoever wrote the file, so they load only with ``--prune-allow-pickle``.
"""

from __future__ import annotations

import io
import os
import pickle
import pickletools
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..common.errors import error_summary
from .file_kinds import (
    MODEL_FILE_FORMAT,
    REFERENCED_FORMAT,
    FileKind,
    file_kind,
    hex_preview,
    text_preview,
)

if TYPE_CHECKING:
    import torch

MODEL_FILE_VERSION = 1
MODEL_FILE_SUFFIXES = (".pth", ".pt", ".ts", ".jit")
# The seed tool's input: one 3x224x224 image per sample, where neither the user nor the file
# says otherwise.
DEFAULT_INPUT_SHAPE = (3, 224, 224)


class ModelLoadError(Exception):
    """A model file could not be turned into a module; the message names the file and a fix."""


class PickleRefused(ModelLoadError):
    """The file is a pickled module and pickles were not allowed."""


@dataclass(frozen=True)
class LoadedModel:
    module: torch.nn.Module
    file_format: str  # "described", "torchscript" or "pickle"
    input_shape: tuple[int, ...] | None  # what the file says the model expects, if it says


def save_described_model(
    path: str | Path,
    architecture: dict[str, Any],
    *,
    input_shape: tuple[int, ...],
    state_dict: dict[str, Any] | None = None,
    init_seed: int = 0,
) -> None:
    """Write a model in the safe format.

    Without a state_dict the file holds the architecture only, and loading initialises weights
    from ``init_seed``. Energy, FLOPs and parameters of a structurally pruned model do not depend
    on the trained values of its weights, so a demo zoo need not store hundreds of MB per model.
    """
    import torch

    payload = {
        "format": MODEL_FILE_FORMAT,
        "format_version": MODEL_FILE_VERSION,
        "architecture": architecture,
        "input_shape": list(input_shape),
        "state_dict": state_dict,
        "init_seed": init_seed,
    }
    torch.save(payload, Path(path))


@dataclass(frozen=True)
class Description:
    """What a described-model file says, read without building its module or its weights."""

    architecture: dict[str, Any]
    input_shape: tuple[int, ...]
    # The stored weights as meta tensors (shapes only); None for a file without weights.
    state_dict: dict[str, Any] | None


def read_description(path: str | Path) -> Description | None:
    """The description in a described-model file of this version, its tensors left on disk
    (loaded to the meta device); None for any other file, which ``load_model_file`` then
    loads, or explains why it cannot."""
    import torch

    path = Path(path)
    try:
        if file_kind(path) is not FileKind.TORCH_SAVE:
            return None
        payload = torch.load(path, map_location="meta", weights_only=True)
    except Exception:  # whatever it is, load_model_file says it better
        return None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FILE_FORMAT:
        return None
    if payload.get("format_version") != MODEL_FILE_VERSION:
        return None
    try:
        return Description(
            architecture=payload["architecture"],
            input_shape=tuple(payload["input_shape"]),
            state_dict=payload["state_dict"],
        )
    except (KeyError, TypeError):
        return None


def load_model_file(path: str | Path, *, allow_pickle: bool, device: str = "cpu") -> LoadedModel:
    """Load any supported format; raise ModelLoadError naming the file, what it holds and what
    to do otherwise. A described model without weights is built straight on ``device``; other
    formats load on the CPU (their caller moves them)."""
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise ModelLoadError(
            f"{path}: a symbolic link to {os.readlink(path)}, which does not exist"
        )
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such model file")
    try:
        kind = file_kind(path)
    except OSError as error:
        raise ModelLoadError(f"{path}: cannot be read ({error.strerror or error})") from None
    if kind is FileKind.TORCHSCRIPT:
        return _load_torchscript(path)
    if kind in (FileKind.TORCH_SAVE, FileKind.PICKLE):
        return _load_torch_save(path, allow_pickle=allow_pickle, device=device)
    raise ModelLoadError(f"{path}: {unloadable_reason(path, kind)}")


def unloadable_reason(path: Path, kind: FileKind) -> str:
    """What a file of a kind that no loader reads holds, and what to do about it."""
    if kind is FileKind.EMPTY:
        return "the file is empty (0 bytes): a save that was cut short? Write it again."
    if kind is FileKind.TORCH_EXPORT:
        return (
            "a torch.export archive (torch.export.save), which pytest-pruneenergy does not load: "
            "torch.export.load unpickles its weights (running code from the file), and an "
            "exported graph accepts only the batch size it was exported with. Save the model "
            "with torch.jit.save(torch.jit.trace(model, example)) or load it in a "
            "pytest_pruneenergy_load_model hook."
        )
    if kind is FileKind.SAFETENSORS:
        return (
            "a safetensors file holds weights but no architecture; load it in a "
            "pytest_pruneenergy_load_model hook in conftest.py (conftest_example/)"
        )
    if kind is FileKind.TEXT:
        return f"a text file, not a model (it begins {text_preview(path)!r})"
    if kind is FileKind.DAMAGED_TORCH_SAVE:
        return (
            "a damaged torch.save archive: the file ends before the zip archive's index (cut "
            "short while it was saved, copied or downloaded?); save it again"
        )
    if kind is FileKind.DAMAGED_ZIP:
        return (
            "a damaged zip archive (torch.save and torch.jit.save write zip archives): the file "
            "ends before the archive's index (cut short while it was saved, copied or "
            "downloaded?); save it again"
        )
    if kind is FileKind.OTHER_ZIP:
        return (
            "a zip archive, but not one that torch.save, torch.jit.save or torch.export.save wrote"
        )
    return (
        "not a model file: neither a torch.save archive, a pickle nor TorchScript (it begins "
        f"with bytes {hex_preview(path)}); is it corrupted or cut short?"
    )


def _load_torchscript(path: Path) -> LoadedModel:
    import torch

    try:
        with warnings.catch_warnings():
            # Deprecated in torch >= 2.10, still the format many zoos ship; loading is our choice.
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(path), map_location="cpu")
    except Exception as error:
        raise ModelLoadError(
            f"{path}: a TorchScript archive that could not be read ({error_summary(error)})"
        ) from error
    return LoadedModel(module=module, file_format="torchscript", input_shape=None)


def _load_torch_save(path: Path, *, allow_pickle: bool, device: str) -> LoadedModel:
    import torch

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # Raised both for pickled objects weights_only refuses and for damaged bytes; torch's
        # own message advises weights_only=False either way, which is only safe for neither.
        if not _holds_a_pickle(path):
            raise ModelLoadError(
                f"{path}: a torch.save file whose contents are damaged (corrupted or cut short?); "
                "save it again"
            ) from None
        if not allow_pickle:
            raise PickleRefused(
                f"{path}: this file is a pickled Python object (e.g. torch.save(model)); "
                "loading it runs code stored in the file. Rerun with --prune-allow-pickle if "
                "you trust where it came from, or re-save it as TorchScript or with "
                "pytest_pruneenergy.models.loading.save_described_model."
            ) from None
        return _load_pickle(path)
    except Exception as error:
        raise ModelLoadError(
            f"{path}: a torch.save file that could not be read ({error_summary(error)}); "
            "corrupted or cut short? Save it again."
        ) from None
    return _module_from_payload(path, payload, allow_pickle=allow_pickle, device=device)


def _holds_a_pickle(path: Path) -> bool:
    """Whether the file's object stream is a well-formed pickle, read without executing it.

    weights_only refuses both corrupt bytes and real pickled objects with the same exception;
    only the second deserves the advice to use --prune-allow-pickle.
    """
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                name = next(n for n in archive.namelist() if n.endswith("data.pkl"))
                stream = io.BytesIO(archive.read(name))
        else:
            stream = io.BytesIO(path.read_bytes())
        for _ in pickletools.genops(stream):
            pass
    except Exception:
        return False
    return True


def _load_pickle(path: Path) -> LoadedModel:
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=False)
    except (ImportError, AttributeError) as error:
        raise ModelLoadError(
            f"{path}: could not unpickle: the class of the pickled model cannot be imported "
            f"here ({error_summary(error)}). Make the module that defines it importable (e.g. "
            "import it in conftest.py), or re-save the model as TorchScript."
        ) from None
    except Exception as error:
        raise ModelLoadError(f"{path}: could not unpickle ({error_summary(error)})") from None
    if not isinstance(obj, torch.nn.Module):
        raise ModelLoadError(f"{path}: unpickled a {type(obj).__name__}, not a torch.nn.Module")
    return LoadedModel(module=obj, file_format="pickle", input_shape=None)


def _module_from_payload(
    path: Path, payload: Any, *, allow_pickle: bool, device: str
) -> LoadedModel:
    import torch

    if isinstance(payload, torch.nn.Module):
        # Only reachable for modules that weights_only accepts; treat as a pickle all the same.
        if not allow_pickle:
            raise PickleRefused(f"{path}: a whole module; rerun with --prune-allow-pickle")
        return LoadedModel(module=payload, file_format="pickle", input_shape=None)
    kind = payload.get("format") if isinstance(payload, dict) else None
    if kind == REFERENCED_FORMAT:
        return _referenced(path, payload, device=device)
    if kind != MODEL_FILE_FORMAT:
        what = "a state_dict" if _holds_only_tensors(payload) else f"a {type(payload).__name__}"
        raise ModelLoadError(
            f"{path}: holds {what} without an architecture. Save the model with "
            "pytest_pruneenergy.models.referenced.save_referenced_model (any torchvision or timm "
            "architecture, pruned or not, no code in the file), as TorchScript, or load it "
            "with a pytest_pruneenergy_load_model hook in conftest.py."
        )
    _check_version(path, payload, MODEL_FILE_VERSION)
    from .architectures import ArchitectureError, build_model_on

    try:
        module = build_model_on(payload["architecture"], device, seed=int(payload["init_seed"]))
        if payload["state_dict"] is not None:
            module.load_state_dict(payload["state_dict"])
    except (ArchitectureError, RuntimeError, KeyError, TypeError, ValueError) as error:
        raise ModelLoadError(f"{path}: architecture and weights do not fit ({error})") from error
    return LoadedModel(
        module=module, file_format="described", input_shape=tuple(payload["input_shape"])
    )


def _referenced(path: Path, payload: dict[str, Any], *, device: str) -> LoadedModel:
    from .referenced import REFERENCED_VERSION, ReferenceProblem, rebuild

    _check_version(path, payload, REFERENCED_VERSION)
    try:
        module = rebuild(
            payload["architecture"],
            payload["shapes"],
            device=device,
            state_dict=payload["state_dict"],
            seed=int(payload["init_seed"]),
        )
    except ReferenceProblem as error:
        raise ModelLoadError(f"{path}: {error}") from None
    except (RuntimeError, KeyError, TypeError, ValueError) as error:
        raise ModelLoadError(f"{path}: architecture and weights do not fit ({error})") from error
    return LoadedModel(
        module=module, file_format="referenced", input_shape=tuple(payload["input_shape"])
    )


def _check_version(path: Path, payload: dict[str, Any], readable: int) -> None:
    version = payload.get("format_version")
    if version != readable:
        raise ModelLoadError(
            f"{path}: model file format version {version}; this pytest-pruneenergy reads "
            f"version {readable}. Upgrade pytest-pruneenergy."
        )


def _holds_only_tensors(payload: Any) -> bool:
    import torch

    return isinstance(payload, dict) and all(
        isinstance(value, torch.Tensor) for value in payload.values()
    )
