"""A corpus from URLs, Project Gutenberg ids or local files, as clean UTF-8 text plus its provenance.

    source(s): http(s) URL | gutenberg:<id> | local path
    -> raw bytes (timeouts, retries, size cap, sha256 pin, HTML refused)
    -> text (UTF-8 with or without BOM, UTF-16 with BOM, else the declared charset, cp1252 or Latin-1)
    -> Gutenberg header/footer stripped -> '\\n' line ends, control characters dropped, optional NFC / lower-case

The only code that talks to the outside world, so every way it can fail ends in a CharlmError.
"""

from __future__ import annotations

import codecs
import hashlib
import http.client
import re
import socket
import time
import unicodedata
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tqdm import tqdm

from charlm.config import Corpus
from charlm.errors import CharlmError

CHUNK = 1 << 16
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


def looks_like_html(raw: bytes) -> bool:
    """An HTML page (an error or login page, a saved web page) rather than a plain-text book."""
    return raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:64].lower().startswith(HTML_START)


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


def _get(url: str, cfg: Corpus) -> bytes:
    """One GET with a progress bar (size and speed); refuse HTML pages and bodies over max_bytes."""
    request = urllib.request.Request(url, headers={"User-Agent": "charlm/0.1"})
    with urllib.request.urlopen(request, timeout=cfg.timeout) as response:
        if "html" in response.headers.get("Content-Type", ""):
            raise CharlmError(f"{url} returned an HTML page, not plain text (an error page, or the wrong address?)")
        total = int(response.headers.get("Content-Length") or 0) or None
        if total and total > cfg.max_bytes:
            raise CharlmError(f"{url} is {total:,} bytes, over corpus.max_bytes={cfg.max_bytes:,}")
        chunks, size = [], 0
        with tqdm(total=total, unit="B", unit_scale=True, desc="download", leave=False, disable=None) as bar:
            try:
                while chunk := response.read(CHUNK):
                    size += len(chunk)
                    if size > cfg.max_bytes:
                        raise CharlmError(f"{url} is over corpus.max_bytes={cfg.max_bytes:,} bytes")
                    chunks.append(chunk)
                    bar.update(len(chunk))
            except http.client.IncompleteRead:  # a chunked body cut short
                raise Truncated(f"{url} ended before the end of its chunked body (the connection was cut)") from None
        if total is not None and size < total:  # read() returns b"" when a body with a length is cut short
            raise Truncated(f"{url} ended after {size:,} of {total:,} bytes (the connection was cut)")
    return b"".join(chunks)


def fetch_url(url: str, cfg: Corpus, what: str = "") -> bytes:
    """GET `url`, retrying server errors and dropped connections with exponential backoff."""
    for attempt in range(cfg.retries + 1):
        try:
            return _get(url, cfg)
        except urllib.error.HTTPError as e:
            if e.code < 500 or attempt == cfg.retries:
                hint = f": {what} does not exist there" if e.code == 404 and what else ""
                raise CharlmError(f"HTTP {e.code} {e.reason} for {url}{hint}") from None
        except (TimeoutError, socket.timeout):
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


def read_local(path: Path, max_bytes: int) -> bytes:
    if not path.is_file():
        raise CharlmError(f"corpus file {path} does not exist")
    if path.stat().st_size > max_bytes:
        raise CharlmError(f"{path} is {path.stat().st_size:,} bytes, over corpus.max_bytes={max_bytes:,}")
    return path.read_bytes()


def bytes_to_text(raw: bytes, source: str) -> tuple[str, str]:
    """Text and the encoding it was in: UTF-8 (BOM dropped) or UTF-16 with BOM; else the charset a
    Gutenberg header declares; else Latin-1, or cp1252 where bytes 0x80-0x9f show Windows punctuation."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    head = raw[:65536]
    if head and sum(b < 32 and b not in b"\t\n\r\f\x1a" for b in head) > 0.05 * len(head):
        raise CharlmError(f"{source} looks like a binary file, not text")
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    declared = re.search(rb"Character set encoding:\s*([A-Za-z0-9_-]+)", raw[:20000])
    candidates = [declared.group(1).decode("ascii").lower()] if declared else []
    candidates += ["cp1252"] if re.search(rb"[\x80-\x9f]", raw) else ["latin-1"]
    for encoding in candidates:
        try:
            return raw.decode(encoding), codecs.lookup(encoding).name
        except (LookupError, UnicodeDecodeError):
            continue
    return raw.decode("latin-1"), "latin-1"


def strip_gutenberg(text: str) -> tuple[str, dict[str, int]]:
    """Cut the Project Gutenberg header and footer; a text without markers stays whole."""
    start, end = 0, len(text)
    headers = list(HEADER_END.finditer(text))
    if headers:
        start = headers[-1].end()
    footer = FOOTER_START.search(text, start)
    if footer:
        end = footer.start()
    body = text[start:end].strip("\n")
    body = body + "\n" if body else ""
    return body, {
        "header_lines": text.count("\n", 0, start) + (1 if headers else 0),
        "footer_lines": text.count("\n", end) + (1 if footer and not text.endswith("\n") else 0),
        "characters": len(text) - len(body),
    }


def clean(text: str, *, nfc: bool = False, lowercase: bool = False) -> str:
    """'\\n' line ends, no control characters but '\\n' and '\\t', then the optional normalisations."""
    text = CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    if nfc:
        text = unicodedata.normalize("NFC", text)
    return text.lower() if lowercase else text


def load_source(source: str, cfg: Corpus, sha256: str = "") -> tuple[str, dict[str, Any]]:
    """One source as clean text plus its provenance record."""
    where = resolve(source, cfg.gutenberg_url)
    what = f"Project Gutenberg book {source.split(':', 1)[1]}" if source.startswith("gutenberg:") else ""
    raw = fetch_url(where, cfg, what) if is_url(where) else read_local(Path(where), cfg.max_bytes)
    if looks_like_html(raw):
        did = "returned" if is_url(where) else "is"
        raise CharlmError(f"{where} {did} an HTML page, not plain text (an error page, or the wrong address?)")
    digest = hashlib.sha256(raw).hexdigest()
    if sha256 and digest != sha256.lower():
        raise CharlmError(f"sha256 of {source} is {digest}, but corpus.sha256 pins {sha256}")
    text, encoding = bytes_to_text(raw, source)
    text = clean(text, nfc=cfg.nfc, lowercase=cfg.lowercase)
    stripped = None
    if cfg.strip_gutenberg is True or (cfg.strip_gutenberg == "auto" and source.startswith("gutenberg:")):
        text, stripped = strip_gutenberg(text)
    if not text.strip():
        after = " after removing the Gutenberg header and footer" if stripped else ""
        raise CharlmError(f"{source} holds no text{after}")
    record = {"source": source, "sha256": digest, "bytes": len(raw), "encoding": encoding, "characters": len(text)}
    if where != source:
        record["url"] = where
    if stripped is not None:
        record["stripped"] = stripped
    return text, record


def download(cfg: Corpus) -> tuple[str, dict[str, Any]]:
    """The corpus (several sources are joined by a blank line) and its provenance record."""
    texts, records = [], []
    for source, pin in zip(cfg.sources, cfg.pins):
        text, record = load_source(source, cfg, pin)
        texts.append(text)
        records.append(record)
    corpus = "\n".join(t if t.endswith("\n") else t + "\n" for t in texts)
    if len(records) == 1:
        return corpus, {**records[0], "characters": len(corpus)}
    digest = hashlib.sha256(corpus.encode()).hexdigest()
    return corpus, {"characters": len(corpus), "sha256": digest, "sources": records}
