"""Booking operations that change data: book, cancel, reschedule, what the mairie calls off
(and the person takes again elsewhere), no-shows and reminders stopped. One place decides;
the API and the pages only call it.

The mairie's disruptions (`app/sites/disruption.py`) find the free slots to offer with the
appointments they call off here too: `nearest_free` is importable from this module."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import events, locking
from app.booking import contacts
from app.booking.contacts import Contact
from app.booking.finders import slot_finder
from app.booking.limits import check_address_day, check_booking, check_not_busy, person_locks
from app.booking.messages import about
from app.booking.models import RELEASED, Appointment, AppointmentStatus
from app.booking.queries import (
    SlotRefused,
    check_slot,
    get_by_id,
    get_by_token,
    get_needs,
    get_service,
    nearest_free,
    offer_alternatives,
    offered_needs,
    requirement_of,
)
from app.booking.references import (
    REFERENCE_ALPHABET,
    is_overlap,
    new_reference,
    new_token,
    reference_prefix,
)
from app.booking.request import BookingRequest, check_texting, language_of
from app.booking.rules import APPOINTMENT, AppointmentAction, AppointmentEffect
from app.booking.slots import Refusal, Slot
from app.db import Database, rowcount, writing
from app.errors import Conflict
from app.lifecycle import Move
from app.sites.models import Service, Site
from app.sites.service import get_site

__all__ = [
    "REFERENCE_ALPHABET",
    "BookingRequest",
    "book",
    "call_off",
    "cancel",
    "check_texting",
    "is_overlap",
    "mark_missed",
    "move_appointment",
    "move_to",
    "nearest_free",
    "new_reference",
    "new_token",
    "rebook",
    "reference_prefix",
    "reschedule",
    "stop_reminders",
]

CALLED_OFF = AppointmentStatus.CALLED_OFF


async def _insert(session: AsyncSession, appointment: Appointment, slug: str) -> None:
    """Insert with a fresh reference, trying again in the unlikely case it is taken."""
    for attempt in range(5):
        appointment.reference = new_reference(slug)
        try:
            async with session.begin_nested():
                session.add(appointment)
                await session.flush()
            return
        except IntegrityError as exc:
            if is_overlap(exc):
                raise SlotRefused(Refusal.TAKEN) from exc
            if attempt == 4 or "reference" not in str(exc.orig):
                raise


def _new_appointment(
    request: BookingRequest,
    site: Site,
    service: Service,
    slot: Slot,
    needs: list[str],
    agent_id: int | None,
    now: datetime,
) -> Appointment:
    """The appointment `request` books on `slot` (without its reference yet)."""
    who = request.contact
    return Appointment(
        token=new_token(),
        site_id=site.id,
        station_id=slot.station_ids[0],
        service_id=service.id,
        starts_at=slot.start,
        ends_at=slot.end,
        status=AppointmentStatus.BOOKED,
        channel=request.channel,
        name=who.name,
        email=who.email,
        phone=who.phone,
        email_key=contacts.email_key(who.email) if who.email else None,
        client_network=request.client if agent_id is None else None,
        needs=needs,
        reminders_by_email=request.reminders_by_email and bool(who.email),
        reminders_by_sms=request.reminders_by_sms and bool(who.phone),
        booked_by_agent_id=agent_id,
        partner_id=request.partner_id,
        resident_id=request.resident_id,
        language=language_of(request, agent_id),
        created_at=now,
        updated_at=now,
    )


async def book(
    session: AsyncSession,
    request: BookingRequest,
    *,
    now: datetime,
    agent_id: int | None = None,
    per_address_per_day: int | None = None,
    replacing: int | None = None,
) -> Appointment:
    """Book `request`, holding one concrete station; SlotRefused when it cannot be.

    A person (normalised email, phone) holds at most the site's number of appointments
    to come across Paris; an online client address at most `per_address_per_day`
    appointments of one site-day. `replacing`: the called-off appointment this one takes
    the place of, linked to it in the same transaction (once only)."""
    check_texting(request)
    site = await get_site(session, request.site)
    service = await get_service(session, request.service)
    needs = await get_needs(session, request.needs)
    need = requirement_of(service, needs)
    day = request.start.astimezone(ZoneInfo(site.timezone)).date()
    try:
        async with writing(session):
            keys = [*locking.day_locks(site.id, day), *person_locks(request.contact)]
            await locking.lock(session, keys)
            replaced = await _called_off(session, replacing) if replacing is not None else None
            span = (request.start, request.start + need.length)
            over_span = await check_booking(
                session,
                site,
                request.contact,
                span,
                now,
                online=agent_id is None and request.partner_id is None,
                client=request.client if agent_id is None else None,
                per_address_per_day=per_address_per_day,
            )
            finder = await slot_finder(session, site, need, day, day, now)
            slot = check_slot(finder, request.start)
            if over_span:
                await check_not_busy(session, request.contact, span)
            codes = [need.code for need in needs]
            appointment = _new_appointment(request, site, service, slot, codes, agent_id, now)
            await _insert(session, appointment, site.slug)
            if replaced is not None:
                replaced.rebooked_as_id = appointment.id
                replaced.updated_at = now
            booked = events.AppointmentBooked(
                at=now,
                **about(appointment, site, service),
                booked_by=agent_id,
                channel=request.channel,
                partner_id=request.partner_id,
            )
            await events.record(session, booked)
            appointment_id = appointment.id
    except SlotRefused as refused:
        await offer_alternatives(session, refused, site, need, request.start, now)
        raise
    return await get_by_id(session, appointment_id)


async def _called_off(session: AsyncSession, appointment_id: int) -> Appointment:
    """The called-off appointment a booking replaces, locked; 409 once another replaced it."""
    replaced = await session.get(Appointment, appointment_id, with_for_update=True)
    if replaced is None or replaced.status != CALLED_OFF:
        raise _not_called_off()
    if replaced.rebooked_as_id is not None:
        raise Conflict(
            "Another slot was already chosen in place of this appointment.",
            code="already_rebooked",
        )
    return replaced


def _not_called_off() -> Conflict:
    return Conflict(
        "Only an appointment called off by the mairie can be taken again: move this one.",
        code="not_called_off",
    )


async def _locked_by_token(
    session: AsyncSession, token: str, *, with_its_day: bool = False
) -> Appointment:
    """The appointment behind `token`, its row locked; `with_its_day`: its day's booking
    lock taken first, as a booking or a move takes it, for a change that frees its
    station (the day's summary of free time is then worked out by one change at a time,
    and the locks come in the same order as a move's)."""
    appointment = await get_by_token(session, token)
    if with_its_day:
        day = appointment.starts_at.astimezone(ZoneInfo(appointment.site.timezone)).date()
        await locking.lock(session, locking.day_locks(appointment.site_id, day))
    await locking.lock_row(session, appointment)
    return appointment


def move_appointment(
    appointment: Appointment, action: AppointmentAction, now: datetime
) -> Move[AppointmentStatus, AppointmentEffect]:
    """Move `appointment` as its lifecycle (`app/booking/rules.py`) says, stamping what the
    move names; the caller tells the person when the move says so. NotAllowed otherwise."""
    moved = APPOINTMENT.move(appointment.status, action)
    appointment.status = moved.to
    appointment.updated_at = now
    if AppointmentEffect.STAMP_CANCELLED in moved.effects:
        appointment.cancelled_at = now
        appointment.sequence += 1  # the calendar file says CANCELLED
    return moved


def _refuse_once_begun(
    appointment: Appointment, action: AppointmentAction, now: datetime, detail: str, code: str
) -> None:
    """Conflict once the appointment has begun, or when its lifecycle forbids `action`."""
    if not APPOINTMENT.allows(appointment.status, action) or now >= appointment.starts_at:
        raise Conflict(detail, code=code)


async def cancel(
    session: AsyncSession,
    token: str,
    *,
    now: datetime,
    agent_id: int | None = None,
    tell: bool = True,
) -> Appointment:
    """Cancel (idempotent); refused once the appointment has begun or the person came.
    `agent_id`: the agent doing it for the person, for the journal; `tell` False: the
    person is told nothing (their data is being erased), the slot is freed all the same
    and the webhooks hear of it (as of an appointment withdrawn); the caller journals it."""
    async with writing(session):
        appointment = await _locked_by_token(session, token, with_its_day=True)
        if appointment.status not in RELEASED:  # called off by the mairie: nothing to cancel
            _refuse_once_begun(
                appointment,
                AppointmentAction.CANCEL,
                now,
                "This appointment has started or taken place: it cannot be cancelled.",
                "not_cancellable",
            )
            moved = move_appointment(appointment, AppointmentAction.CANCEL, now)
            if not tell:
                withdrawn = events.AppointmentWithdrawn(at=now, appointment_id=appointment.id)
                await events.record(session, withdrawn)
            elif AppointmentEffect.TELL_CANCELLED in moved.effects:
                site = await session.get_one(Site, appointment.site_id)
                service = await session.get_one(Service, appointment.service_id)
                await events.record(
                    session,
                    events.AppointmentCancelled(
                        at=now, **about(appointment, site, service), by_agent=agent_id
                    ),
                )
        appointment_id = appointment.id
    return await get_by_id(session, appointment_id)


async def reschedule(
    session: AsyncSession,
    token: str,
    start: datetime,
    *,
    now: datetime,
    per_address_per_day: int | None = None,
    agent_id: int | None = None,
) -> Appointment:
    """Move the appointment to `start`, in one step: the person always holds exactly one.

    An online booking moved to another day counts against that day's cap of its client
    address, as a new booking would. `agent_id`: the agent doing it for the person, for
    the journal."""
    current = await get_by_token(session, token)
    site = current.site
    service = current.service
    needs = await get_needs(session, tuple(current.needs), retired=True)
    need = requirement_of(service, needs)
    tz = ZoneInfo(site.timezone)
    old_day = current.starts_at.astimezone(tz).date()
    new_day = start.astimezone(tz).date()
    try:
        async with writing(session):
            person = Contact(current.name, current.email, current.phone)
            days = locking.day_locks(site.id, old_day, new_day)
            await locking.lock(session, [*days, *person_locks(person)])
            appointment = await _locked_by_token(session, token)
            _refuse_once_begun(
                appointment,
                AppointmentAction.MOVE,
                now,
                "This appointment has started, taken place or been cancelled.",
                "not_movable",
            )
            appointment_id = appointment.id
            if new_day != old_day:
                await check_address_day(
                    session, site, appointment.client_network, new_day, per_address_per_day
                )
            # The very same slot: nothing changes, so no new version and no message.
            if start != appointment.starts_at:
                finder = await slot_finder(
                    session, site, need, new_day, new_day, now, leave_out=appointment.id
                )
                slot = check_slot(finder, start)
                await check_not_busy(
                    session, person, (slot.start, slot.end), leave_out=appointment.id
                )
                await move_to(session, appointment, slot, now, by_agent=agent_id)
    except SlotRefused as refused:
        await offer_alternatives(session, refused, site, need, start, now)
        raise
    return await get_by_id(session, appointment_id)


async def move_to(
    session: AsyncSession,
    appointment: Appointment,
    slot: Slot,
    now: datetime,
    station_id: int | None = None,
    by_agent: int | None = None,
) -> None:
    """Move the locked `appointment` to `slot` (at `station_id` if one of the slot's), as a
    new version, and tell it (`by_agent`: the agent who moved it, if one did); SlotRefused
    if the station is taken. Under the days' locks."""
    freed_from = appointment.starts_at
    chosen = station_id if station_id in slot.station_ids else slot.station_ids[0]
    try:
        async with session.begin_nested():
            appointment.station_id = chosen
            appointment.starts_at = slot.start
            appointment.ends_at = slot.end
            appointment.sequence += 1
            appointment.updated_at = now
            await session.flush()
    except IntegrityError as exc:
        if is_overlap(exc):
            raise SlotRefused(Refusal.TAKEN) from exc
        raise
    site = await session.get_one(Site, appointment.site_id)
    service = await session.get_one(Service, appointment.service_id)
    moved = events.AppointmentMoved(
        at=now, **about(appointment, site, service), freed_from=freed_from, by_agent=by_agent
    )
    await events.record(session, moved)


# Called off by the mairie, and taken again elsewhere


async def call_off(
    session: AsyncSession,
    appointment: Appointment,
    site: Site,
    service: Service,
    *,
    reason: str,
    offered: Sequence[Slot],
    now: datetime,
) -> None:
    """The mairie calls the appointment off: it holds its station no more, its calendar
    file says CANCELLED, nothing pending about it is sent, and the person is told once,
    with the `offered` slots and their link to take one. Never turned back into a booking
    (not even when the closure or outage is removed): the person books again."""
    moved = move_appointment(appointment, AppointmentAction.CALL_OFF, now)
    await session.flush()
    if AppointmentEffect.TELL_CALLED_OFF in moved.effects:
        called_off = events.AppointmentCalledOff(
            at=now,
            **about(appointment, site, service),
            reason=reason,
            offered=tuple(slot.start for slot in offered),
        )
        await events.record(session, called_off)


async def rebook(
    session: AsyncSession,
    token: str,
    start: datetime,
    *,
    now: datetime,
    client: str | None,
    per_address_per_day: int | None,
) -> Appointment:
    """Take the slot at `start` in place of an appointment the mairie called off, in one
    step: a new booking for the same person, service and needs, under every rule of an
    online booking (slot free and open, notice and horizon, walk-in share, the person's
    and the address's limits). Asked twice, it gives the one booking taken."""
    old = await get_by_token(session, token)
    if old.status != CALLED_OFF:
        raise _not_called_off()
    taken = old.rebooked_as_id
    needs = await offered_needs(session, old.needs)
    request = BookingRequest(
        site=old.site.slug,
        service=old.service.code,
        start=start,
        contact=Contact(name=old.name, email=old.email, phone=old.phone),
        needs=tuple(need.code for need in needs),
        reminders_by_email=old.reminders_by_email,
        reminders_by_sms=old.reminders_by_sms,
        client=client,
        language=old.language,
    )
    if taken is not None:
        return await get_by_id(session, taken)
    try:
        return await book(
            session, request, now=now, per_address_per_day=per_address_per_day, replacing=old.id
        )
    except Conflict as conflict:
        if conflict.code != "already_rebooked":
            raise
        linked = await session.scalar(
            select(Appointment.rebooked_as_id).where(Appointment.id == old.id)
        )
        assert linked is not None
        return await get_by_id(session, linked)


async def mark_missed(db: Database, now: datetime) -> int:
    """Booked appointments nobody checked in for, once a late arrival could no longer be
    (the appointment's end plus the site's limit), are no-shows. How many were marked."""
    marked = 0
    async with db.writing() as session:
        for site in await session.scalars(select(Site)):
            late = now - timedelta(minutes=site.late_check_in_limit_minutes)
            result = await session.execute(
                update(Appointment)
                .where(
                    Appointment.site_id == site.id,
                    Appointment.status.in_(APPOINTMENT.from_states(AppointmentAction.MISS)),
                    Appointment.ends_at < late,
                )
                .values(
                    status=APPOINTMENT.move(AppointmentStatus.BOOKED, AppointmentAction.MISS).to,
                    updated_at=now,
                )
            )
            marked += rowcount(result)
    return marked


async def stop_reminders(session: AsyncSession, token: str, now: datetime) -> Appointment:
    """The usager wants no more reminders for this appointment (from their private page)."""
    async with writing(session):
        appointment = await _locked_by_token(session, token)
        appointment.reminders_by_email = False
        appointment.reminders_by_sms = False
        await events.record(
            session, events.AppointmentRemindersStopped(at=now, appointment_id=appointment.id)
        )
        appointment_id = appointment.id
    return await get_by_id(session, appointment_id)
