"""Shards' report folders joined into one run."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_pruneenergy.items.journal import JournalWriter, item_key, journal_dir
from pytest_pruneenergy.items.measurement import Measurement
from pytest_pruneenergy.measure.meters import GpuFacts
from pytest_pruneenergy.report.merge import MergeError, merge_folders

from ..factories import make_measurement

H200 = GpuFacts("NVIDIA H200", "580.159", 700.0)
A100 = GpuFacts("NVIDIA A100", "570.86", 400.0)


def shard(
    folder: Path,
    *measurements: Measurement,
    failed_csv: str | None = None,
    shard_id: str | None = None,
) -> Path:
    """A report folder as a shard leaves it: its journal (``shard_id``: the --prune-shard it
    ran with), and its CSV where it wrote one."""
    models = folder / "models"
    models.mkdir(parents=True, exist_ok=True)
    writer = JournalWriter(journal_dir(folder), "main", shard=shard_id)
    for index, measurement in enumerate(measurements):
        path = models / f"{measurement.model}-{index}.pth"
        path.write_bytes(b"x")
        key = item_key(path, measurement.batch_size, device="cpu", settings={"protocol": "x"})
        writer.append(key, measurement)
    writer.close()
    if failed_csv is not None:
        (folder / "pruneenergy_results.csv").write_text(failed_csv)
    return folder


def on(gpu: GpuFacts, model: str, batch_size: int = 8) -> Measurement:
    return make_measurement(model, batch_size, gpu=gpu)


def test_two_shards_become_one_run_with_their_failures(tmp_path: Path) -> None:
    alexnet = shard(
        tmp_path / "a",
        on(H200, "AlexNet_TINY_UNPRUNED"),
        on(H200, "AlexNet_TINY_random_PD1_GPR-50_PRUNED"),
        failed_csv=(
            "MODEL_NAME,BATCH_SIZE,Model Path,Status,Error\n"
            "AlexNet_TINY_random_PD2_GPR-50_PRUNED,8,/m.pth,failed,out of memory\n"
        ),
    )
    vgg = shard(tmp_path / "b", on(H200, "VGG11_TINY_UNPRUNED"))
    merged = merge_folders([alexnet, vgg])
    assert sorted(m.model for m in merged.measurements) == [
        "AlexNet_TINY_UNPRUNED",
        "AlexNet_TINY_random_PD1_GPR-50_PRUNED",
        "VGG11_TINY_UNPRUNED",
    ]
    (failure,) = merged.failures
    assert (failure.model, failure.batch_size, failure.reason) == (
        "AlexNet_TINY_random_PD2_GPR-50_PRUNED",
        8,
        "out of memory",
    )
    assert merged.settings == {"protocol": "x"}


def test_an_item_in_two_folders_is_refused_naming_both(tmp_path: Path) -> None:
    first = shard(tmp_path / "a", on(H200, "AlexNet_TINY_UNPRUNED"))
    second = shard(tmp_path / "b", on(H200, "AlexNet_TINY_UNPRUNED"))
    with pytest.raises(MergeError, match=r"AlexNet_TINY_UNPRUNED at batch size 8 was measured in"):
        merge_folders([first, second])


def test_a_reduction_across_gpu_models_is_refused_naming_the_models(tmp_path: Path) -> None:
    baseline = shard(tmp_path / "a", on(H200, "AlexNet_TINY_UNPRUNED"))
    pruned = shard(tmp_path / "b", on(A100, "AlexNet_TINY_random_PD1_GPR-50_PRUNED"))
    with pytest.raises(MergeError) as refused:
        merge_folders([baseline, pruned])
    message = str(refused.value)
    assert "1 reduction(s) would compare two GPU models" in message
    assert "AlexNet_TINY_random_PD1_GPR-50_PRUNED (bs 8) on NVIDIA A100" in message
    assert "its baseline AlexNet_TINY_UNPRUNED on NVIDIA H200" in message


def test_a_folder_without_a_journal_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(MergeError, match="no journal"):
        merge_folders([tmp_path / "empty"])


def test_the_shards_a_merge_lacks_are_named(tmp_path: Path) -> None:
    first = shard(tmp_path / "a", on(H200, "AlexNet_TINY_UNPRUNED"), shard_id="1/3")
    third = shard(tmp_path / "c", on(H200, "VGG11_TINY_UNPRUNED"), shard_id="3/3")
    merged = merge_folders([first, third])
    assert merged.shards == {"1/3", "3/3"}
    assert merged.missing_shards == ["2/3"]
    assert merge_folders([first]).missing_shards == ["2/3", "3/3"]


def test_folders_without_shards_lack_none(tmp_path: Path) -> None:
    whole = shard(tmp_path / "a", on(H200, "AlexNet_TINY_UNPRUNED"))
    assert merge_folders([whole]).missing_shards == []


def test_shards_of_two_splits_are_refused(tmp_path: Path) -> None:
    halves = shard(tmp_path / "a", on(H200, "AlexNet_TINY_UNPRUNED"), shard_id="1/2")
    thirds = shard(tmp_path / "b", on(H200, "VGG11_TINY_UNPRUNED"), shard_id="2/3")
    with pytest.raises(MergeError, match=r"shards of different splits \(1/2, 2/3\)"):
        merge_folders([halves, thirds])


def test_merge_of_one_shard_of_two_fails_naming_the_missing_shard(tmp_path, capsys) -> None:
    from pytest_pruneenergy import cli
    from pytest_pruneenergy.track.store import load_runs

    first = shard(tmp_path / "a", on(H200, "AlexNet_TINY_UNPRUNED"), shard_id="1/2")
    arguments = ["merge", str(first), "--out", str(tmp_path / "all")]
    assert cli.main([*arguments, "--save", "--store", str(tmp_path / "runs")]) == cli.EXIT_FAILED
    assert (
        "pruneenergy merge: INCOMPLETE: shard 2/2 is missing (the folders hold shard 1/2): the "
        "report lacks its model families; merge every shard's folder"
    ) in capsys.readouterr().err
    assert (tmp_path / "all" / "pruneenergy_results.csv").is_file()
    # Stored as a run cut short is: never the baseline --energy-compare picks by itself.
    [stored] = load_runs(tmp_path / "runs").runs
    assert stored.interrupted


def test_merge_names_each_folder_it_cannot_read_and_why(tmp_path, capsys) -> None:
    from pytest_pruneenergy import cli

    (tmp_path / "afile").write_text("not a folder")
    arguments = ["merge", str(tmp_path / "afile"), str(tmp_path / "gone"), "--out", "out"]
    assert cli.main(arguments) == cli.EXIT_USAGE
    error = capsys.readouterr().err
    assert (
        f"{tmp_path / 'afile'}: a file, not a folder; {tmp_path / 'gone'}: no such folder" in error
    )


def test_merge_store_without_save_is_a_usage_error_before_any_work(tmp_path, capsys) -> None:
    # Read past before: the merged run was not stored, and nothing said so.
    from pytest_pruneenergy import cli

    first = shard(tmp_path / "a", on(H200, "AlexNet_TINY_UNPRUNED"))
    out = tmp_path / "all"
    arguments = ["merge", str(first), "--out", str(out), "--store", str(tmp_path / "runs")]
    assert cli.main(arguments) == cli.EXIT_USAGE
    assert "--store names where --save stores the run; add --save" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "runs").exists()


def test_a_journal_line_that_cannot_be_read_is_named_with_its_folder(tmp_path, capsys) -> None:
    # It said "1 journal line(s) could not be read", naming neither the folder nor the loss.
    from pytest_pruneenergy import cli

    first = shard(tmp_path / "a", on(H200, "AlexNet_TINY_UNPRUNED"))
    second = shard(tmp_path / "b", on(H200, "VGG11_TINY_UNPRUNED"), on(H200, "VGG16_TINY_UNPRUNED"))
    journal = next(journal_dir(second).glob("*.jsonl"))
    journal.write_text(journal.read_text()[:-40] + "\n")  # its last line cut short
    arguments = ["merge", str(first), str(second), "--out", str(tmp_path / "all")]
    assert cli.main(arguments) == cli.EXIT_OK
    error = capsys.readouterr().err
    assert (
        f"WARNING: 1 journal line(s) in {second} could not be read (cut short or damaged): their "
        "items are not in the merged report" in error
    )
    assert str(first) not in error
    assert len(merge_folders([first, second]).measurements) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe\x00garbage", "cannot be read"),
        (b"", "cannot be read"),
        (b"MODEL_NAME,Status\nx,failed\n", "no column BATCH_SIZE, Error, Model Path"),
    ],
)
def test_a_shards_csv_that_cannot_give_its_failed_rows_is_refused_by_name(
    tmp_path: Path, content: bytes, message: str
) -> None:
    # It was read past (or failed with a traceback), and the shard's failed rows vanished.
    folder = shard(tmp_path / "a", on(H200, "AlexNet_TINY_UNPRUNED"))
    (folder / "pruneenergy_results.csv").write_bytes(content)
    with pytest.raises(MergeError, match=message) as refused:
        merge_folders([folder])
    assert str(refused.value).startswith(f"{folder / 'pruneenergy_results.csv'}: ")
    assert "its failed items would be lost from the merged report" in str(refused.value)
