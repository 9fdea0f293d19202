"""One person's data, within the mairies an agent runs: found by their email or phone (as
the booking guard compares them: `email_key`, E.164), and erased on request — the right to
erasure. The person is the person: found by email, they are found too by the phones given
with that email on their appointments; by phone, by the emails given with that phone (one
step of this widening, no more). What is reached only through that widening is theirs only
when it carries no contact of its own that differs from theirs: an appointment with that
phone and another email (or with that email and another phone) is someone else's, or not
surely theirs, and so are its ticket and its messages; they are set apart, shown, never
erased (a walk-in ticket with that phone alone stays theirs). Erasing cancels their
appointments still to come (their slots free again, the person told nothing), blanks what
the daily retention sweep blanks, through its own functions, empties the messages and
cancels those not sent yet; the rows stay, so that the anonymous figures (visits, waits,
outcomes, scores) are the same before and after. A ticket of the day still waiting stays
in its queue, blanked: its holder may be in the room, and is called by its number as
anyone else (the desk ends it, if they have gone, as it ends any ticket whose holder does
not come)."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TypeVar

import anyio.to_thread
import idna
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app import retention
from app.audit import service as audit
from app.booking import commands as booking
from app.booking.contacts import DOTLESS_PROVIDERS, e164, email_key
from app.booking.models import Appointment, AppointmentStatus
from app.db import writing
from app.errors import BadRequest, Conflict
from app.notify.models import OutboxMessage
from app.notify.outbox import cancel as cancel_messages
from app.notify.transports import files as message_files
from app.queue.models import Ticket
from app.visits.models import Escalation, EscalationEvent, FollowUpAnswer, Visit
from app.waitlist import engine as waitlist

MAX_CONTACT = 254
Row = TypeVar("Row", Ticket, OutboxMessage)
OfTicket = TypeVar("OfTicket", Visit, Escalation, FollowUpAnswer)


@dataclass(frozen=True)
class Contact:
    """Whom to look for: the key of an email, or a phone number in E.164 form."""

    email_key: str | None = None
    phone: str | None = None


def contact_of(email: str | None, phone: str | None) -> Contact:
    """The contact asked about: an email or a phone, exactly one (400 otherwise)."""
    email, phone = (email or "").strip(), (phone or "").strip()
    if bool(email) == bool(phone):
        raise BadRequest(
            "Give the person's email address or their phone number (one of them).",
            code="person_contact",
        )
    if email:
        local, at, domain = email.rpartition("@")
        if not at or not local or not domain or len(email) > MAX_CONTACT:
            raise BadRequest("This email address is not valid.", code="email_invalid")
        return Contact(email_key=email_key(email))
    if len(phone) > 40:
        raise BadRequest("This phone number is not valid.", code="phone_invalid")
    return Contact(phone=e164(phone))


def domain_spellings(key: str) -> set[str]:
    """The spellings under which the domain of an email key may be stored."""
    domain = key.rpartition("@")[2]
    spellings = {domain}
    with contextlib.suppress(idna.IDNAError, UnicodeError):
        spellings.add(idna.decode(domain))
    for alias, canonical in DOTLESS_PROVIDERS.items():
        if canonical == domain:
            spellings.add(alias)
    return {spelling.lower() for spelling in spellings if spelling}


def at_domain(domain: str) -> str:
    """A LIKE pattern for the addresses at `domain`, its wildcards escaped (with `\\`)."""
    escaped = domain.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%@{escaped}"


@dataclass
class Found:
    """Everything of one person at the mairies searched."""

    appointments: list[Appointment] = field(default_factory=list)
    tickets: list[Ticket] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    escalations: list[Escalation] = field(default_factory=list)
    steps: list[EscalationEvent] = field(default_factory=list)
    answers: list[FollowUpAnswer] = field(default_factory=list)
    messages: list[OutboxMessage] = field(default_factory=list)
    # The other identifiers searched too, as written on the records: the phones given with
    # the email asked about, or the emails given with the phone.
    also: list[str] = field(default_factory=list)
    # What was found only through one of `also`, and through which: by ("appointment", id)
    # or ("ticket", id); what was set apart included.
    via: dict[tuple[str, int], str] = field(default_factory=dict)
    # Set apart, neither the person's nor erased: the appointments reached only through one
    # of `also` that carry another contact of their own, and the tickets of appointments
    # not the person's reached only through one of `also`.
    apart: list[Appointment] = field(default_factory=list)
    apart_tickets: list[Ticket] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.appointments or self.tickets or self.messages)

    def digest(self) -> str:
        """What an erasure of what was found would erase, in a few characters: its
        appointments and tickets; the page's erase form carries it, so that an erasure
        erases what was shown, or nothing."""
        rows = [f"a{a.id}" for a in self.appointments] + [f"t{t.id}" for t in self.tickets]
        return hashlib.sha256(",".join(sorted(rows)).encode()).hexdigest()[:32]

    def site_ids(self) -> set[int]:
        rows: Sequence[Appointment | Ticket | OutboxMessage] = [
            *self.appointments,
            *self.tickets,
            *self.messages,
        ]
        return {row.site_id for row in rows}


async def _appointments(
    session: AsyncSession, contact: Contact, site_ids: list[int]
) -> list[Appointment]:
    in_sites = Appointment.site_id.in_(site_ids)
    if contact.phone:
        query = select(Appointment).where(in_sites, Appointment.phone == contact.phone)
        return list(await session.scalars(query.order_by(Appointment.starts_at)))
    key = contact.email_key or ""
    # The key is kept only while an appointment is ahead; past ones are compared on their
    # email, read among those of the same domain.
    candidates = await session.scalars(
        select(Appointment)
        .where(
            in_sites,
            or_(
                Appointment.email_key == key,
                *(
                    Appointment.email.like(at_domain(domain), escape="\\")
                    for domain in domain_spellings(key)
                ),
            ),
        )
        .order_by(Appointment.starts_at)
    )
    return [
        appointment
        for appointment in candidates
        if appointment.email_key == key
        or (appointment.email and email_key(appointment.email) == key)
    ]


async def _of_tickets(
    session: AsyncSession, model: type[OfTicket], ticket_ids: list[int]
) -> list[OfTicket]:
    """The rows of `model` that belong to the tickets `ticket_ids`."""
    return list(await session.scalars(select(model).where(model.ticket_id.in_(ticket_ids))))


async def add_what_tickets_hold(session: AsyncSession, found: Found) -> None:
    """Add to `found` what its tickets hold: their visits' notes, the requests sent on
    with their steps, the answers given."""
    ticket_ids = [t.id for t in found.tickets]
    if ticket_ids:
        found.visits = await _of_tickets(session, Visit, ticket_ids)
        found.escalations = await _of_tickets(session, Escalation, ticket_ids)
        found.answers = await _of_tickets(session, FollowUpAnswer, ticket_ids)
    if found.escalations:
        found.steps = list(
            await session.scalars(
                select(EscalationEvent)
                .where(EscalationEvent.escalation_id.in_([e.id for e in found.escalations]))
                .order_by(EscalationEvent.at, EscalationEvent.id)
            )
        )


async def _matching(
    session: AsyncSession, model: type[Row], site_ids: list[int], order: str, **given: object
) -> list[Row]:
    """The rows of `model` at `site_ids` whose column of a name `given` holds its value (or
    one of its values, for a list), for any of those given (not None, not empty): none when
    none is; by the column `order`, then by id."""
    match = [
        getattr(model, name).in_(value)
        if isinstance(value, list)
        else getattr(model, name) == value
        for name, value in given.items()
        if value
    ]
    if not match:
        return []
    query = select(model).where(model.site_id.in_(site_ids), or_(*match))
    return list(await session.scalars(query.order_by(getattr(model, order), model.id)))


def _also(contact: Contact, given: list[Appointment]) -> dict[str, Contact]:
    """The other identifiers the appointments `given` carry with the contact asked about,
    as written on them: the phones given with its email, or the emails given with its
    phone (each email once, whatever its spelling)."""
    also: dict[str, Contact] = {}
    for appointment in given:
        if contact.email_key and appointment.phone:
            also.setdefault(appointment.phone, Contact(phone=appointment.phone))
        elif contact.phone and appointment.email:
            key = email_key(appointment.email)
            if all(other.email_key != key for other in also.values()):
                also[appointment.email] = Contact(email_key=key)
    return also


def _ticket_through(ticket: Ticket, contact: Contact, given: set[int], found: Found) -> str | None:
    """Through which of `found.also` `ticket` was found: its phone, or its appointment's
    identifier; None when it was found by the contact asked about (its phone, or one of
    the appointments `given`)."""
    if ticket.appointment_id in given or (contact.phone and ticket.phone == contact.phone):
        return None
    if ticket.phone and ticket.phone in found.also:
        return ticket.phone
    return found.via.get(("appointment", ticket.appointment_id or 0))


def another_contact(contact: Contact, appointment: Appointment) -> bool:
    """Whether `appointment`, reached through another identifier than `contact`, carries
    a contact of its own of the same kind as `contact` that differs from it: another email
    when the person was asked about by email, another phone when by phone."""
    if contact.email_key:
        email = appointment.email
        return bool(email) and email_key(email or "") != contact.email_key
    return bool(appointment.phone) and appointment.phone != contact.phone


def _theirs(message: OutboxMessage, contact: Contact, rows: tuple[set[int], set[int]]) -> bool:
    """Whether `message` is the person's: sent to the phone asked about, or tied to no
    appointment or ticket but the person's, `rows` (their ids); one of an appointment or
    ticket set apart, sent to a phone of the widening, is not."""
    if contact.phone and message.recipient == contact.phone:
        return True
    appointments, tickets = rows
    of_theirs = message.appointment_id is None or message.appointment_id in appointments
    return of_theirs and (message.ticket_id is None or message.ticket_id in tickets)


async def find(session: AsyncSession, contact: Contact, site_ids: list[int]) -> Found:
    """The person's appointments, tickets, visits' notes, requests sent on, answers and
    messages at `site_ids`: those of the contact asked about, and those of the phones or
    emails its appointments give with it (one step, not further) that carry no other
    contact of their own; those that do are set apart (`Found.apart`)."""
    given = await _appointments(session, contact, site_ids)
    also = _also(contact, given)
    found = Found(appointments=list(given), also=list(also))
    seen_first = {a.id for a in given}
    seen = set(seen_first)
    for written, other in also.items():
        for appointment in await _appointments(session, other, site_ids):
            if appointment.id not in seen:
                seen.add(appointment.id)
                theirs = not another_contact(contact, appointment)
                (found.appointments if theirs else found.apart).append(appointment)
                found.via[("appointment", appointment.id)] = written
    found.appointments.sort(key=lambda a: (a.starts_at, a.id))
    appointment_ids = [a.id for a in found.appointments]
    person_ids = set(appointment_ids)
    phones = [p for p in (contact.phone, *(o.phone for o in also.values())) if p]
    tickets = await _matching(
        session, Ticket, site_ids, "arrived_at", appointment_id=appointment_ids, phone=phones
    )
    for ticket in tickets:
        through = _ticket_through(ticket, contact, seen_first, found)
        if through:
            found.via[("ticket", ticket.id)] = through
        # Reached only through the widening, the ticket of another appointment goes with it.
        elsewhere = ticket.appointment_id is not None and ticket.appointment_id not in person_ids
        (found.apart_tickets if through and elsewhere else found.tickets).append(ticket)
    await add_what_tickets_hold(session, found)
    ticket_ids = [t.id for t in found.tickets]
    messages = await _matching(
        session,
        OutboxMessage,
        site_ids,
        "created_at",
        appointment_id=appointment_ids,
        ticket_id=ticket_ids,
        recipient=phones,
    )
    rows = person_ids, set(ticket_ids)
    found.messages = [m for m in messages if _theirs(m, contact, rows)]
    return found


class Changed(Exception):
    """What the erasure would erase is not what was shown (another digest): nothing was."""


@dataclass(frozen=True)
class Erased:
    """How many rows were blanked: counts only, never what they held."""

    appointments: int = 0
    tickets: int = 0
    notes: int = 0
    steps: int = 0
    answers: int = 0
    messages_purged: int = 0
    messages_cancelled: int = 0


@dataclass(frozen=True)
class PersonErased:
    """What an erasure on request did: the rows blanked, and how many of the person's
    appointments still to come it cancelled."""

    blanked: Erased
    cancelled: int = 0


async def blank(session: AsyncSession, found: Found, now: datetime) -> Erased:
    """Blank what `found` holds, within the caller's transaction: the messages not sent
    yet cancelled, then every row emptied by the retention sweep's own functions."""
    appointment_ids = [a.id for a in found.appointments]
    ticket_ids = [t.id for t in found.tickets]
    message_ids = [m.id for m in found.messages]
    escalation_ids = [e.id for e in found.escalations]
    cancelled = 0
    if message_ids:
        erased = OutboxMessage.id.in_(message_ids)
        cancelled = await cancel_messages(session, erased, reason="erased on request")
    if appointment_ids:
        await waitlist.forget(session, appointment_ids, now)
    among = partial(_blank_among, session)
    return Erased(
        appointments=await among(retention.blank_appointments, Appointment.id, appointment_ids),
        tickets=await among(retention.blank_tickets, Ticket.id, ticket_ids),
        notes=await among(retention.blank_notes, Visit.ticket_id, ticket_ids),
        steps=await among(retention.blank_steps, EscalationEvent.escalation_id, escalation_ids),
        answers=await among(retention.blank_answers, FollowUpAnswer.ticket_id, ticket_ids),
        messages_purged=await among(retention.purge_messages, OutboxMessage.id, message_ids, now),
        messages_cancelled=cancelled,
    )


async def _blank_among(
    session: AsyncSession,
    blanker: Callable[..., Awaitable[int]],
    column: InstrumentedAttribute[int],
    ids: list[int],
    *before: object,
) -> int:
    """What `blanker(session, *before, where)` empties of the rows whose `column` is one
    of `ids`: nothing, and no statement, when there are no ids."""
    return await blanker(session, *before, column.in_(ids)) if ids else 0


def ahead(found: Found, now: datetime) -> list[Appointment]:
    """The appointments of `found` still to come, booked: an erasure cancels them."""
    return [
        a for a in found.appointments if a.status == AppointmentStatus.BOOKED and a.starts_at > now
    ]


async def cancel_ahead(
    session: AsyncSession, found: Found, *, agent_id: int | None, now: datetime
) -> int:
    """Cancel the appointments of `found` still to come, through the booking's own cancel:
    their slots are free again, the people waiting for one and the webhooks hear of it,
    and the person is told nothing. Called once they are blanked, so that what the
    cancellation tells carries nothing of the person. How many were cancelled; one the
    desk took in the meantime (checked in, begun) stays as it is. The day locks are taken
    in order of time, as a booking of several takes them."""
    cancelled = 0
    for appointment in sorted(ahead(found, now), key=lambda a: (a.starts_at, a.id)):
        with contextlib.suppress(Conflict):
            await booking.cancel(session, appointment.token, now=now, agent_id=agent_id, tell=False)
            cancelled += 1
    return cancelled


async def erase(
    session: AsyncSession,
    contact: Contact,
    site_ids: list[int],
    *,
    agent_id: int | None,
    now: datetime,
    outbox: Path,
    shown: str | None = None,
) -> PersonErased:
    """Blank the person's data at `site_ids` and cancel their appointments still to come,
    in one transaction, and write in the log of each mairie concerned that it was done,
    with the counts (never the contact); then delete the files its messages were written
    to under `outbox`, if any (no mail server or SMS gateway). Given the digest of what was
    `shown` (`Found.digest`), erase nothing and raise `Changed` when it is not that of
    what is found now."""
    async with writing(session):
        found = await find(session, contact, site_ids)
        if shown is not None and found.digest() != shown:
            raise Changed
        if found.empty:
            return PersonErased(Erased())
        keys = [message.idempotency_key for message in found.messages]
        erased = await blank(session, found, now)
        cancelled = await cancel_ahead(session, found, agent_id=agent_id, now=now)
        record(
            session,
            "person.erased",
            found,
            target="person",
            agent_id=agent_id,
            now=now,
            cancelled=cancelled,
        )
    await anyio.to_thread.run_sync(message_files.forget, outbox, keys)
    return PersonErased(erased, cancelled)


def record(
    session: AsyncSession,
    action: str,
    found: Found,
    *,
    target: str,
    agent_id: int | None,
    now: datetime,
    cancelled: int = 0,
) -> None:
    """Write in the log of each mairie concerned that what `found` held was erased, with
    the counts only: never a contact, which would undo the erasure; `cancelled`: how many
    appointments still to come were cancelled, when some were."""
    audit.record_at_sites(
        session,
        action,
        site_ids=found.site_ids(),
        at=now,
        agent_id=agent_id,
        target=target,
        appointments=len(found.appointments),
        tickets=len(found.tickets),
        messages=len(found.messages),
        **({"cancelled": cancelled} if cancelled else {}),
    )
