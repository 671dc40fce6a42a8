"""The journal: each finished item's measurement on disk the moment it is made.

A run killed by SIGKILL, the out-of-memory killer or a CI job's time limit loses at most the
item in flight: every process (the one pytest process, or each xdist worker) appends one JSON
line per measured item to a file of its own in ``<report folder>/journal/``, and flushes it to
disk before the next item starts. No two processes share a file.

``--energy-resume`` reads every journal file of the folder and reuses a measurement when it was
made of the same file (path, size and modification time), at the same batch size, on the same
host and device (a GPU named by its UUID), with the same settings that change the numbers, by
the same plugin version. Everything else is measured again. Failed items are not journaled: a
resumed run retries them.

A line cut short by a kill is skipped when read (and counted), and the next append starts on a
line of its own, so a journal never loses a whole line to a torn one.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .. import __version__
from ..common.numbers import is_number, is_whole_number
from .measurement import Measurement

JOURNAL_DIR_NAME = "journal"
PREVIOUS_JOURNAL_DIR_NAME = "journal.previous"
JOURNAL_SUFFIX = ".jsonl"
FORMAT_NAME = "pytest-pruneenergy-journal"
FORMAT_VERSION = 1


def journal_dir(report_dir: Path) -> Path:
    return report_dir / JOURNAL_DIR_NAME


@dataclass(frozen=True)
class JournalKey:
    """What makes an earlier measurement of an item stand for a new one."""

    path: str  # resolved
    file_bytes: int
    file_mtime_ns: int
    batch_size: int
    device: str  # as resolved for this process: cuda:N or cpu
    host: str
    # The settings that change the numbers, sorted by name; values are str, number, bool or None.
    settings: tuple[tuple[str, Any], ...]
    plugin_version: str = __version__
    # Which round of several (--energy-rounds); None with one.
    round_number: int | None = None
    # The board itself (None on the CPU): one host name can stand for several machines (rented
    # and lent GPU machines often share one), and cuda:0 is whichever board a process sees first.
    # A journal written before this field reads None, so a GPU item in it is measured again.
    gpu_uuid: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = dict(vars(self))
        data["settings"] = dict(self.settings)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JournalKey:
        fields = dict(data)
        fields["settings"] = tuple(sorted(dict(fields["settings"]).items()))
        return cls(**fields)


def item_key(
    path: Path,
    batch_size: int,
    *,
    device: str,
    settings: Mapping[str, Any],
    round_number: int | None = None,
    gpu_uuid: str | None = None,
) -> JournalKey:
    """The key of ``path`` at ``batch_size`` as it is on disk now, on the GPU whose UUID is
    ``gpu_uuid`` (``devices.gpu_uuid_of``; None on the CPU)."""
    resolved = path.resolve()
    stat = resolved.stat()
    return JournalKey(
        path=str(resolved),
        file_bytes=stat.st_size,
        file_mtime_ns=stat.st_mtime_ns,
        batch_size=batch_size,
        device=device,
        host=socket.gethostname(),
        settings=tuple(sorted(settings.items())),
        round_number=round_number,
        gpu_uuid=gpu_uuid,
    )


class JournalWriter:
    """Appends one line per measured item to this process's journal file. ``shard``: the run's
    ``--prune-shard`` (``2/3``), which ``pruneenergy merge`` reads to name shards it lacks; it
    is no part of the key, since it does not change the numbers."""

    def __init__(self, folder: Path, process_name: str, *, shard: str | None = None) -> None:
        self.path = folder / f"{process_name}{JOURNAL_SUFFIX}"
        self.shard = shard
        self._handle: TextIO | None = None

    def append(self, key: JournalKey, measurement: Measurement) -> None:
        handle = self._open()
        record = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "key": key.to_dict(),
            "measurement": measurement.to_dict(),
        }
        if self.shard is not None:  # lines without it read as before, in older versions too
            record["shard"] = self.shard
        handle.write(json.dumps(record, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())

    def _open(self) -> TextIO:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            torn = self.path.is_file() and not _ends_with_newline(self.path)
            self._handle = self.path.open("a", encoding="utf-8")
            if torn:  # a line cut short by a kill: start ours on a line of its own
                self._handle.write("\n")
        return self._handle

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return True
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


@dataclass
class JournalContents:
    """The measurements of a journal folder by key, and how many lines could not be used."""

    measurements: dict[JournalKey, Measurement] = field(default_factory=dict)
    unreadable_lines: int = 0
    files: int = 0
    # The --prune-shard values the lines were written under (``1/2``); none for unsharded runs.
    shards: set[str] = field(default_factory=set)


def read_journal(folder: Path) -> JournalContents:
    """Every journal file in ``folder``; a later line for the same key wins."""
    contents = JournalContents()
    if not folder.is_dir():
        return contents
    for path in sorted(folder.glob(f"*{JOURNAL_SUFFIX}")):
        contents.files += 1
        try:
            # JSON escapes every line break of its own, so lines end at "\n" alone.
            lines = path.read_bytes().decode("utf-8").split("\n")
        except (OSError, UnicodeDecodeError):
            contents.unreadable_lines += 1
            continue
        for line in lines:
            if not line.strip():
                continue
            entry = _parse_line(line)
            if entry is None:
                contents.unreadable_lines += 1
            else:
                key, measurement, shard = entry
                contents.measurements[key] = measurement
                if shard is not None:
                    contents.shards.add(shard)
    return contents


def _parse_line(line: str) -> tuple[JournalKey, Measurement, str | None] | None:
    try:
        record = json.loads(line)
        if record.get("format") != FORMAT_NAME or record.get("format_version") != FORMAT_VERSION:
            return None
        shard = record.get("shard")
        measurement = Measurement.from_dict(record["measurement"])
        if not _measured_figures(measurement):
            return None
        return (
            JournalKey.from_dict(record["key"]),
            measurement,
            shard if isinstance(shard, str) else None,
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _measured_figures(measurement: Measurement) -> bool:
    """Whether a line's figures are what a measurement writes: a batch size, and energy, time
    and FPS as finite numbers. A line edited by hand or damaged on disk is no measurement, and
    would fail the run's report at its end rather than be measured again."""
    stats = measurement.stats
    figures = (stats.joules_per_sample_mean, stats.seconds_per_sample_mean, stats.frames_per_second)
    numbers = all(is_number(figure) and math.isfinite(figure) for figure in figures)
    size = measurement.batch_size
    return numbers and is_whole_number(size) and size >= 1


def set_aside(folder: Path) -> Path | None:
    """Start a new journal: move an existing one to ``journal.previous`` (replacing an older
    one), so that a run started without ``--energy-resume`` by mistake loses nothing at once.
    Returns where it went, or None when there was none."""
    if not folder.is_dir() or not any(folder.iterdir()):
        return None
    previous = folder.with_name(PREVIOUS_JOURNAL_DIR_NAME)
    if previous.exists():
        shutil.rmtree(previous)
    folder.rename(previous)
    return previous


def resumable_count(contents: JournalContents, keys: Iterable[JournalKey]) -> int:
    return sum(1 for key in keys if key in contents.measurements)
