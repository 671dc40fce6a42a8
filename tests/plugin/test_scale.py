"""The grid split and spread: shards over machines, joined by merge; rounds over a run."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from ..conftest import shared_run, write_second_family, write_tiny_zoo
from .conftest import CSV_NAME, run_cli, run_in_process, run_on_tiny_zoo

pytestmark = pytest.mark.slow


def two_families(folder: Path) -> Path:
    models = folder / "models"
    write_tiny_zoo(models)  # AlexNet_TINY: three files
    write_second_family(models)
    return models


def rows(table: pd.DataFrame) -> list[tuple[str, int]]:
    return sorted(zip(table["MODEL_NAME"], table["BATCH_SIZE"], strict=True))


@shared_run
def shards(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("shards")
    two_families(folder)
    runs = [
        run_in_process(
            folder,
            "--prune-models=models",
            "--prune-batch-sizes=1",
            f"--prune-shard={index}/2",
            f"--energy-report=shard{index}",
        )
        for index in (1, 2)
    ]
    merged = run_cli(folder, "merge", "shard1", "shard2", "--out", "all")
    return folder, runs, merged


def test_each_shard_measures_whole_families_and_together_every_item(shards) -> None:
    _, runs, _ = shards
    tables = [run.table(f"shard{index}") for index, run in enumerate(runs, start=1)]
    assert all(run.returncode == 0 for run in runs), [run.output for run in runs]
    families = [{model.split("_")[1] for model in table["MODEL_NAME"]} for table in tables]
    assert families in ([{"TINY"}, {"OTHER"}], [{"OTHER"}, {"TINY"}])
    assert len(tables[0]) + len(tables[1]) == 5
    assert "deselected" in runs[0].output


def test_merge_joins_the_shards_into_one_report_with_its_reductions(shards) -> None:
    folder, runs, merged = shards
    assert merged.returncode == 0, merged.output
    table = pd.read_csv(folder / "all" / CSV_NAME)
    expected = sorted(rows(runs[0].table("shard1")) + rows(runs[1].table("shard2")))
    assert rows(table) == expected
    pruned = table[table["MODEL_NAME"] == "AlexNet_OTHER_random_PD1_GPR-50_PRUNED.pth"]
    assert len(pruned) > 0
    assert pruned["Baseline Model"].eq("AlexNet_OTHER_UNPRUNED.pth").all()
    assert pruned["Energy Reduction (%)"].notna().all()
    assert (folder / "all" / "report.html").is_file()


def test_merging_the_first_of_two_shards_alone_names_the_second(shards, tmp_path, capsys) -> None:
    from pytest_pruneenergy import cli

    folder, _, _ = shards
    arguments = ["merge", str(folder / "shard1"), "--out", str(tmp_path / "half")]
    assert cli.main(arguments) == cli.EXIT_FAILED
    assert "INCOMPLETE: shard 2/2 is missing (the folders hold shard 1/2)" in (
        capsys.readouterr().err
    )


def test_merging_one_shard_twice_is_refused(shards) -> None:
    folder, _, _ = shards
    again = run_cli(folder, "merge", "shard1", "shard1", "--out", "x")
    assert again.returncode == 2
    assert "was measured in" in again.stderr


def test_a_bad_shard_is_a_usage_error(tmp_path: Path) -> None:
    two_families(tmp_path)
    result = run_in_process(tmp_path, "--prune-models=models", "--prune-shard=3/2")
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "--prune-shard: '3/2': shard 3 of only 2" in result.output


def test_rounds_run_every_item_round_by_round_and_report_one_row_each(tmp_path: Path) -> None:
    result = run_on_tiny_zoo(tmp_path, "--prune-batch-sizes=1", "--energy-rounds=2")
    assert result.returncode == 0, result.output
    order = re.findall(r"::test_energy\[(\S+?)\] PASSED", result.output)
    assert len(order) == 6
    assert all(name.endswith("-r1") for name in order[:3])
    assert all(name.endswith("-r2") for name in order[3:])
    table = result.table("report")
    assert len(table) == 3
    assert set(table["Rounds"]) == {2}
