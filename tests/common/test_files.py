import pytest

from pytest_pruneenergy.common.files import write_atomically


def test_the_new_content_replaces_the_old_and_no_temporary_file_stays(tmp_path):
    target = tmp_path / "sub" / "out.csv"
    write_atomically(target, lambda handle: handle.write("old"))
    write_atomically(target, lambda handle: handle.write("new"))
    assert target.read_text() == "new"
    assert [p.name for p in target.parent.iterdir()] == ["out.csv"]


def test_a_failing_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")

    def half_then_fail(handle):
        handle.write("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomically(target, half_then_fail)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
