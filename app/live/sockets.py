"""A websocket over plain ASGI: what the hub needs and nothing more.

The live endpoints are ASGI route handlers rather than Litestar websocket handlers, so
that each of the thousand messages a call may send goes to the server with no layer in
between (Litestar's websocket wrappers cost more than the write itself at that rate).
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol, cast

from litestar.exceptions import WebSocketDisconnect
from litestar.types import (
    Receive,
    Scope,
    Send,
    WebSocketAcceptEvent,
    WebSocketCloseEvent,
    WebSocketSendEvent,
)

from app.web.middleware import HttpMiddleware, send_problem, under_sockets


@dataclass
class Client:
    host: str


class LiveSocket(Protocol):
    """What the hub uses of a websocket."""

    client: Client | None

    async def accept(self) -> None: ...

    async def send_text(self, text: str) -> None: ...

    async def receive_data(self, mode: str = "text") -> str | bytes: ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...


class RawSocket:
    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        self._receive = receive
        self._send = send
        address = scope.get("client")
        self.client = Client(address[0]) if address else None
        self.accepted = False

    @property
    def path_params(self) -> dict[str, Any]:
        params: dict[str, Any] = self.scope.get("path_params", {})
        return params

    async def accept(self) -> None:
        message = await self._receive()
        if message["type"] != "websocket.connect":
            raise WebSocketDisconnect(detail="the client left before the handshake")
        await self._send(cast("WebSocketAcceptEvent", {"type": "websocket.accept"}))
        self.accepted = True

    async def send_text(self, text: str) -> None:
        await self._send(cast("WebSocketSendEvent", {"type": "websocket.send", "text": text}))

    async def receive_data(self, mode: str = "text") -> str | bytes:
        message = await self._receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(detail="disconnected", code=message.get("code", 1000))
        data: str | bytes = message.get("text") or message.get("bytes") or ""  # type: ignore[assignment]
        return data

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if not self.accepted:
            # Refused before the handshake: the server answers 403.
            await self._receive()
        event = {"type": "websocket.close", "code": code, "reason": reason}
        await self._send(cast("WebSocketCloseEvent", event))


class SocketsOnly(HttpMiddleware):
    """A plain HTTP request to a live endpoint's address gets 426, saying to upgrade to a
    websocket, before Litestar's router is asked (`under_sockets`)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not under_sockets(scope["path"]):
            await self.app(scope, receive, send)
            return
        await send_problem(
            send,
            HTTPStatus.UPGRADE_REQUIRED,
            "This address takes websocket connections only.",
            ((b"upgrade", b"websocket"), (b"connection", b"Upgrade")),
        )
