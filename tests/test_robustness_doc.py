"""docs/robustness.md cannot drift: each row names a test that exists and asserts the excerpt
of the message the row quotes."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "robustness.md"
TEST_REFERENCE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def table_rows() -> list[list[str]]:
    rows = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| ") and TEST_REFERENCE.search(line):
            rows.append([cell.strip() for cell in line.strip().strip("|").split(" | ")])
    return rows


def source_of_test(path: str, name: str) -> str:
    """The test function's source, decorators (parametrize lists) included."""
    source = (ROOT / path).read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
            return "\n".join(source.splitlines()[first - 1 : node.end_lineno])
    raise AssertionError(f"{path} has no test named {name}")


def test_the_table_has_the_cases_the_issue_named() -> None:
    cases = " ".join(row[0] for row in table_rows())
    for case in (
        "SIGKILL",
        "SIGTERM",
        "Ctrl-C",
        "zero-byte",
        "random bytes",
        "text file",
        "torch.export",
        ".onnx",
        "pickled module",
        "without a GPU",
        "bad option",
        "run store",
        "out of memory",
        "missing",
        "without model files",
    ):
        assert case in cases, case


@pytest.mark.parametrize("row", table_rows(), ids=lambda row: row[0][:50])
def test_each_row_names_a_test_that_asserts_its_excerpt(row: list[str]) -> None:
    _case, message, exit_status, kept, test = row
    path, name = TEST_REFERENCE.search(test).groups()
    source = source_of_test(path, name)
    for excerpt in re.findall(r"`([^`]+)`", message):
        assert excerpt in source, f"{path}::{name} does not contain {excerpt!r}"
    assert exit_status and kept
