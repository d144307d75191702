"""Which LSTM cells follow which simple property of a text (Karpathy's "The Unreasonable Effectiveness
of RNNs"), measured so that the number can be trusted:

    cell states after each character (charlm.app.probe.read) + the text -> for each property that
    varies in both halves of the text: the cells that follow it best on the first half, their Pearson r
    on the second half (the best of hundreds of cells, re-measured on the half that chose them, would
    look better than it is), and beside it the r that the character just read gives on its own (a cell
    that only echoes its input is no discovery)
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd

# a play's speaker line as the book writes it: after a blank line (or at the start), a name of one to
# six words, a colon, the end of the line: "First Citizen:", "KING RICHARD III:", "Ghost of GREY:"
SPEAKER = re.compile(r"(?:\A|(?<=\n\n))[A-Za-z][\w'.,&-]*(?: +[\w'.,&-]+){0,5}:(?=\n|\Z)")
BASELINE = "the character alone"  # the ranking's column: r from the identity of the character just read
BEATS = "remembers more"  # the ranking's column: "yes" where the cell's |r| beats BASELINE's, else "no"


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
    "in a speaker's name": _speaker,
    "position in the line": _position_in_line,
    "after a line break": lambda t: np.array([ch == "\n" for ch in t], dtype=float),
    "inside quotes": lambda t: _inside(t, '"', '"'),
    "inside brackets": lambda t: _inside(t, "([{", ")]}"),
    "a capital letter": lambda t: np.array([ch.isupper() for ch in t], dtype=float),
    "inside a word": lambda t: np.array([ch.isalpha() for ch in t], dtype=float),
}
SPEAKERS = "in a speaker's name"  # the property the page opens on


def correlations(cells: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Pearson's r of every cell's trace (T, layers, H) with one property (T,): (layers, H); 0 where
    either does not vary."""
    x = cells.reshape(len(cells), -1).astype(np.float64)
    x = x - x.mean(0)
    y = values - values.mean()
    scale = np.sqrt((x**2).sum(0) * (y**2).sum())
    r = np.divide(x.T @ y, scale, out=np.zeros(x.shape[1]), where=scale > 0)
    return r.reshape(cells.shape[1:])


def character_alone(text: str, values: np.ndarray, half: int) -> float:
    """The r on text[half:] of the best guess from the character just read alone: the property's mean
    after that character in text[:half] (its overall mean for a character not seen there)."""
    chars = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    seen, where = np.unique(chars[:half], return_inverse=True)
    means = np.bincount(where, values[:half]) / np.bincount(where)
    index = np.searchsorted(seen, chars[half:]).clip(0, len(seen) - 1)
    guess = np.where(seen[index] == chars[half:], means[index], values[:half].mean())
    return float(correlations(guess[:, None, None], values[half:])[0, 0])


def rank_cells(cells: np.ndarray, text: str, top: int = 3) -> pd.DataFrame:
    """For each property that varies in both halves of `text`, the `top` cells that follow it best on
    the first half, with their r on the second half and BASELINE's; the properties in the order of
    their best cell's |r|, 2 decimals; BEATS says whether the cell knows more than the character just
    read does (its |r| is higher)."""
    half = len(text) // 2
    groups = []
    for name, prop in PROPERTIES.items():
        values = prop(text)
        if values[:half].std() == 0 or values[half:].std() == 0:
            continue  # e.g. no quotes in the text: nothing to follow
        chosen = correlations(cells[:half], values[:half])
        held = correlations(cells[half:], values[half:])
        baseline = round(character_alone(text, values, half), 2)
        rows = [{"property": name, "layer": int(layer) + 1, "cell": int(cell),
                 "r": round(float(held[layer, cell]), 2), BASELINE: baseline,
                 BEATS: "yes" if abs(held[layer, cell]) > abs(baseline) else "no"}
                for layer, cell in zip(*np.unravel_index(np.argsort(-np.abs(chosen), axis=None)[:top],
                                                         chosen.shape), strict=True)]
        groups.append(rows)
    groups.sort(key=lambda rows: -max(abs(row["r"]) for row in rows))
    return pd.DataFrame([row for rows in groups for row in rows],
                        columns=["property", "layer", "cell", "r", BASELINE, BEATS])


def best_cell(table: pd.DataFrame, prop: str = SPEAKERS) -> tuple[int, int]:
    """(layer, cell) of the ranking's first cell for `prop`, else its first cell, else layer 1 cell 0."""
    rows = table[table["property"] == prop] if len(table) else table
    rows = rows if len(rows) else table
    return (int(rows.iloc[0]["layer"]), int(rows.iloc[0]["cell"])) if len(rows) else (1, 0)
