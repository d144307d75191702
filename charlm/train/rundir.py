"""A training run that survives interruption: its folder, its fingerprint, and whether to resume it.

    models/run/fingerprint.json    what the run depends on (params, seed, the data's sha256)
    models/run/checkpoints/        Lightning's last.ckpt (the resume point) and best.ckpt
    models/run/log/                the logger's folder as of the last checkpoint

A later run resumes from last.ckpt only when its fingerprint is the same and the checkpoint loads
and fits the model; a damaged resume point is set aside (models/run.damaged) with one line, and
the run starts fresh.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from torch import nn

from charlm.errors import CharlmError
from charlm.files import copy_dir, display_path, write_json
from charlm.model.checkpoint import Checkpoint, read, why_not
from charlm.params.schema import ModelParams, TrainParams

# caps, speed and what is only shown: an interrupted run may go on with others
NOT_FINGERPRINTED = ("resume", "max_epochs", "max_time", "threads", "preview_chars", "preview_temperature")


def sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()  # in chunks: a split may be larger than memory


def fingerprint(model: ModelParams, train: TrainParams, seed: int, data_dir: Path,
                init: Checkpoint | None = None) -> dict[str, Any]:
    """What a run depends on: resuming is only safe when all of it is unchanged (the starting weights
    too, whatever their file is called)."""
    data = {name: sha256(Path(data_dir) / name) for name in ("vocab.json", "train.npy", "val.npy")}
    knobs = {k: v for k, v in train.model_dump().items() if k not in NOT_FINGERPRINTED}
    return {"model": model.model_dump(), "train": knobs, "seed": seed, "data": data,
            "starting weights": None if init is None else weights_digest(init)}


def weights_digest(init: Checkpoint) -> str:
    digest = hashlib.sha256()
    for name, weight in sorted(init.weights.items()):
        digest.update(name.encode() + weight.numpy().tobytes())
    return digest.hexdigest()


def damage(checkpoint: Path, model: nn.Module) -> str | None:
    """Why `checkpoint` cannot resume training `model` (None if it can): not a valid checkpoint (see
    charlm.model.checkpoint), or one of another model's weights."""
    try:
        saved = read(checkpoint)
    except Exception as e:  # truncated, not a checkpoint, or a pickle the safe loader refuses
        return f"{checkpoint.name} does not load ({why_not(e)})"
    if {k: tuple(v.shape) for k, v in saved.weights.items()} != \
            {k: tuple(v.shape) for k, v in model.state_dict().items()}:
        return f"{checkpoint.name} holds another model's weights"
    return None


class RunDir:
    """A resumable run on disk (see the module's docstring). The logger's own folder may be deleted
    between runs (`dvc repro` does), so a copy is kept here and put back on resume."""

    def __init__(self, path: Path, log_dir: Path | None = None) -> None:
        self.path = Path(path)
        self.log_dir = log_dir
        self.checkpoints = self.path / "checkpoints"
        self.last = self.checkpoints / "last.ckpt"
        self._fingerprint = self.path / "fingerprint.json"
        self._log_copy = self.path / "log"

    def recorded(self) -> dict[str, Any] | None:
        """The fingerprint of the run in the folder; None if there is none or it is unreadable."""
        try:
            recorded = json.loads(self._fingerprint.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return recorded if isinstance(recorded, dict) else None

    def resumable(self, fingerprint: dict[str, Any], model: nn.Module, resume: bool = True) -> Path | None:
        """last.ckpt of an interrupted run with the same fingerprint that fits `model`, else None.
        Changes nothing, so every process of a distributed run can ask while the first one clears."""
        ok = resume and self.recorded() == fingerprint and self.last.is_file()
        return self.last if ok and damage(self.last, model) is None else None

    def start(self, fingerprint: dict[str, Any], model: nn.Module, resume: bool = True) -> Path | None:
        """Like `resumable`, and if there is nothing to resume, an empty run folder with `fingerprint`;
        a run that could have resumed but is damaged is set aside first."""
        if self.path.is_symlink():
            raise CharlmError(f"{display_path(self.path)} is a symbolic link: make it a folder (train keeps"
                              " its resumable state there)")
        if self.resumable(fingerprint, model, resume):
            print(f"train: resuming the interrupted run from {display_path(self.last)}")
            if self.log_dir and self._log_copy.is_dir():
                copy_dir(self._log_copy, self.log_dir)
            return self.last
        if self.last.is_file():
            self._explain_fresh_start(fingerprint, model, resume)
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir(parents=True)
        write_json(self._fingerprint, fingerprint)
        return None

    def _explain_fresh_start(self, fingerprint: dict[str, Any], model: nn.Module, resume: bool) -> None:
        recorded = self.recorded()
        if not resume:
            print("train: train.resume is false: starting fresh")
        elif recorded is None:
            self._set_aside("its fingerprint.json is unreadable")
        elif recorded == fingerprint:
            self._set_aside(damage(self.last, model) or "it changed while being read")
        else:
            changed = sorted(k for k in fingerprint if recorded.get(k) != fingerprint[k])
            print(f"train: starting fresh: {', '.join(changed)} changed since the interrupted run")

    def _set_aside(self, reason: str) -> None:
        aside = self.path.with_name(f"{self.path.name}.damaged")
        shutil.rmtree(aside, ignore_errors=True)
        self.path.rename(aside)
        print(f"train: cannot resume the interrupted run: {reason}; moved it to {display_path(aside)} and"
              " starting fresh")

    def keep_log(self) -> None:
        if self.log_dir and self.log_dir.is_dir():
            copy_dir(self.log_dir, self._log_copy)

    def finish(self) -> None:
        shutil.rmtree(self.path)
