"""download(): sources made into one clean corpus file with its provenance, streamed, atomically."""

from __future__ import annotations

import hashlib
import json

import pytest

from bench.project import write_params
from charlm.text.encodings import clean
from tests.helpers.config import corpus
from tests.helpers.download import fetch, refused
from tests.helpers.server import Route
from tests.helpers.stages import run_stage


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
    write_params(tmp_path, {"corpus.source": http_server.url("/tiny.txt"), "corpus.sha256": ""})
    result = run_stage("download", tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data/raw/corpus.txt").read_text(encoding="utf-8") == tiny_text
    prov = json.loads((tmp_path / "data/raw/provenance.json").read_text())
    assert prov["characters"] == len(tiny_text)
    assert not [p for p in (tmp_path / "data/raw").iterdir() if p.name.startswith(".")]


def test_a_corpus_streams_through_small_chunks(http_server, tmp_path, monkeypatch):
    """Read 7 bytes at a time, CRLF pairs, UTF-8 sequences and marker lines fall across chunk boundaries,
    and the corpus is still what the rules make of the whole text: clean it, keep what lies between the
    last header marker line and the first footer marker line after it, newlines stripped, plus one."""
    monkeypatch.setattr("charlm.text.fetch.CHUNK", 7)
    monkeypatch.setattr("charlm.text.encodings.CHUNK", 7)
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
    monkeypatch.setattr("charlm.text.encodings.CHUNK", 5)
    monkeypatch.setattr("charlm.text.encodings.MAX_LINE", 8)
    book = "To be,\r or not\x07 to be: " * 20
    (tmp_path / "book.txt").write_bytes(book.encode())
    assert fetch(corpus(str(tmp_path / "book.txt")), tmp_path)[0] == clean(book) + "\n"


def test_a_refused_url_leaves_no_temp_file(http_server, tmp_path):
    """The body went to a temp file before the pin was checked; the file goes with the error."""
    http_server.routes["/pinned.txt"] = Route(b"some text\n" * 100)
    refused(corpus(http_server.url("/pinned.txt"), sha256="0" * 64), tmp_path, "sha256 of .* is")


def test_several_sources_make_one_corpus(http_server, tmp_path):
    http_server.routes["/a.txt"] = Route(b"First book.")
    (tmp_path / "extra.txt").write_bytes("Zweites Buch.\n".encode("latin-1"))
    text, prov = fetch(corpus([http_server.url("/a.txt"), str(tmp_path / "extra.txt")]), tmp_path)
    assert text == "First book.\n\nZweites Buch.\n"
    assert [s["encoding"] for s in prov["sources"]] == ["utf-8", "utf-8"]
    assert prov["characters"] == len(text) and prov["sha256"] == hashlib.sha256(text.encode()).hexdigest()


def test_one_pin_per_source(tmp_path):
    for name in ("a", "b"):
        (tmp_path / f"{name}.txt").write_text(f"Book {name}.\n")
    a, b = str(tmp_path / "a.txt"), str(tmp_path / "b.txt")
    good = hashlib.sha256(b"Book a.\n").hexdigest()
    fetch(corpus([a, b], sha256=[good, ""]), tmp_path)
    refused(corpus([a, b], sha256=["", "f" * 64]), tmp_path, "sha256 of .*b.txt is")  # after a was written
    refused(corpus(a, sha256=[good, good]), tmp_path, "2 pins for 1 sources")


@pytest.mark.parametrize("source, message", [
    ("ftp://example.org/book.txt", "only http:// and https://"),
    ("gutenberg:abc", "a Gutenberg id is a number"),
    ("gutenberg:²", "a Gutenberg id is a number"),
])
def test_bad_sources(tmp_path, source, message):
    refused(corpus(source, gutenberg_url="http://127.0.0.1:9/{id}"), tmp_path, message)
