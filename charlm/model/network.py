"""The network's layers, defined once: Embedding -> LSTM -> (last) hidden state -> Dropout ->
Linear+ReLU -> Dropout -> Linear.

LitCharRNN trains these layers; the checkpoint reader checks saved weights against `shapes`, the train
stage sizes a model with `parameter_count`, and the bench counts its arithmetic from them: each reads
the shape from here, built on torch's meta device (no memory, no time), instead of writing it again.
The compiled generation step reads the same weights by their names.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch
from torch import nn


def layers(vocab_size: int, embed_dim: int, hidden_size: int, num_layers: int,
           dropout: float) -> tuple[nn.Embedding, nn.LSTM, nn.Sequential]:
    """The embedding, the LSTM and the head (logits from a hidden state)."""
    embed = nn.Embedding(vocab_size, embed_dim)
    lstm = nn.LSTM(embed_dim, hidden_size, num_layers=num_layers, batch_first=True,
                   dropout=dropout if num_layers > 1 else 0.0)
    head = nn.Sequential(OrderedDict(
        dropout1=nn.Dropout(dropout), dense=nn.Linear(hidden_size, hidden_size), relu=nn.ReLU(),
        dropout2=nn.Dropout(dropout), out=nn.Linear(hidden_size, vocab_size),
    ))
    return embed, lstm, head


def on_meta(hparams: Any) -> nn.ModuleDict:
    """The layers for `hparams` (anything with vocab_size, embed_dim, hidden_size, num_layers) as
    LitCharRNN names them, on the meta device: shapes without memory."""
    with torch.device("meta"):
        embed, lstm, head = layers(hparams.vocab_size, hparams.embed_dim, hparams.hidden_size,
                                   hparams.num_layers, 0.0)
    return nn.ModuleDict({"embed": embed, "lstm": lstm, "head": head})


def shapes(hparams: Any) -> dict[str, tuple[int, ...]]:
    """Every weight's name and shape, as a checkpoint holds them."""
    return {name: tuple(w.shape) for name, w in on_meta(hparams).state_dict().items()}


def parameter_count(hparams: Any) -> int:
    return sum(w.numel() for w in on_meta(hparams).parameters())


def forward_flops(hparams: Any) -> int:
    """Multiply-adds x 2 of one training position's forward pass: every weight matrix used once per
    character (the embedding is a lookup, biases are additions)."""
    return sum(2 * w.numel() for name, w in on_meta(hparams).named_parameters()
               if w.dim() == 2 and not name.startswith("embed"))
