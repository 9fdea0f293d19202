"""What a booking asks (`BookingRequest`), whoever makes it (a person online, an agent, a
partner), and what is checked of it before anything is read: the language of its
messages, and that texts go to mobiles only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app import i18n
from app.booking import contacts
from app.booking.contacts import Contact


@dataclass(frozen=True)
class BookingRequest:
    site: str
    service: str
    start: datetime
    contact: Contact
    needs: tuple[str, ...] = ()
    channel: str = "online"
    reminders_by_email: bool = True
    reminders_by_sms: bool = False
    # Who booked online (`throttle.client_network`), for the per-address cap; None for staff.
    client: str | None = None
    # The language of its messages; None: the request's when the person books it online,
    # French when an agent or a partner books it for them (`language_of`).
    language: str | None = None
    # The partner who refers the person and books for them (`channel` "partner").
    partner_id: int | None = None
    # The resident signed in when they book online (app/residents/): it shows in their space.
    resident_id: int | None = None


def language_of(request: BookingRequest, agent_id: int | None) -> str:
    """The language an appointment's messages are written in: the one asked, else the
    page's (or the API client's) when the person books it themselves, else French (an
    agent's browser says nothing of the person's language)."""
    if request.language is not None:
        return i18n.known(request.language)
    on_behalf = agent_id is not None or request.partner_id is not None
    return i18n.DEFAULT_LANGUAGE if on_behalf else i18n.language.get()


def check_texting(request: BookingRequest) -> None:
    """Texts go to mobiles only: refused when reminders by SMS are asked, or when an online
    or a partner's booking gives a phone alone (its confirmation would be a text), for
    another number."""
    phone = request.contact.phone
    told_by_text = request.channel in ("online", "partner") and not request.contact.email
    texts = request.reminders_by_sms or told_by_text
    if phone and texts:
        contacts.texting_number(phone, otherwise="choose reminders by email")
