"""A trained model as generation needs it, read from a checkpoint without Lightning.

`load_checkpoint` reads what the train stage saved (weights, hyperparameters, vocabulary) with
`torch.load(weights_only=True)` and without importing Lightning, which alone takes seconds to start:
sampling, the softmax plot, `charlm generate` and `charlm explore` never need it. The result works
wherever a LitCharRNN does for inference here (`state_dict()`, `hparams`, `vocab`).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Union

import torch

from charlm.errors import CharlmError
from charlm.model.network import shapes
from charlm.params.schema import MODEL_LIMITS

if TYPE_CHECKING:
    from charlm.model.lstm import LitCharRNN


@dataclass(frozen=True)
class Checkpoint:
    """A trained model's weights, hyperparameters (vocab_size, maxlen, ...) and vocabulary (idx2char)."""

    weights: dict[str, torch.Tensor]
    hparams: SimpleNamespace
    vocab: list[str]

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.weights


TrainedModel = Union["LitCharRNN", Checkpoint]  # what generation accepts


class ShapeError(ValueError):
    """A checkpoint declares a shape charlm refuses to build."""


def check_shape(hparams: Any) -> None:
    """Refuse a declared shape beyond MODEL_LIMITS before anything is built from it (a crafted
    num_layers of 10**12 would otherwise exhaust memory)."""
    for key, high in MODEL_LIMITS.items():
        value = getattr(hparams, key, None)
        if type(value) is not int or not 1 <= value <= high:
            shown = f"{value!r}"[:40]
            raise ShapeError(f"it declares {key}={shown}, not an integer from 1 to {high:,}")


def save(model: TrainedModel, path: Path) -> Path:
    """What `read` needs of a model, written to `path`: its weights, hyperparameters (plain values) and
    vocabulary. The train stage's checkpoints (Lightning's) hold the same keys and more."""
    hparams = model.hparams if isinstance(model.hparams, Mapping) else vars(model.hparams)
    torch.save({"state_dict": model.state_dict(), "hyper_parameters": dict(hparams), "vocab": model.vocab},
               path)
    return path


def read(path: Path) -> Checkpoint:
    """The checkpoint at `path`, checked (torch's safe loader, declared shapes within bounds, weights of
    exactly those shapes, a vocabulary of vocab_size distinct characters); any exception if it is not one."""
    with warnings.catch_warnings():  # torch warns about pickles it is about to refuse
        warnings.simplefilter("ignore")
        raw = torch.load(path, map_location="cpu", weights_only=True)
    hparams = SimpleNamespace(**raw["hyper_parameters"])
    check_shape(hparams)
    model = Checkpoint(dict(raw["state_dict"]), hparams, list(raw["vocab"]))
    if len(model.vocab) != model.hparams.vocab_size:
        raise ShapeError(f"its vocabulary has {len(model.vocab):,} entries for vocab_size="
                         f"{model.hparams.vocab_size:,}")
    if not all(is_character(c) for c in model.vocab) or len(set(model.vocab)) != len(model.vocab):
        raise ShapeError("its vocabulary is not a list of distinct single characters")
    if {k: tuple(v.shape) for k, v in model.weights.items()} != shapes(model.hparams):
        raise ValueError("weights")
    return model


def is_character(c: object) -> bool:
    """One Unicode character that UTF-8 can write (a lone surrogate cannot)."""
    return isinstance(c, str) and len(c) == 1 and not "\ud800" <= c <= "\udfff"


def why_not(e: Exception) -> str:
    """Why `read` refused a file, in a few words: what it declares, or the exception's name."""
    return str(e) if isinstance(e, ShapeError) else type(e).__name__


def load_checkpoint(path: Path | str, vocab: Sequence[str] | None = None) -> Checkpoint:
    """A checkpoint of the train stage, checked: CharlmError if the file is missing or not one, or, given
    `vocab`, if the model was trained on another vocabulary (its indices would mean other characters)."""
    path = Path(path)
    if path.is_dir():
        raise CharlmError(f"{path} is a directory, not a checkpoint: name the .ckpt file in it")
    if path.exists() and not path.is_file():
        raise CharlmError(f"{path} is not a regular file (a device, pipe or socket): name a checkpoint file")
    if not path.is_file():
        raise CharlmError(f"{path} not found: train a model first (dvc repro train, or make run)")
    try:
        model = read(path)
    except Exception as e:  # a truncated or foreign file: say which one, not a traceback
        raise CharlmError(f"{path} is not a valid charlm checkpoint ({why_not(e)})") from None
    if vocab is not None and model.vocab != list(vocab):
        raise CharlmError(f"{path} was trained on a different vocabulary than the prepared data:"
                          " rerun `dvc repro`")
    return model
