"""Interrupted training resumes: `dvc repro` killed mid-training, then run again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import copy_project, init_repo, make_text, repro, sh, write_params
from test_pipeline import TINY

EPOCHS = 6
LAST = Path("models/run/checkpoints/last.ckpt")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    copy_project(tmp_path)
    (tmp_path / "corpus.txt").write_text(make_text(2500, seed=11))
    write_params(tmp_path, {"corpus.source": "corpus.txt", **TINY, "prepare.step": 2, "train.batch_size": 128,
                            "train.max_epochs": EPOCHS})
    init_repo(tmp_path)
    return tmp_path


def epoch_of(path: Path) -> int:
    """Validated epochs recorded in a checkpoint (0 while there is none)."""
    try:
        return len(torch.load(path, weights_only=True)["callbacks"]["History"]["epochs"])
    except FileNotFoundError:
        return 0


def interrupt_training(repo: Path, sig: signal.Signals) -> int:
    """Start `dvc repro`, send `sig` to its process group once an epoch checkpoint exists; return that epoch."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.Popen([sys.executable, "-m", "dvc", "repro"], cwd=repo, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 300
    while epoch_of(repo / LAST) < 1:
        assert proc.poll() is None, f"dvc repro ended before the first checkpoint:\n{proc.stdout.read()}"
        assert time.monotonic() < deadline, "no checkpoint within 300 s"
        time.sleep(0.2)
    time.sleep(0.5)  # let the checkpoint writing finish: interrupt the next epoch's training, as Ctrl-C would
    os.killpg(proc.pid, sig)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0, out
    return epoch_of(repo / LAST)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_interrupted_training_resumes(repo, sig):
    epoch = interrupt_training(repo, sig)
    assert 1 <= epoch < EPOCHS
    assert not (repo / "models/best.ckpt").exists()  # no half-trained model for sample to pick up
    assert not (repo / "metrics/train.json").exists()

    out = sh(repo, sys.executable, "-m", "dvc", "repro")
    assert "resuming the interrupted run" in out
    metrics = json.loads((repo / "metrics/train.json").read_text())
    assert metrics["resumed_after_epoch"] == epoch  # not epoch 0
    assert metrics["epochs"] == EPOCHS  # the resumed run finished the remaining epochs, no more
    assert not (repo / "models/run").exists()
    assert torch.load(repo / "models/best.ckpt", weights_only=True)["epoch"] + 1 == metrics["best_epoch"]
    for stage in ("sample", "plot_softmax"):
        assert f"Running stage '{stage}'" in out
    assert json.loads((repo / "metrics/sample.json").read_text())["temperature"]
    val_rows = (repo / "dvclive/plots/metrics/val/loss.tsv").read_text().strip().splitlines()[1:]
    assert len(val_rows) >= EPOCHS  # the curve continues across the interruption
    assert repro(repo) == set()


def test_resume_only_with_the_same_params_and_data(tmp_path, capsys):
    from stages.train import resume_point

    work = tmp_path / "run"
    fp = {"model": {"hidden_size": 16}, "train": {"lr": 0.01}, "maxlen": 16, "step": 3, "seed": 1, "data": {"a": "1"}}
    assert resume_point(work, fp, allowed=True) is None  # nothing to resume: a fresh run directory
    (work / "checkpoints").mkdir()
    (work / "checkpoints/last.ckpt").write_bytes(b"ckpt")

    assert resume_point(work, fp, allowed=True) == work / "checkpoints/last.ckpt"
    assert "resuming the interrupted run" in capsys.readouterr().out

    assert resume_point(work, {**fp, "model": {"hidden_size": 32}, "data": {"a": "2"}}, allowed=True) is None
    assert "starting fresh: data, model changed since the interrupted run" in capsys.readouterr().out
    assert not (work / "checkpoints").exists()  # the old run is gone

    (work / "checkpoints").mkdir()
    (work / "checkpoints/last.ckpt").write_bytes(b"ckpt")
    assert resume_point(work, {**fp, "model": {"hidden_size": 32}, "data": {"a": "2"}}, allowed=False) is None
    assert "train.resume is false: starting fresh" in capsys.readouterr().out
