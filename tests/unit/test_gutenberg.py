"""Project Gutenberg books: the header and footer stripped in their old and new forms, gutenberg:<id>
fetched from a (loopback) mirror, provenance recorded."""

from __future__ import annotations

import json

import pytest

from bench.project import write_params
from tests.helpers.config import corpus
from tests.helpers.download import fetch, refused
from tests.helpers.server import Route
from tests.helpers.stages import run_stage
from tests.helpers.text import BODY, BOTH_MARKERS

END_ONLY = BODY + "\n*** END OF THIS PROJECT GUTENBERG EBOOK TINY BOOK ***\nSection 5. General Information.\n"
SMALL_PRINT = (
    "The Project Gutenberg Etext of Tiny Book\n"
    "**Welcome To The World of Free Plain Vanilla Electronic Texts**\n"
    "*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS*Ver.04.29.93*END*\n\n" + BODY +
    "\nEnd of the Project Gutenberg Etext of Tiny Book\n"
)
FRENCH = "Élise à Noël : « déjà vu », dit-il.\n"
LATIN1 = ("Character set encoding: ISO-8859-1\n\n*** START OF THIS PROJECT GUTENBERG EBOOK X ***\n" + FRENCH
          + "*** END OF THIS PROJECT GUTENBERG EBOOK X ***\n")


@pytest.fixture
def books(http_server):
    r = http_server.routes
    r["/cache/epub/11/pg11.txt"] = Route(BOTH_MARKERS.replace("\n", "\r\n").encode())
    r["/cache/epub/12/pg12.txt"] = Route(END_ONLY.encode())
    r["/cache/epub/13/pg13.txt"] = Route(LATIN1.encode("latin-1"))
    r["/cache/epub/14/pg14.txt"] = Route(b"\xef\xbb\xbf" + BOTH_MARKERS.encode())
    r["/cache/epub/15/pg15.txt"] = Route(SMALL_PRINT.encode())
    r["/cache/epub/16/pg16.txt"] = Route(b"<!DOCTYPE html><html><body>Sorry</body></html>",
                                         headers={"Content-Type": "text/html; charset=utf-8"})
    r["/cache/epub/17/pg17.txt"] = Route(b"  <html><body>an error page served as text</body></html>")
    return http_server


def cfg(server, source, **extra):
    return corpus(source, **{"gutenberg_url": server.url("/cache/epub/{id}/pg{id}.txt"), "timeout": 5,
                             "retries": 2, **extra})


@pytest.mark.parametrize("book, header_lines, footer_lines", [(11, 5, 3), (12, 0, 2), (14, 5, 3), (15, 3, 1)],
                         ids=["both-markers-crlf", "end-marker-only", "bom", "small-print"])
def test_gutenberg_books_are_cleaned_exactly(books, tmp_path, book, header_lines, footer_lines):
    text, prov = fetch(cfg(books, f"gutenberg:{book}"), tmp_path)
    assert text == BODY
    assert prov["url"] == books.url(f"/cache/epub/{book}/pg{book}.txt")
    assert prov["encoding"] == "utf-8"
    assert prov["stripped"]["header_lines"] == header_lines
    assert prov["stripped"]["footer_lines"] == footer_lines
    assert prov["stripped"]["characters"] > 0


def test_latin1_book_is_decoded_and_recorded(books, tmp_path):
    text, prov = fetch(cfg(books, "gutenberg:13"), tmp_path)
    assert text == FRENCH
    assert prov["encoding"] == "iso8859-1"


@pytest.mark.parametrize("book", [16, 17], ids=["content-type", "sniffed"])
def test_html_page_is_refused(books, tmp_path, book):
    refused(cfg(books, f"gutenberg:{book}"), tmp_path, "returned an HTML page")


def test_unknown_gutenberg_id_says_so(books, tmp_path):
    refused(cfg(books, "gutenberg:99999"), tmp_path,
            r"HTTP 404 .*pg99999\.txt: Project Gutenberg book 99999 does not exist")


def test_file_without_markers_is_kept_whole(tmp_path):
    text = "No boilerplate here.\nJust text.\n"
    (tmp_path / "book.txt").write_text(text)
    kept, prov = fetch(corpus(str(tmp_path / "book.txt"), strip_gutenberg=True), tmp_path)
    assert (kept, prov["stripped"]) == (text, {"header_lines": 0, "footer_lines": 0, "characters": 0})


def test_stripping_is_switchable(books, tmp_path):
    path = tmp_path / "book.txt"
    path.write_text(BOTH_MARKERS)
    assert fetch(corpus(str(path)), tmp_path)[0] == BOTH_MARKERS  # off by default for local files
    assert fetch(corpus(str(path), strip_gutenberg=True), tmp_path)[0] == BODY
    assert fetch(cfg(books, "gutenberg:11", strip_gutenberg=False), tmp_path)[0] == BOTH_MARKERS


def test_nothing_left_after_stripping_is_refused(tmp_path):
    path = tmp_path / "empty-book.txt"
    path.write_text("*** START OF THE PROJECT GUTENBERG EBOOK X ***\n\n"
                    "*** END OF THE PROJECT GUTENBERG EBOOK X ***\n")
    refused(corpus(str(path), strip_gutenberg=True), tmp_path, "no text after removing the Gutenberg header")


def test_stage_records_provenance_of_a_gutenberg_book(books, tmp_path):
    write_params(tmp_path, {"corpus.source": "gutenberg:11", "corpus.sha256": "",
                            "corpus.gutenberg_url": books.url("/cache/epub/{id}/pg{id}.txt")})
    result = run_stage("download", tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data/raw/corpus.txt").read_text(encoding="utf-8") == BODY
    prov = json.loads((tmp_path / "data/raw/provenance.json").read_text())
    assert prov["source"] == "gutenberg:11" and prov["stripped"]["header_lines"] == 5
