"""Characters and text as tables and plots show them."""

from __future__ import annotations


def char_label(char: str) -> str:
    """A character as tables and plots show it: space as ␣, line break and tab escaped, other
    invisible characters by their code point."""
    special = {" ": "␣", "\n": "\\n", "\t": "\\t"}
    return special.get(char, char if char.isprintable() else f"U+{ord(char):04X}")


def plain(text: str) -> str:
    """Text matplotlib shows as written: a pair of '$' would otherwise start a formula."""
    return text.replace("$", r"\$")
