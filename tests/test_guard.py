"""The explorer's front door (charlm.guard): what it refuses, as a rule and on the served page."""

from __future__ import annotations

import http.client
import urllib.parse

import pytest

from charlm.guard import MAX_BODY, refusal


def scope(path: str = "/", method: str = "GET", kind: str = "http", **headers: str) -> dict:
    headers = {"host": "127.0.0.1:7860", **headers}
    raw = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return {"type": kind, "path": path, "method": method, "headers": raw}


@pytest.mark.parametrize("request_scope, status", [
    (scope(), None),
    (scope(host="localhost:7860"), None),
    (scope(host="[::1]:7860"), None),
    (scope(origin="http://127.0.0.1:7860", method="POST", content_length="10"), None),
    (scope(origin="null", method="POST", content_length="10"), None),
    (scope(host="attacker.example"), 421),
    (scope(host="127.0.0.1.attacker.example:7860"), 421),
    (scope(host="[::1"), 421),
    (scope(host=""), 421),
    (scope(origin="http://attacker.example"), 403),
    (scope(origin="http://localhost.attacker.example:7860"), 403),
    (scope("/gradio_api/upload", "POST", content_length="10"), 403),
    (scope("/upload/", "POST", content_length="10"), 403),
    (scope(method="POST"), 411),
    (scope(method="POST", content_length="abc"), 411),
    (scope(method="POST", content_length=str(MAX_BODY + 1)), 413),
    (scope(method="POST", content_length=str(MAX_BODY)), None),
    (scope(kind="websocket", origin="http://attacker.example"), 403),
], ids=["loopback", "localhost", "ipv6", "own-origin", "null-origin", "foreign-host", "suffix-host",
        "broken-host", "no-host", "foreign-origin", "suffix-origin", "upload", "upload-slash", "no-length",
        "bad-length", "huge-body", "largest-body", "websocket-origin"])
def test_only_requests_from_this_machine_s_own_page_are_answered(request_scope, status):
    refused = refusal(request_scope)
    assert (refused[0] if refused else None) == status


def answer(page: str, method: str = "GET", path: str = "/", headers: dict[str, str] | None = None,
           body: bytes | None = None) -> tuple[int, str]:
    """The page's status and body for one raw request over loopback."""
    address = urllib.parse.urlsplit(page)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


@pytest.mark.slow
@pytest.mark.parametrize("method, path, headers, body, status, message", [
    ("GET", "/", {"Host": "attacker.example"}, None, 421, "127.0.0.1 or localhost only"),
    ("GET", "/", {"Host": "attacker.example:7860"}, None, 421, "127.0.0.1 or localhost only"),
    ("POST", "/gradio_api/queue/join", {"Origin": "http://attacker.example"}, b"{}", 403,
     "its own page only"),
    ("POST", "/gradio_api/upload", {"Content-Type": "application/octet-stream"}, b"x" * 1000, 403,
     "takes no uploads"),
    ("POST", "/gradio_api/queue/join", {"Content-Type": "application/json"}, b" " * (300 * 1024), 413,
     "limited to 262,144 bytes"),
], ids=["foreign-host", "foreign-host-port", "foreign-origin", "upload", "huge-body"])
def test_the_page_answers_its_own_page_on_loopback_only(explorer_page, method, path, headers, body, status,
                                                        message):
    """Security: DNS rebinding (a foreign Host), another site's page (Origin), uploads and huge bodies
    are refused before Gradio reads them; the page itself still answers."""
    got, text = answer(explorer_page, method, path, headers, body)
    assert got == status and message in text
    assert answer(explorer_page)[0] == 200
    assert answer(explorer_page, headers={"Host": "localhost"})[0] == 200
