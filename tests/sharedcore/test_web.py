"""sharedcore.web: the port range (0 = a free port), one bind, the error body, the body limit."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from sharedcore.errors import UserError
from sharedcore.web import BodyLimit, ServiceError, check_port, error_body, listen, loopback


def test_port_range_allows_zero_and_names_the_fix() -> None:
    assert check_port(0) == 0 and check_port(65535) == 65535
    for bad in (-1, 65536, 70000):
        with pytest.raises(
            UserError, match=rf"--port: {bad} is out of range; use an integer from 0 to 65535 \(0 picks"
        ):
            check_port(bad)


def test_listen_on_port_zero_gets_a_free_port_and_a_taken_port_is_one_line() -> None:
    sock = listen("127.0.0.1", 0)
    try:
        port = sock.getsockname()[1]
        assert 0 < port <= 65535
        with pytest.raises(
            UserError, match=rf"cannot listen on 127.0.0.1:{port} \(.*\); choose another --port"
        ):
            listen("127.0.0.1", port)
    finally:
        sock.close()
    with pytest.raises(UserError, match="cannot listen on no such host!:8000"):
        listen("no such host!", 8000)


def test_loopback() -> None:
    assert loopback("127.0.0.1") and loopback("127.9.9.9") and loopback("::1") and loopback("localhost")
    assert not loopback("0.0.0.0") and not loopback("10.1.2.3") and not loopback("example.org")


def test_error_body_is_one_line_with_extra_fields() -> None:
    assert error_body("bad", "two\n  lines", {"part": 3}) == {
        "error": "bad",
        "message": "two lines",
        "part": 3,
    }
    exc = ServiceError(413, "too_large", "a\nb", {"part": 1})
    assert (exc.status, exc.code, exc.message, exc.extra) == (413, "too_large", "a b", {"part": 1})


def _call(mw: BodyLimit, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    pending = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)
    ]

    async def receive() -> dict[str, Any]:
        return pending.pop(0)

    async def send(msg: Any) -> None:
        sent.append(msg)

    scope = {"type": "http", "method": "POST", "path": "/x", "headers": headers}
    asyncio.run(mw(scope, receive, send))
    return sent


async def _echo(scope: Any, receive: Any, send: Any) -> None:
    body = b""
    while True:
        msg = await receive()
        body += msg.get("body", b"")
        if not msg.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def test_body_limit_answers_413_on_content_length_and_raises_while_streaming() -> None:
    rejected: list[str] = []
    mw = BodyLimit(_echo, limit_for=lambda path: 10, on_reject=rejected.append)
    sent = _call(mw, [(b"content-length", b"11")], [b"x" * 11])
    assert sent[0]["status"] == 413 and rejected == ["too_large"]
    body = json.loads(sent[1]["body"])
    assert body == {"error": "too_large", "message": "request body of 11 bytes is over the limit of 10 bytes"}
    assert _call(mw, [(b"content-length", b"10")], [b"x" * 10])[1]["body"] == b"x" * 10
    with pytest.raises(ServiceError, match="over the limit of 10 bytes"):  # chunked: no length declared
        _call(mw, [], [b"x" * 6, b"x" * 6])
    strict = BodyLimit(_echo, limit_for=lambda path: 10, require_length=True)
    assert _call(strict, [(b"transfer-encoding", b"chunked")], [b"x"])[0]["status"] == 411


def test_body_limit_refuses_a_content_length_that_is_not_a_number() -> None:
    mw = BodyLimit(_echo, limit_for=lambda path: 10)
    sent = _call(mw, [(b"content-length", b"abc")], [b"{}"])
    assert sent[0]["status"] == 400
    assert json.loads(sent[1]["body"]) == {
        "error": "bad_length",
        "message": "Content-Length 'abc' is not a number of bytes; send the body's length",
    }
