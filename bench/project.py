"""A throwaway charlm project, as a user's clone is: this checkout's code, dvc.yaml, params.yaml (with
overrides) and data/books/. The benchmarks that run the real stages and the pipeline tests both
build theirs with these functions.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "data/books/tinyshakespeare.txt"  # the pipeline's own book: what the benchmarks read
DVC = (sys.executable, "-m", "dvc")
FILES = ("dvc.yaml", "params.yaml", ".gitignore", ".dvcignore")


def project_params(overrides: dict[str, Any], base: Path = ROOT / "params.yaml") -> dict[str, Any]:
    """params.yaml as a dict, with dotted keys overridden."""
    params = yaml.safe_load(base.read_text(encoding="utf-8"))
    for dotted, value in overrides.items():
        *parents, last = dotted.split(".")
        node = params
        for p in parents:
            node = node[p]
        node[last] = value
    return params


def write_params(dest: Path, overrides: dict[str, Any]) -> None:
    """params.yaml in `dest`: the project's own, with dotted keys overridden."""
    (dest / "params.yaml").write_text(yaml.safe_dump(project_params(overrides), sort_keys=False),
                                      encoding="utf-8")


def copy_project(dest: Path, overrides: dict[str, Any] | None = None, books: bool = True) -> Path:
    """`dest` with the code a user clones (charlm/ with its compiled cache, stages/, data/books/ unless
    `books` is false, data/weights/'s README), dvc.yaml and params.yaml with `overrides`."""
    shutil.copytree(ROOT / "charlm", dest / "charlm", dirs_exist_ok=True)  # with numba's cache in __pycache__
    shutil.copytree(ROOT / "stages", dest / "stages", ignore=shutil.ignore_patterns("__pycache__"),
                    dirs_exist_ok=True)
    (dest / "data/books").mkdir(parents=True, exist_ok=True)
    for book in (ROOT / "data/books").iterdir() if books else ():
        shutil.copy(book, dest / "data/books" / book.name)
    (dest / "data/weights").mkdir(parents=True, exist_ok=True)  # train.init_from: no checkpoints
    shutil.copy(ROOT / "data/weights/README.md", dest / "data/weights/README.md")
    for name in FILES:
        shutil.copy(ROOT / name, dest / name)
    write_params(dest, overrides or {})
    return dest


def environment(home: Path | None = None) -> dict[str, str]:
    """This environment with this interpreter's folder first on PATH (as an activated venv)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "charlm", "GIT_AUTHOR_EMAIL": "charlm@localhost",
           "GIT_COMMITTER_NAME": "charlm", "GIT_COMMITTER_EMAIL": "charlm@localhost"}
    return env | ({"HOME": str(home)} if home else {})


def sh(repo: Path, *args: str, timeout: float = 900) -> str:
    """A command in `repo`; it must succeed. Its stdout and stderr together."""
    result = subprocess.run(args, cwd=repo, env=environment(), capture_output=True, text=True,
                            timeout=timeout)
    if result.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout + result.stderr


def commit(repo: Path, message: str = "project") -> None:
    """Make `repo` a git + DVC repository (the first time) and commit everything, as a fresh clone is."""
    if not (repo / ".git").is_dir():
        sh(repo, "git", "init", "-q")
        sh(repo, *DVC, "init", "-q")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", message)


def corpus_text(chars: int, path: Path = BOOK) -> str:
    """The first `chars` characters of a book (all of it if shorter)."""
    with open(path, encoding="utf-8") as f:
        return f.read(chars)


def scratch(prefix: str = "charlm-bench-") -> Path:
    """A new temporary folder, removed when the bench's process exits (also after an exception)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def prepared_dir(text: str) -> Path:
    """A temporary folder with `text` prepared as the prepare stage prepares it (params.yaml's split)."""
    from charlm import params
    from charlm.text.prepare import prepare

    cfg = params.load("prepare", path=ROOT / "params.yaml")
    out = scratch()
    (out / "corpus.txt").write_text(text, encoding="utf-8")
    prepare(out / "corpus.txt", out, cfg.val_fraction, cfg.test_fraction)
    return out
