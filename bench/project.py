"""A throwaway charlm project for the benchmarks that run the real stages: this checkout's code,
dvc.yaml and params.yaml (with overrides), and a corpus the caller writes to data/books/corpus.txt."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = Path("data/books/corpus.txt")
DVC = (sys.executable, "-m", "dvc")


def set_params(path: Path, overrides: dict[str, Any]) -> None:
    """params.yaml with dotted keys overridden."""
    params = yaml.safe_load(path.read_text())
    for dotted, value in overrides.items():
        *parents, last = dotted.split(".")
        node = params
        for p in parents:
            node = node[p]
        node[last] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def project(dest: Path, overrides: dict[str, Any]) -> Path:
    """`dest` with the code, dvc.yaml and params.yaml (corpus.source: data/books/corpus.txt, then `overrides`)."""
    for name in ("charlm", "stages", "data/books"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("dvc.yaml", "params.yaml", ".gitignore", ".dvcignore"):
        shutil.copy(ROOT / name, dest / name)
    set_params(dest / "params.yaml", {"corpus.source": str(BOOK), **overrides})
    return dest


def sh(repo: Path, *args: str) -> str:
    """A command in `repo` with this interpreter's directory first on PATH (as an activated venv); must succeed."""
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(repo), "DVC_NO_ANALYTICS": "1",
           "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "bench",
           "GIT_COMMITTER_EMAIL": "b@b"}
    result = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True, check=False)
    if result.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result.stdout


def commit(repo: Path, message: str = "project") -> None:
    """Make `repo` a git + DVC repository (the first time) and commit everything."""
    if not (repo / ".git").is_dir():
        sh(repo, "git", "init", "-q")
        sh(repo, *DVC, "init", "-q")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", message)
