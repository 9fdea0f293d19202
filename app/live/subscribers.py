"""The live screens hear the queue's changes and revoked screens through the domain
events: each is queued on the session, and handed to the hub (app/live/hub.py) once the
transaction commits, never if it rolls back."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import notify
from app.events import QueueMoved, ScreenRevoked, subscriber


@subscriber(QueueMoved, ScreenRevoked)
async def tell_the_screens(session: AsyncSession, event: QueueMoved | ScreenRevoked) -> None:
    notify(session, event)
