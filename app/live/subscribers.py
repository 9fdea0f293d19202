"""The live screens hear the queue's changes, revoked screens and changed hours through
the domain events: each is queued on the session, and handed to the hub
(app/live/hub.py) once the transaction commits, never if it rolls back."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import notify
from app.events import Administered, QueueMoved, ScreenRevoked, subscriber
from app.live.notices import HoursChanged

OPENING = ("hours.", "hours_exception.", "closure.")  # what says when a mairie is open


@subscriber(QueueMoved, ScreenRevoked)
async def tell_the_screens(session: AsyncSession, event: QueueMoved | ScreenRevoked) -> None:
    notify(session, event)


@subscriber(Administered)
async def tell_the_screens_of_hours(session: AsyncSession, event: Administered) -> None:
    if event.action.startswith(OPENING):
        for site_id in event.site_ids:
            notify(session, HoursChanged(site_id))
