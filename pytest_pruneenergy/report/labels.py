"""Model names cut to a width without hiding the part that tells them apart.

Names of one study share most of their parts (``RESNET18_CIFAR10_l1-norm_PD1_GPR-30_PRUNED``
and ``RESNET18_CIFAR10_random_PD1_GPR-30_PRUNED``); cutting each in the middle hides exactly the
part that differs. ``shorten_names`` elides the parts every name shares first, then those the
name shares with its own architecture's names, and only then cuts in the middle.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

# The width every line printed to the terminal keeps within.
TERMINAL_WIDTH = 120
ELLIPSIS = "…"
SEPARATOR = "_"


def shorten_middle(text: str, width: int) -> str:
    """Keep both ends of a long name (architecture at the front, PD and GPR at the back)."""
    if len(text) <= width:
        return text
    if width < 3:  # too narrow for an ellipsis to leave anything of both ends
        return text[:width]
    head = (width - 1) // 2
    tail = width - 1 - head
    return f"{text[:head]}{ELLIPSIS}{text[-tail:]}"


def shorten_end(text: str, width: int) -> str:
    """Cut ``text`` to ``width`` characters, marking the cut with an ellipsis."""
    return text if len(text) <= width else f"{text[: width - 1]}{ELLIPSIS}"


def shorten_names(names: Iterable[str], width: int) -> dict[str, str]:
    """Each distinct name -> a label of at most ``width`` characters, distinct where the names
    are. The first part (the architecture) stays; runs of parts shared by every name, then by
    the name's architecture, become one ``…``; a name still too long is cut in the middle."""
    distinct = list(dict.fromkeys(names))
    everywhere = _shared_parts(distinct)
    labels = {}
    for name in distinct:
        label = name
        if len(label) > width:
            label = _elide(name, everywhere, width)
        if len(label) > width:
            family = [other for other in distinct if _parts(other)[0] == _parts(name)[0]]
            label = _elide(name, _shared_parts(family), width)
        labels[name] = label if len(label) <= width else shorten_middle(name, width)
    return _distinct(labels, width)


def _parts(name: str) -> list[str]:
    return name.split(SEPARATOR)


def _shared_parts(names: Sequence[str]) -> set[str]:
    """The parts every one of ``names`` has (none for a single name: nothing is shared)."""
    if len(names) < 2:
        return set()
    shared = set(_parts(names[0]))
    for name in names[1:]:
        shared &= set(_parts(name))
    return shared


def _elide(name: str, shared: set[str], width: int) -> str:
    """Runs of shared parts after the first part become ``…``, one run at a time from the
    front, until the name fits or no shared part is left."""
    parts = _parts(name)
    elided = [False] * len(parts)
    for index in range(1, len(parts)):
        if parts[index] in shared:
            elided[index] = True
            label = _render(parts, elided)
            if len(label) <= width:
                return label
    return _render(parts, elided)


def _render(parts: Sequence[str], elided: Sequence[bool]) -> str:
    """Parts joined by ``_``, each run of elided parts as one ``…`` that takes its separators."""
    text = ""
    for index, (part, gone) in enumerate(zip(parts, elided, strict=True)):
        if gone:
            if not text.endswith(ELLIPSIS):
                text += ELLIPSIS
        else:
            if index and not text.endswith(ELLIPSIS):
                text += SEPARATOR
            text += part
    return text


def _distinct(labels: dict[str, str], width: int) -> dict[str, str]:
    """Where two names got one label, both fall back to the middle cut."""
    seen: dict[str, list[str]] = {}
    for name, label in labels.items():
        seen.setdefault(label, []).append(name)
    for names in seen.values():
        if len(names) > 1:
            for name in names:
                labels[name] = shorten_middle(name, width)
    return labels
