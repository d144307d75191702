"""The download stage: real HTTP over loopback, local files, and every refusal leaves nothing behind."""

from __future__ import annotations

import hashlib
import json

import pytest
from conftest import Route, corpus, run_stage, write_params

from charlm.corpus import bytes_to_text, download
from charlm.errors import CharlmError


def test_url_download_normalises_line_endings_and_records_provenance(http_server, tmp_path):
    raw = "\ufeffFirst Citizen:\r\nBefore we proceed\rany further.\r\n".encode()
    http_server.routes["/book.txt"] = Route(raw)
    url = http_server.url("/book.txt")
    text, prov = download(corpus(url, timeout=5))
    assert text == "First Citizen:\nBefore we proceed\nany further.\n"
    assert prov == {"source": url, "sha256": hashlib.sha256(raw).hexdigest(), "bytes": len(raw),
                    "encoding": "utf-8", "characters": len(text)}


def test_local_file_source(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_bytes("ÆTHELRED:\r\nHwæt!\r\n".encode())
    text, prov = download(corpus(str(path)))
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


def test_a_complete_chunked_body_is_accepted(http_server):
    http_server.routes["/chunked.txt"] = Route(b"To be, or not to be\n" * 500, chunked=True)
    assert download(corpus(http_server.url("/chunked.txt")))[0] == "To be, or not to be\n" * 500


def test_a_local_html_page_is_refused(tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<!DOCTYPE html>\n<html><body>Hamlet</body></html>\n")
    with pytest.raises(CharlmError, match=r"page.html is an HTML page, not plain text"):
        download(corpus(str(page)))


def test_unreachable_server_and_missing_file_are_clear_errors(tmp_path):
    with pytest.raises(CharlmError, match="cannot reach"):
        download(corpus("http://127.0.0.1:9/nothing.txt", timeout=2, retries=0))  # port 9 (discard): nothing listens
    with pytest.raises(CharlmError, match="does not exist"):
        download(corpus(str(tmp_path / "missing.txt")))


def test_decode_falls_back_from_utf8():
    assert bytes_to_text("naïve\n".encode("utf-8"), "x") == ("naïve\n", "utf-8")
    assert bytes_to_text("naïve\n".encode("latin-1"), "x") == ("naïve\n", "iso8859-1")
