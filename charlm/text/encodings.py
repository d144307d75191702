"""Bytes of any text file -> clean text, in pieces, whatever the file's size or encoding.

    UTF-8 (with or without BOM), UTF-16 with BOM, else the charset a Gutenberg header declares,
    else cp1252 or Latin-1 -> '\\n' line ends -> control characters dropped -> optional NFC, lower case

The file is read CHUNK bytes at a time and the text comes out in pieces that end at a line end
(every rule here works line by line), so memory stays a few chunks.
"""

from __future__ import annotations

import codecs
import io
import re
import unicodedata
from collections.abc import Iterator
from typing import BinaryIO

from charlm.errors import CharlmError

CHUNK = 1 << 20  # bytes read at a time
HEAD = 1 << 16  # the first bytes: sniffed for HTML, binary or compressed data and a declared charset
MAX_LINE = 1 << 24  # characters: a longer line (no book has one) is cleaned in pieces, not held whole
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # everything below space except \t and \n, and DEL
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
HTML_START = (b"<!doctype html", b"<html", b"<head", b"<body", b"<meta", b"<title")
COMPRESSED = {b"\x1f\x8b": "gzip", b"PK\x03\x04": "zip", b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz",
              b"(\xb5/\xfd": "zstd", b"7z\xbc\xaf'\x1c": "7z"}


def looks_like_html(head: bytes) -> bool:
    """An HTML page (an error or login page, a saved web page) rather than a plain-text book."""
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:64].lower().startswith(HTML_START)


def check_text(head: bytes, source: str) -> None:
    """Refuse compressed archives and other binary files by their first bytes."""
    for magic, kind in COMPRESSED.items():
        if head.startswith(magic):
            raise CharlmError(f"{source} is {kind}-compressed, not plain text: decompress it first")
    if head.startswith(UTF16_BOMS):
        return  # every other byte of Latin text is zero
    if head and sum(b < 32 and b not in b"\t\n\r\f\x1a" for b in head) > 0.05 * len(head):
        raise CharlmError(f"{source} looks like a binary file, not text")


def byte_chunks(f: BinaryIO) -> Iterator[bytes]:
    f.seek(0)
    while chunk := f.read(CHUNK):
        yield chunk


def decodes(f: BinaryIO, encoding: str) -> bool:
    """Whether the whole file is valid `encoding` (decoded chunk by chunk, nothing kept); LookupError
    for a name that is no text encoding."""
    b"".decode(encoding)  # refuses unknown names and bytes-to-bytes codecs such as base64
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for chunk in byte_chunks(f):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(f: BinaryIO, head: bytes) -> str:
    """UTF-8 (BOM dropped) or UTF-16 with BOM; else the charset a Gutenberg header declares; else
    Latin-1, or cp1252 where bytes 0x80-0x9f show Windows punctuation. `head`: the first HEAD bytes."""
    if head.startswith(UTF16_BOMS):
        return "utf-16"
    if decodes(f, "utf-8"):
        return "utf-8"
    declared = re.search(rb"Character set encoding:\s*([A-Za-z0-9_-]+)", head[:20000])
    candidates = [declared.group(1).decode("ascii").lower()] if declared else []
    windows = any(re.search(rb"[\x80-\x9f]", chunk) for chunk in byte_chunks(f))  # cp1252's punctuation
    candidates += ["cp1252"] if windows else ["latin-1"]
    for encoding in candidates:
        try:
            if decodes(f, encoding):
                return codecs.lookup(encoding).name
        except LookupError:
            continue
    return "latin-1"


def text_pieces(f: BinaryIO, encoding: str, source: str) -> Iterator[str]:
    """The file's text in pieces that end at a line end, '\\r\\n' and '\\r' already '\\n' (a pair split
    between two chunks too). Only the last piece, or a line over MAX_LINE, may end elsewhere."""
    codec = "utf-8-sig" if encoding == "utf-8" else encoding  # a UTF-8 BOM is no character of the text
    decoder = io.IncrementalNewlineDecoder(codecs.getincrementaldecoder(codec)(), translate=True)
    rest = ""
    done = False
    f.seek(0)
    while not done:
        chunk = f.read(CHUNK)
        done = not chunk
        try:
            text = rest + decoder.decode(chunk, final=done)
        except UnicodeDecodeError as e:
            raise CharlmError(f"{source} is not valid {encoding} ({e.reason})") from None
        cut = text.rfind("\n") + 1
        if done or (not cut and len(text) > MAX_LINE):
            cut = len(text)
        rest = text[cut:]
        if cut:
            yield text[:cut]


def clean(text: str, *, nfc: bool = False, lowercase: bool = False) -> str:
    """'\\n' line ends, no control characters but '\\n' and '\\t', then the optional normalisations.
    Each works line by line, so whole lines can be cleaned one batch at a time."""
    text = CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    if nfc:
        text = unicodedata.normalize("NFC", text)
    return text.lower() if lowercase else text


def cleaned(f: BinaryIO, encoding: str, source: str, nfc: bool, lowercase: bool) -> Iterator[str]:
    """The file's clean text, in pieces of whole lines (none empty)."""
    for piece in text_pieces(f, encoding, source):
        if piece := clean(piece, nfc=nfc, lowercase=lowercase):
            yield piece
