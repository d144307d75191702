"""Whether a run resumes: the same fingerprint and a sound last.ckpt resume; a damaged resume point is
set aside with one line and the run starts fresh."""

from __future__ import annotations

import json
import os
import pickle

import pytest
import torch

from charlm.errors import CharlmError
from charlm.model.checkpoint import save as save_checkpoint
from charlm.model.lstm import LitCharRNN
from charlm.train.rundir import RunDir

FP = {"model": {"hidden_size": 8}, "train": {"lr": 0.01}, "seed": 1, "data": {"a": "1"}}


def model(hidden: int = 8) -> LitCharRNN:
    return LitCharRNN(5, embed_dim=4, hidden_size=hidden, vocab=list("abcde"))


def interrupted(run: RunDir, checkpoint_of: LitCharRNN | None = None, content: bytes | None = None) -> None:
    """`run` as an interrupted run leaves it: a fingerprint and last.ckpt (of a model, or these bytes)."""
    assert run.start(FP, model()) is None
    run.checkpoints.mkdir()
    if content is None:
        save_checkpoint(checkpoint_of or model(), run.last)
    else:
        run.last.write_bytes(content)


def test_resume_only_with_the_same_params_and_data(tmp_path, capsys):
    run = RunDir(tmp_path / "run")
    interrupted(run)
    assert run.start(FP, model()) == run.last
    assert "resuming the interrupted run" in capsys.readouterr().out

    assert run.start({**FP, "model": {"hidden_size": 32}, "data": {"a": "2"}}, model()) is None
    assert "starting fresh: data, model changed since the interrupted run" in capsys.readouterr().out
    assert not run.checkpoints.exists()  # the old run is gone

    interrupted(run)
    assert run.start(FP, model(), resume=False) is None
    assert "train.resume is false: starting fresh" in capsys.readouterr().out


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


@pytest.mark.parametrize("damage, reason", [
    ("fingerprint", "its fingerprint.json is unreadable"),
    ("truncated", "last.ckpt does not load (RuntimeError)"),
    ("other-size", "last.ckpt holds another model's weights"),
    ("pickle", "last.ckpt does not load (UnpicklingError)"),
])
def test_a_damaged_resume_point_is_set_aside_with_one_line(tmp_path, capsys, damage, reason):
    run = RunDir(tmp_path / "run")
    interrupted(run, checkpoint_of=model(16) if damage == "other-size" else None)
    if damage == "fingerprint":
        (run.path / "fingerprint.json").write_text("{not json")
    elif damage == "truncated":
        run.last.write_bytes(run.last.read_bytes()[:500])
    elif damage == "pickle":
        run.last.write_bytes(pickle.dumps({"state_dict": Evil()}, protocol=2))
    assert run.resumable(FP, model()) is None  # every process of a DDP run decides alike, changing nothing
    assert run.start(FP, model()) is None
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [f"train: cannot resume the interrupted run: {reason}; moved it to"
                   f" {tmp_path / 'run.damaged'} and starting fresh"]
    assert (tmp_path / "run.damaged/checkpoints/last.ckpt").is_file()  # kept for a look, out of the way
    assert json.loads((run.path / "fingerprint.json").read_text()) == FP and not run.last.exists()


def test_a_linked_run_folder_is_refused(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "run")
    with pytest.raises(CharlmError, match="run is a symbolic link: make it a folder"):
        RunDir(tmp_path / "run").start(FP, model())
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_a_sound_checkpoint_fits_the_model_it_came_from(tmp_path):
    run = RunDir(tmp_path / "run")
    interrupted(run)
    state = torch.load(run.last, weights_only=True)
    assert set(state["state_dict"]) == set(model().state_dict())
    assert run.resumable(FP, model()) == run.last
