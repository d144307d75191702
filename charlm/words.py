"""How word-like generated text is: the exercise's question, "from which temperature on are words
no longer recognisable?", answered with the share of generated words that occur in the training text."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from charlm.files import save_figure

WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


def known_words(chunks: Iterable[str]) -> set[str]:
    """The distinct words of a text given in chunks; each chunk is cut at its last space or line end
    (no word spans one), so no word is split between two chunks."""
    known, rest = set(), ""
    for chunk in chunks:
        text = rest + chunk
        cut = max(text.rfind(" "), text.rfind("\n")) + 1
        known.update(words(text[:cut]))
        rest = text[cut:]
    known.update(words(rest))
    return known


def word_metrics(texts: str | Sequence[str], known: set[str]) -> dict[str, float]:
    """Share of words found in the training text, and distinct word bigrams / all bigrams, over all texts."""
    ws: list[str] = []
    bigrams: list[tuple[str, str]] = []
    for text in [texts] if isinstance(texts, str) else texts:
        w = words(text)
        if text and (text[-1].isalpha() or text[-1] == "'"):
            w = w[:-1]  # the last word was cut off by the length limit
        ws += w
        bigrams += zip(w, w[1:])
    return {
        "words": len(ws),
        "recognisable_words": round(sum(w in known for w in ws) / len(ws), 4) if ws else 0.0,
        "distinct_bigrams": round(len(set(bigrams)) / len(bigrams), 4) if bigrams else 0.0,
    }


def unrecognisable_from(table: pd.DataFrame, threshold: float) -> float | None:
    """The lowest temperature whose share of recognisable words falls below `threshold`."""
    below = table[table["recognisable_words"] < threshold]
    return float(below["temperature"].min()) if len(below) else None


def plot_curve(table: pd.DataFrame, threshold: float, path: Path) -> None:
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    ax.plot(table["temperature"], table["recognisable_words"], "o-", label="recognisable words")
    ax.plot(table["temperature"], table["distinct_bigrams"], "s--", label="distinct word bigrams")
    ax.axhline(threshold, color="grey", lw=0.8, ls=":", label=f"threshold {threshold:g}")
    ax.set(xlabel="softmax temperature T", ylabel="share", ylim=(0, 1.05),
           title="How word-like is the generated text?")
    ax.legend()
    ax.grid(alpha=0.3)
    save_figure(fig, path)
