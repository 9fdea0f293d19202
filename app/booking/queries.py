"""Reading for the booking: the démarche and needs asked and what they require, the free
slots of a mairie (the slot engine fed from the database), the refusal of a time that
cannot be booked with the free slots offered instead, and the appointments themselves (by
private link, by reference, by day). Nothing here changes data."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute, joinedload
from sqlalchemy.orm.interfaces import ORMOption

from app.booking import rules
from app.booking.finders import slot_finder
from app.booking.models import RELEASED, Appointment
from app.booking.references import CODE_LENGTH, typed_characters
from app.booking.slots import (
    NeedEffect,
    Refusal,
    Requirement,
    Slot,
    SlotFinder,
    nearest,
    requirement,
)
from app.db import token_digest
from app.errors import BadRequest, DomainError, NotFound
from app.lookup import one_or_not_found
from app.plain_text import plain
from app.sites.hours import local_days
from app.sites.models import Need, Service, Site
from app.sites.service import day_range, local_today, site_calendar

T = TypeVar("T")

DAY_AT_MOST = 2000  # appointments of one mairie's day, far more than its stations hold

ALTERNATIVE_DAYS = 7
OFFERED_SLOTS = 3  # offered to a person whose appointment the mairie called off
CAPACITY_REFUSALS = (Refusal.TAKEN, Refusal.WALK_IN_SHARE, Refusal.NO_STATION)
# Refusals after which the nearest free slots are worth offering.
OFFERING_REFUSALS = (Refusal.TAKEN, Refusal.WALK_IN_SHARE, Refusal.OFF_GRID)
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


# The démarche and needs asked, and what they require.


async def get_service(session: AsyncSession, code: str, *, retired: bool = False) -> Service:
    """The démarche `code` offered today; with `retired`, also one withdrawn since, as
    an appointment booked before keeps it."""
    return await one_or_not_found(
        session, _service_by_code(retired), {"code": code}, f"No service has the code {code!r}."
    )


@cache
def _service_by_code(retired: bool) -> Select[Service]:
    """`get_service`'s statement, built once."""
    query = select(Service).where(Service.code == bindparam("code"))
    return query if retired else query.where(Service.active)


async def get_needs(
    session: AsyncSession, codes: tuple[str, ...], *, retired: bool = False
) -> list[Need]:
    """The needs `codes` offered today; with `retired`, also those withdrawn since, as an
    appointment booked before keeps them."""
    wanted = tuple(dict.fromkeys(code.strip() for code in codes if code.strip()))
    if not wanted:
        return []
    query = select(Need).where(Need.code.in_(wanted))
    needs = list(await session.scalars(query if retired else query.where(Need.active)))
    unknown = sorted(set(wanted) - {need.code for need in needs})
    if unknown:
        raise BadRequest(f"Unknown need: {', '.join(unknown)}.")
    return sorted(needs, key=lambda need: wanted.index(need.code))


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


def requirement_of(service: Service, needs: list[Need]) -> Requirement:
    return requirement_with(service.duration_minutes, service.station_kind, needs)


def requirement_with(duration_minutes: int, station_kind: str, needs: list[Need]) -> Requirement:
    """The requirement of a service of this duration and station kind, with these needs."""
    return requirement(
        duration_minutes,
        station_kind,
        [NeedEffect(n.extra_minutes, n.station_kind, n.requires_accessible) for n in needs],
    )


# Free slots.


async def free_slots(
    session: AsyncSession,
    site: Site,
    service_code: str,
    need_codes: tuple[str, ...],
    first: date | None,
    last: date | None,
    now: datetime,
    *,
    retired: bool = False,
) -> list[Slot]:
    """The free slots at `site` from `first` to `last` (by default two weeks from today);
    with `retired`, for a démarche and needs withdrawn since an appointment was booked."""
    first, last = day_range(first, last, today=local_today(site, now), default_days=14)
    service = await get_service(session, service_code, retired=retired)
    needs = await get_needs(session, need_codes, retired=retired)
    finder = await slot_finder(session, site, requirement_of(service, needs), first, last, now)
    return finder.slots()


def check_slot(finder: SlotFinder, start: datetime) -> Slot:
    """The slot starting at `start`; SlotRefused when it cannot be booked."""
    outcome = finder.check(start)
    if isinstance(outcome, Refusal):
        raise SlotRefused(outcome)
    return outcome


async def alternatives(
    session: AsyncSession, site: Site, need: Requirement, target: datetime, now: datetime
) -> list[Slot]:
    """Up to three free slots close to `target`, from the day before to a week after."""
    day = target.astimezone(ZoneInfo(site.timezone)).date()
    first = max(day - timedelta(days=1), now.astimezone(ZoneInfo(site.timezone)).date())
    finder = await slot_finder(session, site, need, first, day + timedelta(ALTERNATIVE_DAYS), now)
    return nearest(finder.slots(), target)


async def offer_alternatives(
    session: AsyncSession,
    refused: SlotRefused,
    site: Site,
    need: Requirement,
    start: datetime,
    now: datetime,
) -> None:
    """Attach to `refused` the free slots nearest to `start`, when another one would do."""
    if refused.reason in OFFERING_REFUSALS:
        found = await alternatives(session, site, need, start, now)
        refused.offer(found, ZoneInfo(site.timezone))


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


# Appointments.


def with_details() -> list[ORMOption]:
    """What every reader of an appointment shows: its mairie, station and démarche, read
    in the same statement (each is one row for an appointment)."""
    return [
        joinedload(Appointment.site),
        joinedload(Appointment.station),
        joinedload(Appointment.service),
    ]


async def get_by_id(session: AsyncSession, appointment_id: int) -> Appointment:
    appointment = await session.scalar(
        select(Appointment).where(Appointment.id == appointment_id).options(*with_details())
    )
    assert appointment is not None
    return appointment


async def behind_link(
    session: AsyncSession,
    query: Select[T],
    digest: QueryableAttribute[Any],
    token: str,
    shortest: int,
    longest: int,
) -> T | None:
    """The row of `query` whose `digest` column holds the digest of a private link's
    `token`; None, without asking the database, for a token no such link carries."""
    if not shortest <= len(token) <= longest:
        return None
    found: T | None = await session.scalar(query.where(digest == token_digest(token)))
    return found


async def get_by_token(session: AsyncSession, token: str) -> Appointment:
    """The appointment behind a private link; 404 for anything else."""
    query = select(Appointment).options(*with_details())
    appointment = await behind_link(session, query, Appointment.token_digest, token, 16, 64)
    if appointment is None or not secrets.compare_digest(appointment.token, token):
        raise NotFound("No appointment matches this link.")
    return appointment


async def appointment_by_reference(
    session: AsyncSession, site: Site, reference: str
) -> Appointment | None:
    """An appointment of `site` by the reference read out over the phone or at the desk."""
    return await session.scalar(
        select(Appointment)
        .where(Appointment.site_id == site.id, Appointment.reference == reference.strip().upper())
        .options(*with_details())
    )


async def appointments_of_day(
    session: AsyncSession, site: Site, day: date, search: str = "", limit: int = 50
) -> list[Appointment]:
    """A site's appointments of a local day, by time; `search` (for reception looking
    someone up) matches part of the name, whatever the accents and case ("zoe" finds Zoé),
    or the reference, whole or without its arrondissement ("8QFNEJ" finds 15-8QFNEJ)."""
    starts, ends = local_days(day, day, ZoneInfo(site.timezone))
    query = (
        select(Appointment)
        .where(
            Appointment.site_id == site.id,
            Appointment.starts_at >= starts,
            Appointment.starts_at < ends,
            Appointment.status.not_in(RELEASED),
        )
        .options(*with_details())
        .order_by(Appointment.starts_at, Appointment.id)
    )
    words = _words(search)
    if not words:
        return list(await session.scalars(query.limit(limit)))
    # A day of one mairie is a few hundred appointments at most: compared here, as typed.
    code = typed_characters(search)
    found = [
        appointment
        for appointment in await session.scalars(query.limit(DAY_AT_MOST))
        if _named(appointment, words) or _reference_of(appointment, code)
    ]
    return found[:limit]


def _words(text: str) -> list[str]:
    """The words of `text`, plain (`plain_text.plain`): "O’Brien" is "o", "brien"."""
    return re.findall(r"[^\W_]+", plain(text))


def _named(appointment: Appointment, words: list[str]) -> bool:
    """Whether each of `words` is in the appointment's name, in any order ("lefevre zoe"
    finds Zoé Lefèvre; "zoé lef" too)."""
    name = " ".join(_words(appointment.name))
    return all(word in name for word in words)


def _reference_of(appointment: Appointment, code: str) -> bool:
    """Whether `code` (letters and digits typed) is the appointment's reference, whole or
    its last six characters, with or without the dash."""
    reference = appointment.reference.replace("-", "").upper()
    return len(code) >= CODE_LENGTH and code in (reference, reference[-CODE_LENGTH:])


async def arrival_window(
    session: AsyncSession, site: Site, appointment: Appointment
) -> tuple[datetime, datetime]:
    """When the person may come to the desk, by the mairie's hours of that day
    (`rules.arrival_window`)."""
    day = appointment.starts_at.astimezone(ZoneInfo(site.timezone)).date()
    opened = (await site_calendar(session, site, day, day)).day(day).intervals
    return rules.arrival_window(
        appointment.starts_at, site.check_in_early_minutes, site.check_in_late_minutes, opened
    )
