"""Running the pipeline's stages: as DVC runs them (a subprocess, or `dvc repro`), or in this process."""

from __future__ import annotations

import hashlib
import io
import os
import re
import runpy
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from bench.project import DVC, ROOT, sh, write_params
from tests.helpers.config import TINY
from tests.helpers.text import make_text

STAGES = ("download", "prepare", "train", "evaluate", "sample", "plot_softmax")


def run_stage(name: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -m stages.<name>` as DVC runs it, from `cwd`, with this checkout's code."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", f"stages.{name}"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def run_here(name: str, cwd: Path) -> tuple[int, str]:
    """`python -m stages.<name>` run in this process (the same module as __main__, the same files, no
    interpreter start-up: torch and Lightning are imported once per test session): exit code and stderr."""
    err = io.StringIO()
    before = os.getcwd()
    os.chdir(cwd)
    try:
        with redirect_stderr(err), redirect_stdout(io.StringIO()):
            runpy.run_module(f"stages.{name}", run_name="__main__")
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    finally:
        os.chdir(before)
    return code, err.getvalue()


def repro(repo: Path, *args: str) -> set[str]:
    """`dvc repro [args]`; returns the stages that ran their command."""
    out = sh(repo, *DVC, "repro", *args)
    return set(re.findall(r"Running stage '(\w+)'", out))


GOOD = {"corpus.source": "data/books/corpus.txt", **TINY}  # a small book of the stage tests


def run_all(root: Path) -> Path:
    """`root` with every stage run once, successfully, on a small corpus (GOOD)."""
    (root / "data/books").mkdir(parents=True, exist_ok=True)
    (root / "data/books/corpus.txt").write_text(make_text(200))
    write_params(root, GOOD)
    for stage in STAGES:
        code, err = run_here(stage, root)
        assert code == 0, err
    return root


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every output file the stages write."""
    files = [p for d in ("data", "models", "metrics", "plots", "dvclive") for p in (root / d).rglob("*")
             if p.is_file()]
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def one_error_line(stderr: str, message: str) -> bool:
    """Whether `stderr` is exactly one line, `error: ...` containing `message`, and no traceback."""
    lines = stderr.strip().splitlines()
    return len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
