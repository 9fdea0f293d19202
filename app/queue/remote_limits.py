"""How many tickets may be taken from a phone: a number at most `JOINS_PER_NUMBER_PER_DAY`
a day (each join texts it: nobody fills a stranger's phone by joining and leaving), a
client network at most as many a day at one mairie as it may book there (nobody fills its
hourly cap of remote tickets alone, with made-up numbers)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import Conflict
from app.queue.models import Ticket
from app.queue.queries import today
from app.sites.models import Site

JOINS_PER_NUMBER_PER_DAY = 3


async def check_joins(
    session: AsyncSession,
    site: Site,
    number: str,
    client: str | None,
    per_address_per_day: int | None,
    now: datetime,
) -> None:
    """Conflict when the number, or the client's network at this mairie, took as many
    tickets from a phone today as it may (left or closed ones count too)."""
    day = today(site, now)
    joined = select(func.count()).where(Ticket.travel_minutes.is_not(None), Ticket.day == day)
    if (
        await session.scalar(joined.where(Ticket.phone == number)) or 0
    ) >= JOINS_PER_NUMBER_PER_DAY:
        raise Conflict(
            f"This mobile number took {JOINS_PER_NUMBER_PER_DAY} tickets from a phone today: "
            "come to the mairie, or call it.",
            code="phone_day_full",
        )
    if client is None or per_address_per_day is None:
        return
    mine = joined.where(Ticket.client_network == client, Ticket.site_id == site.id)
    if (await session.scalar(mine) or 0) >= per_address_per_day:
        raise Conflict(
            f"Your connection took {per_address_per_day} tickets from a phone today at "
            f"{site.name}: come to the mairie, or call it.",
            code="address_day_full",
        )
