"""What a message is about (an appointment, a ticket), as the dispatcher needs it at the
moment of sending: whether the message still applies, and what goes with it.

The domains that write messages about their things say so here (`register`), from their
own `messages.py`; the dispatcher knows the subject by the message's column
(`appointment_id`, `ticket_id`), not by the domain's models.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.notify.models import OutboxMessage
from app.notify.transports import Attachment

APPOINTMENT = "appointment"
TICKET = "ticket"


class Subject(Protocol):
    async def load(self, session: AsyncSession, ids: Collection[int]) -> dict[int, Any]:
        """The things with these ids, as they are now (missing ones left out)."""
        ...

    def applies(self, message: OutboxMessage, thing: Any | None, now: datetime) -> bool:
        """Whether `message` still says something true and useful about `thing` (None: it
        is gone) at `now`."""
        ...

    def attachments(
        self, message: OutboxMessage, thing: Any | None, base_url: str, sender: str
    ) -> list[Attachment]:
        """What an email about `thing` carries (a calendar file…)."""
        ...


SUBJECTS: dict[str, Subject] = {}


def register(kind: str, subject: Subject) -> None:
    SUBJECTS[kind] = subject


def subject_of(message: OutboxMessage) -> tuple[str, int] | None:
    """The kind and id of what `message` is about; None for a message about nothing kept."""
    if message.appointment_id is not None:
        return APPOINTMENT, message.appointment_id
    if message.ticket_id is not None:
        return TICKET, message.ticket_id
    return None
