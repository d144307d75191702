"""HTTP as the download uses it: URLs checked before they go on the wire, redirects followed to
http(s) only, and every connection cut at a deadline.

A server can defeat a per-read timeout by sending a byte at a time: the body loop checks the clock,
but http.client reads the status line and headers itself, before any of our code runs. So each
connection opened under a `Deadline` is registered with it, and a timer shuts them all down when the
deadline passes; the read that was waiting then fails, and the caller reports the deadline.
"""

from __future__ import annotations

import contextlib
import http.client
import re
import socket
import threading
import time
import urllib.parse
import urllib.request
from typing import Any

from charlm.errors import CharlmError

WEB = ("http", "https")


def checked_url(url: str) -> str:
    """The URL as it goes on the wire (host IDNA-encoded, spaces and non-ASCII percent-encoded), or a
    CharlmError saying what is wrong with it: not http(s), no host, a bad port or bracket."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port  # a ValueError for a port that is no number or out of range
        host = parts.hostname
    except ValueError as e:
        raise CharlmError(f"{url!r} is not a valid URL ({e})") from None
    if parts.scheme not in WEB or not host:
        raise CharlmError(f"{url!r} is not an http(s) URL with a host")
    try:
        ascii_host = host if host.isascii() else host.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_host = ""
    if not (_valid_name(ascii_host) or re.fullmatch(r"[0-9A-Fa-f:.]+", ascii_host) and ":" in ascii_host):
        raise CharlmError(f"{url!r}: {host!r} is not a valid host name")
    host = ascii_host
    netloc = f"[{host}]" if ":" in host else host
    netloc += f":{port}" if port is not None else ""
    path = urllib.parse.quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    query = urllib.parse.quote(parts.query, safe="/%:@!$&'()*+,;=-._~?")
    return urllib.parse.urlunsplit((parts.scheme, netloc, path, query, ""))


def _valid_name(host: str) -> bool:
    """A DNS name (or IPv4 address): dot-separated labels of 1 to 63 letters, digits, hyphens or
    underscores, 253 characters at most (the IDNA codec would fail on an empty label later)."""
    labels = host.removesuffix(".").split(".")
    return len(host) <= 253 and all(re.fullmatch(r"[A-Za-z0-9_-]{1,63}", label) for label in labels)


class Deadline:
    """Shuts down every connection registered with it once `at` (time.monotonic) has passed."""

    def __init__(self, at: float) -> None:
        self.expired = False
        self.sockets: list[socket.socket] = []
        self.timer = threading.Timer(max(0.0, at - time.monotonic()), self._expire)
        self.timer.daemon = True

    def _expire(self) -> None:
        self.expired = True
        for sock in self.sockets:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)

    def watch(self, sock: socket.socket) -> None:
        self.sockets.append(sock)
        if self.expired:
            self._expire()

    def __enter__(self) -> Deadline:
        self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timer.cancel()


class _WatchedConnection:
    """A connection that registers its socket with a Deadline as soon as it connects."""

    def __init__(self, *args: Any, deadline: Deadline, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline = deadline

    def connect(self) -> None:
        super().connect()
        self.deadline.watch(self.sock)


class _Watched(_WatchedConnection, http.client.HTTPConnection):
    pass


class _WatchedTLS(_WatchedConnection, http.client.HTTPSConnection):
    pass


class _HTTP(urllib.request.HTTPHandler):
    def __init__(self, deadline: Deadline) -> None:
        super().__init__()
        self.deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(lambda *a, **kw: _Watched(*a, deadline=self.deadline, **kw), req)


class _HTTPS(urllib.request.HTTPSHandler):
    def __init__(self, deadline: Deadline) -> None:
        super().__init__()
        self.deadline = deadline

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(lambda *a, **kw: _WatchedTLS(*a, deadline=self.deadline, **kw), req,
                            context=self._context)


class _WebOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to another http(s) address, checked like the first (urllib alone would
    follow one to ftp://)."""

    def http_error_302(self, req, fp, code, msg, headers):
        location = headers.get("location") or headers.get("uri")
        try:
            target = urllib.parse.urljoin(req.full_url, location) if location else ""
            scheme = urllib.parse.urlsplit(target).scheme
        except ValueError as e:
            raise CharlmError(f"{req.full_url} redirects to {location!r}, which is not a valid URL"
                              f" ({e})") from None
        if target and scheme not in WEB:
            raise CharlmError(f"{req.full_url} redirects to {target}: only http(s) addresses are followed")
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return super().redirect_request(req, fp, code, msg, headers, checked_url(newurl))





def opener(deadline: Deadline) -> urllib.request.OpenerDirector:
    """urllib's opener with http(s)-only redirects and connections that end at `deadline`."""
    return urllib.request.build_opener(_WebOnlyRedirects, _HTTP(deadline), _HTTPS(deadline))
