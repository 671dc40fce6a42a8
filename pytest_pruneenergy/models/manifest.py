"""Pairing beyond names: a manifest of ``GLOB -> BASELINE [key=value ...]`` lines.

For model files that do not follow the seed's naming convention, each line says which files are
compared with which baseline file, and optionally what the name would have said: ``method``,
``pd`` (a number), ``gpr`` (percent), ``architecture`` and ``dataset`` (by default the
baseline's stem and ``manifest``). The first line whose glob matches a file's name wins; the
baseline file is a baseline. Lines that cannot be read are refused with the line.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath

from .naming import ModelName

_LABELS = ("method", "pd", "gpr", "architecture", "dataset")
_LABEL = re.compile(r"(\w+)=(\S+)")


class ManifestError(ValueError):
    """A manifest line that cannot be used; the message quotes it."""


@dataclass(frozen=True)
class ManifestLine:
    text: str
    pattern: str
    baseline: str
    labels: tuple[tuple[str, str], ...] = ()

    def label(self, key: str) -> str | None:
        return dict(self.labels).get(key)


def parse_manifest(lines: Sequence[str]) -> tuple[ManifestLine, ...]:
    parsed = []
    for line in lines:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        pattern, arrow, rest = text.partition("->")
        words = rest.split()
        if not arrow or not pattern.strip() or not words:
            raise ManifestError(f"manifest line '{text}': expected GLOB -> BASELINE [key=value...]")
        labels = []
        for word in words[1:]:
            match = _LABEL.fullmatch(word)
            if match is None or match[1] not in _LABELS:
                raise ManifestError(
                    f"manifest line '{text}': {word!r} is not key=value with key one of "
                    f"{', '.join(_LABELS)}"
                )
            labels.append((match[1], match[2]))
        parsed.append(ManifestLine(text, pattern.strip(), words[0], tuple(labels)))
    return tuple(parsed)


def name_from_manifest(
    stem: str, file_name: str, lines: Sequence[ManifestLine]
) -> ModelName | None:
    """What the manifest says of a file: a ModelName in the baseline's family; None where no
    line names the file."""
    for line in lines:
        baseline_stem = PurePath(line.baseline).stem
        is_baseline = file_name == line.baseline or stem == baseline_stem
        if not (is_baseline or fnmatch.fnmatchcase(file_name, line.pattern)):
            continue
        try:
            pd = None if is_baseline or line.label("pd") is None else int(str(line.label("pd")))
            gpr = (
                None if is_baseline or line.label("gpr") is None else float(str(line.label("gpr")))
            )
        except ValueError:
            raise ManifestError(f"manifest line '{line.text}': pd and gpr are numbers") from None
        return ModelName(
            stem=stem,
            architecture=line.label("architecture") or baseline_stem,
            dataset=line.label("dataset") or "manifest",
            is_baseline=is_baseline,
            method=None if is_baseline else line.label("method") or "manifest",
            pruning_distribution=pd,
            global_pruning_rate_percent=gpr,
        )
    return None
