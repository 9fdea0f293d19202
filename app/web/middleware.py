"""What guichet's own ASGI middleware around the whole app have in common."""

from __future__ import annotations

from abc import ABC, abstractmethod

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send


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
