"""Small texts made on the spot: play-like lines, a tiny Project Gutenberg book, prepared data."""

from __future__ import annotations

import random
from pathlib import Path

from charlm.text.prepare import prepare

WORDS = ["the", "king", "and", "queen", "of", "the", "realm", "speak", "to", "thee", "my", "lord", "what",
         "say", "you", "now", "good", "night", "sweet", "prince", "fair", "love", "doth", "come", "hither",
         "but", "not", "so", "soon", "for", "all", "is", "well", "that", "ends", "well"]


def make_text(n_lines: int = 150, seed: int = 0) -> str:
    """Play-like text: speaker lines and verse lines drawn from a small vocabulary."""
    rng = random.Random(seed)
    lines = []
    for i in range(n_lines):
        if i % 4 == 0:
            lines.append(rng.choice(["KING:", "QUEEN:", "HAMLET:"]))
        else:
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 9)))
            lines.append(words.capitalize() + rng.choice(".,;!?"))
    return "\n".join(lines) + "\n"


# a tiny Project Gutenberg book, its body between the current header and footer markers
BODY = "CHAPTER I.\n\nIt is a truth universally acknowledged.\n"


BOTH_MARKERS = (
    "The Project Gutenberg eBook of Tiny Book\n\nThis eBook is for the use of anyone anywhere.\n\n"
    "*** START OF THE PROJECT GUTENBERG EBOOK TINY BOOK ***\n\n\n" + BODY +
    "\n\n*** END OF THE PROJECT GUTENBERG EBOOK TINY BOOK ***\n\n"
    "Updated editions will replace the previous one.\n"
)


def prepare_text(text: str, out: Path, val_fraction: float = 0.1, test_fraction: float = 0.1) -> Path:
    """`out` holding the prepared data of `text`, made as the prepare stage makes it."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "corpus.txt").write_text(text, encoding="utf-8")
    prepare(out / "corpus.txt", out, val_fraction, test_fraction)
    return out
