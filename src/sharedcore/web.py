"""What both HTTP services share: where they may listen (loopback, the port range, one bind), the
request-body limit, and the one JSON error body ``{"error": CODE, "message": ONE LINE, ...}``.

FastAPI/Starlette are imported only where a response is built, so the CLIs can check ``--host`` and
``--port`` without the serve extra installed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from sharedcore.errors import UserError
from sharedcore.validate import check_int

if TYPE_CHECKING:
    from starlette.responses import JSONResponse

PORT_MAX = 65535
#: ``--port 0``: the operating system picks a free port (the service prints the one it got).
FREE_PORT = 0

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class ServiceError(Exception):
    """A client mistake: HTTP ``status``, a short machine-readable ``code`` and a one-line message;
    ``extra`` are more fields of the JSON body (e.g. a batch's ``part`` and ``filename``)."""

    def __init__(self, status: int, code: str, message: str, extra: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, " ".join(message.split())
        self.extra = dict(extra or {})


def error_body(code: str, message: str, extra: dict[str, object] | None = None) -> dict[str, object]:
    """The JSON body of every error answer: ``{"error": code, "message": one line, **extra}``."""
    return {"error": code, "message": " ".join(str(message).split()), **(extra or {})}


def error_response(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    extra: dict[str, object] | None = None,
) -> JSONResponse:
    """An error answer with the one body shape (also an ASGI app, for middleware)."""
    from starlette.responses import JSONResponse

    return JSONResponse(error_body(code, message, extra), status_code=status, headers=headers)


def loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_port(port: int, option: str = "--port") -> int:
    """A TCP port 0..65535 (0: the operating system picks a free one); one-line UserError otherwise."""
    return check_int(port, option, FREE_PORT, PORT_MAX, fix="0 picks a free port")


def listen(host: str, port: int) -> socket.socket:
    """The listening socket of ``host:port`` (port checked; 0 = a free port, read it back with
    ``getsockname()``). UserError when it cannot be opened (in use, not an address of this machine,
    an unknown host name). Handing the socket to uvicorn leaves no gap between check and bind."""
    check_port(port)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        sock = socket.socket(infos[0][0], socket.SOCK_STREAM)
    except OSError as exc:
        raise UserError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port or --host"
        ) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(infos[0][4])
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise UserError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port or --host"
        ) from None
    sock.set_inheritable(True)
    return sock


def check_listen(host: str, port: int) -> None:
    """Raise the UserError of :func:`listen` without keeping the socket (for a check before loading)."""
    listen(host, port).close()


class BodyLimit:
    """Pure ASGI middleware: a request body over ``limit_for(path)`` bytes is answered 413 with the
    JSON error body, before the app runs when its Content-Length says so, else as soon as the streamed
    body passes the limit (a ServiceError raised from ``receive``, for the app's exception handler).
    A Content-Length that is not a number is answered 400 (a server's HTTP parser refuses it first; an
    in-process client does not). With ``require_length`` a body without Content-Length is answered 411.
    ``on_reject(code)`` is told
    of each answer given here (e.g. to count it)."""

    def __init__(
        self,
        app: Any,
        limit_for: Callable[[str], int],
        on_reject: Callable[[str], None] | None = None,
        require_length: bool = False,
    ) -> None:
        self.app, self.limit_for, self.on_reject = app, limit_for, on_reject
        self.require_length = require_length

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        length = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        refused: tuple[int, str, str] | None = None
        if length is not None and not length.isdigit():  # a server's parser refuses it; TestClient does not
            shown = length.decode("latin-1")[:40]
            refused = (
                400,
                "bad_length",
                f"Content-Length '{shown}' is not a number of bytes; send the body's length",
            )
        elif length is not None and int(length) > limit:
            refused = (
                413,
                "too_large",
                f"request body of {int(length):,} bytes is over the limit of {limit:,} bytes",
            )
        elif length is None and self.require_length and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            if any(k == b"transfer-encoding" for k, _ in scope["headers"]):
                refused = 411, "length_required", "send the request body with a Content-Length header"
        if refused is not None:
            if self.on_reject is not None:
                self.on_reject(refused[1])
            await error_response(*refused)(scope, receive, send)
            return
        seen = 0

        async def limited() -> MutableMapping[str, Any]:
            nonlocal seen
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > limit:
                    raise ServiceError(413, "too_large", f"request body is over the limit of {limit:,} bytes")
            return msg

        await self.app(scope, limited, send)
