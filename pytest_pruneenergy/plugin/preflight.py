"""What the controller checks and sets up before any item is measured."""

from __future__ import annotations

from typing import Any

import pytest

from ..items.ledger import unwritable_reason
from ..settings import Settings


def check_output_folders(settings: Settings) -> None:
    """Before measuring anything: an hour of measurements must not end in a report that cannot
    be written, nor without the metadata file it was to join."""
    folders = []
    if settings.report_dir is not None:
        folders.append(("--energy-report folder", settings.report_dir))
    if settings.save:
        folders.append(("--energy-store folder (for --energy-save)", settings.store_dir))
    if settings.markdown_path is not None:
        folders.append(("--energy-markdown file's folder", settings.markdown_path.parent))
    for what, folder in folders:
        reason = unwritable_reason(folder)
        if reason is not None:
            raise pytest.UsageError(
                f"{what} {folder} cannot be written ({reason}); choose another folder or "
                "fix its permissions. Nothing was measured."
            )
    if settings.markdown_path is not None and settings.markdown_path.is_dir():
        raise pytest.UsageError(
            f"--energy-markdown {settings.markdown_path} is a folder; name the file to write "
            "(summary.md). Nothing was measured."
        )
    if settings.metadata_path is not None and not settings.metadata_path.is_file():
        raise pytest.UsageError(
            f"--energy-metadata {settings.metadata_path}: no such file. Nothing was measured."
        )


def check_compare_run(settings: Settings) -> None:
    """A run named by --energy-compare must be there before anything is measured: a gate
    against a misspelt run would otherwise compare nothing and pass."""
    from ..track.store import COMPARE_LATEST, RunStoreError, find_run

    if settings.compare_run in (None, COMPARE_LATEST):
        return
    try:
        find_run(str(settings.compare_run), settings.store_dir)
    except RunStoreError as error:
        raise pytest.UsageError(
            f"--energy-compare: {error}; name a stored run, or 'latest'. Nothing was measured."
        ) from None


def check_device(settings: Settings) -> None:
    """A GPU asked for by name must exist: otherwise every item would fail the same way."""
    if not settings.device.startswith("cuda"):
        return
    from ..items.runner import ItemProblem, resolve_device

    try:
        resolve_device(settings.device)
    except ItemProblem as error:
        raise pytest.UsageError(
            f"{error}; use --prune-device=auto or cpu to measure on this machine. "
            "Nothing was measured."
        ) from None


def end_on_sigterm(config: pytest.Config) -> None:
    """SIGTERM (a CI job's time limit, ``kill``) ends the run as Ctrl-C does: pytest then
    finishes the session, so the report holds every item measured so far and the run is stored
    as interrupted. Only where nobody else handles SIGTERM, and undone at the end."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt("SIGTERM")

    signal.signal(signal.SIGTERM, interrupt)
    config.add_cleanup(lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL))
