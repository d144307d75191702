"""Atomic file writes: readers see the old file or the new one, never half of either.

Every output goes through a temp file (or directory) beside its target and a rename, so a crash,
Ctrl-C or full disk leaves the previous version in place. A stage that writes several outputs opens
them in one `with` statement: they are renamed into place together, after all of them are written.
A full disk or a read-only folder becomes a one-line CharlmError naming the output.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from charlm.errors import CharlmError

FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}  # only a write fails this way
_pending: dict[Path, Path] = {}  # temp path -> the output it will become, while it is being written


def _output(path: Path) -> Path:
    """The output a (possibly temp) path stands for, as messages name it (relative to the working folder)."""
    for tmp, target in _pending.items():
        if path == tmp or tmp in path.parents:
            return _output(target / path.relative_to(tmp))
    return display_path(path)


def display_path(path: Path | str) -> Path:
    """`path` relative to the working directory if it lies inside it, as a user would type it."""
    path = Path(path)
    return path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path


def cannot_write(path: Path, e: OSError) -> CharlmError:
    remedy = "free some space and run again" if e.errno in FULL else "make the folder writable and run again"
    return CharlmError(f"cannot write {_output(Path(path))}: {e.strerror or e} ({remedy});"
                       " the previous outputs are unchanged")


@contextmanager
def _renamed_onto(path: Path, make_tmp: Callable[..., str], remove: Callable[[Path], None]) -> Iterator[Path]:
    """Yield a temp made beside `path`; it replaces `path` only if the block succeeds."""
    try:
        if path.is_dir() and not os.access(path, os.W_OK):  # it could be swapped, but was made read-only
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(make_tmp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    except OSError as e:
        raise cannot_write(path, e) from e
    _pending[tmp] = path
    try:
        try:
            yield tmp
        except OSError as e:
            if e.errno not in FULL:
                raise
            raise cannot_write(path, e) from e
        try:
            if tmp.is_dir():
                replace_dir(tmp, path)
            else:
                os.replace(tmp, path)
        except OSError as e:
            raise cannot_write(path, e) from e
    finally:
        del _pending[tmp]
        remove(tmp)


def _mkstemp(**kw: Any) -> str:
    fd, tmp = tempfile.mkstemp(**kw)
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs should read like any other file
    return tmp


def _mkdtemp(**kw: Any) -> str:
    tmp = tempfile.mkdtemp(**kw)
    os.chmod(tmp, 0o755)
    return tmp


def atomic_path(path: Path) -> AbstractContextManager[Path]:
    """Yield a temp path beside `path`; rename it onto `path` only if the block succeeds."""
    return _renamed_onto(Path(path), _mkstemp, lambda tmp: tmp.unlink(missing_ok=True))


def atomic_dir(path: Path) -> AbstractContextManager[Path]:
    """Yield an empty temp directory beside `path`; it replaces `path` only if the block succeeds."""
    return _renamed_onto(Path(path), _mkdtemp, lambda tmp: shutil.rmtree(tmp, ignore_errors=True))


def replace_dir(src: Path, dst: Path) -> None:
    """Move directory `src` onto `dst`, replacing what was there; the old one is deleted only after."""
    old = dst.with_name(f".{dst.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if dst.exists():
        os.replace(dst, old)
    os.replace(src, dst)
    shutil.rmtree(old, ignore_errors=True)


def copy_dir(src: Path, dst: Path) -> None:
    """Replace `dst` by a copy of `src`, atomically."""
    with atomic_dir(dst) as tmp:
        shutil.copytree(src, tmp, dirs_exist_ok=True)


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write text (UTF-8) or bytes."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def save_figure(fig: Any, path: Path) -> None:
    """A matplotlib Figure as PNG through a temp file: an interrupted savefig leaves no broken image."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
