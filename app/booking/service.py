"""Booking operations: availability, book, cancel, reschedule, and what the mairie calls
off (and the person takes again elsewhere). One place decides; the API and the pages only
call it."""

from __future__ import annotations

import secrets
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.interfaces import ORMOption

from app import locking
from app.audit import service as audit
from app.booking import contacts
from app.booking.models import RELEASED, Appointment, AppointmentStatus
from app.booking.rules import APPOINTMENT, AppointmentAction, AppointmentEffect
from app.booking.slots import (
    Booked,
    NeedEffect,
    Policy,
    Refusal,
    Requirement,
    Slot,
    SlotFinder,
    StationInfo,
    nearest,
    requirement,
)
from app.db import Database, token_digest
from app.errors import BadRequest, Conflict, DomainError, NotFound
from app.lifecycle import Move
from app.notify import outbox
from app.sites.hours import local_instant
from app.sites.models import Need, Service, Site, Station
from app.sites.service import day_range, get_site, local_today, site_calendar, station_outages

REFERENCE_ALPHABET = "3456789ACDEFGHJKMNPQRTUVWXY"
ALTERNATIVE_DAYS = 7
# Online bookings made for one person (cancelled ones too) in a day: enough for someone
# who hesitates, too few to flood a stranger's inbox with confirmations.
BOOKINGS_MADE_PER_PERSON_PER_DAY = 6
OFFERED_SLOTS = 3  # offered to a person whose appointment the mairie called off
CALLED_OFF = AppointmentStatus.CALLED_OFF
MAX_NAME_LENGTH = 120


class Unprocessable(DomainError):
    status = 422


CAPACITY_REFUSALS = (Refusal.TAKEN, Refusal.WALK_IN_SHARE, Refusal.NO_STATION)
REFUSAL_DETAILS = {
    Refusal.TOO_SOON: "This time is too soon (or past) to be booked online.",
    Refusal.TOO_LATE: "This time is too far ahead to be booked yet.",
    Refusal.CLOSED: "The mairie is closed at this time.",
    Refusal.OFF_GRID: "This time is not the start of a slot: choose one of the offered slots.",
    Refusal.NO_STATION: "No station of this mairie can take this booking.",
    Refusal.TAKEN: "This slot has just been taken.",
    Refusal.WALK_IN_SHARE: "This day is fully booked online; the rest is kept for visitors "
    "without an appointment.",
}


class SlotRefused(DomainError):
    """The asked start cannot be booked; `alternatives` are free slots close to it."""

    def __init__(self, reason: Refusal) -> None:
        super().__init__(REFUSAL_DETAILS[reason], code=reason.value, extra={"reason": reason.value})
        self.status = 409 if reason in CAPACITY_REFUSALS else 422
        self.reason = reason
        self.alternatives: list[Slot] = []

    def offer(self, alternatives: list[Slot], tz: ZoneInfo) -> None:
        self.alternatives = alternatives
        self.extra["alternatives"] = [
            {
                "start": slot.start.astimezone(tz).isoformat(),
                "end": slot.end.astimezone(tz).isoformat(),
            }
            for slot in alternatives
        ]


@dataclass(frozen=True)
class Contact:
    name: str
    email: str | None
    phone: str | None


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
    # Who booked online (`contacts.client_network`), for the per-address cap; None for staff.
    client: str | None = None


@dataclass(frozen=True)
class Guard:
    """The limits against one client booking out a day, from the settings."""

    per_address_per_day: int
    alert_per_hour: int


def normalise_phone(phone: str) -> str:
    """The number in E.164 form, French (mainland or overseas) numbers by default."""
    return contacts.e164(phone)


def normalise_name(name: str) -> str:
    clean_name = " ".join(name.split())
    if not clean_name:
        raise BadRequest("Give a name.", code="name_missing")
    if len(clean_name) > MAX_NAME_LENGTH or not clean_name.isprintable():
        raise BadRequest(
            f"The name must be printable and at most {MAX_NAME_LENGTH} characters.",
            code="name_invalid",
        )
    return clean_name


def contact(name: str, email: str | None, phone: str | None) -> Contact:
    """A checked contact: a name, and an email address or a phone number (or both)."""
    email = email.strip() if email else None
    phone = phone.strip() if phone else None
    if not email and not phone:
        raise BadRequest("Give an email address or a phone number.", code="contact_missing")
    return Contact(
        name=normalise_name(name),
        email=contacts.deliverable_email(email) if email else None,
        phone=normalise_phone(phone) if phone else None,
    )


def reference_prefix(slug: str) -> str:
    """PC for paris-centre, 15 for paris-15: what reception reads out first."""
    last = slug.rsplit("-", 1)[-1]
    if last.isdigit():
        return last.zfill(2)
    return "".join(part[0] for part in slug.split("-") if part)[:3].upper()


def new_reference(slug: str) -> str:
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
    return f"{reference_prefix(slug)}-{code}"


def new_token() -> str:
    """192 random bits for the private link."""
    return secrets.token_urlsafe(24)


def policy(site: Site) -> Policy:
    return Policy(
        min_notice=timedelta(minutes=site.booking_min_notice_minutes),
        horizon=timedelta(days=site.booking_horizon_days),
        walk_in_share=site.walk_in_percent / 100,
    )


async def get_service(session: AsyncSession, code: str) -> Service:
    service = await session.scalar(select(Service).where(Service.code == code, Service.active))
    if service is None:
        raise NotFound(f"No service has the code {code!r}.")
    return service


async def get_needs(session: AsyncSession, codes: tuple[str, ...]) -> list[Need]:
    wanted = tuple(dict.fromkeys(code.strip() for code in codes if code.strip()))
    if not wanted:
        return []
    needs = list(await session.scalars(select(Need).where(Need.code.in_(wanted), Need.active)))
    unknown = sorted(set(wanted) - {need.code for need in needs})
    if unknown:
        raise BadRequest(f"Unknown need: {', '.join(unknown)}.")
    return sorted(needs, key=lambda need: wanted.index(need.code))


def requirement_of(service: Service, needs: list[Need]) -> Requirement:
    return requirement(
        service.duration_minutes,
        service.station_kind,
        [NeedEffect(n.extra_minutes, n.station_kind, n.requires_accessible) for n in needs],
    )


async def slot_finder(
    session: AsyncSession,
    site: Site,
    need: Requirement,
    first: date,
    last: date,
    now: datetime,
    *,
    leave_out: int | None = None,
) -> SlotFinder:
    """Everything the slot engine needs for `site` from `first` to `last` (local days)."""
    tz = ZoneInfo(site.timezone)
    calendar = await site_calendar(session, site, first, last)
    stations = await session.scalars(
        select(Station).where(Station.site_id == site.id, Station.active)
    )
    starts = local_instant(first, time(0), tz)
    ends = local_instant(last + timedelta(days=1), time(0), tz)
    query = select(Appointment.station_id, Appointment.starts_at, Appointment.ends_at).where(
        Appointment.site_id == site.id,
        Appointment.status.not_in(RELEASED),
        Appointment.starts_at < ends,
        Appointment.ends_at > starts,
    )
    if leave_out is not None:
        query = query.where(Appointment.id != leave_out)
    booked = [Booked(*row) for row in await session.execute(query)]
    outages = await station_outages(session, site, starts, ends)
    return SlotFinder(
        days=list(calendar.days(first, last)),
        stations=[StationInfo(s.id, s.kind, s.accessible, s.position) for s in stations],
        booked=booked,
        need=need,
        policy=policy(site),
        now=now,
        timezone=tz,
        outages=[Booked(o.station_id, o.starts_at, o.ends_at) for o in outages],
    )


async def availability(
    session: AsyncSession,
    slug: str,
    service_code: str,
    need_codes: tuple[str, ...],
    first: date | None,
    last: date | None,
    now: datetime,
) -> tuple[Site, list[Slot]]:
    """The free slots from `first` to `last` (by default two weeks from today)."""
    site = await get_site(session, slug)
    first, last = day_range(first, last, today=local_today(site, now), default_days=14)
    service = await get_service(session, service_code)
    needs = await get_needs(session, need_codes)
    finder = await slot_finder(session, site, requirement_of(service, needs), first, last, now)
    return site, finder.slots()


async def alternatives(
    session: AsyncSession, site: Site, need: Requirement, target: datetime, now: datetime
) -> list[Slot]:
    """Up to three free slots close to `target`, from the day before to a week after."""
    day = target.astimezone(ZoneInfo(site.timezone)).date()
    first = max(day - timedelta(days=1), now.astimezone(ZoneInfo(site.timezone)).date())
    finder = await slot_finder(session, site, need, first, day + timedelta(ALTERNATIVE_DAYS), now)
    return nearest(finder.slots(), target)


def _check(finder: SlotFinder, start: datetime) -> Slot:
    outcome = finder.check(start)
    if isinstance(outcome, Refusal):
        raise SlotRefused(outcome)
    return outcome


def check_texting(request: BookingRequest) -> None:
    """Texts go to mobiles only: refused when reminders by SMS are asked, or when an online
    booking gives a phone alone (its confirmation would be a text), for another number."""
    phone = request.contact.phone
    texts = request.reminders_by_sms or (request.channel == "online" and not request.contact.email)
    if phone and texts:
        contacts.texting_number(phone)


async def _count_future_bookings(session: AsyncSession, who: Contact, now: datetime) -> int:
    """Appointments to come of this person in all the mairies, however the email is spelt."""
    same_person = []
    if who.email:
        same_person.append(Appointment.email_key == contacts.email_key(who.email))
    if who.phone:
        same_person.append(Appointment.phone == who.phone)
    query = select(func.count()).where(
        or_(*same_person),
        Appointment.status == AppointmentStatus.BOOKED,
        Appointment.starts_at > now,
    )
    return int(await session.scalar(query) or 0)


async def _count_made_today(session: AsyncSession, who: Contact, now: datetime) -> int:
    """Online bookings made for this person in the last day, cancelled ones too: booking
    and cancelling in a loop would otherwise fill a stranger's inbox."""
    same_person = []
    if who.email:
        same_person.append(Appointment.email_key == contacts.email_key(who.email))
    if who.phone:
        same_person.append(Appointment.phone == who.phone)
    query = select(func.count()).where(
        or_(*same_person),
        Appointment.booked_by_agent_id.is_(None),
        Appointment.created_at > now - timedelta(days=1),
    )
    return int(await session.scalar(query) or 0)


def _person_locks(who: Contact) -> list[int]:
    """Locks on this person across Paris, so that two bookings of theirs at two mairies
    are counted one after the other."""
    keys = [contacts.email_key(who.email) if who.email else "", who.phone or ""]
    return [locking.lock_key(locking.Scope.PERSON, zlib.crc32(key.encode())) for key in keys if key]


async def _count_from_address(
    session: AsyncSession, site: Site, client: str, day: date, tz: ZoneInfo
) -> int:
    """Online bookings standing for this site-day made from this client network."""
    query = select(func.count()).where(
        Appointment.client_network == client,
        Appointment.starts_at >= local_instant(day, time(0), tz),
        Appointment.starts_at < local_instant(day + timedelta(days=1), time(0), tz),
        Appointment.site_id == site.id,
        Appointment.booked_by_agent_id.is_(None),
        Appointment.status.not_in(RELEASED),
    )
    return int(await session.scalar(query) or 0)


def is_overlap(exc: IntegrityError) -> bool:
    """Whether the database refused two appointments holding one station at once."""
    return getattr(exc.orig, "sqlstate", None) == "23P01" or "no_overlap" in str(exc.orig)


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


async def book(
    db: Database,
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
    async with db.session() as session:
        site = await get_site(session, request.site)
        service = await get_service(session, request.service)
        needs = await get_needs(session, request.needs)
    need = requirement_of(service, needs)
    tz = ZoneInfo(site.timezone)
    day = request.start.astimezone(tz).date()
    try:
        async with db.writing() as session:
            await locking.lock(
                session,
                [
                    locking.lock_key(locking.Scope.BOOKING_DAY, site.id, day),
                    *_person_locks(request.contact),
                ],
            )
            replaced = await _called_off(session, replacing) if replacing is not None else None
            if (
                agent_id is None
                and await _count_made_today(session, request.contact, now)
                >= BOOKINGS_MADE_PER_PERSON_PER_DAY
            ):
                raise Conflict(
                    "This email address or phone number has been given for too many "
                    "bookings today: try again tomorrow, or call the mairie.",
                    code="too_many_attempts",
                )
            if (
                await _count_future_bookings(session, request.contact, now)
                >= site.max_future_bookings_per_contact
            ):
                raise Conflict(
                    f"This email address or phone number already has "
                    f"{site.max_future_bookings_per_contact} appointments to come in the "
                    f"mairies of Paris: cancel one first.",
                    code="too_many_bookings",
                )
            if (
                agent_id is None
                and request.client is not None
                and per_address_per_day is not None
                and await _count_from_address(session, site, request.client, day, tz)
                >= per_address_per_day
            ):
                raise Conflict(
                    f"Your connection already holds {per_address_per_day} appointments on "
                    f"this day at {site.name}: to book more, call the mairie.",
                    code="address_day_full",
                )
            finder = await slot_finder(session, site, need, day, day, now)
            slot = _check(finder, request.start)
            appointment = Appointment(
                token=new_token(),
                site_id=site.id,
                station_id=slot.station_ids[0],
                service_id=service.id,
                starts_at=slot.start,
                ends_at=slot.end,
                status=AppointmentStatus.BOOKED,
                channel=request.channel,
                name=request.contact.name,
                email=request.contact.email,
                phone=request.contact.phone,
                email_key=contacts.email_key(request.contact.email)
                if request.contact.email
                else None,
                client_network=request.client if agent_id is None else None,
                needs=[need.code for need in needs],
                reminders_by_email=request.reminders_by_email and bool(request.contact.email),
                reminders_by_sms=request.reminders_by_sms and bool(request.contact.phone),
                booked_by_agent_id=agent_id,
                created_at=now,
                updated_at=now,
            )
            await _insert(session, appointment, site.slug)
            if replaced is not None:
                replaced.rebooked_as_id = appointment.id
                replaced.updated_at = now
            await outbox.booked(session, appointment, site, service, now)
            if agent_id is not None:
                audit.record(
                    session,
                    "appointment.booked",
                    at=now,
                    agent_id=agent_id,
                    site_id=site.id,
                    target=f"appointment:{appointment.reference}",
                    channel=request.channel,
                    service=service.code,
                    station=appointment.station_id,
                )
            appointment_id = appointment.id
    except SlotRefused as refused:
        await _offer_alternatives(db, refused, site, need, request.start, now)
        raise
    return await get_by_id(db, appointment_id)


async def _called_off(session: AsyncSession, appointment_id: int) -> Appointment:
    """The called-off appointment a booking replaces, locked; 409 once another replaced it."""
    replaced = await session.get(Appointment, appointment_id, with_for_update=True)
    if replaced is None or replaced.status != CALLED_OFF:
        raise Conflict(
            "Only an appointment called off by the mairie can be taken again: move this one.",
            code="not_called_off",
        )
    if replaced.rebooked_as_id is not None:
        raise Conflict(
            "Another slot was already chosen in place of this appointment.",
            code="already_rebooked",
        )
    return replaced


async def _offer_alternatives(
    db: Database,
    refused: SlotRefused,
    site: Site,
    need: Requirement,
    start: datetime,
    now: datetime,
) -> None:
    if refused.reason in (Refusal.TAKEN, Refusal.WALK_IN_SHARE, Refusal.OFF_GRID):
        async with db.session() as session:
            found = await alternatives(session, site, need, start, now)
        refused.offer(found, ZoneInfo(site.timezone))


def _with_details() -> list[ORMOption]:
    return [
        selectinload(Appointment.site),
        selectinload(Appointment.station),
        selectinload(Appointment.service),
    ]


async def get_by_id(db: Database, appointment_id: int) -> Appointment:
    async with db.session() as session:
        appointment = await session.scalar(
            select(Appointment).where(Appointment.id == appointment_id).options(*_with_details())
        )
    assert appointment is not None
    return appointment


async def get_by_token(session: AsyncSession, token: str) -> Appointment:
    """The appointment behind a private link; 404 for anything else."""
    appointment = None
    if 16 <= len(token) <= 64:
        appointment = await session.scalar(
            select(Appointment)
            .where(Appointment.token_digest == token_digest(token))
            .options(*_with_details())
        )
    if appointment is None or not secrets.compare_digest(appointment.token, token):
        raise NotFound("No appointment matches this link.")
    return appointment


async def _locked_by_token(session: AsyncSession, token: str) -> Appointment:
    appointment = await get_by_token(session, token)
    await session.refresh(appointment, with_for_update=True)
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


async def cancel(db: Database, token: str, *, now: datetime) -> Appointment:
    """Cancel (idempotent); refused once the appointment has begun or the person came."""
    async with db.writing() as session:
        appointment = await _locked_by_token(session, token)
        if appointment.status not in RELEASED:  # called off by the mairie: nothing to cancel
            if (
                not APPOINTMENT.allows(appointment.status, AppointmentAction.CANCEL)
                or now >= appointment.starts_at
            ):
                raise Conflict(
                    "This appointment has started or taken place: it cannot be cancelled.",
                    code="not_cancellable",
                )
            moved = move_appointment(appointment, AppointmentAction.CANCEL, now)
            if AppointmentEffect.TELL_CANCELLED in moved.effects:
                site = await session.get_one(Site, appointment.site_id)
                service = await session.get_one(Service, appointment.service_id)
                await outbox.cancelled(session, appointment, site, service, now)
        appointment_id = appointment.id
    return await get_by_id(db, appointment_id)


async def reschedule(
    db: Database,
    token: str,
    start: datetime,
    *,
    now: datetime,
    per_address_per_day: int | None = None,
) -> Appointment:
    """Move the appointment to `start`, in one step: the person always holds exactly one.

    An online booking moved to another day counts against that day's cap of its client
    address, as a new booking would."""
    async with db.session() as session:
        current = await get_by_token(session, token)
        site = current.site
        service = current.service
        needs = await get_needs(session, tuple(current.needs))
    need = requirement_of(service, needs)
    tz = ZoneInfo(site.timezone)
    old_day = current.starts_at.astimezone(tz).date()
    new_day = start.astimezone(tz).date()
    try:
        async with db.writing() as session:
            await locking.lock(
                session,
                [
                    locking.lock_key(locking.Scope.BOOKING_DAY, site.id, old_day),
                    locking.lock_key(locking.Scope.BOOKING_DAY, site.id, new_day),
                ],
            )
            appointment = await _locked_by_token(session, token)
            if (
                not APPOINTMENT.allows(appointment.status, AppointmentAction.MOVE)
                or now >= appointment.starts_at
            ):
                raise Conflict(
                    "This appointment has started, taken place or been cancelled.",
                    code="not_movable",
                )
            appointment_id = appointment.id
            if (
                new_day != old_day
                and appointment.client_network is not None
                and per_address_per_day is not None
                and await _count_from_address(
                    session, site, appointment.client_network, new_day, tz
                )
                >= per_address_per_day
            ):
                raise Conflict(
                    f"Your connection already holds {per_address_per_day} appointments on "
                    f"this day at {site.name}: to book more, call the mairie.",
                    code="address_day_full",
                )
            # The very same slot: nothing changes, so no new version and no message.
            if start != appointment.starts_at:
                finder = await slot_finder(
                    session, site, need, new_day, new_day, now, leave_out=appointment.id
                )
                slot = _check(finder, start)
                try:
                    async with session.begin_nested():
                        appointment.station_id = slot.station_ids[0]
                        appointment.starts_at = slot.start
                        appointment.ends_at = slot.end
                        appointment.sequence += 1
                        appointment.updated_at = now
                        await session.flush()
                except IntegrityError as exc:
                    if is_overlap(exc):
                        raise SlotRefused(Refusal.TAKEN) from exc
                    raise
                await outbox.moved(session, appointment, site, service, now)
    except SlotRefused as refused:
        await _offer_alternatives(db, refused, site, need, start, now)
        raise
    return await get_by_id(db, appointment_id)


# Called off by the mairie, and taken again elsewhere


async def offered_needs(session: AsyncSession, codes: Sequence[str]) -> list[Need]:
    """Those of an appointment's needs still offered (a withdrawn one cannot be booked)."""
    if not codes:
        return []
    found = {
        need.code: need
        for need in await session.scalars(
            select(Need).where(Need.code.in_(list(codes)), Need.active)
        )
    }
    return [found[code] for code in codes if code in found]


async def nearest_free(
    session: AsyncSession, site: Site, appointments: Sequence[Appointment], now: datetime
) -> dict[int, list[Slot]]:
    """For each appointment (by id), the free slots nearest to its time (or to now, once it
    is past) for the same service and needs at the same mairie, from the slot engine: one
    search per kind of appointment, whatever their number."""
    tz = ZoneInfo(site.timezone)
    today = local_today(site, now)
    groups: dict[tuple[int, tuple[str, ...]], list[Appointment]] = {}
    for appointment in appointments:
        groups.setdefault((appointment.service_id, tuple(appointment.needs)), []).append(
            appointment
        )
    found: dict[int, list[Slot]] = {}
    for (service_id, codes), members in groups.items():
        service = await session.get_one(Service, service_id)
        need = requirement_of(service, await offered_needs(session, codes))
        targets = {member.id: max(member.starts_at, now) for member in members}
        days = [target.astimezone(tz).date() for target in targets.values()]
        first = max(min(days) - timedelta(days=1), today)
        last = max(days) + timedelta(days=ALTERNATIVE_DAYS)
        slots = (await slot_finder(session, site, need, first, last, now)).slots()
        for member_id, target in targets.items():
            found[member_id] = nearest(slots, target, OFFERED_SLOTS)
    return found


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
        await outbox.cannot_take_place(
            session, appointment, site, service, reason, now, offered=offered
        )


async def rebook(
    db: Database,
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
    async with db.session() as session:
        old = await get_by_token(session, token)
        if old.status != CALLED_OFF:
            raise Conflict(
                "Only an appointment called off by the mairie can be taken again: move this one.",
                code="not_called_off",
            )
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
        )
    if taken is not None:
        return await get_by_id(db, taken)
    try:
        return await book(
            db, request, now=now, per_address_per_day=per_address_per_day, replacing=old.id
        )
    except Conflict as conflict:
        if conflict.code != "already_rebooked":
            raise
        async with db.session() as session:
            linked = await session.scalar(
                select(Appointment.rebooked_as_id).where(Appointment.id == old.id)
            )
        assert linked is not None
        return await get_by_id(db, linked)


async def appointment_by_reference(
    session: AsyncSession, site: Site, reference: str
) -> Appointment | None:
    """An appointment of `site` by the reference read out over the phone or at the desk."""
    return await session.scalar(
        select(Appointment)
        .where(Appointment.site_id == site.id, Appointment.reference == reference.strip().upper())
        .options(*_with_details())
    )


async def appointments_of_day(
    session: AsyncSession, site: Site, day: date, search: str = "", limit: int = 50
) -> list[Appointment]:
    """A site's appointments of a local day, by time; `search` matches the reference or
    the name (for reception looking someone up)."""
    tz = ZoneInfo(site.timezone)
    query = (
        select(Appointment)
        .where(
            Appointment.site_id == site.id,
            Appointment.starts_at >= local_instant(day, time(0), tz),
            Appointment.starts_at < local_instant(day + timedelta(days=1), time(0), tz),
            Appointment.status.not_in(RELEASED),
        )
        .options(*_with_details())
        .order_by(Appointment.starts_at, Appointment.id)
        .limit(limit)
    )
    words = search.strip()
    if words:
        escaped = words.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(
            or_(
                func.lower(Appointment.reference) == words.lower(),
                func.lower(Appointment.name).like(f"%{escaped}%", escape="\\"),
            )
        )
    return list(await session.scalars(query))


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
            marked += result.rowcount  # type: ignore[attr-defined]
    return marked


async def stop_reminders(db: Database, token: str) -> Appointment:
    """The usager wants no more reminders for this appointment (from their private page)."""
    async with db.writing() as session:
        appointment = await _locked_by_token(session, token)
        appointment.reminders_by_email = False
        appointment.reminders_by_sms = False
        await outbox.reminders_stopped(session, appointment)
        appointment_id = appointment.id
    return await get_by_id(db, appointment_id)
