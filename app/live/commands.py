"""A mairie's lobby screens: a manager pairs one (its address, with its key, is shown
once), lists them and revokes them. Each change is written with its audit event in one
transaction; a revocation lets the screen go at once on every instance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import events
from app.accounts.actors import Actor
from app.accounts.service import other_site, site_to_run
from app.db import writing
from app.errors import Conflict, Invalid, NotFound
from app.i18n import formats, gettext, ngettext
from app.live import presence
from app.live.models import Screen
from app.live.screens import display_path, key_digest, new_key
from app.sites.models import Site

MAX_LABEL = 60
MAX_SCREENS_PER_SITE = 50


@dataclass(frozen=True)
class Paired:
    """A screen just paired, and its address with its key: shown once, never kept."""

    screen: Screen
    key: str
    path: str


def clean_label(value: str) -> str:
    """One line of printable text, spaces folded, 1 to MAX_LABEL characters."""
    text = " ".join(value.split())
    if not text:
        raise Invalid.one(
            "label",
            "Name the screen (where it is, for instance).",
            gettext("Indiquez un nom pour l'écran, par exemple l'endroit où il se trouve."),
        )
    if len(text) > MAX_LABEL or not text.isprintable():
        raise Invalid.one(
            "label",
            f"Write at most {MAX_LABEL} printable characters.",
            ngettext(
                "Écrivez au plus %(num)d caractère lisible.",
                "Écrivez au plus %(num)d caractères lisibles.",
                MAX_LABEL,
            ),
        )
    return text


async def screens_of(session: AsyncSession, site: Site) -> list[Screen]:
    """The site's paired screens that are not revoked, in the order they were paired."""
    query = select(Screen).where(Screen.site_id == site.id, Screen.revoked_at.is_(None))
    return list(await session.scalars(query.order_by(Screen.created_at, Screen.id)))


def is_connected(screen: Screen, now: datetime) -> bool:
    """Whether the screen was connected lately (its instance reports every few seconds)."""
    return (
        screen.revoked_at is None
        and screen.last_seen is not None
        and screen.last_seen > now - presence.FRESH_FOR
    )


async def screen_rows(session: AsyncSession, site: Site, now: datetime) -> list[dict[str, Any]]:
    """The site's screens as the administration page lists them, in the page's language."""
    zone = ZoneInfo(site.timezone)
    rows = []
    for screen in await screens_of(session, site):
        if is_connected(screen, now):
            state = gettext("Connecté")
        elif screen.last_seen is not None:
            seen = formats.moment(screen.last_seen.astimezone(zone))
            state = gettext("Vu pour la dernière fois le %(moment)s", moment=seen)
        else:
            state = gettext("Jamais connecté")
        rows.append(
            {
                "id": screen.id,
                "label": screen.label,
                "created": formats.moment(screen.created_at.astimezone(zone)),
                "state": state,
            }
        )
    return rows


async def pair(
    session: AsyncSession, actor: Actor, slug: str, *, label: str, now: datetime
) -> Paired:
    """A new screen for the site at `slug`, with a new random key."""
    clean = clean_label(label)
    key = new_key()
    async with writing(session):
        site = await site_to_run(session, actor, slug)
        active = await session.scalar(
            select(func.count(Screen.id)).where(
                Screen.site_id == site.id, Screen.revoked_at.is_(None)
            )
        )
        if (active or 0) >= MAX_SCREENS_PER_SITE:
            raise Conflict(
                f"{site.name} already has {MAX_SCREENS_PER_SITE} screens: revoke one first.",
                code="too_many_screens",
            )
        screen = Screen(site_id=site.id, label=clean, key_digest=key_digest(key), created_at=now)
        session.add(screen)
        await session.flush()
        target = f"screen:{screen.id}"
        await events.administered(
            session, actor.agent_id, now, "screen.paired", target, (site.id,), label=clean
        )
        return Paired(screen, key, display_path(site.slug, key))


async def revoke(
    session: AsyncSession, actor: Actor, slug: str, screen_id: int, *, now: datetime
) -> None:
    """The screen's key no longer works: its display is let go at once and no longer
    counted. Revoking a revoked screen changes nothing."""
    async with writing(session):
        site = await site_to_run(session, actor, slug)
        screen = await session.get(Screen, screen_id)
        if screen is None:
            raise NotFound(f"{site.name} has no screen with the id {screen_id}.")
        if screen.site_id != site.id:
            raise other_site(site, "screen")
        if screen.revoked_at is not None:
            return
        screen.revoked_at = now
        revoked = events.ScreenRevoked(
            at=now,
            site_id=site.id,
            screen_id=screen.id,
            label=screen.label,
            agent_id=actor.agent_id,
        )
        await events.record(session, revoked)
