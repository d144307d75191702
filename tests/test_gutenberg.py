"""Real-world corpora: Gutenberg boilerplate, old encodings, messy bytes, several sources, retries."""

from __future__ import annotations

import json

import pytest
from conftest import Route, corpus, run_stage, write_params

from charlm.corpus import bytes_to_text, clean, download, strip_gutenberg
from charlm.errors import CharlmError

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
def test_gutenberg_books_are_cleaned_exactly(books, book, header_lines, footer_lines):
    text, prov = download(cfg(books, f"gutenberg:{book}"))
    assert text == BODY
    assert prov["url"] == books.url(f"/cache/epub/{book}/pg{book}.txt")
    assert prov["encoding"] == "utf-8"
    assert prov["stripped"]["header_lines"] == header_lines
    assert prov["stripped"]["footer_lines"] == footer_lines
    assert prov["stripped"]["characters"] > 0


def test_latin1_book_is_decoded_and_recorded(books):
    text, prov = download(cfg(books, "gutenberg:13"))
    assert text == FRENCH
    assert prov["encoding"] == "iso8859-1"


def test_cp1252_punctuation_is_decoded():
    raw = "\u201cWell,\u201d said he \u2014 \u2018aye\u2019.\n".encode("cp1252")
    assert bytes_to_text(raw, "x") == ("\u201cWell,\u201d said he \u2014 \u2018aye\u2019.\n", "cp1252")


def test_utf16_with_bom():
    assert bytes_to_text("héllo\n".encode("utf-16"), "x") == ("héllo\n", "utf-16")


@pytest.mark.parametrize("book", [16, 17], ids=["content-type", "sniffed"])
def test_html_page_is_refused(books, book):
    with pytest.raises(CharlmError, match="returned an HTML page"):
        download(cfg(books, f"gutenberg:{book}"))


def test_unknown_gutenberg_id_says_so(books):
    with pytest.raises(CharlmError, match=r"HTTP 404 .*pg99999\.txt: Project Gutenberg book 99999 does not exist"):
        download(cfg(books, "gutenberg:99999"))


def test_server_errors_are_retried(books):
    text, _ = download(cfg(books, books.url("/flaky.txt")))
    assert text == "worth the wait\n" and books.routes["/flaky.txt"].hits == 3
    books.routes["/flaky.txt"].hits = 0
    with pytest.raises(CharlmError, match="HTTP 503"):
        download(cfg(books, books.url("/flaky.txt"), retries=1))


def test_file_without_markers_is_kept_whole():
    text = "No boilerplate here.\nJust text.\n"
    assert strip_gutenberg(text) == (text, {"header_lines": 0, "footer_lines": 0, "characters": 0})


def test_stripping_is_switchable(books, tmp_path):
    path = tmp_path / "book.txt"
    path.write_text(BOTH_MARKERS)
    assert download(corpus(str(path)))[0] == BOTH_MARKERS  # off by default for local files
    assert download(corpus(str(path), strip_gutenberg=True))[0] == BODY
    assert download(cfg(books, "gutenberg:11", strip_gutenberg=False))[0] == BOTH_MARKERS


def test_control_characters_and_normalisation():
    assert clean("a\x00b\x07c\td\r\ne\rf\x1b\n") == "abc\td\ne\nf\n"
    decomposed = "Noe\u0308l"
    assert clean(decomposed, nfc=True) == "No\u00ebl"
    assert clean(decomposed) == decomposed
    assert clean("KING Lear", lowercase=True) == "king lear"


def test_several_sources_make_one_corpus(books, tmp_path):
    local = tmp_path / "extra.txt"
    local.write_text("The end.")
    text, prov = download(cfg(books, ["gutenberg:11", "gutenberg:13", str(local)]))
    assert text == BODY + "\n" + FRENCH + "\n" + "The end.\n"
    assert [s["source"] for s in prov["sources"]] == ["gutenberg:11", "gutenberg:13", str(local)]
    assert [s["encoding"] for s in prov["sources"]] == ["utf-8", "iso8859-1", "utf-8"]
    assert prov["characters"] == len(text)


def test_one_pin_per_source(books, tmp_path):
    _, prov = download(cfg(books, "gutenberg:12"))
    good = prov["sha256"]
    download(cfg(books, ["gutenberg:12", "gutenberg:12"], sha256=[good, ""]))
    with pytest.raises(CharlmError, match="sha256 of gutenberg:12 is"):
        download(cfg(books, ["gutenberg:12", "gutenberg:12"], sha256=["", "f" * 64]))
    with pytest.raises(CharlmError, match="2 pins for 1 sources"):
        download(cfg(books, "gutenberg:12", sha256=[good, good]))


@pytest.mark.parametrize("source, message", [
    ("ftp://example.org/book.txt", "only http:// and https://"),
    ("gutenberg:abc", "a Gutenberg id is a number"),
])
def test_bad_sources(source, message):
    with pytest.raises(CharlmError, match=message):
        download(corpus(source, gutenberg_url="http://127.0.0.1:9/{id}"))


def test_binary_file_is_refused(tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(CharlmError, match="looks like a binary file"):
        download(corpus(str(path)))


def test_nothing_left_after_stripping_is_refused(tmp_path):
    path = tmp_path / "empty-book.txt"
    path.write_text("*** START OF THE PROJECT GUTENBERG EBOOK X ***\n\n*** END OF THE PROJECT GUTENBERG EBOOK X ***\n")
    with pytest.raises(CharlmError, match="no text after removing the Gutenberg header"):
        download(corpus(str(path), strip_gutenberg=True))


def test_stage_records_provenance_of_a_gutenberg_book(books, tmp_path):
    write_params(tmp_path, {"corpus.source": "gutenberg:11",
                            "corpus.gutenberg_url": books.url("/cache/epub/{id}/pg{id}.txt")})
    result = run_stage("download", tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data/raw/corpus.txt").read_text(encoding="utf-8") == BODY
    prov = json.loads((tmp_path / "data/raw/provenance.json").read_text())
    assert prov["source"] == "gutenberg:11" and prov["stripped"]["header_lines"] == 5
