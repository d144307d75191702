"""A corpus from URLs, Project Gutenberg ids or books in the books folder, as clean UTF-8 text plus
its provenance.

    source(s) -> raw bytes (charlm.text.fetch) -> sha256 pin -> encoding and clean text
       (charlm.text.encodings)
    -> Gutenberg header/footer stripped (charlm.text.gutenberg) -> appended to the corpus file,
       a blank line between sources

A corpus of any size goes to disk without being held in memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any, BinaryIO

from charlm.errors import CharlmError
from charlm.files import atomic_path
from charlm.params.schema import CorpusParams
from charlm.text import gutenberg
from charlm.text.encodings import HEAD, check_text, cleaned, detect_encoding, looks_like_html
from charlm.text.fetch import check_sources, is_url, raw_file


class Sink:
    """The corpus file being written: how many characters, the sha256 of its bytes, the last character."""

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        self.sha256 = hashlib.sha256()
        self.chars = 0
        self.last = ""

    def write(self, pieces: Iterable[str]) -> tuple[int, bool]:
        """Append the pieces (UTF-8); the characters written, and whether any was not whitespace."""
        chars = 0
        text_seen = False
        for piece in pieces:
            if piece:
                data = piece.encode("utf-8")
                self.f.write(data)
                self.sha256.update(data)
                chars += len(piece)
                text_seen = text_seen or not piece.isspace()
                self.last = piece[-1]
        self.chars += chars
        return chars, text_seen


def strips(cfg: CorpusParams, source: str) -> bool:
    return cfg.strip_gutenberg is True or (cfg.strip_gutenberg == "auto" and source.startswith("gutenberg:"))


def write_text(f: BinaryIO, name: str, where: str, cfg: CorpusParams, pin: str, out: Sink) -> dict[str, Any]:
    """The file's clean text (its body only, if stripped) appended to `out`, after checking that it is
    text and matches its sha256 pin; a record of it. `name`: the source as params.yaml gives it,
    `where`: its URL or path."""
    f.seek(0)
    head = f.read(HEAD)
    if looks_like_html(head):
        verb = "returned" if is_url(where) else "is"
        raise CharlmError(f"{where} {verb} an HTML page, not plain text (an error page, or the wrong"
                          " address?)")
    check_text(head, name)
    f.seek(0)
    record: dict[str, Any] = {"sha256": hashlib.file_digest(f, "sha256").hexdigest(), "bytes": f.tell()}
    if pin and record["sha256"] != pin.lower():
        raise CharlmError(f"sha256 of {name} is {record['sha256']}, but corpus.sha256 pins {pin}")
    record["encoding"] = detect_encoding(f, head)

    def text() -> Iterable[str]:
        return cleaned(f, record["encoding"], name, cfg.nfc, cfg.lowercase)

    if strips(cfg, name):
        start, end, length, record["stripped"] = gutenberg.bounds(text())
        chars, text_seen = out.write(gutenberg.between(text(), start, end))
        record["stripped"]["characters"] = length - chars
    else:
        chars, text_seen = out.write(text())
    if not text_seen:
        after = " after removing the Gutenberg header and footer" if "stripped" in record else ""
        raise CharlmError(f"{name} holds no text{after}")
    return {**record, "characters": chars}


def write_source(source: str, where: str, cfg: CorpusParams, pin: str, out: Sink, books: Path,
                 tmp_dir: Path) -> dict[str, Any]:
    """One source (`where`: its URL or path), clean, appended to `out`; its provenance record."""
    what = f"Project Gutenberg book {source.split(':', 1)[1]}" if source.startswith("gutenberg:") else ""
    with raw_file(where, cfg, books, what, tmp_dir) as f:
        record = {"source": source, **write_text(f, source, where, cfg, pin, out)}
    if where != source:
        record["url"] = where
    return record


def download(cfg: CorpusParams, dest: Path, books: Path) -> dict[str, Any]:
    """Write the corpus to `dest`, atomically (several sources are joined by a blank line, each ending
    in '\\n'), and return its provenance record. Local sources must lie in `books`. Temp files go
    beside `dest` and are gone afterwards."""
    dest = Path(dest)
    where = check_sources(cfg, books)  # all of them, before anything is read
    records = []
    with atomic_path(dest) as tmp, open(tmp, "wb") as f:
        out = Sink(f)
        for i, (source, url, pin) in enumerate(zip(cfg.sources, where, cfg.pins, strict=True)):
            if i:
                out.write(["\n"])
            records.append(write_source(source, url, cfg, pin, out, books, dest.parent))
            same = [r["source"] for r in records[:-1] if r["sha256"] == records[-1]["sha256"]]
            if same:  # another name for the same text would put validation text into training text too
                raise CharlmError(f"corpus.source lists the same text twice: {same[0]!r} and {source!r} have"
                                  " the same bytes; list each text once")
            if out.last != "\n":
                out.write(["\n"])
    if len(records) == 1:
        return {**records[0], "characters": out.chars}
    return {"characters": out.chars, "sha256": out.sha256.hexdigest(), "sources": records}
