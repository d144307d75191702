"""What a trained model does with a text: its cell states and the distribution each character was
drawn from.

    text -> the model reads it once (charlm.model.compiled) -> after each character: the cell states of
    every layer and the next-character logits -> the distribution at a temperature (tempered_softmax),
    restricted to the characters top-k and top-p let through, as the sampler draws
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from charlm.model.checkpoint import TrainedModel
from charlm.model.compiled import Stepper, candidates
from charlm.sample.generate import inverse_temperatures
from charlm.sample.temperature import tempered_softmax


def read(model: TrainedModel, codes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The model reads `codes` once: after each character the cell states (T, layers, H) and the logits
    for the next character (T, V)."""
    return Stepper(model, batch=1).trace(np.asarray(codes, dtype=np.int64))


def drawn_from(logits: np.ndarray, temperature: float, top_k: int = 0, top_p: float = 1.0) -> np.ndarray:
    """The distributions characters are drawn from, one per row of `logits` (N, V): the tempered softmax
    at `temperature`, kept to the candidates top-k and top-p leave (charlm.model.compiled.candidates,
    what the sampler uses) and renormalised over them. T = 0 is greedy: top-k and top-p change nothing."""
    dist = tempered_softmax(torch.from_numpy(logits).double(), temperature).numpy()
    if inverse_temperatures([temperature])[0] == 0 or (top_k == 0 and top_p >= 1):
        return dist
    kept = np.zeros_like(dist)
    for row, row_logits in enumerate(logits):
        keep = candidates(row_logits, temperature, top_k, top_p)
        kept[row, keep] = dist[row, keep]
    return kept / kept.sum(axis=1, keepdims=True)


def probabilities(model: TrainedModel, prompt: Sequence[int], text: Sequence[int], temperature: float,
                  top_k: int = 0, top_p: float = 1.0) -> np.ndarray:
    """For each character of `text` (written after `prompt`), the distribution it was drawn from, given
    the characters before it (len(text), V)."""
    _, logits = read(model, [*prompt, *text][:-1])
    return drawn_from(logits[len(prompt) - 1 :], temperature, top_k, top_p)
