"""Characters and text as tables and plots show them."""

from __future__ import annotations

import functools


def char_label(char: str) -> str:
    """A character as tables and plots show it: space as ␣, line break and tab escaped, other
    invisible characters by their code point."""
    special = {" ": "␣", "\n": "\\n", "\t": "\\t"}
    return special.get(char, char if char.isprintable() else f"U+{ord(char):04X}")


def char_name(char: str) -> str:
    """A character as a sentence or a title names it: 'a', a space, a line break."""
    names = {" ": "a space", "\n": "a line break", "\t": "a tab"}
    return names.get(char, f"'{char_label(char)}'")


@functools.cache
def _drawable() -> frozenset[int]:
    """The code points matplotlib's default font can draw."""
    from matplotlib import font_manager, ft2font

    return frozenset(ft2font.FT2Font(font_manager.findfont(font_manager.FontProperties())).get_charmap())


def plain(text: str) -> str:
    """Text matplotlib shows as written: a pair of '$' would otherwise start a formula, and a character
    the font cannot draw would be an empty box (and a warning each): it shows its code point instead."""
    shown = "".join(c if c.isspace() or ord(c) in _drawable() else f"U+{ord(c):04X}" for c in text)
    return shown.replace("$", r"\$")
