"""Writing a file so that readers see the old file or the whole new one, never half of it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TextIO


def write_atomically(target: Path, write: Callable[[TextIO], object]) -> Path:
    """Write through ``write`` into a hidden temporary file beside ``target``, flush it to disk,
    then rename it over ``target``.

    Beside it, so that the rename stays within one file system; hidden (a leading dot), so that
    folder scans (the run store, model discovery) never pick up a half-written file.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w", encoding="utf-8", newline="") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target
