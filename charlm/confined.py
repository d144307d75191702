"""Files the user names by path, read only from inside the folder dvc.yaml watches for them.

A book (corpus.source) must lie in data/books/, a starting checkpoint (train.init_from) in
data/weights/. The name may be a link, but it must resolve to a regular file inside the folder, and
the folder and every folder on the way to it (as named) must be real folders, not links: a linked
folder would make whatever it reaches readable, and DVC would not see it change.
"""

from __future__ import annotations

import os
from pathlib import Path

from charlm.errors import CharlmError
from charlm.files import display_path


def real_folder(folder: Path, what: str) -> Path:
    """`folder`, refused if it or a folder on the way to it is a link, or if it does not exist."""
    path = Path(folder)
    for n in range(1, len(path.parts) + 1):
        part = Path(*path.parts[:n])
        if part.is_symlink():
            raise CharlmError(f"{part} is a link (to {os.readlink(part)}): the folder {path}/ must be a real"
                              " folder, not a link, so that nothing outside it is read")
    if not path.is_dir():
        raise CharlmError(f"the folder {path}/ does not exist: create it and put the {what} in it")
    return path


def file_in(name: str, folder: Path, key: str, what: str, remedy: str) -> Path:
    """The regular file `name` (the value of params key `key`) resolves to, inside `folder`; `what` names
    the kind of file and `remedy` says how to put one there."""
    if "\0" in name:
        raise CharlmError(f"{key} {name!r} holds a NUL character: name a file in {folder}/")
    real_folder(folder, what)
    real = Path(os.path.realpath(name))
    if not real.is_relative_to(os.path.realpath(folder)):
        link = f" (a link to {real})" if real != Path(os.path.abspath(name)) else ""
        raise CharlmError(f"{key} {name!r}{link}: a {what} must lie in {folder}/, which dvc.yaml watches"
                          f" ({remedy})")
    if real.is_dir():
        raise CharlmError(f"{key} {name!r} is a directory: name a file in it")
    if real.exists() and not real.is_file():
        raise CharlmError(f"{key} {name!r} is not a regular file (a device, pipe or socket): name a {what}")
    if not real.is_file():
        raise CharlmError(f"{key} {name!r} does not exist ({remedy})")
    return display_path(real)
