"""docs/scale/'s example files: valid files, and every flag and command in them real."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from pytest_pruneenergy.cli import build_parser
from pytest_pruneenergy.settings import OPTIONS

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "scale"
FLAGS = {option.flag for option in OPTIONS if option.flag}


def example_files() -> list[Path]:
    return sorted(path for path in EXAMPLES.iterdir() if path.suffix in (".sh", ".yml", ".yaml"))


def test_the_slurm_script_is_valid_bash() -> None:
    subprocess.run(["bash", "-n", str(EXAMPLES / "slurm-array.sh")], check=True)


@pytest.mark.parametrize("path", [p for p in example_files() if p.suffix != ".sh"], ids=str)
def test_the_workflow_and_jobs_are_valid_yaml(path: Path) -> None:
    documents = [document for document in yaml.safe_load_all(path.read_text()) if document]
    assert documents


@pytest.mark.parametrize("path", example_files(), ids=lambda path: path.name)
def test_every_plugin_flag_in_an_example_exists(path: Path) -> None:
    used = set(re.findall(r"(--(?:prune|energy)-[a-z-]+)", path.read_text()))
    assert used <= FLAGS, used - FLAGS


def test_each_way_of_spreading_the_grid_shards_it() -> None:
    for name in ("slurm-array.sh", "github-actions.yml", "kubernetes-job.yaml"):
        assert "--prune-shard=" in (EXAMPLES / name).read_text(), name


@pytest.mark.parametrize("path", example_files(), ids=lambda path: path.name)
def test_every_merge_command_in_an_example_parses(path: Path) -> None:
    text = path.read_text()
    for command in re.findall(r"pruneenergy merge [^\"\n]*", text):
        arguments = shlex.split(command.replace("${{", "").replace("}}", ""))[1:]
        build_parser().parse_args(arguments)
