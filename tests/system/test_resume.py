"""Interrupted training resumes: `dvc repro` killed mid-training, then run again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import IO

import pytest
import torch

from bench.project import DVC, commit, copy_project, environment, sh
from tests.helpers.config import TINY, ddp
from tests.helpers.stages import repro
from tests.helpers.text import make_text

EPOCHS = 6
LAST = Path("models/run/checkpoints/last.ckpt")


@pytest.fixture
def repo(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A project whose training runs in `request.param` processes (1 unless a test says)."""
    copy_project(tmp_path, {"corpus.source": "data/books/corpus.txt", **TINY, "train.max_epochs": EPOCHS,
                            **ddp(getattr(request, "param", 1))})
    (tmp_path / "data/books/corpus.txt").write_text(make_text(600, seed=11))
    commit(tmp_path)
    return tmp_path


def history_of(path: Path) -> dict:
    """What the train stage's History callback saved in a checkpoint: validations, train_seconds, ..."""
    return torch.load(path, weights_only=True)["callbacks"]["History"]


def epoch_of(path: Path) -> int:
    """Validated epochs recorded in a checkpoint."""
    return len(torch.load(path, weights_only=True)["callbacks"]["History"]["validations"])


def default_sigint() -> None:
    """In the child: Ctrl-C raises KeyboardInterrupt even if this test was started with SIGINT ignored
    (as a background job of a non-interactive shell is), since Python keeps an inherited SIG_IGN."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_repro(repo: Path, stderr: IO[str] | int = subprocess.DEVNULL) -> subprocess.Popen[str]:
    return subprocess.Popen([*DVC, "repro"], cwd=repo, env=environment(), start_new_session=True,
                            preexec_fn=default_sigint, stdout=subprocess.PIPE, stderr=stderr, text=True)


def wait_for(proc: subprocess.Popen[str], prefix: str, seen: list[str]) -> float:
    """Read the output until a line starts with `prefix`; when it was read (perf_counter)."""
    for line in proc.stdout:
        seen.append(line)
        if line.startswith(prefix):
            return time.perf_counter()
    pytest.fail(f"dvc repro ended before printing {prefix!r}:\n{''.join(seen)}")


def interrupt_training(repo: Path, sig: signal.Signals) -> tuple[int, float | None]:
    """Start `dvc repro`; when training reports its first checkpoint, send `sig` to the process group.
    The epochs in the resumable checkpoint, and the seconds from the start of training until it said it
    was interrupted (None if it could not say, after SIGKILL): an upper bound of the time it trained."""
    with open(repo.parent / "interrupted.err", "w+", encoding="utf-8") as errors:
        proc, seen = start_repro(repo, errors), []
        started = wait_for(proc, "train: training from epoch 1,", seen)
        wait_for(proc, "train: epoch 1 ", seen)  # the event: the epoch-1 checkpoint is written
        # the curves grow in place, where `dvc plots` looks, while training still runs
        assert (repo / "dvclive/plots/metrics/val/loss.tsv").read_text().count("\n") >= 2  # header + epoch 1
        assert proc.poll() is None
        os.killpg(proc.pid, sig)
        seen += proc.stdout.readlines()  # until the stage and DVC have ended
        ended = time.perf_counter()
        assert proc.wait(timeout=300) != 0, "".join(seen)
        errors.seek(0)
        said = "train: interrupted in epoch" in errors.read()  # the stage saved where it was (on stderr)
    assert not any("interrupted in epoch" in line for line in seen)
    return epoch_of(repo / LAST), ended - started if said else None


def resume_training(repo: Path) -> tuple[str, float]:
    """`dvc repro` after the interruption: its output and the seconds from the start of training to its
    end."""
    proc, seen = start_repro(repo), []
    started = wait_for(proc, "train: training from epoch", seen)
    ended = wait_for(proc, "train: val_loss=", seen)  # the stage's last line, after the metrics are written
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, "".join(seen) + out
    return "".join(seen) + out, ended - started


@pytest.mark.parametrize("repo, sig", [(1, signal.SIGKILL), (1, signal.SIGINT), (2, signal.SIGINT)],
                         ids=["SIGKILL", "SIGINT", "2-processes-SIGINT"], indirect=["repo"])
def test_interrupted_training_resumes(repo, sig):
    epoch, first = interrupt_training(repo, sig)
    assert 1 <= epoch < EPOCHS
    before = history_of(repo / LAST)  # what the interrupted run had done when it saved
    # DVC removed the old output; no half-trained model appeared
    assert not (repo / "models/best.ckpt").exists()
    assert not (repo / "metrics/train.json").exists()

    out, second = resume_training(repo)
    assert "resuming the interrupted run" in out
    metrics = json.loads((repo / "metrics/train.json").read_text())
    assert metrics["resumed_after_epoch"] == epoch  # not epoch 0
    assert metrics["epochs"] == EPOCHS  # the resumed run finished the remaining epochs, no more
    if sig == signal.SIGINT:  # the time and windows trained, including the interrupted part of an epoch
        assert first is not None, "the stage did not say on stderr that it saved where it was"
        # both runs' seconds, counted from the saved clock on: more than the interrupted run had, and no
        # more than the test saw pass from the start of training to its end in both (not uptime)
        assert before["train_seconds"] < metrics["train_seconds"] <= first + second + 0.1, (metrics, before)
        windows = metrics["windows_per_second"] * metrics["train_seconds"]
        assert windows == pytest.approx(EPOCHS * metrics["train_windows"], rel=0.05), metrics
    assert not (repo / "models/run").exists()
    assert torch.load(repo / "models/best.ckpt", weights_only=True)["epoch"] + 1 == metrics["best_epoch"]
    for stage in ("sample", "plot_softmax"):
        assert f"Running stage '{stage}'" in out
    assert json.loads((repo / "metrics/sample.json").read_text())["temperature"]
    val_rows = (repo / "dvclive/plots/metrics/val/loss.tsv").read_text().strip().splitlines()[1:]
    assert len(val_rows) >= EPOCHS  # the curve continues across the interruption
    assert repro(repo) == set()


def test_a_damaged_resume_point_does_not_stop_the_pipeline(repo):
    """A resume point that cannot be used is set aside with one line; `dvc repro` trains afresh."""
    run = repo / "models/run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "fingerprint.json").write_text("{broken")
    (run / "checkpoints/last.ckpt").write_bytes(b"not a checkpoint")
    out = sh(repo, *DVC, "repro")
    assert "train: cannot resume the interrupted run: its fingerprint.json is unreadable; moved it to" in out
    assert "Traceback" not in out and (repo / "models/run.damaged/checkpoints/last.ckpt").is_file()
    assert json.loads((repo / "metrics/train.json").read_text())["resumed_after_epoch"] == 0


def test_ctrl_c_in_the_train_stage_is_an_interrupt_130_with_its_line_last(repo):
    """Lightning exits 1 after a graceful shutdown; the stage says it was interrupted and exits 130, as
    every other entry point does."""
    sh(repo, *DVC, "repro", "prepare")
    proc = subprocess.Popen(["python", "-m", "stages.train"], cwd=repo, env=environment(), text=True,
                            preexec_fn=default_sigint, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(proc, "train: epoch 1 ", [])
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    assert "train: interrupted in epoch" in err and err.endswith("error: interrupted\n")
