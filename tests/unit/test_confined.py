"""charlm.confined: a file named by path is read only from inside its folder, links followed."""

from __future__ import annotations

from pathlib import Path

import pytest

from charlm.confined import file_in, real_folder
from charlm.errors import CharlmError


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A project with data/weights/in.ckpt, and a file outside it, as the working folder."""
    (tmp_path / "project/data/weights").mkdir(parents=True)
    (tmp_path / "project/data/weights/in.ckpt").write_text("weights")
    (tmp_path / "secret.txt").write_text("private")
    monkeypatch.chdir(tmp_path / "project")
    return tmp_path


def inside(name: str) -> Path:
    return file_in(name, Path("data/weights"), "train.init_from", "checkpoint", "copy one there")


def test_a_file_inside_the_folder_is_returned_as_the_user_would_type_it(project):
    assert inside("data/weights/in.ckpt") == Path("data/weights/in.ckpt")
    Path("data/weights/alias.ckpt").symlink_to(project / "project/data/weights/in.ckpt")
    assert inside("data/weights/alias.ckpt") == Path("data/weights/in.ckpt")


@pytest.mark.parametrize("name", ["../secret.txt", "data/weights/../../../secret.txt",
                                  "data/weights/out.ckpt"])
def test_a_file_outside_the_folder_is_refused(project, name):
    Path("data/weights/out.ckpt").symlink_to(project / "secret.txt")
    with pytest.raises(CharlmError, match="a checkpoint must lie in data/weights/, which dvc.yaml watches"):
        inside(name)


@pytest.mark.parametrize("linked", ["data", "data/weights"])
def test_a_linked_folder_on_the_way_is_refused(project, linked):
    """Security: a link anywhere on the way makes the folder's files lie elsewhere."""
    real = project / "elsewhere"
    Path(linked).rename(real)
    Path(linked).symlink_to(real)
    message = f"^{linked} is a link \\(to {real}\\): the folder data/weights/ must be a real folder"
    with pytest.raises(CharlmError, match=message):
        inside("data/weights/in.ckpt")


def test_what_is_not_a_regular_file_is_named(project):
    Path("data/weights/shelf").mkdir()
    with pytest.raises(CharlmError, match="'data/weights/shelf' is a directory: name a file in it"):
        inside("data/weights/shelf")
    with pytest.raises(CharlmError, match="'data/weights/none.ckpt' does not exist \\(copy one there\\)"):
        inside("data/weights/none.ckpt")
    with pytest.raises(CharlmError, match="holds a NUL character"):
        inside("data/weights/in\0.ckpt")


def test_a_missing_folder_says_to_create_it(project):
    with pytest.raises(CharlmError, match="^the folder data/books/ does not exist: create it and put the"):
        real_folder(Path("data/books"), "book")
