"""A mairie's lobby screens over HTTP: pair one, list them, revoke one (manager)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import msgspec
from litestar import delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter

from app.accounts.guards import Caller
from app.live import commands as service
from app.live.models import Screen
from app.problems import problem_responses
from app.sites.api_common import SiteAdministration, SiteCaller
from app.sites.schemas import Slug

ScreenId = Annotated[int, PathParameter(ge=1, le=2**31 - 1, description="The screen's id")]


class ScreenOut(msgspec.Struct, kw_only=True):
    id: int
    label: str
    created_at: datetime
    last_seen: datetime | None
    connected: bool


class PairedOut(ScreenOut, kw_only=True):
    """The screen just paired. `display_url` holds its key: open it on the screen. It is
    shown this once; lost, revoke the screen and pair it again."""

    key: str
    display_url: str


class ScreenIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    label: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            max_length=service.MAX_LABEL,
            description="Where the screen is",
            examples=["Salle d'attente, rez-de-chaussée"],
        ),
    ]


def screen_out(screen: Screen, zone: ZoneInfo, now: datetime) -> ScreenOut:
    return ScreenOut(
        id=screen.id,
        label=screen.label,
        created_at=screen.created_at.astimezone(zone),
        last_seen=screen.last_seen.astimezone(zone) if screen.last_seen else None,
        connected=service.is_connected(screen, now),
    )


class ScreensAdminController(SiteAdministration):
    path = "/api/v1/admin/sites/{slug:str}/screens"

    @get("/", summary="The mairie's paired lobby screens")
    async def list_screens(self, site_caller: NamedDependency[SiteCaller]) -> list[ScreenOut]:
        screens = await service.screens_of(site_caller.session, site_caller.site)
        return [screen_out(screen, site_caller.tz, site_caller.now) for screen in screens]

    @post(
        "/",
        summary="Pair a lobby screen: its address, with its key, is shown this once",
        description="Only paired screens are counted as connected screens. A display "
        "opened without a key still shows the public queue, uncounted.",
        responses=problem_responses(409),
    )
    async def pair_screen(
        self,
        slug: Slug,
        data: JSONBody[ScreenIn],
        caller: NamedDependency[Caller],
    ) -> PairedOut:
        now = caller.now
        paired = await service.pair(caller.session, caller.actor, slug, label=data.label, now=now)
        shown = screen_out(paired.screen, caller.context.zone, now)
        return PairedOut(
            **msgspec.structs.asdict(shown),
            key=paired.key,
            display_url=f"{caller.settings.base_url}{paired.path}",
        )

    @delete(
        "/{screen_id:int}",
        summary="Revoke a screen: its key stops working at once and it is no longer counted",
    )
    async def revoke_screen(
        self,
        slug: Slug,
        screen_id: ScreenId,
        caller: NamedDependency[Caller],
    ) -> None:
        await service.revoke(caller.session, caller.actor, slug, screen_id, now=caller.now)
