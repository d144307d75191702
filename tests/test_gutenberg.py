"""Real-world corpora: Gutenberg boilerplate, old encodings, messy bytes, several sources, retries."""

from __future__ import annotations

import json

import pytest
from conftest import Route, corpus, run_stage, write_params
from test_download import fetch, refused

from charlm.corpus import clean

BODY = "CHAPTER I.\n\nIt is a truth universally acknowledged.\n"
BOTH_MARKERS = (
    "The Project Gutenberg eBook of Tiny Book\n\nThis eBook is for the use of anyone anywhere.\n\n"
    "*** START OF THE PROJECT GUTENBERG EBOOK TINY BOOK ***\n\n\n" + BODY +
    "\n\n*** END OF THE PROJECT GUTENBERG EBOOK TINY BOOK ***\n\nUpdated editions will replace the previous one.\n"
)
END_ONLY = BODY + "\n*** END OF THIS PROJECT GUTENBERG EBOOK TINY BOOK ***\nSection 5. General Information.\n"
SMALL_PRINT = (
    "The Project Gutenberg Etext of Tiny Book\n**Welcome To The World of Free Plain Vanilla Electronic Texts**\n"
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
    r["/flaky.txt"] = Route(b"worth the wait\n", fail_first=2)
    return http_server


def cfg(server, source, **extra):
    return corpus(source, **{"gutenberg_url": server.url("/cache/epub/{id}/pg{id}.txt"), "timeout": 5, "retries": 2,
                             **extra})


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


@pytest.mark.parametrize("text, raw, encoding", [
    ("\u201cWell,\u201d said he \u2014 \u2018aye\u2019.\n", "cp1252", "cp1252"),  # Windows punctuation in 0x80-0x9f
    ("héllo\n", "utf-16", "utf-16"),  # with BOM
    ("Character set encoding: ISO-8859-15\nprix : 5 \u20ac\n", "iso-8859-15", "iso8859-15"),  # declared; 0xa4 = €
    ("Character set encoding: ASCII\nna\u00efve\n", "latin-1", "iso8859-1"),  # declared, but wrong
], ids=["cp1252", "utf-16", "declared", "declared-wrongly"])
def test_encodings_are_detected(tmp_path, text, raw, encoding):
    (tmp_path / "book.txt").write_bytes(text.encode(raw))
    decoded, prov = fetch(corpus(str(tmp_path / "book.txt")), tmp_path)
    assert (decoded, prov["encoding"]) == (text, encoding)


@pytest.mark.parametrize("book", [16, 17], ids=["content-type", "sniffed"])
def test_html_page_is_refused(books, tmp_path, book):
    refused(cfg(books, f"gutenberg:{book}"), tmp_path, "returned an HTML page")


def test_unknown_gutenberg_id_says_so(books, tmp_path):
    refused(cfg(books, "gutenberg:99999"), tmp_path,
            r"HTTP 404 .*pg99999\.txt: Project Gutenberg book 99999 does not exist")


def test_server_errors_are_retried(books, tmp_path):
    text, _ = fetch(cfg(books, books.url("/flaky.txt")), tmp_path)
    assert text == "worth the wait\n" and books.routes["/flaky.txt"].hits == 3
    books.routes["/flaky.txt"].hits = 0
    refused(cfg(books, books.url("/flaky.txt"), retries=1), tmp_path, "HTTP 503")


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


def test_control_characters_and_normalisation():
    assert clean("a\x00b\x07c\td\r\ne\rf\x1b\n") == "abc\td\ne\nf\n"
    decomposed = "Noe\u0308l"
    assert clean(decomposed, nfc=True) == "No\u00ebl"
    assert clean(decomposed) == decomposed
    assert clean("KING Lear", lowercase=True) == "king lear"


def test_several_sources_make_one_corpus(books, tmp_path):
    local = tmp_path / "extra.txt"
    local.write_text("The end.")
    text, prov = fetch(cfg(books, ["gutenberg:11", "gutenberg:13", str(local)]), tmp_path)
    assert text == BODY + "\n" + FRENCH + "\n" + "The end.\n"
    assert [s["source"] for s in prov["sources"]] == ["gutenberg:11", "gutenberg:13", str(local)]
    assert [s["encoding"] for s in prov["sources"]] == ["utf-8", "iso8859-1", "utf-8"]
    assert prov["characters"] == len(text)


def test_one_pin_per_source(books, tmp_path):
    _, prov = fetch(cfg(books, "gutenberg:12"), tmp_path)
    good = prov["sha256"]
    fetch(cfg(books, ["gutenberg:12", "gutenberg:12"], sha256=[good, ""]), tmp_path)
    refused(cfg(books, ["gutenberg:12", "gutenberg:12"], sha256=["", "f" * 64]), tmp_path,
            "sha256 of gutenberg:12 is")  # after the first source was written: the corpus before stays
    refused(cfg(books, "gutenberg:12", sha256=[good, good]), tmp_path, "2 pins for 1 sources")


@pytest.mark.parametrize("source, message", [
    ("ftp://example.org/book.txt", "only http:// and https://"),
    ("gutenberg:abc", "a Gutenberg id is a number"),
])
def test_bad_sources(tmp_path, source, message):
    refused(corpus(source, gutenberg_url="http://127.0.0.1:9/{id}"), tmp_path, message)


def test_binary_file_is_refused(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(bytes(range(256)) * 64)
    refused(corpus(str(path)), tmp_path, "looks like a binary file")


def test_nothing_left_after_stripping_is_refused(tmp_path):
    path = tmp_path / "empty-book.txt"
    path.write_text("*** START OF THE PROJECT GUTENBERG EBOOK X ***\n\n*** END OF THE PROJECT GUTENBERG EBOOK X ***\n")
    refused(corpus(str(path), strip_gutenberg=True), tmp_path, "no text after removing the Gutenberg header")


def test_stage_records_provenance_of_a_gutenberg_book(books, tmp_path):
    write_params(tmp_path, {"corpus.source": "gutenberg:11",
                            "corpus.gutenberg_url": books.url("/cache/epub/{id}/pg{id}.txt")})
    result = run_stage("download", tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data/raw/corpus.txt").read_text(encoding="utf-8") == BODY
    prov = json.loads((tmp_path / "data/raw/provenance.json").read_text())
    assert prov["source"] == "gutenberg:11" and prov["stripped"]["header_lines"] == 5
