"""Where a corpus source's bytes come from: an http(s) URL, or a file inside the books folder.

This is the only code that reaches outside the project, so it checks what it is given and bounds
what it does:

- a local source must resolve, links followed, to a regular file inside the books folder (the one
  dvc.yaml watches): nothing else on the machine is read;
- a URL must be http(s) with a valid host and port, and redirects are followed to http(s) only;
- each wait for the server lasts at most `timeout` seconds, a whole download (retries included) at
  most `max_seconds`, and a body at most `max_bytes`; server errors and cut connections are retried.

Every failure is one CharlmError line.
"""

from __future__ import annotations

import http.client
import os
import re
import stat
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from charlm.confined import file_in
from charlm.errors import CharlmError
from charlm.params.schema import CorpusParams
from charlm.text.web import Deadline, checked_url, opener

CHUNK = 1 << 20  # bytes read at a time, from the network or from a file
BACKOFF = 0.5  # seconds before the first retry; doubles after each further failure
WEB = ("http", "https")


class TruncatedError(ConnectionError):
    """The server closed the connection before the whole body arrived: retried like a cut connection."""


def user_agent() -> str:
    try:
        return f"charlm/{version('charlm')}"
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "charlm"


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def resolve(source: str, gutenberg_url: str) -> str:
    """A source as a URL or a path: `gutenberg:<id>` fills the template's {id}; other schemes are refused."""
    if source.startswith("gutenberg:"):
        book = source.removeprefix("gutenberg:").strip()
        if not re.fullmatch(r"[0-9]+", book):
            raise CharlmError(f"corpus.source {source!r}: a Gutenberg id is a number, e.g. gutenberg:1342")
        return gutenberg_url.replace("{id}", str(int(book)))
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]+://", source) and not is_url(source):
        raise CharlmError(f"corpus.source {source!r}: only http:// and https:// URLs or local paths are"
                          " supported")
    return source


def checked_path(source: str, books: Path) -> Path:
    """The file a local source names, links resolved: a regular file inside `books` (see charlm.confined)."""
    return file_in(source, books, "corpus.source", "book", "copy or move it there")


def check_sources(cfg: CorpusParams, books: Path) -> list[str]:
    """Every source resolved and checked before anything is read; the same text twice is refused
    (it would put the validation text into the training text too)."""
    where = [resolve(source, cfg.gutenberg_url) for source in cfg.sources]
    keys = [checked_url(w) if is_url(w) else str(checked_path(w, books)) for w in where]
    for i, key in enumerate(keys):
        if key in keys[:i]:
            raise CharlmError(f"corpus.source lists {cfg.sources[i]!r} twice: list each text once")
    return where


def _get(url: str, cfg: CorpusParams, f: BinaryIO, deadline: float,
         web: urllib.request.OpenerDirector) -> None:
    """One GET into `f`, a piece at a time with a progress bar; refuse HTML pages, bodies over
    max_bytes and transfers past the deadline."""
    request = urllib.request.Request(url, headers={"User-Agent": user_agent()})
    with web.open(request, timeout=cfg.timeout) as response:
        if "html" in response.headers.get("Content-Type", ""):
            raise CharlmError(f"{url} returned an HTML page, not plain text (an error page, or the wrong"
                              " address?)")
        length = response.headers.get("Content-Length", "").strip()
        total = int(length) if length.isdigit() and int(length) > 0 else None  # a bad length: read to the end
        if total and total > cfg.max_bytes:
            raise CharlmError(f"{url} is {total:,} bytes, over corpus.max_bytes={cfg.max_bytes:,}")
        f.seek(0)
        f.truncate()  # a retry starts afresh
        size = _copy(response, f, total, url, cfg, deadline)
        if total is not None and size < total:  # a body with a length cut short reads as its end
            raise TruncatedError(f"{url} ended after {size:,} of {total:,} bytes (the connection was cut)")


def _copy(response: http.client.HTTPResponse, f: BinaryIO, total: int | None, url: str, cfg: CorpusParams,
          deadline: float) -> int:
    """The body into `f` as it arrives (read1: whatever came, so a server sending a byte at a time
    still meets the deadline); the bytes written."""
    size = 0
    with tqdm(total=total, unit="B", unit_scale=True, desc="download", leave=False, disable=None) as bar:
        try:
            while chunk := response.read1(CHUNK):
                size += len(chunk)
                if size > cfg.max_bytes:
                    raise CharlmError(f"{url} is over corpus.max_bytes={cfg.max_bytes:,} bytes")
                if time.monotonic() > deadline:
                    raise too_slow(url, cfg, f"{size:,} bytes so far")
                f.write(chunk)
                bar.update(len(chunk))
        except http.client.IncompleteRead:  # a chunked body cut short
            raise TruncatedError(f"{url} ended before the end of its chunked body (the connection was"
                                 " cut)") from None
    return size


def too_slow(url: str, cfg: CorpusParams, progress: str) -> CharlmError:
    return CharlmError(f"{url} took over corpus.max_seconds={cfg.max_seconds:g} s ({progress}): the server"
                       " is too slow; raise corpus.max_seconds or try later")


def fetch_url(url: str, cfg: CorpusParams, f: BinaryIO, what: str = "") -> None:
    """GET `url` into `f`, retrying server errors and cut connections with exponential backoff, all
    within corpus.max_seconds (connections still open then are cut: see charlm.text.web)."""
    at = time.monotonic() + cfg.max_seconds
    with Deadline(at) as deadline:
        for attempt in range(cfg.retries + 1):
            try:
                _get(url, cfg, f, at, opener(deadline))
            except CharlmError:
                raise
            except Exception as e:
                if deadline.expired:
                    raise too_slow(url, cfg, f"{f.tell():,} bytes so far") from None
                _retry_or_raise(e, url, cfg, what, last=attempt == cfg.retries)
            else:  # cut in its headers, a response can look whole (and empty): the deadline still counts
                if deadline.expired:
                    raise too_slow(url, cfg, f"{f.tell():,} bytes so far")
                return
            pause = BACKOFF * 2**attempt
            if time.monotonic() + pause > at:
                raise CharlmError(f"{url}: no complete answer within corpus.max_seconds={cfg.max_seconds:g}"
                                  " s")
            time.sleep(pause)
    raise AssertionError("unreachable")


def _retry_or_raise(e: Exception, url: str, cfg: CorpusParams, what: str, last: bool) -> None:
    """Return to retry a server error, a timeout or a cut connection (unless this was the `last` try);
    raise CharlmError for what a retry cannot mend, or `e` itself if it is no network error."""
    if isinstance(e, urllib.error.HTTPError):
        if 300 <= e.code < 400:  # urllib gives up on a loop of redirects with the last one
            raise CharlmError(f"{url}: HTTP {e.code} redirects in a loop (or without a Location)") from None
        if e.code < 500 or last:
            hint = f": {what} does not exist there" if e.code == 404 and what else ""
            raise CharlmError(f"HTTP {e.code} {e.reason} for {url}{hint}") from None
    elif isinstance(e, TimeoutError):  # socket.timeout too
        if last:
            raise CharlmError(f"timed out after {cfg.timeout:g} s waiting for {url}") from None
    elif isinstance(e, TruncatedError):
        if last:
            raise CharlmError(f"{e}; raise corpus.retries or try again later") from None
    elif isinstance(e, (urllib.error.URLError, ConnectionError, http.client.HTTPException)):
        if last:
            hint = "offline? use a local file in data/books/ as corpus.source"
            raise CharlmError(f"cannot reach {url}: {getattr(e, 'reason', e)} ({hint})") from None
    else:
        raise e


def open_local(path: Path, max_bytes: int) -> BinaryIO:
    """A checked path (see checked_path) opened without following a link swapped in since the check."""
    f = os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb")
    info = os.fstat(f.fileno())
    if not stat.S_ISREG(info.st_mode):
        f.close()
        raise CharlmError(f"corpus file {path} is not a regular file")
    if info.st_size > max_bytes:
        f.close()
        raise CharlmError(f"{path} is {info.st_size:,} bytes, over corpus.max_bytes={max_bytes:,}")
    return f


@contextmanager
def raw_file(where: str, cfg: CorpusParams, books: Path, what: str, tmp_dir: Path) -> Iterator[BinaryIO]:
    """A source's bytes as a file: a URL is fetched into a nameless temp file in `tmp_dir`, which
    vanishes when closed (on failure too); a local file inside `books` is read where it is."""
    if is_url(where):
        with tempfile.TemporaryFile(dir=tmp_dir) as f:
            fetch_url(checked_url(where), cfg, f, what)
            yield f
    else:
        with open_local(checked_path(where, books), cfg.max_bytes) as f:
            yield f
