"""A real HTTP server on loopback that the test starts and stops, with fixed routes that can fail,
stall, drip or cut a body as real servers do."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/plain; charset=utf-8"})
    stall: bool = False  # send the headers, then nothing until the server shuts down (a hung server)
    cut: bool = False  # announce the whole body (Content-Length, or a chunk of its size), send half, close
    chunked: bool = False  # Transfer-Encoding: chunked instead of Content-Length
    fail_first: int = 0  # answer the first N requests with 503, as an overloaded server would
    # send the body a byte at a time, one every `drip` seconds (a server too slow to wait for)
    drip: float = 0.0
    header_drip: float = 0.0  # the same for the status line and headers, before any body
    hits: int = 0


class LoopbackServer:
    """A real HTTP server on 127.0.0.1 serving fixed routes; started and stopped by the test."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.release = threading.Event()  # set at shutdown: stalled and dripping responses end then
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                route = server.routes.get(self.path, Route(b"not found", 404))
                route.hits += 1
                if route.header_drip:
                    server.drip(self, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", route.header_drip)
                    return
                if route.hits <= route.fail_first:
                    self.send_error(503, "Service Unavailable")
                    return
                self.send_response(route.status)
                for k, v in route.headers.items():
                    self.send_header(k, v)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client went away
                    server.send_body(self, route)

            def log_message(self, *args: object) -> None:
                pass

        return Handler

    def drip(self, handler: BaseHTTPRequestHandler, data: bytes, pause: float) -> None:
        """`data` a byte every `pause` seconds, until it is all sent or the server shuts down."""
        for i in range(len(data)):
            if self.release.wait(pause):
                return
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                handler.wfile.write(data[i : i + 1])
                handler.wfile.flush()

    def send_body(self, handler: BaseHTTPRequestHandler, route: Route) -> None:
        body = route.body[: len(route.body) // 2] if route.cut else route.body
        if route.chunked:
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            handler.wfile.write(f"{len(route.body):x}\r\n".encode() + body)
            if not route.cut:
                handler.wfile.write(b"\r\n0\r\n\r\n")
            return
        handler.send_header("Content-Length", str(len(route.body)))
        handler.end_headers()
        if route.stall:
            self.release.wait()
        if route.drip:
            self.drip(handler, body, route.drip)  # the pace of a slow server, until the test ends
            return
        handler.wfile.write(body)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"


@contextmanager
def serve(routes: dict[str, Route] | None = None) -> Iterator[LoopbackServer]:
    """A loopback server for the duration of the block."""
    server = LoopbackServer()
    server.routes.update(routes or {})
    server.thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.httpd.shutdown()
        server.httpd.server_close()
