"""Typographic characters written as the plain ones a model may know instead: a model trained on tiny
Shakespeare has straight quotes and hyphens, a modern book curly quotes and dashes. Without this they
would be left out of a text it adapts to ("I’m" read as "Im")."""

from __future__ import annotations

from collections.abc import Collection

STAND_INS = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",  # ‘ ’ ‚ ‛ ′
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',  # “ ” „ ‟ ″
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",  # ‐ ‑ ‒ – — ―
    "\u2026": "...", "\u00a0": " ", "\u2009": " ", "\u202f": " ",  # … and narrow or non-breaking spaces
}


def plain_typography(text: str, vocab: Collection[str]) -> str:
    """`text` with each character of STAND_INS that `vocab` lacks written as its stand-in, where `vocab`
    has every character of that."""
    table = {c: plain for c, plain in STAND_INS.items() if c not in vocab and set(plain) <= set(vocab)}
    return text.translate(str.maketrans(table)) if table else text
