"""What guichet's own ASGI middleware around the whole app have in common."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from http import HTTPStatus
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils import normalize_path

from app.errors import PROBLEM_JSON, problem_body


class HttpMiddleware(ABC):
    """An ASGI middleware that acts on HTTP requests only, in `handle`; anything else (a
    websocket, the lifespan) goes straight through to `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    @abstractmethod
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the HTTP request of `scope`, calling `app` as it sees fit."""


SOCKETS = "/ws/"  # where the live endpoints are: websockets only


def under_sockets(path: str) -> bool:
    """Whether `path` (decoded) leads to a live endpoint as Litestar routes it, slashes
    doubled or not: ASGI route handlers that its router cannot route HTTP to (it fails on
    the method, a 500), so that what routes HTTP asks this first."""
    return f"{normalize_path(path)}/".startswith(SOCKETS)


async def send_problem(
    send: Send,
    status: HTTPStatus,
    detail: str,
    headers: tuple[tuple[bytes, bytes], ...] = (),
    *,
    answer: str = "http.response",
) -> None:
    """Answer with a problem document (RFC 9457) from a middleware, before Litestar; a
    websocket's handshake refused with `answer="websocket.http.response"` (the ASGI
    server's extension of that name)."""
    body = json.dumps(problem_body(status, detail)).encode()
    start: Any = {
        "type": f"{answer}.start",
        "status": status,
        "headers": [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
            *headers,
        ],
    }
    await send(start)
    end: Any = {"type": f"{answer}.body", "body": body, "more_body": False}
    await send(end)
