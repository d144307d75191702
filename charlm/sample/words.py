"""How word-like generated text is: the exercise's question, "from which temperature on are words
no longer recognisable?", answered with the share of generated words that occur in the training text.

A word is a run of letters (apostrophes inside allowed); matching ignores case ("King" counts as
"king"). Only words the model wrote are scored: not one that the prompt began, nor the last one if
the length limit cut it off. A text without words has no share (None), rather than a share of 0.
"""

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
    known: set[str] = set()
    rest = ""
    for chunk in chunks:
        text = rest + chunk
        cut = max(text.rfind(" "), text.rfind("\n")) + 1
        known.update(words(text[:cut]))
        rest = text[cut:]
    known.update(words(rest))
    return known


def written_words(text: str, prompt: str = "") -> list[str]:
    """The words of `text`, a continuation of `prompt`, that the model wrote whole: lower case, without
    a word the prompt began or one cut off at the end."""
    full = prompt + text
    found = [m for m in WORD.finditer(full) if m.start() >= len(prompt)]
    if found and (full[-1].isalpha() or full[-1] == "'"):
        found = found[:-1]  # the last word was cut off by the length limit
    return [m.group().lower() for m in found]


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def word_metrics(texts: str | Sequence[str], known: set[str], prompt: str = "") -> dict[str, float | None]:
    """Share of words found in the training text, and distinct word bigrams / all bigrams, over all
    texts (each a continuation of `prompt`); None where there is nothing to count."""
    ws: list[str] = []
    bigrams: list[tuple[str, str]] = []
    for text in [texts] if isinstance(texts, str) else texts:
        w = written_words(text, prompt)
        ws += w
        bigrams += zip(w, w[1:], strict=False)
    return {"words": len(ws), "recognisable_words": share(sum(w in known for w in ws), len(ws)),
            "distinct_bigrams": share(len(set(bigrams)), len(bigrams))}


def word_table(texts: dict[float, list[str]], known: set[str], prompt: str = "") -> pd.DataFrame:
    """word_metrics of the texts at each temperature: a row per temperature."""
    return pd.DataFrame([{"temperature": t, **word_metrics(ts, known, prompt)} for t, ts in texts.items()])


def unrecognisable_from(table: pd.DataFrame, threshold: float) -> float | None:
    """The lowest temperature whose share of recognisable words falls below `threshold` (temperatures
    that wrote no word do not count)."""
    below = table[table["recognisable_words"].astype(float) < threshold]
    return float(below["temperature"].min()) if len(below) else None


def plot_recognisable(table: pd.DataFrame, threshold: float, path: Path) -> None:
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
