"""A corpus from URLs, Project Gutenberg ids or local files, as clean UTF-8 text plus its provenance.

    source(s): http(s) URL | gutenberg:<id> | local path
    -> raw bytes: a URL into a temp file (timeouts, retries, size cap, HTML refused), a path read where it is
    -> sha256 pin -> encoding (UTF-8 with or without BOM, UTF-16 with BOM, else the declared charset, cp1252 or Latin-1)
    -> '\\n' line ends, control characters dropped, optional NFC / lower-case -> Gutenberg header/footer stripped
    -> appended to the corpus file, a blank line between sources

A corpus of any size goes to disk without being held in memory: bytes are read CHUNK at a time, and
the text is decoded and cleaned in pieces that end at a line end (every rule here works line by line),
so memory stays a few chunks. The only code that talks to the outside world, so every way it can fail
ends in a CharlmError.
"""

from __future__ import annotations

import codecs
import hashlib
import http.client
import io
import re
import tempfile
import time
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from tqdm import tqdm

from charlm.config import Corpus
from charlm.errors import CharlmError
from charlm.files import atomic_path

CHUNK = 1 << 20  # bytes read at a time, from the network or from a file
HEAD = 1 << 16  # the first bytes: sniffed for HTML, binary data and a declared charset
MAX_LINE = 1 << 24  # characters: a longer line (no book has one) is cleaned in pieces, not held whole
BACKOFF = 0.5  # seconds before the first retry; doubles after each further failure

# Project Gutenberg boilerplate: the body lies after the last header marker and before the first footer marker.
HEADER_END = re.compile(r"^.*(\*\*\*\s*START OF (THE|THIS) PROJECT GUTENBERG|\*END\*THE SMALL PRINT!).*$",
                        re.IGNORECASE | re.MULTILINE)
FOOTER_START = re.compile(r"^.*(\*\*\*\s*END OF (THE|THIS) PROJECT GUTENBERG|^End of (the )?Project Gutenberg).*$",
                          re.IGNORECASE | re.MULTILINE)
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # everything below space except \t and \n, and DEL
HTML_START = (b"<!doctype html", b"<html", b"<head", b"<body", b"<meta", b"<title")


class Truncated(ConnectionError):
    """The server closed the connection before the whole body arrived: retried like a dropped connection."""


def looks_like_html(head: bytes) -> bool:
    """An HTML page (an error or login page, a saved web page) rather than a plain-text book."""
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:64].lower().startswith(HTML_START)


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def resolve(source: str, gutenberg_url: str) -> str:
    """A source as a URL or a path: `gutenberg:<id>` goes through the template, other schemes are refused."""
    if source.startswith("gutenberg:"):
        book = source.removeprefix("gutenberg:").strip()
        if not book.isdigit():
            raise CharlmError(f"corpus.source {source!r}: a Gutenberg id is a number, e.g. gutenberg:1342")
        return gutenberg_url.format(id=int(book))
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]+://", source) and not is_url(source):
        raise CharlmError(f"corpus.source {source!r}: only http:// and https:// URLs or local paths are supported")
    return source


def _get(url: str, cfg: Corpus, f: BinaryIO) -> None:
    """One GET into `f`, chunk by chunk, with a progress bar (size and speed); refuse HTML pages and
    bodies over max_bytes."""
    request = urllib.request.Request(url, headers={"User-Agent": "charlm/0.1"})
    with urllib.request.urlopen(request, timeout=cfg.timeout) as response:
        if "html" in response.headers.get("Content-Type", ""):
            raise CharlmError(f"{url} returned an HTML page, not plain text (an error page, or the wrong address?)")
        total = int(response.headers.get("Content-Length") or 0) or None
        if total and total > cfg.max_bytes:
            raise CharlmError(f"{url} is {total:,} bytes, over corpus.max_bytes={cfg.max_bytes:,}")
        f.seek(0)
        f.truncate()  # a retry starts afresh
        size = 0
        with tqdm(total=total, unit="B", unit_scale=True, desc="download", leave=False, disable=None) as bar:
            try:
                while chunk := response.read(CHUNK):
                    size += len(chunk)
                    if size > cfg.max_bytes:
                        raise CharlmError(f"{url} is over corpus.max_bytes={cfg.max_bytes:,} bytes")
                    f.write(chunk)
                    bar.update(len(chunk))
            except http.client.IncompleteRead:  # a chunked body cut short
                raise Truncated(f"{url} ended before the end of its chunked body (the connection was cut)") from None
        if total is not None and size < total:  # read() returns b"" when a body with a length is cut short
            raise Truncated(f"{url} ended after {size:,} of {total:,} bytes (the connection was cut)")


def fetch_url(url: str, cfg: Corpus, f: BinaryIO, what: str = "") -> None:
    """GET `url` into `f`, retrying server errors and dropped connections with exponential backoff."""
    for attempt in range(cfg.retries + 1):
        try:
            return _get(url, cfg, f)
        except urllib.error.HTTPError as e:
            if e.code < 500 or attempt == cfg.retries:
                hint = f": {what} does not exist there" if e.code == 404 and what else ""
                raise CharlmError(f"HTTP {e.code} {e.reason} for {url}{hint}") from None
        except TimeoutError:  # socket.timeout too
            if attempt == cfg.retries:
                raise CharlmError(f"timed out after {cfg.timeout:g} s waiting for {url}") from None
        except Truncated as e:
            if attempt == cfg.retries:
                raise CharlmError(f"{e}; raise corpus.retries or try again later") from None
        except (urllib.error.URLError, ConnectionError) as e:
            if attempt == cfg.retries:
                hint = "offline? use a local file in data/books/ as corpus.source"
                raise CharlmError(f"cannot reach {url}: {getattr(e, 'reason', e)} ({hint})") from None
        time.sleep(BACKOFF * 2**attempt)
    raise AssertionError("unreachable")


def read_local(path: Path, max_bytes: int) -> BinaryIO:
    if not path.is_file():
        raise CharlmError(f"corpus file {path} does not exist")
    if path.stat().st_size > max_bytes:
        raise CharlmError(f"{path} is {path.stat().st_size:,} bytes, over corpus.max_bytes={max_bytes:,}")
    return open(path, "rb")


@contextmanager
def raw_file(where: str, cfg: Corpus, what: str, tmp_dir: Path) -> Iterator[BinaryIO]:
    """A source's bytes as a file: a URL is fetched into a nameless temp file in `tmp_dir`, which
    vanishes when closed (on failure too), a local file is read where it is."""
    if is_url(where):
        with tempfile.TemporaryFile(dir=tmp_dir) as f:
            fetch_url(where, cfg, f, what)
            yield f
    else:
        with read_local(Path(where), cfg.max_bytes) as f:
            yield f


def chunks(f: BinaryIO) -> Iterator[bytes]:
    f.seek(0)
    while chunk := f.read(CHUNK):
        yield chunk


def decodes(f: BinaryIO, encoding: str) -> bool:
    """Whether the whole file is valid `encoding` (decoded chunk by chunk, nothing kept); LookupError
    for a name that is no text encoding."""
    b"".decode(encoding)  # refuses unknown names and bytes-to-bytes codecs such as base64
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for chunk in chunks(f):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(f: BinaryIO, head: bytes, source: str) -> str:
    """UTF-8 (BOM dropped) or UTF-16 with BOM; else the charset a Gutenberg header declares; else
    Latin-1, or cp1252 where bytes 0x80-0x9f show Windows punctuation. `head`: the first HEAD bytes."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head and sum(b < 32 and b not in b"\t\n\r\f\x1a" for b in head) > 0.05 * len(head):
        raise CharlmError(f"{source} looks like a binary file, not text")
    if decodes(f, "utf-8"):
        return "utf-8"
    declared = re.search(rb"Character set encoding:\s*([A-Za-z0-9_-]+)", head[:20000])
    candidates = [declared.group(1).decode("ascii").lower()] if declared else []
    candidates += ["cp1252"] if any(re.search(rb"[\x80-\x9f]", chunk) for chunk in chunks(f)) else ["latin-1"]
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
    rest, done = "", False
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


def cleaned(f: BinaryIO, encoding: str, source: str, cfg: Corpus) -> Iterator[str]:
    """The source's clean text, in pieces of whole lines (none empty)."""
    for piece in text_pieces(f, encoding, source):
        if piece := clean(piece, nfc=cfg.nfc, lowercase=cfg.lowercase):
            yield piece


def gutenberg_bounds(pieces: Iterable[str]) -> tuple[int, int, int, dict[str, int]]:
    """First pass of the strip: where the body starts (after the last header marker line) and ends
    (at the first footer marker line after that), the text's length, and the lines cut off at each end.
    The pieces end at line ends, so the markers' line-by-line patterns see what they would in the whole."""
    pos = newlines = 0
    start = end = None
    start_newlines = end_newlines = 0
    last = ""
    for piece in pieces:
        for m in HEADER_END.finditer(piece):
            start, start_newlines, end = pos + m.end(), newlines + piece.count("\n", 0, m.end()), None
        if end is None and (m := FOOTER_START.search(piece, max(0, (start or 0) - pos))):
            end, end_newlines = pos + m.start(), newlines + piece.count("\n", 0, m.start())
        pos, newlines, last = pos + len(piece), newlines + piece.count("\n"), piece[-1]
    if end is None:
        end, end_newlines = pos, newlines
    lines_cut = {"header_lines": start_newlines + 1 if start is not None else 0,
                 "footer_lines": newlines - end_newlines + (1 if end < pos and last != "\n" else 0)}
    return start or 0, end, pos, lines_cut


def between(pieces: Iterable[str], start: int, end: int) -> Iterator[str]:
    """Second pass: the text from `start` to `end` without its leading and trailing newlines, plus one
    '\\n' (nothing if that leaves nothing). Trailing newlines wait until more text follows them."""
    pos, held, began = 0, 0, False
    for piece in pieces:
        part = piece[max(0, start - pos) : max(0, end - pos)]
        pos += len(piece)
        if not began:
            part = part.lstrip("\n")
        body = part.rstrip("\n")
        if body:
            yield "\n" * held + body
            began, held = True, len(part) - len(body)
        elif began:
            held += len(part)
        if pos >= end:
            break
    if began:
        yield "\n"


class Sink:
    """The corpus file being written: how many characters, the sha256 of its bytes, the last character."""

    def __init__(self, f: BinaryIO) -> None:
        self.f, self.sha256, self.chars, self.last = f, hashlib.sha256(), 0, ""

    def write(self, pieces: Iterable[str]) -> tuple[int, bool]:
        """Append the pieces (UTF-8); the characters written, and whether any was not whitespace."""
        chars, text_seen = 0, False
        for piece in pieces:
            if piece:
                data = piece.encode("utf-8")
                self.f.write(data)
                self.sha256.update(data)
                chars, text_seen, self.last = chars + len(piece), text_seen or not piece.isspace(), piece[-1]
        self.chars += chars
        return chars, text_seen


def write_source(source: str, cfg: Corpus, pin: str, out: Sink, tmp_dir: Path) -> dict[str, Any]:
    """One source, clean, appended to `out`; its provenance record."""
    where = resolve(source, cfg.gutenberg_url)
    what = f"Project Gutenberg book {source.split(':', 1)[1]}" if source.startswith("gutenberg:") else ""
    with raw_file(where, cfg, what, tmp_dir) as f:
        f.seek(0)
        head = f.read(HEAD)
        if looks_like_html(head):
            did = "returned" if is_url(where) else "is"
            raise CharlmError(f"{where} {did} an HTML page, not plain text (an error page, or the wrong address?)")
        f.seek(0)
        digest, size = hashlib.file_digest(f, "sha256").hexdigest(), f.tell()
        if pin and digest != pin.lower():
            raise CharlmError(f"sha256 of {source} is {digest}, but corpus.sha256 pins {pin}")
        encoding = detect_encoding(f, head, source)
        stripped = None
        if cfg.strip_gutenberg is True or (cfg.strip_gutenberg == "auto" and source.startswith("gutenberg:")):
            start, end, length, stripped = gutenberg_bounds(cleaned(f, encoding, source, cfg))
            chars, text_seen = out.write(between(cleaned(f, encoding, source, cfg), start, end))
            stripped["characters"] = length - chars
        else:
            chars, text_seen = out.write(cleaned(f, encoding, source, cfg))
    if not text_seen:
        after = " after removing the Gutenberg header and footer" if stripped else ""
        raise CharlmError(f"{source} holds no text{after}")
    record = {"source": source, "sha256": digest, "bytes": size, "encoding": encoding, "characters": chars}
    if where != source:
        record["url"] = where
    if stripped is not None:
        record["stripped"] = stripped
    return record


def download(cfg: Corpus, dest: Path) -> dict[str, Any]:
    """Write the corpus to `dest`, atomically (several sources are joined by a blank line, each ending
    in '\\n'), and return its provenance record. Temp files go beside `dest` and are gone afterwards."""
    dest = Path(dest)
    records = []
    with atomic_path(dest) as tmp, open(tmp, "wb") as f:
        out = Sink(f)
        for i, (source, pin) in enumerate(zip(cfg.sources, cfg.pins)):
            if i:
                out.write(["\n"])
            records.append(write_source(source, cfg, pin, out, dest.parent))
            if out.last != "\n":
                out.write(["\n"])
    if len(records) == 1:
        return {**records[0], "characters": out.chars}
    return {"characters": out.chars, "sha256": out.sha256.hexdigest(), "sources": records}
