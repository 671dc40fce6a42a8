"""What a file holds, read from its first bytes and (for zip archives) its member names, without
loading or unpickling anything: so that a file that cannot be loaded is named for what it is,
with what to do, instead of with the error of a loader that expected something else.
"""

from __future__ import annotations

import enum
import struct
import zipfile
from pathlib import Path

_PEEK_BYTES = 512
# A zip archive's local file header: its signature, and its fixed part (the name follows, its
# length at bytes 26-27).
_LOCAL_FILE_HEADER = b"PK\x03\x04"
_LOCAL_HEADER_BYTES = 30

# The plugin's own formats, as their payload's "format" names them: described models
# (models/loading.py) and referenced models (models/referenced.py).
MODEL_FILE_FORMAT = "pytest-pruneenergy/described-model"
REFERENCED_FORMAT = "pytest-pruneenergy/referenced-model"


class FileKind(enum.Enum):
    EMPTY = "empty"
    TORCHSCRIPT = "TorchScript archive"
    TORCH_EXPORT = "torch.export archive"
    TORCH_SAVE = "torch.save archive"
    OTHER_ZIP = "zip archive"
    DAMAGED_TORCH_SAVE = "damaged torch.save archive"
    DAMAGED_ZIP = "damaged zip archive"
    PICKLE = "pickle"
    SAFETENSORS = "safetensors file"
    TEXT = "text file"
    UNKNOWN = "unknown"


def file_kind(path: Path) -> FileKind:
    """The kind of an existing, readable file; OSError where it cannot be read."""
    with path.open("rb") as handle:
        head = handle.read(_PEEK_BYTES)
    if not head:
        return FileKind.EMPTY
    if head.startswith(b"PK"):
        return _zip_kind(path, head)
    if head[:1] == b"\x80":  # a pickle's PROTO opcode: torch.save's legacy format, or pickle
        return FileKind.PICKLE
    if _is_safetensors(head):
        return FileKind.SAFETENSORS
    if _is_text(head):
        return FileKind.TEXT
    return FileKind.UNKNOWN


def _zip_kind(path: Path, head: bytes) -> FileKind:
    try:
        with zipfile.ZipFile(path) as archive:
            # Members sit in one top-level folder named after the archive: "model/code/...".
            members = [name.split("/", 1)[-1] for name in archive.namelist()]
    except zipfile.BadZipFile:
        return _damaged_zip_kind(head)
    except OSError:
        return FileKind.UNKNOWN
    if any(member.startswith("code/") for member in members):
        return FileKind.TORCHSCRIPT
    if "archive_format" in members or any(member.startswith("models/") for member in members):
        return FileKind.TORCH_EXPORT
    if any(member.endswith("data.pkl") for member in members):
        return FileKind.TORCH_SAVE
    return FileKind.OTHER_ZIP


def _damaged_zip_kind(head: bytes) -> FileKind:
    """A file that begins as a zip archive (a local file header) but whose index, the central
    directory at its end, cannot be found: a save or copy cut short. The first member's name,
    in the header at the start, says who wrote it: torch.save writes ``<name>/data.pkl`` first
    (torch.jit.save its tensors)."""
    if not head.startswith(_LOCAL_FILE_HEADER):
        return FileKind.UNKNOWN  # "PK" and then no zip at all
    if len(head) < _LOCAL_HEADER_BYTES:
        return FileKind.DAMAGED_ZIP
    (name_bytes,) = struct.unpack("<H", head[26:28])
    first_member = head[_LOCAL_HEADER_BYTES : _LOCAL_HEADER_BYTES + name_bytes]
    if first_member.endswith(b"/data.pkl"):
        return FileKind.DAMAGED_TORCH_SAVE
    return FileKind.DAMAGED_ZIP


def _is_safetensors(head: bytes) -> bool:
    """8 bytes of little-endian header length, then the JSON header."""
    if len(head) < 10:
        return False
    (header_bytes,) = struct.unpack("<Q", head[:8])
    return 0 < header_bytes < 100_000_000 and head[8:9] == b"{"


def _is_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(character.isprintable() or character in "\t\r\n" for character in text)


def text_preview(path: Path, characters: int = 40) -> str:
    """The first line of a text file, cut to ``characters``."""
    with path.open("rb") as handle:
        head = handle.read(_PEEK_BYTES).decode("utf-8", errors="replace")
    first = head.strip().splitlines()[0] if head.strip() else ""
    return first if len(first) <= characters else f"{first[: characters - 1]}…"


def hex_preview(path: Path, count: int = 8) -> str:
    with path.open("rb") as handle:
        return handle.read(count).hex(" ")
