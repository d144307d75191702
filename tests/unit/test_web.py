"""HTTP as the download uses it: URLs checked for the wire, and connections cut at a deadline (the
downloads themselves: test_fetch.py)."""

from __future__ import annotations

import socket
import time

import pytest

from charlm.errors import CharlmError
from charlm.text.web import Deadline, checked_url


def test_spaces_and_non_ascii_in_urls_are_encoded():
    assert checked_url("http://127.0.0.1:8/a book.txt") == "http://127.0.0.1:8/a%20book.txt"
    assert (checked_url("https://bücher.example/Märchen.txt")
            == "https://xn--bcher-kva.example/M%C3%A4rchen.txt")
    assert checked_url("http://x.org/a%20b.txt?q=1#frag") == "http://x.org/a%20b.txt?q=1"



@pytest.mark.parametrize("url", ["http://.../x", "http://a..b/x", "http://[::1/x",
                                 f"http://{'a' * 64}.org/x", f"http://{'a.' * 127}org/x"])
def test_hosts_that_name_no_machine_are_one_line(url):
    with pytest.raises(CharlmError, match="is not a valid (host name|URL)"):
        checked_url(url)


def test_a_connection_waiting_past_the_deadline_is_cut():
    """A read that would wait forever (no byte comes) ends when the deadline passes."""
    ours, theirs = socket.socketpair()
    try:
        with Deadline(time.monotonic() + 0.2) as deadline:
            deadline.watch(ours)
            assert ours.recv(1) == b""  # returns only once the deadline shut the socket down
            assert deadline.expired
    finally:
        ours.close()
        theirs.close()


def test_a_connection_registered_after_the_deadline_is_cut_at_once():
    ours, theirs = socket.socketpair()
    try:
        with Deadline(time.monotonic() - 1) as deadline:
            while not deadline.expired:  # the timer thread runs at once; wait for its event
                deadline.timer.join()
            deadline.watch(ours)
            assert ours.recv(1) == b""
    finally:
        ours.close()
        theirs.close()
