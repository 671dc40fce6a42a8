"""A folder of model files -> ModelEntry list, each pruned model paired with its baseline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .loading import MODEL_FILE_SUFFIXES
from .naming import ModelName, parse_model_name


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


def find_model_files(folder: Path) -> list[Path]:
    """Model files directly inside ``folder``, sorted by name; other files are ignored."""
    if not folder.exists():
        raise DiscoveryError(f"--prune-models folder {folder} does not exist")
    if not folder.is_dir():
        raise DiscoveryError(f"--prune-models {folder} is not a folder")
    files = list_model_files(folder)
    if not files:
        suffixes = ", ".join(MODEL_FILE_SUFFIXES)
        raise DiscoveryError(f"--prune-models folder {folder} holds no model files ({suffixes})")
    return files


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


def pair_with_baselines(paths: list[Path]) -> list[ModelEntry]:
    """Give each pruned model the unpruned model of the same architecture and dataset."""
    names = {path: parse_model_name(path.stem) for path in paths}
    baselines: dict[tuple[str, str], str] = {}
    for name in names.values():
        if name and name.is_baseline:
            # Of two candidates (two folders, names differing in case) the smaller name wins,
            # as in the results table, whose sort order ends with the model name.
            chosen = baselines.get(name.group_key)
            baselines[name.group_key] = name.stem if chosen is None else min(chosen, name.stem)
    entries = []
    for path, name in names.items():
        baseline = None
        if name is not None:
            baseline = name.stem if name.is_baseline else baselines.get(name.group_key)
        entries.append(ModelEntry(path=path, name=name, baseline_stem=baseline))
    return entries
