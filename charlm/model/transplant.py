"""Start a model from another model's weights: a new book from Shakespeare's LSTM.

The layers must have the same shape (embed_dim, hidden_size, num_layers); the vocabularies may
differ. The new model's vocabulary is the union of both (the prepare stage adds the starting model's
characters to the text's, sorted), so
every character the old model knew keeps its embedding row and its output row, moved to its new
index, and a character only the new text has starts as the trained characters would see it
(`start_fresh`). Every other weight is copied as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from charlm.confined import file_in
from charlm.errors import CharlmError
from charlm.model.checkpoint import Checkpoint, load_checkpoint

if TYPE_CHECKING:  # the prepare stage reads starting points without loading Lightning
    from charlm.model.lstm import LitCharRNN

BY_CHARACTER = ("embed.weight", "head.out.weight", "head.out.bias")  # a row per vocabulary character
SHAPE = ("embed_dim", "hidden_size", "num_layers")
NORMALISER_CHARS = 20_000  # characters of the new text the known characters' normaliser is averaged on


def starting_point(name: str, folder: Path) -> Checkpoint:
    """The checkpoint `name` (train.init_from), which must be a file inside `folder`, a real folder that
    dvc.yaml lists as a dependency: a changed starting point reruns what it affects."""
    remedy = f"e.g. cp models/best.ckpt {folder}/shakespeare.ckpt"
    return load_checkpoint(file_in(name, folder, "train.init_from", "starting checkpoint", remedy))


def check_shape(source: Checkpoint, target: object, name: str) -> None:
    """Refuse weights of another shape, with the keys to change."""
    differ = [k for k in SHAPE if getattr(source.hparams, k) != getattr(target, k)]
    if differ:
        has = ", ".join(f"{k}={getattr(source.hparams, k)}" for k in differ)
        asks = ", ".join(f"{k}={getattr(target, k)}" for k in differ)
        raise CharlmError(f"train.init_from {name} has {has} but params.yaml's model has {asks}: set model."
                          f"{differ[0]} (and the others) to the checkpoint's")


@torch.no_grad()
def transplant(model: LitCharRNN, vocab: Sequence[str], source: Checkpoint, text: torch.Tensor) -> list[str]:
    """Copy `source`'s weights into `model` (vocabulary `vocab`, which must hold every character of
    source's); the characters that start fresh, which `start_fresh` sets up from `text`, the new
    training text's codes."""
    index = {c: i for i, c in enumerate(vocab)}
    missing = [c for c in source.vocab if c not in index]
    if missing:
        raise CharlmError(f"the prepared vocabulary lacks {len(missing)} of the starting model's characters"
                          f" (e.g. {missing[0]!r}): rerun the prepare stage (dvc repro -f prepare)")
    rows = torch.tensor([index[c] for c in source.vocab])
    state = model.state_dict()
    for name, weight in source.weights.items():
        if name in BY_CHARACTER:
            state[name][rows] = weight.to(state[name].dtype)
        else:
            state[name].copy_(weight)
    fresh = sorted(set(vocab) - set(source.vocab))
    if fresh:
        start_fresh(model, rows, torch.tensor([index[c] for c in fresh]), text)
    return fresh


def start_fresh(model: LitCharRNN, known: torch.Tensor, fresh: torch.Tensor, text: torch.Tensor) -> None:
    """New characters start as the trained ones would see them: an embedding row drawn with the mean and
    spread of the trained rows, and an output row that predicts the character at its share of the new
    text whatever the context: zero weights, and a bias of the log of that share plus the known
    characters' mean log-normaliser on the start of the text (so that, on average, the new character
    takes about its share of the probability). PyTorch's default rows would give each new character
    about as much probability as a common one: a head start lost in its first steps."""
    state = model.state_dict()
    embed = state["embed.weight"]
    trained = embed[known]
    embed[fresh] = trained.mean(0) + trained.std(0, correction=0) * torch.randn(len(fresh), embed.shape[1])
    state["head.out.weight"][fresh] = 0.0
    was_training = model.training
    model.eval()
    start = text[:NORMALISER_CHARS].long()
    logits = model.every_logits(start[None, :-1])[0][:, known].float()
    model.train(was_training)
    counts = torch.bincount(text, minlength=len(embed)).double()
    share = (counts[fresh] + 0.5) / counts.sum()  # +0.5: a character the training text lacks stays finite
    bias = state["head.out.bias"]
    bias[fresh] = (share.log() + torch.logsumexp(logits, -1).mean()).to(bias.dtype)
