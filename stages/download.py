"""Stage 1, download: fetch the corpus named by `corpus.source` and store it as clean UTF-8 text.

    source(s): http(s) URL | gutenberg:<id> | local path
    -> raw bytes (timeouts, retries, size cap, sha256 pin, HTML refused)
    -> decoded text (UTF-8 with or without BOM, else cp1252/Latin-1) -> Gutenberg header/footer
       stripped -> line ends '\\n', control characters dropped, optional NFC / lower-case
    -> data/raw/corpus.txt + data/raw/provenance.json (what came from where, and what was removed)

The only stage that talks to the outside world, so every way it can fail ends in a one-line error
and no partial file: outputs are written to a temp file and renamed into place.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import time
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from stages.params import CharlmError, cli, load

OUT_DIR = Path("data/raw")
CHUNK = 1 << 16
BACKOFF = 0.5  # seconds before the first retry; doubles after each further failure

# Project Gutenberg boilerplate: the body lies after the last header marker and before the first footer marker.
HEADER_END = re.compile(r"^.*(\*\*\*\s*START OF (THE|THIS) PROJECT GUTENBERG|\*END\*THE SMALL PRINT!).*$",
                        re.IGNORECASE | re.MULTILINE)
FOOTER_START = re.compile(r"^.*(\*\*\*\s*END OF (THE|THIS) PROJECT GUTENBERG|^End of (the )?Project Gutenberg).*$",
                          re.IGNORECASE | re.MULTILINE)
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # everything below space except \t and \n, and DEL


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temp path beside `path`; rename it onto `path` only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs should read like any other file
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def replace_dir(src: Path, dst: Path) -> None:
    """Move directory `src` onto `dst`, replacing what was there; the old one is deleted only after."""
    old = dst.with_name(f".{dst.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if dst.exists():
        os.replace(dst, old)
    os.replace(src, dst)
    shutil.rmtree(old, ignore_errors=True)


@contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Yield an empty temp directory beside `path`; it replaces `path` only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    os.chmod(tmp, 0o755)
    try:
        yield tmp
        replace_dir(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write text (UTF-8) or bytes so that readers see the old file or the new one, never half."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


@dataclass(frozen=True)
class Fetch:
    """How to get bytes: timeouts, retries and limits shared by every source of a corpus."""

    timeout: float = 30
    retries: int = 3
    max_bytes: int = 100_000_000


def resolve(source: str, gutenberg_url: str) -> str:
    """A source as a URL or a path: `gutenberg:<id>` goes through the template, other schemes are refused."""
    if source.startswith("gutenberg:"):
        book = source.removeprefix("gutenberg:").strip()
        if not book.isdigit():
            raise CharlmError(f"corpus.source {source!r}: a Gutenberg id is a number, e.g. gutenberg:1342")
        return gutenberg_url.format(id=int(book))
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]+://", source) and not source.startswith(("http://", "https://")):
        raise CharlmError(f"corpus.source {source!r}: only http:// and https:// URLs or local paths are supported")
    return source


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _get(url: str, fetch: Fetch) -> bytes:
    """One GET with a progress bar (size and speed); refuse HTML pages and bodies over max_bytes."""
    request = urllib.request.Request(url, headers={"User-Agent": "charlm/0.1"})
    with urllib.request.urlopen(request, timeout=fetch.timeout) as response:
        if "html" in response.headers.get("Content-Type", ""):
            raise CharlmError(f"{url} returned an HTML page, not plain text (an error page, or the wrong address?)")
        total = int(response.headers.get("Content-Length") or 0) or None
        if total and total > fetch.max_bytes:
            raise CharlmError(f"{url} is {total:,} bytes, over corpus.max_bytes={fetch.max_bytes:,}")
        chunks, size = [], 0
        with tqdm(total=total, unit="B", unit_scale=True, desc="download", leave=False, disable=None) as bar:
            while chunk := response.read(CHUNK):
                size += len(chunk)
                if size > fetch.max_bytes:
                    raise CharlmError(f"{url} is over corpus.max_bytes={fetch.max_bytes:,} bytes")
                chunks.append(chunk)
                bar.update(len(chunk))
    return b"".join(chunks)


def fetch_url(url: str, fetch: Fetch, what: str = "") -> bytes:
    """GET `url`, retrying server errors and dropped connections with exponential backoff."""
    for attempt in range(fetch.retries + 1):
        try:
            return _get(url, fetch)
        except urllib.error.HTTPError as e:
            if e.code < 500 or attempt == fetch.retries:
                hint = f": {what} does not exist there" if e.code == 404 and what else ""
                raise CharlmError(f"HTTP {e.code} {e.reason} for {url}{hint}") from None
        except (TimeoutError, socket.timeout):
            if attempt == fetch.retries:
                raise CharlmError(f"timed out after {fetch.timeout:g} s waiting for {url}") from None
        except (urllib.error.URLError, ConnectionError) as e:
            if attempt == fetch.retries:
                hint = "offline? use a local file as corpus.source"
                raise CharlmError(f"cannot reach {url}: {getattr(e, 'reason', e)} ({hint})") from None
        time.sleep(BACKOFF * 2**attempt)
    raise AssertionError("unreachable")


def read_local(path: Path, max_bytes: int) -> bytes:
    if not path.is_file():
        raise CharlmError(f"corpus file {path} does not exist")
    if path.stat().st_size > max_bytes:
        raise CharlmError(f"{path} is {path.stat().st_size:,} bytes, over corpus.max_bytes={max_bytes:,}")
    return path.read_bytes()


def decode(raw: bytes, source: str) -> tuple[str, str]:
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


def load_source(source: str, cfg: dict[str, Any], fetch: Fetch, sha256: str = "") -> tuple[str, dict[str, Any]]:
    """One source as clean text plus its provenance record."""
    where = resolve(source, cfg.get("gutenberg_url", ""))
    what = f"Project Gutenberg book {source.split(':', 1)[1]}" if source.startswith("gutenberg:") else ""
    raw = fetch_url(where, fetch, what) if is_url(where) else read_local(Path(where), fetch.max_bytes)
    if is_url(where) and raw.lstrip()[:64].lower().startswith((b"<!doctype html", b"<html")):
        raise CharlmError(f"{where} returned an HTML page, not plain text (an error page, or the wrong address?)")
    digest = hashlib.sha256(raw).hexdigest()
    if sha256 and digest != sha256.lower():
        raise CharlmError(f"sha256 of {source} is {digest}, but corpus.sha256 pins {sha256}")
    text, encoding = decode(raw, source)
    text = clean(text, nfc=cfg.get("nfc", False), lowercase=cfg.get("lowercase", False))
    strip = cfg.get("strip_gutenberg", "auto")
    stripped = None
    if strip is True or (strip == "auto" and source.startswith("gutenberg:")):
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


def download(source: str | list[str], cfg: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """The corpus (several sources are joined by a blank line) and its provenance record."""
    cfg = cfg or {}
    sources = [source] if isinstance(source, str) else list(source)
    pins = cfg.get("sha256") or ""
    pins = [pins] * len(sources) if isinstance(pins, str) else pins
    if len(pins) != len(sources):
        raise CharlmError(f"corpus.sha256 has {len(pins)} pins for {len(sources)} sources")
    fetch = Fetch(cfg.get("timeout", 30), cfg.get("retries", 3), cfg.get("max_bytes", 100_000_000))
    texts, records = [], []
    for src, pin in zip(sources, pins):
        text, record = load_source(src, cfg, fetch, pin or "")
        texts.append(text)
        records.append(record)
    corpus = "\n".join(t if t.endswith("\n") else t + "\n" for t in texts)
    if len(sources) == 1:
        return corpus, {**records[0], "characters": len(corpus)}
    digest = hashlib.sha256(corpus.encode()).hexdigest()
    return corpus, {"characters": len(corpus), "sha256": digest, "sources": records}


def main() -> None:
    cfg = load("corpus")["corpus"]
    text, provenance = download(cfg["source"], cfg)
    with atomic_dir(OUT_DIR) as out:
        atomic_write(out / "corpus.txt", text)
        write_json(out / "provenance.json", provenance)
    print(f"download: {provenance['characters']:,} characters from {cfg['source']}")


if __name__ == "__main__":
    cli(main)
