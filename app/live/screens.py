"""Paired lobby screens: the key in a screen's address, and what the hub asks of it.

A manager pairs a screen: it gets a random key, shown once as the display's full address
(`/display/{slug}?ecran=<key>`), and only the key's digest is kept. The display passes
the key on to its websocket. Only connections with a key of the site that is not revoked
count as screens (presence, the staff's count, the metrics); a display without a key
still shows the public queue, uncounted; a revoked key is refused. A key that cannot be
one of ours (`well_formed`: other characters, too long) is a mangled address: that
display shows the public queue, uncounted, and its page says the address is wrong.

Also what the screens show of whether the mairie is open (`shown_at`): while it is
closed, no waiting estimate, but when it opens next; and what paired screens show more
(`with_arrival`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Collection
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database, among
from app.live.arrival import ArrivalQr
from app.live.models import Screen
from app.sites.models import Site
from app.sites.opening import Opening, estimate, opening_of, openings_of
from app.sites.service import get_site

KEY_PARAMETER = "ecran"
KEY_BYTES = 24  # 192 bits
LONGEST_KEY = 100  # anything longer is no key of ours
# The alphabet of our keys (URL-safe base64, `new_key` and `demo_key`).
_KEY_SHAPE = re.compile(rf"[A-Za-z0-9_-]{{1,{LONGEST_KEY}}}", re.ASCII)


def new_key() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


def key_digest(key: str) -> str:
    """Screens are found by the SHA-256 of their key; the key itself is never stored."""
    return hashlib.sha256(key.encode()).hexdigest()


def well_formed(key: str) -> bool:
    """Whether `key` may be one of ours: its alphabet and length (display.js checks the
    same before passing a key on)."""
    return _KEY_SHAPE.fullmatch(key) is not None


def display_path(slug: str, key: str) -> str:
    """The paired screen's address, from the site's root."""
    return f"/display/{quote(slug)}?{urlencode({KEY_PARAMETER: key})}"


async def paired(session: AsyncSession, site_id: int, key: str) -> Screen | None:
    """The screen of `site_id` whose key is `key`, unless it was revoked."""
    if not key or len(key) > LONGEST_KEY:
        return None
    screen = await session.scalar(select(Screen).where(Screen.key_digest == key_digest(key)))
    if screen is None or screen.site_id != site_id or screen.revoked_at is not None:
        return None
    return screen


async def display_of(db: Database, slug: str, key: str | None) -> tuple[Site, int | None]:
    """The site `slug` (404 when unknown) and the id of its screen paired by `key`, if
    any. Read in a session of its own that ends here: a session left in the websocket
    handler's frame would live as long as the connection, 23 objects more a connection
    for each full garbage collection to walk."""
    async with db.session() as session:
        site = await get_site(session, slug)
        screen = await paired(session, site.id, key) if key is not None else None
        return site, screen.id if screen is not None else None


async def openings_by_id(db: Database, site_ids: list[int], now: datetime) -> dict[int, Opening]:
    """Whether each of the sites `site_ids` is open at `now` (by id), read at once."""
    async with db.session() as session:
        found = list(await session.scalars(select(Site).where(among(session, Site.id, site_ids))))
        return await openings_of(session, found, now)


async def still_paired(session: AsyncSession, screen_ids: Collection[int]) -> set[int]:
    """Those of `screen_ids` that are not revoked."""
    if not screen_ids:
        return set()
    rows = Screen.__table__.c  # plain rows: a network's thousands, without the ORM's loading
    query = select(rows.id).where(among(session, rows.id, screen_ids), rows.revoked_at.is_(None))
    return set((await session.execute(query)).scalars())


async def seen(session: AsyncSession, screen_ids: Collection[int], now: datetime) -> None:
    """The screens in `screen_ids` are connected at `now`."""
    if screen_ids:
        where = among(session, Screen.id, screen_ids)
        # Nothing of the session to bring up to date: no key of each row to work out.
        sightings = update(Screen).where(where).values(last_seen=now)
        await session.execute(sightings.execution_options(synchronize_session=False))


DEMO_LABEL = "Écran de démonstration"


def demo_key(secret: str, slug: str) -> str:
    """The demo screen's key: the same at every load (derived from the secret key), so
    that restarting the demo leaves its open screen paired."""
    mac = hmac.new(secret.encode(), f"guichet demo screen {slug}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:KEY_BYTES]).decode().rstrip("=")


async def pair_demo_screen(
    session: AsyncSession, site_id: int, slug: str, secret: str, now: datetime
) -> str | None:
    """The demo's paired screen of the site, paired at the first load; its key, or None
    once a manager has revoked it."""
    key = demo_key(secret, slug)
    screen = await session.scalar(select(Screen).where(Screen.key_digest == key_digest(key)))
    if screen is None:
        session.add(
            Screen(site_id=site_id, label=DEMO_LABEL, key_digest=key_digest(key), created_at=now)
        )
    elif screen.revoked_at is not None or screen.site_id != site_id:
        return None
    return key


def shown_at(body: dict[str, Any], opening: Opening) -> dict[str, Any]:
    """A display body (`hub.display_body`) as the screens show it, with whether the mairie
    is open: `opening: {open, opens_at, today}`, `opens_at` being when it opens next (in its
    local offset; None when open, or not within the days its page looks ahead) and `today`
    whether that is today; and while it is closed, no waiting estimate
    (`waiting.eta_minutes: null`, `app.sites.opening.estimate`)."""
    waiting = {**body["waiting"], "eta_minutes": estimate(opening, body["waiting"]["eta_minutes"])}
    opens_at = opening.opens.isoformat() if opening.opens else None
    shown = {"open": opening.open, "opens_at": opens_at, "today": opening.today}
    return {**body, "waiting": waiting, "opening": shown}


def with_arrival(
    shown: dict[str, Any], qr: str | None, drawn: ArrivalQr | None = None
) -> dict[str, Any]:
    """A paired screen's body: `shown` with the mairie's arrival QR code, `arrival: {qr,
    code}` (a data: image, and the six digits it holds, for those who type them), when
    there is one to show. Never given to a display without a key, nor to the public GET:
    the code lets one into the queue."""
    if not qr:
        return shown
    code = drawn.code if drawn is not None and drawn.qr == qr else None
    return {**shown, "arrival": {"qr": qr, **({"code": code} if code else {})}}


async def with_opening(
    session: AsyncSession, site: Site, now: datetime, body: dict[str, Any]
) -> dict[str, Any]:
    """`shown_at` with the site's opening at `now`, read here (the live hub keeps it for
    the minute instead)."""
    return shown_at(body, await opening_of(session, site, now))
