"""Adapt a trained model to a text for a bounded time: dynamic evaluation that keeps what it learnt.

    the text -> the RMS rule's gradient statistics on its start
    -> read it once in segments, each scored, then learnt from (charlm.evaluate.dynamic), until the
       text ends or the time is up
    -> the adapted weights, in memory only (the checkpoint on disk is never written), and the loss on
       the part read: with the trained weights, while adapting (each segment before its own update),
       and with the adapted weights

`charlm generate --adapt FILE` and the explorer's Adapt tab write with the adapted weights: a chapter
of another author, read once, moves the names, spelling and style of what the model writes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import nn

from charlm.errors import CharlmError
from charlm.evaluate.dynamic import Rule, dynamic_loss, gradient_stats, learnt, lstm_reader, one_thread
from charlm.model.checkpoint import Checkpoint, TrainedModel
from charlm.model.network import layers

LR = 0.001  # the rms rule's learning rate the evaluate stage chose on the default run's validation text
DECAY = 0.003  # params.yaml's evaluate.decay: the pull back toward the trained weights
SEGMENT = 50  # characters scored, then learnt from, at a time
STATS_CHARS = 20_000  # the start of the text the gradient statistics are gathered on
STATEFUL = Rule("sgd", 0.0)  # reading without learning: the stateful loss


@dataclass(frozen=True)
class Adapted:
    """The adapted model, and the loss (nats per character) on the `chars` characters it read: with the
    trained weights, while adapting, and with the adapted weights; the seconds it took."""

    model: Checkpoint
    before: float
    online: float
    after: float
    chars: int
    seconds: float


def text_codes(text: str, vocab: list[str], name: str) -> tuple[torch.Tensor, str]:
    """The text's codes (line ends as "\n"), the characters the model does not know left out, and those
    characters: a model learns no new character by reading."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    index = {c: i for i, c in enumerate(vocab)}
    codes = [index[c] for c in text if c in index]
    if len(codes) < 2:
        raise CharlmError(f"{name} has {len(codes)} characters the model knows: adapting needs at least 2")
    return torch.tensor(codes), "".join(sorted(set(text) - index.keys()))


def modules(model: TrainedModel) -> nn.Module:
    """The checkpoint's layers with its weights, without Lightning."""
    h = model.hparams
    embed, lstm, head = layers(h.vocab_size, h.embed_dim, h.hidden_size, h.num_layers, 0.0)
    module = nn.ModuleDict({"embed": embed, "lstm": lstm, "head": head})
    module.load_state_dict(model.state_dict())
    return module.eval()


def adapt(model: TrainedModel, codes: torch.Tensor, seconds: float, lr: float = LR) -> Adapted:
    """`model` adapted to the text `codes` (at least two characters), reading for about `seconds`."""
    start = time.monotonic()
    module = modules(model)
    reader = lstm_reader(module)
    stats = gradient_stats(reader, codes[:STATS_CHARS], SEGMENT)
    trained = [w.detach().clone() for w in reader.weights]
    with one_thread():
        scores = learnt(reader, codes, Rule("rms", lr, DECAY), SEGMENT, trained, stats, until=start + seconds)
    read = codes[: len(scores) * SEGMENT + 1]
    chars = len(read) - 1
    adapted = Checkpoint({k: v.detach().clone() for k, v in module.state_dict().items()}, model.hparams,
                         model.vocab)
    after = dynamic_loss(reader, read, STATEFUL, SEGMENT)
    before = dynamic_loss(lstm_reader(modules(model)), read, STATEFUL, SEGMENT)
    return Adapted(adapted, round(before, 4), round(sum(scores) / chars, 4), round(after, 4), chars,
                   round(time.monotonic() - start, 1))
