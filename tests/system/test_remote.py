"""A run shared through a DVC remote: pushed from one clone, pulled into a fresh one, nothing retrained."""

from __future__ import annotations

import json
from pathlib import Path

from bench.project import DVC, commit, copy_project, sh
from tests.helpers.config import TINY
from tests.helpers.stages import STAGES, repro
from tests.helpers.text import make_text


def metrics(repo: Path) -> dict:
    """`dvc metrics show --json` of the workspace, by metrics file."""
    return json.loads(sh(repo, *DVC, "metrics", "show", "--json"))[""]["data"]  # "" is the workspace


def test_pushed_run_is_pulled_into_a_fresh_clone_without_rerunning(tmp_path: Path):
    """After `dvc repro`, a commit and `dvc push`, a fresh `git clone` + `dvc pull` has the same model and
    metrics, and `dvc repro` there runs no stage."""
    origin, remote, clone = tmp_path / "origin", tmp_path / "dvc-remote", tmp_path / "clone"
    copy_project(origin, {"corpus.source": "data/books/corpus.txt", **TINY})
    (origin / "data/books/corpus.txt").write_text(make_text(300, seed=5))
    commit(origin)
    sh(origin, *DVC, "remote", "add", "-d", "shared", str(remote))
    sh(origin, "git", "commit", "-qm", "shared remote", ".dvc/config")

    assert repro(origin) == set(STAGES)
    sh(origin, "git", "add", "dvc.lock", "metrics", "data/.gitignore", "plots/.gitignore")
    sh(origin, "git", "commit", "-qm", "run")
    assert sh(origin, "git", "status", "--porcelain") == ""  # the outputs are ignored, nothing else is left
    sh(origin, *DVC, "push")

    sh(tmp_path, "git", "clone", "-q", str(origin), str(clone))
    assert not (clone / "models/best.ckpt").exists() and not (clone / ".dvc/cache").exists()
    sh(clone, *DVC, "pull")
    assert repro(clone) == set()
    assert (clone / "models/best.ckpt").read_bytes() == (origin / "models/best.ckpt").read_bytes()
    assert (clone / "data/samples/T1.0.txt").read_text() == (origin / "data/samples/T1.0.txt").read_text()
    ours, theirs = metrics(origin), metrics(clone)
    assert theirs == ours and theirs["metrics/train.json"]["data"]["val_loss"] > 0
