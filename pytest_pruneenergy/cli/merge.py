"""``pruneenergy merge``: the shards' report folders joined into one report."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .common import EXIT_FAILED, EXIT_OK, out_folder, usage_error


def add_command(commands: argparse._SubParsersAction) -> None:
    from ..track.store import DEFAULT_STORE_DIR

    merge = commands.add_parser(
        "merge",
        help="join the report folders of shards (--prune-shard) into one report",
        description="Read the journal (and the failed rows of the results CSV) of each report "
        "folder that pytest --energy-report wrote for a shard, and write one report of them "
        "all: the CSVs, the figures and report.html. Refuses items measured twice and "
        "reductions across GPU models.",
    )
    merge.add_argument("folders", metavar="DIR", type=Path, nargs="+")
    merge.add_argument(
        "--out", type=out_folder, required=True, metavar="DIR", help="where to write"
    )
    merge.add_argument("--save", action="store_true", help="store the merged run in the run store")
    merge.add_argument(
        "--store",
        type=Path,
        metavar="DIR",
        help=f"the run store --save stores in (default: {DEFAULT_STORE_DIR})",
    )
    merge.set_defaults(run=_run_merge)


def _run_merge(args: argparse.Namespace) -> int:
    from ..report.merge import MergeError, merge_folders
    from ..report.writer import write_report

    if args.store is not None and not args.save:  # it would be read past, and nothing stored
        return usage_error("merge", "--store names where --save stores the run; add --save")
    missing = [folder for folder in args.folders if not folder.is_dir()]
    if missing:
        return usage_error(
            "merge",
            "; ".join(
                f"{f}: {'a file, not a' if f.exists() else 'no such'} folder" for f in missing
            ),
        )
    try:
        merged = merge_folders(args.folders)
    except MergeError as error:
        return usage_error("merge", str(error))
    outcome = write_report(merged.measurements, merged.failures, args.out)
    print("\n".join(outcome.lines))
    for folder, count in merged.unreadable.items():
        print(
            f"pruneenergy merge: WARNING: {count} journal line(s) in {folder} could not be read "
            "(cut short or damaged): their items are not in the merged report; "
            "pytest --energy-resume on that shard measures them again",
            file=sys.stderr,
        )
    incomplete = missing_shards_line(merged.missing_shards, merged.shards)
    if incomplete is not None:
        print(f"pruneenergy merge: {incomplete}", file=sys.stderr)
    failed = bool(outcome.not_written) or incomplete is not None
    if args.save:
        from ..track.run_end import StoreRequest, compare_and_save
        from ..track.store import DEFAULT_STORE_DIR

        saved = compare_and_save(
            merged.measurements,
            merged.failures,
            StoreRequest.save_only(args.store or Path(DEFAULT_STORE_DIR)),
            recorded_settings=merged.settings,
            repository_dir=Path.cwd(),
            # A run without some shards' families is stored as a run cut short is.
            interrupted=incomplete is not None,
        )
        print("\n".join(saved.lines))
        failed = failed or saved.save_failure is not None
    return EXIT_FAILED if failed else EXIT_OK


def missing_shards_line(missing: Sequence[str], present: set[str]) -> str | None:
    """What a merge that lacks shards says (it then exits 1); None where it lacks none."""
    if not missing:
        return None
    noun = "shard" if len(missing) == 1 else "shards"
    verb = "is" if len(missing) == 1 else "are"
    held = ", ".join(sorted(present))
    return (
        f"INCOMPLETE: {noun} {', '.join(missing)} {verb} missing (the folders hold shard "
        f"{held}): the report lacks its model families; merge every shard's folder"
    )
