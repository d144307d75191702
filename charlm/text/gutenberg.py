"""Project Gutenberg's header and footer, stripped from a text streamed in pieces of whole lines.

The body lies after the last header marker line ("*** START OF THE PROJECT GUTENBERG EBOOK ...",
or the old "*END*THE SMALL PRINT!") and before the first footer marker line after it. Two passes:
`bounds` finds them, `between` yields the body.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

HEADER_END = re.compile(r"^.*(\*\*\*\s*START OF (THE|THIS) PROJECT GUTENBERG|\*END\*THE SMALL PRINT!).*$",
                        re.IGNORECASE | re.MULTILINE)
FOOTER_START = re.compile(r"^.*(\*\*\*\s*END OF (THE|THIS) PROJECT GUTENBERG|^End of (the )?Project"
                          r" Gutenberg).*$", re.IGNORECASE | re.MULTILINE)


def bounds(pieces: Iterable[str]) -> tuple[int, int, int, dict[str, int]]:
    """Where the body starts and ends, the text's length, and the lines cut off at each end. The
    pieces end at line ends, so the markers' line patterns see what they would in the whole text."""
    pos = newlines = 0
    start = end = None
    start_newlines = end_newlines = 0
    last = ""
    for piece in pieces:
        for m in HEADER_END.finditer(piece):
            start = pos + m.end()
            start_newlines = newlines + piece.count("\n", 0, m.end())
            end = None
        if end is None and (m := FOOTER_START.search(piece, max(0, (start or 0) - pos))):
            end = pos + m.start()
            end_newlines = newlines + piece.count("\n", 0, m.start())
        pos += len(piece)
        newlines += piece.count("\n")
        last = piece[-1]
    if end is None:
        end = pos
        end_newlines = newlines
    lines_cut = {"header_lines": start_newlines + 1 if start is not None else 0,
                 "footer_lines": newlines - end_newlines + (1 if end < pos and last != "\n" else 0)}
    return start or 0, end, pos, lines_cut


def between(pieces: Iterable[str], start: int, end: int) -> Iterator[str]:
    """The text from `start` to `end` without its leading and trailing newlines, plus one '\\n'
    (nothing if that leaves nothing). Trailing newlines wait until more text follows them."""
    pos = held = 0
    began = False
    for piece in pieces:
        part = piece[max(0, start - pos) : max(0, end - pos)]
        pos += len(piece)
        if not began:
            part = part.lstrip("\n")
        body = part.rstrip("\n")
        if body:
            yield "\n" * held + body
            began = True
            held = len(part) - len(body)
        elif began:
            held += len(part)
        if pos >= end:
            break
    if began:
        yield "\n"
