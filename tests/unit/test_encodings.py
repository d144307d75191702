"""Bytes to clean text: encodings detected, line ends and control characters normalised, HTML,
binary and compressed files refused."""

from __future__ import annotations

import pytest

from charlm.text.encodings import clean
from tests.helpers.config import corpus
from tests.helpers.download import fetch, refused


@pytest.mark.parametrize("text, raw, encoding", [
    ("naïve\n", "utf-8", "utf-8"),
    ("naïve\n", "latin-1", "iso8859-1"),
    # Windows punctuation in 0x80-0x9f
    ("\u201cWell,\u201d said he \u2014 \u2018aye\u2019.\n", "cp1252", "cp1252"),
    ("héllo\n", "utf-16", "utf-16"),  # with BOM
    # declared; 0xa4 = €
    ("Character set encoding: ISO-8859-15\nprix : 5 \u20ac\n", "iso-8859-15", "iso8859-15"),
    ("Character set encoding: ASCII\nna\u00efve\n", "latin-1", "iso8859-1"),  # declared, but wrong
], ids=["utf-8", "latin-1", "cp1252", "utf-16", "declared", "declared-wrongly"])
def test_encodings_are_detected(tmp_path, text, raw, encoding):
    (tmp_path / "book.txt").write_bytes(text.encode(raw))
    decoded, prov = fetch(corpus(str(tmp_path / "book.txt")), tmp_path)
    assert (decoded, prov["encoding"]) == (text, encoding)


def test_invalid_utf16_is_a_clear_error(tmp_path):
    # a lone surrogate at the end
    (tmp_path / "book.txt").write_bytes("héllo\n".encode("utf-16") + b"\x00\xd8")
    refused(corpus(str(tmp_path / "book.txt")), tmp_path, r"book.txt is not valid utf-16 \(")


def test_control_characters_and_normalisation():
    assert clean("a\x00b\x07c\td\r\ne\rf\x1b\n") == "abc\td\ne\nf\n"
    decomposed = "Noe\u0308l"
    assert clean(decomposed, nfc=True) == "No\u00ebl"
    assert clean(decomposed) == decomposed
    assert clean("KING Lear", lowercase=True) == "king lear"


@pytest.mark.parametrize("content, message", [
    (b"<!DOCTYPE html>\n<html><body>Hamlet</body></html>\n", r"page.txt is an HTML page, not plain text"),
    (bytes(range(256)) * 64, "looks like a binary file"),
    (b"\x1f\x8b\x08\x00" + bytes(64), "is gzip-compressed, not plain text: decompress it first"),
    (b"PK\x03\x04" + bytes(64), "is zip-compressed"),
], ids=["html", "binary", "gzip", "zip"])
def test_what_is_not_text_is_refused(tmp_path, content, message):
    (tmp_path / "page.txt").write_bytes(content)
    refused(corpus(str(tmp_path / "page.txt")), tmp_path, message)
