"""The explorer's front door: requests it answers, and the ones it refuses before Gradio sees them.

The page is for the person at this machine. A loopback server is still reachable from a web page
in that person's browser: another site may post to it, or rebind its own name to 127.0.0.1 (DNS
rebinding). So the server answers only requests addressed to a loopback name (Host), sent from a
page of its own (Origin, when the browser names one), with a bounded body, and takes no uploads:
the explorer has no file to receive.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MAX_BODY = 256 * 1024  # bytes of a request: the longest text a panel accepts, JSON-escaped, fits many times

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[..., Awaitable[Any]], Callable[..., Awaitable[Any]]], Awaitable[None]]


def _host(value: str) -> str:
    """The host name of a Host header or an Origin (port and brackets removed), lower case."""
    netloc = urllib.parse.urlsplit(value).netloc if "://" in value else value
    try:
        return (urllib.parse.urlsplit(f"//{netloc}").hostname or "").lower()
    except ValueError:
        return ""


def refusal(scope: Scope) -> tuple[int, str] | None:
    """Why a request is refused (HTTP status, message), or None to answer it."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    if _host(headers.get("host", "")) not in LOOPBACK:
        return 421, "charlm explore answers requests to 127.0.0.1 or localhost only"
    origin = headers.get("origin")
    if origin not in (None, "null") and _host(origin) not in LOOPBACK:
        return 403, "charlm explore answers its own page only"
    if scope["path"].rstrip("/").endswith("/upload"):
        return 403, "charlm explore takes no uploads"
    if scope["type"] == "http" and scope.get("method") in ("POST", "PUT", "PATCH"):
        length = headers.get("content-length", "")
        if not length.isdigit():
            return 411, "a request body needs a Content-Length"
        if int(length) > MAX_BODY:
            return 413, f"a request body is limited to {MAX_BODY:,} bytes"
    return None


class LoopbackOnly:
    """ASGI middleware that answers only what `refusal` lets through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Callable[..., Awaitable[Any]],
                       send: Callable[..., Awaitable[Any]]) -> None:
        refused = refusal(scope) if scope["type"] in ("http", "websocket") else None
        if refused is None:
            return await self.app(scope, receive, send)
        status, message = refused
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008, "reason": message})
        body = message.encode("utf-8")
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
