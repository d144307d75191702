"""How word-like generated text is: the exercise's question, "from which temperature on are words
no longer recognisable?", answered with the share of generated words that occur in the training text.

A word is a run of letters (apostrophes inside allowed); matching ignores case ("King" counts as
"king"). Only words the model wrote are scored: not one that the prompt began, nor the last one if
the length limit cut it off, nor one shorter than `min_letters` letters: a random one- or two-letter
fragment is a training word by chance about half or a sixth of the time, so counting them would
flatter the noisy text of high temperatures (docs/exercise.md has the numbers). A text without words
has no share (None), rather than a share of 0.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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


def written_words(text: str, prompt: str = "", min_letters: int = 1) -> list[str]:
    """The words of `text`, a continuation of `prompt`, that the model wrote whole: lower case, without
    a word the prompt began, one cut off at the end, or one of fewer than `min_letters` letters."""
    full = prompt + text
    found = [m for m in WORD.finditer(full) if m.start() >= len(prompt)]
    if found and (full[-1].isalpha() or full[-1] == "'"):
        found = found[:-1]  # the last word was cut off by the length limit
    return [w for m in found if letters(w := m.group().lower()) >= min_letters]


def letters(word: str) -> int:
    return len(word) - word.count("'")


def share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class Counts:
    """What one text's words tell: how many were scored, how many the training text has, its word
    bigrams (all words, any length: does the text repeat itself?)."""

    words: int
    found: int
    bigrams: list[tuple[str, str]]


def counts(text: str, known: set[str], prompt: str = "", min_letters: int = 1) -> Counts:
    scored = written_words(text, prompt, min_letters)
    every = written_words(text, prompt)
    return Counts(len(scored), sum(w in known for w in scored), list(zip(every, every[1:], strict=False)))


def word_metrics(texts: str | Sequence[str], known: set[str], prompt: str = "",
                 min_letters: int = 1) -> dict[str, float | None]:
    """Share of scored words found in the training text, and distinct word bigrams / all bigrams, over
    all texts (each a continuation of `prompt`); None where there is nothing to count."""
    each = [counts(t, known, prompt, min_letters) for t in ([texts] if isinstance(texts, str) else texts)]
    return pooled_metrics(each)


def pooled_metrics(each: Sequence[Counts]) -> dict[str, float | None]:
    words = sum(c.words for c in each)
    bigrams = [b for c in each for b in c.bigrams]
    return {"words": words, "recognisable_words": share(sum(c.found for c in each), words),
            "distinct_bigrams": share(len(set(bigrams)), len(bigrams))}
