"""The explorer's front door (charlm.app.guard): what it refuses, as a rule and on the served page."""

from __future__ import annotations

import pytest

from charlm.app.guard import MAX_BODY, refusal


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

