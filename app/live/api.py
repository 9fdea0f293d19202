"""Live endpoints: the lobby screens' and the phones' websockets, and the display state."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Controller, WebSocket, get, websocket
from litestar.di import NamedDependency
from litestar.response import File
from sqlalchemy.ext.asyncio import AsyncSession

from app.booking.schemas import Token
from app.live.hub import Hub, display_body
from app.queue import service as queue
from app.sites.schemas import Slug
from app.sites.service import get_site


def hub_of(socket: WebSocket[Any, Any, Any]) -> Hub:
    hub: Hub = socket.app.state.hub
    return hub


DISPLAY_DIR = Path(__file__).resolve().parents[2] / "display"


class LiveController(Controller):
    tags = ["live"]

    @get("/display/{slug:str}", include_in_schema=False, media_type="text/html")
    async def display_page(self, slug: Slug, session: NamedDependency[AsyncSession]) -> File:
        """The lobby screen of a mairie (a static page that talks to the websocket)."""
        await get_site(session, slug)
        return File(DISPLAY_DIR / "index.html", content_disposition_type="inline")

    @get("/api/v1/sites/{slug:str}/display", summary="What the lobby screens show")
    async def display(
        self, slug: Slug, session: NamedDependency[AsyncSession], now: NamedDependency[datetime]
    ) -> dict[str, Any]:
        site = await get_site(session, slug)
        state = await queue.display(session, site, now)
        return display_body(state, ZoneInfo(site.timezone))

    @websocket("/ws/sites/{slug:str}/display")
    async def display_socket(self, socket: WebSocket[Any, Any, Any], slug: Slug) -> None:
        await hub_of(socket).serve_display(socket, slug)

    @websocket("/ws/tickets/{token:str}")
    async def ticket_socket(self, socket: WebSocket[Any, Any, Any], token: Token) -> None:
        await hub_of(socket).serve_ticket(socket, token)
