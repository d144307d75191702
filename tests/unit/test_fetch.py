"""Where a source's bytes come from: real HTTP over loopback, redirects, URLs, time bounds, and local
files, which must lie in the books folder. Nothing outside the books folder or http(s) is ever read."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from importlib.metadata import version

import pytest

from bench.project import write_params
from charlm.text.fetch import user_agent
from tests.helpers.config import corpus
from tests.helpers.download import fetch, refused
from tests.helpers.server import Route
from tests.helpers.stages import one_error_line, run_stage


@pytest.mark.parametrize(
    "route, overrides, message",
    [
        (Route(b"gone", 404), {}, "HTTP 404"),
        (Route(b"slow text", stall=True), {"corpus.timeout": 0.5, "corpus.retries": 0}, "timed out"),
        (Route(b"x" * 5000), {"corpus.max_bytes": 1000}, "max_bytes"),
        (Route(b"some text"), {"corpus.sha256": "0" * 64}, "sha256"),
        (Route(bytes(range(256)) * 8), {}, "binary file"),
        (Route(b"\x1f\x8b\x08\x00" + bytes(100)), {},
         "is gzip-compressed, not plain text: decompress it first"),
        (Route(b""), {}, "holds no text"),
        (Route(b"<html>oops</html>", headers={"Content-Type": "text/html"}), {}, "HTML page"),
        (Route(b"busy", fail_first=9), {"corpus.retries": 1}, "HTTP 503"),
        (Route(b"To be, or not to be\n" * 500, cut=True), {"corpus.retries": 1},
         "ended after 5,000 of 10,000 bytes (the connection was cut); raise corpus.retries"),
        (Route(b"To be, or not to be\n" * 500, cut=True, chunked=True), {"corpus.retries": 0},
         "ended before the end of its chunked body (the connection was cut)"),
        (Route(b"\n\n<head><title>Oops</title></head>"), {}, "returned an HTML page"),
    ],
    ids=["404", "timeout", "too-large", "sha256-mismatch", "binary", "gzip", "empty", "html", "server-error",
         "truncated", "truncated-chunked", "html-blank-line-head"],
)
def test_refusals_are_one_line_and_keep_the_previous_corpus(http_server, tmp_path, route, overrides, message):
    http_server.routes["/good.txt"] = Route(b"a good old corpus\n")
    write_params(tmp_path, {"corpus.source": http_server.url("/good.txt"), "corpus.sha256": ""})
    assert run_stage("download", tmp_path).returncode == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "data/raw").iterdir()}

    http_server.routes["/bad.txt"] = route
    write_params(tmp_path, {"corpus.source": http_server.url("/bad.txt"), "corpus.sha256": "", **overrides})
    result = run_stage("download", tmp_path)

    assert result.returncode != 0 and one_error_line(result.stderr, message), result.stderr
    after = {p.name: p.read_bytes() for p in (tmp_path / "data/raw").iterdir()}
    assert after == before  # same files, same bytes: no temp file left, nothing half-written


def test_a_complete_chunked_body_is_accepted(http_server, tmp_path):
    http_server.routes["/chunked.txt"] = Route(b"To be, or not to be\n" * 500, chunked=True)
    assert fetch(corpus(http_server.url("/chunked.txt")), tmp_path)[0] == "To be, or not to be\n" * 500


def test_server_errors_are_retried(http_server, tmp_path):
    http_server.routes["/flaky.txt"] = Route(b"worth the wait\n", fail_first=2)
    text, _ = fetch(corpus(http_server.url("/flaky.txt"), retries=2), tmp_path)
    assert text == "worth the wait\n" and http_server.routes["/flaky.txt"].hits == 3


@pytest.mark.parametrize("max_seconds", [0.5, 1.2], ids=["in-the-status-line", "in-the-headers"])
def test_headers_dripping_a_byte_at_a_time_are_cut_off_at_max_seconds(http_server, tmp_path, max_seconds):
    """http.client reads the status line and headers itself: a server sending them a byte every 50 ms
    never trips the per-read timeout, and must not outlast max_seconds either, wherever it is cut (a
    response cut in its headers looks whole and empty)."""
    http_server.routes["/slow-headers.txt"] = Route(b"", header_drip=0.05)  # 42 bytes: 2.1 s
    message = refused(corpus(http_server.url("/slow-headers.txt"), timeout=5, max_seconds=max_seconds,
                             retries=2),
                      tmp_path,
                      rf"took over corpus.max_seconds={max_seconds:g} s \(0 bytes so far\): the server is too"
                      " slow")
    assert "/slow-headers.txt" in message


def test_a_dripping_server_is_cut_off_at_max_seconds(http_server, tmp_path):
    """A byte every 50 ms never trips the per-read timeout; the whole download is bounded all the same.
    Unbounded, this body would take 1,000 s."""
    http_server.routes["/drip.txt"] = Route(b"x" * 20_000, drip=0.05)
    started = time.monotonic()
    message = refused(corpus(http_server.url("/drip.txt"), timeout=5, max_seconds=1, retries=3), tmp_path,
                      r"took over corpus.max_seconds=1 s \([\d,]+ bytes so far\): the server is too slow")
    assert "/drip.txt" in message
    # the deadline and one read's timeout, not the body's 1,000 s
    assert time.monotonic() - started < 1 + 5 + 60


def test_redirects_are_followed_within_http(http_server, tmp_path):
    http_server.routes["/moved.txt"] = Route(b"", 301, headers={"Location": "/book.txt"})
    http_server.routes["/book.txt"] = Route(b"Here now.\n")
    assert fetch(corpus(http_server.url("/moved.txt")), tmp_path)[0] == "Here now.\n"


class Listener:
    """A TCP port on loopback that records whether anything connected (an FTP server would answer)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connected = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.accept, daemon=True)
        self.thread.start()

    def accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connected.set()
            conn.sendall(b"220 ready\r\n")
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.sock.close()


@pytest.mark.parametrize("scheme", ["ftp", "file"])
def test_a_redirect_out_of_http_is_refused_before_it_is_followed(http_server, tmp_path, scheme):
    """Security: an http(s) source cannot lead the download to another protocol (an FTP server, a local
    file)."""
    listener = Listener()
    target = f"ftp://127.0.0.1:{listener.port}/book.txt" if scheme == "ftp" else "file:///etc/passwd"
    http_server.routes["/away.txt"] = Route(b"", 302, headers={"Location": target})
    try:
        message = refused(corpus(http_server.url("/away.txt"), retries=0), tmp_path,
                          "redirects to .*: only http\\(s\\) addresses are followed")
    finally:
        listener.close()
    assert target in message and not listener.connected.is_set()


def test_a_redirect_to_a_broken_url_is_one_line(http_server, tmp_path):
    http_server.routes["/broken.txt"] = Route(b"", 302, headers={"Location": "http://[::1/x"})
    refused(corpus(http_server.url("/broken.txt"), retries=0), tmp_path,
            re.escape("redirects to 'http://[::1/x', which is not a valid URL (Invalid IPv6 URL)"))


def test_a_content_length_that_is_no_number_is_read_to_the_end(http_server, tmp_path):
    http_server.routes["/odd.txt"] = Route(b"Odd but whole.\n", headers={"Content-Length": "abc"})
    # the server's header replaces the real length: the body ends when the server closes
    assert fetch(corpus(http_server.url("/odd.txt"), retries=0), tmp_path)[0] == "Odd but whole.\n"


def test_a_redirect_loop_is_one_line(http_server, tmp_path):
    http_server.routes["/a.txt"] = Route(b"", 302, headers={"Location": "/b.txt"})
    http_server.routes["/b.txt"] = Route(b"", 302, headers={"Location": "/a.txt"})
    message = refused(corpus(http_server.url("/a.txt"), retries=0), tmp_path, "HTTP 302 redirects in a loop")
    assert "\n" not in message


@pytest.mark.parametrize("url, message", [
    ("http://127.0.0.1:port/x.txt", "is not a valid URL (Port could not be cast to integer value as 'port')"),
    ("http://[::1/x.txt", "is not a valid URL (Invalid IPv6 URL)"),
    ("http:///x.txt", "is not an http(s) URL with a host"),
    ("http://exa mple.org/x.txt", "is not a valid host name"),
    ("http://.../x.txt", "'...' is not a valid host name"),
    ("http://a..b/x.txt", "'a..b' is not a valid host name"),
    (f"http://{'a' * 64}.org/x.txt", "is not a valid host name"),
], ids=["port", "bracket", "no-host", "space-in-host", "dots", "empty-label", "long-label"])
def test_malformed_urls_are_one_line(tmp_path, url, message):
    refused(corpus(url), tmp_path, re.escape(message))


def test_non_ascii_paths_are_fetched(http_server, tmp_path):
    http_server.routes["/M%C3%A4rchen%20eins.txt"] = Route(b"Es war einmal.\n")
    assert fetch(corpus(http_server.url("/Märchen eins.txt")), tmp_path)[0] == "Es war einmal.\n"


def test_the_user_agent_names_the_installed_version():
    assert user_agent() == f"charlm/{version('charlm')}"


def test_unreachable_server_is_a_clear_error(tmp_path):
    # port 9 (discard): nothing listens
    refused(corpus("http://127.0.0.1:9/nothing.txt", timeout=2, retries=0), tmp_path, "cannot reach")


def test_a_local_file_outside_the_books_folder_is_refused(tmp_path):
    (tmp_path / "books").mkdir()
    (tmp_path / "elsewhere.txt").write_text("text outside\n")
    refused(corpus(str(tmp_path / "elsewhere.txt")), tmp_path, "a book must lie in",
            books=tmp_path / "books")


@pytest.mark.parametrize("link", ["file", "folder"])
def test_a_link_out_of_the_books_folder_is_refused(tmp_path, link):
    """Security: `ln -s /etc/passwd data/books/p.txt` (or a linked folder) does not make it a corpus."""
    books, secret = tmp_path / "books", tmp_path / "secret"
    books.mkdir()
    secret.mkdir()
    (secret / "passwd").write_text("root:x:0:0\n")
    if link == "file":
        os.symlink(secret / "passwd", books / "p.txt")
        source = books / "p.txt"
    else:
        os.symlink(secret, books / "linked")
        source = books / "linked/passwd"
    message = refused(corpus(str(source)), tmp_path, "a book must lie in", books=books)
    assert f"(a link to {secret / 'passwd'})" in message


def test_a_link_inside_the_books_folder_is_followed(tmp_path):
    books = tmp_path / "books"
    books.mkdir()
    (books / "real.txt").write_text("Inside.\n")
    os.symlink(books / "real.txt", books / "alias.txt")
    assert fetch(corpus(str(books / "alias.txt")), tmp_path)[0] == "Inside.\n"


def test_a_folder_a_pipe_or_a_missing_file_is_named_as_such(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    refused(corpus(str(tmp_path / "pipe")), tmp_path, "is not a regular file \\(a device, pipe or socket\\)")
    (tmp_path / "shelf").mkdir()
    refused(corpus(str(tmp_path / "shelf")), tmp_path, "is a directory: name a file in it")
    refused(corpus(str(tmp_path / "missing.txt")), tmp_path, "does not exist")


def test_the_same_text_twice_is_refused(http_server, tmp_path):
    """It would put the validation text into the training text too."""
    (tmp_path / "a.txt").write_text("Once.\n")
    refused(corpus([str(tmp_path / "a.txt"), str(tmp_path / "./a.txt")]), tmp_path, "lists .* twice")
    http_server.routes["/a.txt"] = Route(b"Once.\n")
    url = http_server.url("/a.txt")
    refused(corpus([url, url]), tmp_path, "lists .* twice")


@pytest.mark.parametrize("alias", ["copy", "hard-link", "other-host-name"])
def test_the_same_text_under_another_name_is_refused(http_server, tmp_path, alias):
    """A copy, a hard link, or localhost for 127.0.0.1: the bytes are compared, not the names."""
    (tmp_path / "a.txt").write_text("Once upon a time.\n")
    if alias == "copy":
        (tmp_path / "b.txt").write_text("Once upon a time.\n")
        sources = [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]
    elif alias == "hard-link":
        os.link(tmp_path / "a.txt", tmp_path / "b.txt")
        sources = [str(tmp_path / "a.txt"), str(tmp_path / "b.txt")]
    else:
        http_server.routes["/a.txt"] = Route(b"Once upon a time.\n")
        url = http_server.url("/a.txt")
        sources = [url, url.replace("127.0.0.1", "localhost")]
    refused(corpus(sources, retries=0), tmp_path, "lists the same text twice: .* have the same bytes")


def test_the_stage_reads_books_from_data_books_only(tmp_path):
    (tmp_path / "data/books").mkdir(parents=True)
    (tmp_path / "notes.txt").write_text("private notes\n")
    os.symlink(tmp_path / "notes.txt", tmp_path / "data/books/notes.txt")
    write_params(tmp_path, {"corpus.source": "data/books/notes.txt", "corpus.sha256": ""})
    result = run_stage("download", tmp_path)
    assert result.returncode == 1 and one_error_line(result.stderr, "a book must lie in data/books/")
    assert "private notes" not in result.stdout + result.stderr and not (tmp_path / "data/raw").exists()


def test_the_books_folder_itself_a_link_is_refused(tmp_path):
    """Security: `ln -s ../../outside data/books` (git can commit a link) does not make the files it
    reaches corpora: every folder on the way to the book is checked, the books folder included."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "s.txt").write_text("private notes\n")
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    os.symlink(outside, project / "data/books")
    write_params(project, {"corpus.source": "data/books/s.txt", "corpus.sha256": ""})
    result = run_stage("download", project)
    assert result.returncode == 1 and one_error_line(result.stderr, "data/books is a link")
    assert "private notes" not in result.stdout + result.stderr and not (project / "data/raw").exists()


def test_a_linked_folder_above_the_books_folder_is_refused(tmp_path):
    (tmp_path / "real/books").mkdir(parents=True)
    (tmp_path / "real/books/s.txt").write_text("Text.\n")
    os.symlink(tmp_path / "real", tmp_path / "alias")
    books = tmp_path / "alias/books"
    refused(corpus(str(books / "s.txt")), tmp_path, f"{tmp_path / 'alias'} is a link", books=books)
