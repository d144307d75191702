"""Stage 1, download: fetch the corpus named by `corpus.source` and store it as clean UTF-8 text.

    source (http(s) URL or local path) -> raw bytes -> sha256 pin check -> text with '\\n' line ends
    -> data/raw/corpus.txt + data/raw/provenance.json

The only stage that talks to the outside world, so every way it can fail ends in a one-line error
and no partial file: outputs are written to a temp file and renamed into place.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tqdm import tqdm

from stages.params import CharlmError, cli, load

OUT_DIR = Path("data/raw")
CHUNK = 1 << 16


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


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write text (UTF-8) or bytes so that readers see the old file or the new one, never half."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def write_json(path: Path, obj: Any) -> None:
    atomic_write(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def fetch_url(url: str, timeout: float, max_bytes: int) -> bytes:
    """GET `url` into memory with a progress bar; refuse bodies over `max_bytes`."""
    request = urllib.request.Request(url, headers={"User-Agent": "charlm/0.1"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            if total and total > max_bytes:
                raise CharlmError(f"{url} is {total:,} bytes, over corpus.max_bytes={max_bytes:,}")
            chunks, size = [], 0
            with tqdm(total=total, unit="B", unit_scale=True, desc="download", leave=False, disable=None) as bar:
                while chunk := response.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise CharlmError(f"{url} is over corpus.max_bytes={max_bytes:,} bytes")
                    chunks.append(chunk)
                    bar.update(len(chunk))
            return b"".join(chunks)
    except urllib.error.HTTPError as e:
        raise CharlmError(f"HTTP {e.code} {e.reason} for {url}") from None
    except (TimeoutError, socket.timeout):
        raise CharlmError(f"timed out after {timeout:g} s waiting for {url}") from None
    except urllib.error.URLError as e:
        raise CharlmError(f"cannot reach {url}: {e.reason}") from None


def read_local(path: Path, max_bytes: int) -> bytes:
    if not path.is_file():
        raise CharlmError(f"corpus file {path} does not exist")
    if path.stat().st_size > max_bytes:
        raise CharlmError(f"{path} is {path.stat().st_size:,} bytes, over corpus.max_bytes={max_bytes:,}")
    return path.read_bytes()


def decode(raw: bytes, source: str) -> str:
    """UTF-8 (a BOM is dropped) with every line ending turned into '\\n'."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise CharlmError(f"{source} is not UTF-8 text (bad byte at offset {e.start})") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def download(source: str, *, sha256: str = "", timeout: float = 30, max_bytes: int = 100_000_000) -> tuple[str, dict[str, Any]]:
    """Return the corpus text and its provenance record (source, sha256 of the raw bytes, sizes)."""
    raw = fetch_url(source, timeout, max_bytes) if is_url(source) else read_local(Path(source), max_bytes)
    digest = hashlib.sha256(raw).hexdigest()
    if sha256 and digest != sha256.lower():
        raise CharlmError(f"sha256 of {source} is {digest}, but corpus.sha256 pins {sha256}")
    text = decode(raw, source)
    if not text:
        raise CharlmError(f"{source} is empty")
    return text, {"source": source, "sha256": digest, "bytes": len(raw), "characters": len(text)}


def main() -> None:
    cfg = load("corpus")["corpus"]
    text, provenance = download(cfg["source"], sha256=cfg["sha256"] or "", timeout=cfg["timeout"], max_bytes=cfg["max_bytes"])
    atomic_write(OUT_DIR / "corpus.txt", text)
    write_json(OUT_DIR / "provenance.json", provenance)
    print(f"download: {provenance['characters']:,} characters from {provenance['source']} (sha256 {provenance['sha256'][:12]}...)")


if __name__ == "__main__":
    cli(main)
