"""The download stage: real HTTP over loopback, local files, and every refusal leaves nothing behind."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import Route, corpus, run_stage, write_params

from charlm import config
from charlm.corpus import clean, download
from charlm.errors import CharlmError


def fetch(cfg: config.Corpus, tmp_path: Path) -> tuple[str, dict[str, Any]]:
    """download() into tmp_path/raw/corpus.txt: the text it wrote and its provenance; no temp file is left."""
    out = tmp_path / "raw"
    provenance = download(cfg, out / "corpus.txt")
    assert [p.name for p in out.iterdir()] == ["corpus.txt"]
    return (out / "corpus.txt").read_bytes().decode("utf-8"), provenance


def refused(cfg: config.Corpus, tmp_path: Path, message: str) -> None:
    """download() into tmp_path/raw raises a CharlmError matching `message`, and the folder is as it
    was: no temp file, an earlier corpus.txt untouched."""
    out = tmp_path / "raw"
    before = listing(out)
    with pytest.raises(CharlmError, match=message):
        download(cfg, out / "corpus.txt")
    assert listing(out) == before


def listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.exists() else {}


def test_url_download_normalises_line_endings_and_records_provenance(http_server, tmp_path):
    raw = "\ufeffFirst Citizen:\r\nBefore we proceed\rany further.\r\n".encode()
    http_server.routes["/book.txt"] = Route(raw)
    url = http_server.url("/book.txt")
    text, prov = fetch(corpus(url, timeout=5), tmp_path)
    assert text == "First Citizen:\nBefore we proceed\nany further.\n"
    assert prov == {"source": url, "sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw),
                    "encoding": "utf-8", "characters": len(text)}


def test_local_file_source(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_bytes("ÆTHELRED:\r\nHwæt!\r\n".encode())
    text, prov = fetch(corpus(str(path)), tmp_path)
    assert text == "ÆTHELRED:\nHwæt!\n"
    assert prov["characters"] == len(text) and prov["bytes"] == path.stat().st_size


def test_stage_writes_corpus_and_provenance(http_server, tmp_path, tiny_text):
    http_server.routes["/tiny.txt"] = Route(tiny_text.encode())
    write_params(tmp_path, {"corpus.source": http_server.url("/tiny.txt")})
    result = run_stage("download", tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data/raw/corpus.txt").read_text(encoding="utf-8") == tiny_text
    prov = json.loads((tmp_path / "data/raw/provenance.json").read_text())
    assert prov["characters"] == len(tiny_text)
    assert not [p for p in (tmp_path / "data/raw").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    "route, overrides, message",
    [
        (Route(b"gone", 404), {}, "HTTP 404"),
        (Route(b"slow text", stall=True), {"corpus.timeout": 0.5, "corpus.retries": 0}, "timed out"),
        (Route(b"x" * 5000), {"corpus.max_bytes": 1000}, "max_bytes"),
        (Route(b"some text"), {"corpus.sha256": "0" * 64}, "sha256"),
        (Route(bytes(range(256)) * 8), {}, "binary file"),
        (Route(b""), {}, "holds no text"),
        (Route(b"<html>oops</html>", headers={"Content-Type": "text/html"}), {}, "HTML page"),
        (Route(b"busy", fail_first=9), {"corpus.retries": 1}, "HTTP 503"),
        (Route(b"To be, or not to be\n" * 500, cut=True), {"corpus.retries": 1},
         "ended after 5,000 of 10,000 bytes (the connection was cut); raise corpus.retries"),
        (Route(b"To be, or not to be\n" * 500, cut=True, chunked=True), {"corpus.retries": 0},
         "ended before the end of its chunked body (the connection was cut)"),
        (Route(b"\n\n<head><title>Oops</title></head>"), {}, "returned an HTML page"),
    ],
    ids=["404", "timeout", "too-large", "sha256-mismatch", "binary", "empty", "html", "server-error",
         "truncated", "truncated-chunked", "html-blank-line-head"],
)
def test_refusals_are_one_line_and_keep_the_previous_corpus(http_server, tmp_path, route, overrides, message):
    http_server.routes["/good.txt"] = Route(b"a good old corpus\n")
    write_params(tmp_path, {"corpus.source": http_server.url("/good.txt")})
    assert run_stage("download", tmp_path).returncode == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "data/raw").iterdir()}

    http_server.routes["/bad.txt"] = route
    write_params(tmp_path, {"corpus.source": http_server.url("/bad.txt"), **overrides})
    result = run_stage("download", tmp_path)

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    after = {p.name: p.read_bytes() for p in (tmp_path / "data/raw").iterdir()}
    assert after == before  # same files, same bytes: no temp file left, nothing half-written


def test_a_complete_chunked_body_is_accepted(http_server, tmp_path):
    http_server.routes["/chunked.txt"] = Route(b"To be, or not to be\n" * 500, chunked=True)
    assert fetch(corpus(http_server.url("/chunked.txt")), tmp_path)[0] == "To be, or not to be\n" * 500


def test_a_corpus_streams_through_small_chunks(http_server, tmp_path, monkeypatch):
    """Read 7 bytes at a time, CRLF pairs, UTF-8 sequences and marker lines fall across chunk boundaries,
    and the corpus is still what the rules make of the whole text: clean it, keep what lies between the
    last header marker line and the first footer marker line after it, newlines stripped, plus one."""
    monkeypatch.setattr("charlm.corpus.CHUNK", 7)
    body = "".join(f"Line {i}: Noe\u0308l \x07d\u00e9j\u00e0 vu{'!' * (i % 5)}\r\n" for i in range(30))
    book = ("Title: Tiny\r\n*** START OF THE PROJECT GUTENBERG EBOOK A ***\r\nlicence\r\n"
            "*** START OF THE PROJECT GUTENBERG EBOOK TINY ***\r\n\r\n" + body
            + "\r\n*** END OF THE PROJECT GUTENBERG EBOOK TINY ***\r\nfooter\r\n")
    raw = book.encode()
    assert any(raw[i : i + 2] == b"\r\n" and (i + 1) % 7 == 0 for i in range(len(raw)))  # a CRLF split in two
    http_server.routes["/book.txt"] = Route(raw)
    url = http_server.url("/book.txt")
    text, prov = fetch(corpus(url, strip_gutenberg=True, nfc=True), tmp_path)
    expected = clean(body, nfc=True).strip("\n") + "\n"
    assert text == expected
    assert prov["stripped"] == {"header_lines": 4, "footer_lines": 2,
                                "characters": len(clean(book, nfc=True)) - len(expected)}
    assert prov["characters"] == len(expected) and prov["sha256"] == hashlib.sha256(raw).hexdigest()

    (tmp_path / "end.txt").write_bytes(b"The end.\r")  # a second source: a blank line between, one '\n' after
    text, prov = fetch(corpus([url, str(tmp_path / "end.txt")], strip_gutenberg=True, nfc=True), tmp_path)
    assert text == expected + "\nThe end.\n"
    assert prov["characters"] == len(text) and prov["sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert [s["characters"] for s in prov["sources"]] == [len(expected), len("The end.\n")]


def test_a_text_without_line_ends_streams_in_pieces(tmp_path, monkeypatch):
    """No line end to cut at: past MAX_LINE characters the text goes on in pieces, and comes out the same."""
    monkeypatch.setattr("charlm.corpus.CHUNK", 5)
    monkeypatch.setattr("charlm.corpus.MAX_LINE", 8)
    book = "To be,\r or not\x07 to be: " * 20
    (tmp_path / "book.txt").write_bytes(book.encode())
    assert fetch(corpus(str(tmp_path / "book.txt")), tmp_path)[0] == clean(book) + "\n"


def test_a_refused_url_leaves_no_temp_file(http_server, tmp_path):
    """The body went to a temp file before the pin was checked; the file goes with the error."""
    http_server.routes["/pinned.txt"] = Route(b"some text\n" * 100)
    refused(corpus(http_server.url("/pinned.txt"), sha256="0" * 64), tmp_path, "sha256 of .* is")


def test_a_local_html_page_is_refused(tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<!DOCTYPE html>\n<html><body>Hamlet</body></html>\n")
    refused(corpus(str(page)), tmp_path, r"page.html is an HTML page, not plain text")


def test_unreachable_server_and_missing_file_are_clear_errors(tmp_path):
    # port 9 (discard): nothing listens
    refused(corpus("http://127.0.0.1:9/nothing.txt", timeout=2, retries=0), tmp_path, "cannot reach")
    refused(corpus(str(tmp_path / "missing.txt")), tmp_path, "does not exist")


@pytest.mark.parametrize("raw, encoding", [("naïve\n".encode(), "utf-8"),
                                           ("naïve\n".encode("latin-1"), "iso8859-1")], ids=["utf-8", "latin-1"])
def test_decode_falls_back_from_utf8(tmp_path, raw, encoding):
    (tmp_path / "book.txt").write_bytes(raw)
    text, prov = fetch(corpus(str(tmp_path / "book.txt")), tmp_path)
    assert (text, prov["encoding"]) == ("naïve\n", encoding)


def test_invalid_utf16_is_a_clear_error(tmp_path):
    (tmp_path / "book.txt").write_bytes("héllo\n".encode("utf-16") + b"\x00\xd8")  # a lone surrogate at the end
    refused(corpus(str(tmp_path / "book.txt")), tmp_path, r"book.txt is not valid utf-16 \(")
