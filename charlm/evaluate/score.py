"""A trained model scored on a text as it is: back-to-back blocks, or the whole text read at once.

`block_loss` is `val_loss`'s definition applied to any split: the text cut into back-to-back blocks of
SCORE_BLOCK (40) characters, every position predicted from 1 to 40 characters before it, so models of
any `maxlen` compare. `LitCharRNN.stateful_loss` reads the text once with the LSTM's state carried.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from charlm.model.checkpoint import load_checkpoint
from charlm.model.lstm import LitCharRNN
from charlm.text.splits import SCORE_BLOCK, CharDataset, blocks_at_once


def trained_model(path: Path | str, vocab: list[str]) -> LitCharRNN:
    """The checkpoint at `path` as a LitCharRNN in eval mode, checked as `load_checkpoint` checks it (one
    line if it is missing, damaged or trained on another vocabulary than `vocab`)."""
    checkpoint = load_checkpoint(path, vocab=vocab)
    model = LitCharRNN(**vars(checkpoint.hparams), vocab=checkpoint.vocab)
    model.load_state_dict(checkpoint.weights)
    return model.eval()


@torch.inference_mode()
def block_loss(model: LitCharRNN, data_dir: Path | str, split: str) -> float:
    """Mean cross-entropy (nats per character) over a split in back-to-back blocks of SCORE_BLOCK."""
    was_training = model.training
    model.eval()
    blocks = CharDataset(data_dir, SCORE_BLOCK, SCORE_BLOCK, split=split, objective="every")
    total = 0.0
    for batch in torch.arange(len(blocks)).split(blocks_at_once(data_dir)):
        x, y = blocks[batch]
        total += F.cross_entropy(model.every_logits(x).flatten(0, 1), y.flatten(), reduction="sum").item()
    model.train(was_training)
    return total / max(1, len(blocks) * SCORE_BLOCK)
