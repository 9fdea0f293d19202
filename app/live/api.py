"""Live endpoints: the lobby screens' and the phones' websockets, and the display state."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from litestar import Controller, asgi, get
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.response import Template
from litestar.types import Receive, Scope, Send

from app.errors import DomainError
from app.live import lobby
from app.live.hub import Hub, display_body
from app.live.screens import KEY_PARAMETER, well_formed, with_opening
from app.live.sockets import RawSocket
from app.queue import views as queue
from app.sites.schemas import Slug
from app.sites.service import get_site
from app.throttle import LOOKS_UP
from app.web.context import Context
from app.web.public import on_page_error

log = logging.getLogger("guichet.live")


def hub_of(scope: Scope) -> Hub:
    hub: Hub = scope["app"].state.hub
    return hub


class LiveController(Controller):
    tags = ["live"]

    @get(
        "/display/{slug:str}",
        include_in_schema=False,
        media_type="text/html",
        exception_handlers={DomainError: on_page_error, HTTPException: on_page_error},
    )
    async def display_page(self, slug: Slug, context: NamedDependency[Context]) -> Template:
        """The lobby screen of a mairie (a page whose script talks to the websocket), in the
        language of its address (`?lang=en`) or as for every page; an unknown mairie is a
        page saying so, as for every address a person opens."""
        site = await get_site(context.session, slug)
        return Template("display.html", context={"site": site, "words": lobby.words()})

    @get("/api/v1/sites/{slug:str}/display", summary="What the lobby screens show")
    async def display(self, slug: Slug, context: NamedDependency[Context]) -> dict[str, Any]:
        site = await get_site(context.session, slug)
        state = await queue.display(context.session, site, context.now)
        body = display_body(state, ZoneInfo(site.timezone))
        return await with_opening(context.session, site, context.now, body)


def _given_key(scope: Scope) -> str | None:
    """What the address gives as the screen's key, `?ecran=<key>`, well formed or not."""
    raw = scope.get("query_string", b"")
    values = parse_qs(raw.decode("latin-1")).get(KEY_PARAMETER) if len(raw) <= 1024 else ["?"]
    return values[0] if values else None


def screen_key(scope: Scope) -> str | None:
    """The paired screen's key, `?ecran=<key>`; None without one, or with one that cannot
    be ours (a mangled address: the display shows the public queue, uncounted, and says
    its address is wrong). A well-formed key that is not paired is refused by the hub."""
    given = _given_key(scope)
    if given is None:
        return None
    if not well_formed(given):
        # Neither the key nor the address: a key is a secret, an address a person's.
        log.warning("a lobby display came with a malformed screen key: shown uncounted")
        return None
    return given


def looks_up_a_key(scope: Scope) -> bool:
    """Whether the hub will look up this display's key (`screen_key`, without its warning):
    the lookup counts against the address's budget of unknown links (`rate_limits`)."""
    given = _given_key(scope)
    return given is not None and well_formed(given)


@asgi("/ws/sites/{slug:str}/display", copy_scope=False, opt={LOOKS_UP: looks_up_a_key})
async def display_socket(scope: Scope, receive: Receive, send: Send) -> None:
    """WS: a snapshot of the lobby screen's state, then one message per change. A paired
    screen adds its key (`?ecran=<key>`, from its own address) and is counted as a screen;
    a revoked or unknown key is closed with 4403, and counts as an unknown link."""
    socket = RawSocket(scope, receive, send)
    slug = str(socket.path_params.get("slug", ""))
    await hub_of(scope).serve_display(socket, slug, screen_key(scope))


@asgi("/ws/tickets/{token:str}", copy_scope=False)
async def ticket_socket(scope: Scope, receive: Receive, send: Send) -> None:
    """WS: an usager's ticket, on every change of its position, estimate or status."""
    socket = RawSocket(scope, receive, send)
    token = str(socket.path_params.get("token", ""))[:128]
    await hub_of(scope).serve_ticket(socket, token)
