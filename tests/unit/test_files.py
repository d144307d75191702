"""Atomic writes: readers see the old file or the new one, never half of either."""

from __future__ import annotations

from pathlib import Path

import pytest

from charlm.files import atomic_dir, atomic_path, atomic_write, display_path


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half of the new")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_outputs_opened_together_change_together(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a/x").write_text("old x")
    atomic_write(tmp_path / "b.txt", "old b")
    with pytest.raises(RuntimeError), atomic_dir(tmp_path / "a") as a, atomic_path(tmp_path / "b.txt") as b:
        (a / "x").write_text("new x")
        b.write_text("new b")
        raise RuntimeError("the last output failed")
    assert (tmp_path / "a/x").read_text() == "old x" and (tmp_path / "b.txt").read_text() == "old b"
    with atomic_dir(tmp_path / "a") as a, atomic_path(tmp_path / "b.txt") as b:
        (a / "y").write_text("new y")
        b.write_text("new b")
    assert ([p.name for p in (tmp_path / "a").iterdir()] == ["y"]
            and (tmp_path / "b.txt").read_text() == "new b")


def test_paths_are_shown_as_a_user_would_type_them(tmp_path, monkeypatch):
    """(A read-only folder and a full disk: tests/test_stage_unwritable.py, with root's override dropped.)"""
    monkeypatch.chdir(tmp_path)
    assert str(display_path(tmp_path / "ro" / "x")) == "ro/x"
    assert display_path("/elsewhere/y") == Path("/elsewhere/y")
