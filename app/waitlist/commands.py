"""What a person does about earlier slots, from their appointment's private link: ask to
be told of one (`ask`), stop asking (`stop`), take the slot held for them (`accept`) or
let the next person have it (`decline`). And what the others see of it (`standing`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import locking
from app.booking.commands import move_to
from app.booking.contacts import texting_number
from app.booking.finders import slot_finder
from app.booking.messages import facts
from app.booking.models import Appointment, AppointmentStatus
from app.booking.queries import (
    check_slot,
    get_by_id,
    get_by_token,
    get_needs,
    requirement_of,
)
from app.booking.slots import policy
from app.db import writing
from app.errors import BadRequest, Conflict, Gone, Unprocessable
from app.notify import outbox
from app.sites.models import Site
from app.sites.service import local_today
from app.waitlist import rules
from app.waitlist.engine import freed, let_go
from app.waitlist.models import Offer, OfferStatus, Wish, WishEnd


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a person stands: waiting since `since` (for a slot before `before`), and the
    slot held for them now, if any."""

    wish: Wish | None
    offer: Offer | None


async def standing(session: AsyncSession, appointment_id: int, now: datetime) -> Standing:
    wish = await session.scalar(
        select(Wish).where(Wish.appointment_id == appointment_id, Wish.ended_at.is_(None))
    )
    offer = await session.scalar(
        select(Offer).where(
            Offer.appointment_id == appointment_id,
            Offer.status == OfferStatus.HELD,
            Offer.expires_at > now,
        )
    )
    return Standing(wish, offer)


def _changeable(appointment: Appointment, now: datetime) -> None:
    if appointment.status != AppointmentStatus.BOOKED or now >= appointment.starts_at:
        raise Conflict(
            "This appointment has started, taken place or been cancelled.", code="not_movable"
        )


def first_day_before(site: Site, now: datetime) -> date:
    """The first day that may be given as `before` at `now`: an earlier one could never be
    met (no slot can be offered before it)."""
    return rules.first_day_before(
        outbox.readable_from(site, now), policy(site).min_notice, ZoneInfo(site.timezone)
    )


async def ask(session: AsyncSession, token: str, before: date | None, now: datetime) -> Standing:
    """Wait for an earlier slot (before the day `before`, if given); asked again, the day
    changes and the place in line is kept."""
    appointment = await get_by_token(session, token)
    _changeable(appointment, now)
    site = appointment.site
    today = local_today(site, now)
    day = appointment.starts_at.astimezone(ZoneInfo(site.timezone)).date()
    if before is not None and not first_day_before(site, now) <= before <= day:
        raise Unprocessable(
            "The day given must be one an earlier slot can come before (from the day after "
            "the first one a slot could be offered on), and no later than the appointment's.",
            code="before_invalid",
        )
    if appointment.starts_at <= now + policy(site).min_notice:
        raise Conflict(
            "This appointment is too close for an earlier slot to be booked before it.",
            code="too_close",
        )
    if not appointment.email and facts(appointment).mobile is None:
        raise Unprocessable(
            "An earlier slot is offered by email or text message: this appointment has "
            "neither an email address nor a mobile number.",
            code="unreachable",
        )
    async with writing(session):
        appointment = await get_by_token(session, token)
        _changeable(appointment, now)
        wish = await _wish_of(session, appointment.id)
        if wish is None:
            wish = Wish(appointment_id=appointment.id, site_id=site.id, created_at=now)
            try:
                async with session.begin_nested():
                    session.add(wish)
            except IntegrityError:  # asked twice at the same instant: the other one's wish
                wish = await _wish_of(session, appointment.id)
                assert wish is not None
        elif wish.ended_at is not None:  # asked again after stopping: last in line
            wish.created_at, wish.ended_at, wish.ended_why = now, None, None
        wish.before = before
        await session.flush()
        # What is free already is offered at once: every day from today to the last one a
        # slot could be offered on (the day before the one given, else the appointment's).
        last = day if before is None else before - timedelta(days=1)
        for ahead in range((last - today).days + 1):
            await freed(session, site.id, today + timedelta(days=ahead), now)
        appointment_id = appointment.id
    return await standing(session, appointment_id, now)


async def _wish_of(session: AsyncSession, appointment_id: int) -> Wish | None:
    return await session.scalar(select(Wish).where(Wish.appointment_id == appointment_id))


async def stop(session: AsyncSession, token: str, now: datetime) -> None:
    """Wait no more for an earlier slot (idempotent); a slot held is let go."""
    appointment = await get_by_token(session, token)
    tz = ZoneInfo(appointment.site.timezone)
    async with writing(session):
        wish = await session.scalar(
            select(Wish)
            .where(Wish.appointment_id == appointment.id, Wish.ended_at.is_(None))
            .with_for_update()
        )
        if wish is None:
            return
        wish.ended_at, wish.ended_why = now, WishEnd.STOPPED
        await end_offers(session, appointment.id, OfferStatus.WITHDRAWN, tz, now)


async def end_offers(
    session: AsyncSession, appointment_id: int, status: OfferStatus, tz: ZoneInfo, now: datetime
) -> None:
    """Let go the slot held for the appointment's person, if any."""
    held = await session.scalars(
        select(Offer)
        .where(Offer.appointment_id == appointment_id, Offer.status == OfferStatus.HELD)
        .with_for_update()
    )
    for offer in list(held):
        await let_go(session, offer, status, tz, now)


async def _taken_already(session: AsyncSession, appointment: Appointment) -> bool:
    """Whether the appointment is where the last slot offered to it was, taken."""
    last = await session.scalar(
        select(Offer)
        .where(Offer.appointment_id == appointment.id)
        .order_by(Offer.made_at.desc(), Offer.id.desc())
        .limit(1)
    )
    return (
        last is not None
        and last.status == OfferStatus.ACCEPTED
        and last.starts_at == appointment.starts_at
        and appointment.status == AppointmentStatus.BOOKED
    )


def _gone() -> Gone:
    return Gone("The slot offered is no longer held for you.", code="offer_expired")


async def accept(session: AsyncSession, token: str, now: datetime) -> Appointment:
    """Take the slot held for this appointment's person, in one step: the appointment
    moves there (a new version, told as any move), the slot it leaves is freed for the
    next person waiting. Gone (410) when no slot is held for them any more."""
    appointment = await get_by_token(session, token)
    site, service = appointment.site, appointment.service
    tz = ZoneInfo(site.timezone)
    found = await standing(session, appointment.id, now)
    if found.offer is None:
        if await _taken_already(session, appointment):
            return appointment  # asked twice (a double click): the slot is theirs
        raise _gone()
    offer_id = found.offer.id
    new_day = found.offer.starts_at.astimezone(tz).date()
    old_day = appointment.starts_at.astimezone(tz).date()
    needs = await get_needs(session, tuple(appointment.needs), retired=True)
    need = requirement_of(service, needs)
    async with writing(session):
        await locking.lock(session, locking.day_locks(site.id, old_day, new_day))
        appointment = await get_by_token(session, token)
        await locking.lock_row(session, appointment)
        offer = await session.get(Offer, offer_id, with_for_update=True)
        if offer is None or offer.status != OfferStatus.HELD or offer.expires_at <= now:
            raise _gone()
        _changeable(appointment, now)
        finder = await slot_finder(
            session,
            site,
            need,
            new_day,
            new_day,
            now,
            leave_out=appointment.id,
            leave_out_offer=offer.id,
        )
        slot = check_slot(finder, offer.starts_at)
        offer.status = OfferStatus.ACCEPTED
        offer.answered_at = now
        wish = await session.get_one(Wish, offer.wish_id)
        wish.ended_at, wish.ended_why = now, WishEnd.TAKEN
        await move_to(session, appointment, slot, now, station_id=offer.station_id)
        appointment_id = appointment.id
    return await get_by_id(session, appointment_id)


async def decline(session: AsyncSession, token: str, now: datetime) -> None:
    """Let the slot held for this person go to the next one; they keep waiting for
    another (idempotent)."""
    appointment = await get_by_token(session, token)
    tz = ZoneInfo(appointment.site.timezone)
    async with writing(session):
        await end_offers(session, appointment.id, OfferStatus.DECLINED, tz, now)


async def stop_by_phone(session: AsyncSession, phone: str, now: datetime) -> int:
    """The holder of `phone` answered STOP to a text: they wait for no earlier slot any
    more, for any of their appointments, and slots held for them are let go. How many of
    their requests ended (none for a number that takes no texts)."""
    try:
        number = texting_number(phone)
    except BadRequest:
        return 0
    async with writing(session):
        rows = await session.execute(
            select(Wish, Site.timezone)
            .join(Appointment, Appointment.id == Wish.appointment_id)
            .join(Site, Site.id == Wish.site_id)
            .where(Appointment.phone == number, Wish.ended_at.is_(None))
            .with_for_update(of=Wish)
        )
        ended = 0
        for wish, zone in rows:
            wish.ended_at, wish.ended_why = now, WishEnd.STOPPED
            await end_offers(
                session, wish.appointment_id, OfferStatus.WITHDRAWN, ZoneInfo(zone), now
            )
            ended += 1
    return ended
