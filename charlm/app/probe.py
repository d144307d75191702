"""What a trained model does with a text: how sure it was of each character, and which LSTM cells
follow which simple property of the text (Karpathy's "The Unreasonable Effectiveness of RNNs").

    text -> the model reads it once (charlm.model.compiled) -> after each character: the cell states of
    every layer and the next-character logits -> probabilities at a temperature (tempered_softmax),
    and each cell's correlation with each property below
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from charlm.model.checkpoint import TrainedModel
from charlm.model.compiled import Stepper
from charlm.sample.temperature import tempered_softmax

SPEAKER = re.compile(r"^[A-Z][A-Z '.,-]*:$", re.MULTILINE)  # a play's speaker line: "KING RICHARD III:"


def read(model: TrainedModel, codes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The model reads `codes` once: after each character the cell states (T, layers, H) and the logits
    for the next character (T, V)."""
    return Stepper(model, batch=1).trace(np.asarray(codes, dtype=np.int64))


def probabilities(model: TrainedModel, prompt: Sequence[int], text: Sequence[int],
                  temperature: float) -> np.ndarray:
    """For each character of `text` (written after `prompt`), the distribution it was drawn from:
    tempered_softmax at `temperature` of the logits after the characters before it (len(text), V)."""
    _, logits = read(model, [*prompt, *text][:-1])
    before = logits[len(prompt) - 1 :]
    return tempered_softmax(torch.from_numpy(before).double(), temperature).numpy()


def _inside(text: str, opening: str, closing: str) -> np.ndarray:
    """1 where the character read so far leaves us inside a pair of `opening` and `closing` (the same
    characters for quotes: each one toggles)."""
    depth = 0
    out = np.zeros(len(text))
    for i, ch in enumerate(text):
        if ch in opening and (opening != closing or depth == 0):
            depth += 1
        elif ch in closing:
            depth = max(0, depth - 1)
        out[i] = depth > 0
    return out


def _position_in_line(text: str) -> np.ndarray:
    out = np.zeros(len(text))
    column = 0
    for i, ch in enumerate(text):
        column = 0 if ch == "\n" else column + 1
        out[i] = column
    return out


def _speaker(text: str) -> np.ndarray:
    out = np.zeros(len(text))
    for m in SPEAKER.finditer(text):
        out[m.start() : m.end()] = 1
    return out


PROPERTIES: dict[str, Callable[[str], np.ndarray]] = {
    "inside quotes": lambda t: _inside(t, '"', '"'),
    "inside brackets": lambda t: _inside(t, "([{", ")]}"),
    "position in the line": _position_in_line,
    "after a line break": lambda t: np.array([ch == "\n" for ch in t], dtype=float),
    "in a speaker's name": _speaker,
    "a capital letter": lambda t: np.array([ch.isupper() for ch in t], dtype=float),
    "inside a word": lambda t: np.array([ch.isalpha() for ch in t], dtype=float),
}


def correlations(cells: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Pearson's r of every cell's trace (T, layers, H) with one property (T,): (layers, H); 0 where
    either does not vary."""
    x = cells.reshape(len(cells), -1).astype(np.float64)
    x = x - x.mean(0)
    y = values - values.mean()
    scale = np.sqrt((x**2).sum(0) * (y**2).sum())
    r = np.divide(x.T @ y, scale, out=np.zeros(x.shape[1]), where=scale > 0)
    return r.reshape(cells.shape[1:])


def rank_cells(cells: np.ndarray, text: str, top: int = 10) -> pd.DataFrame:
    """The cells that follow a property of `text` best: property, layer, cell, r (by |r|, a row per
    property's best cells)."""
    rows = []
    for name, prop in PROPERTIES.items():
        r = correlations(cells, prop(text))
        for flat in np.argsort(-np.abs(r), axis=None)[:top]:
            layer, cell = np.unravel_index(flat, r.shape)
            rows.append({"property": name, "layer": int(layer) + 1, "cell": int(cell),
                         "r": float(r[layer, cell])})
    table = pd.DataFrame(rows)
    return table.reindex(table["r"].abs().sort_values(ascending=False).index).reset_index(drop=True)
