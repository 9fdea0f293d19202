"""The queue from a phone: a resident takes today's ticket before leaving home.

- **Joining** (`join`): while the mairie is open, within its cap of tickets taken from
  phones per hour, and only if the expected wait ends before closing time (`join_state`);
  one live ticket per mobile number across Paris (the number's lock, then a look across
  every mairie). The ticket is `remote`: counted in the queue, never called.
- **Confirming** the number: the first text's link carries a code only that text holds
  (`confirmation_code`); a ticket whose number is not confirmed within
  `UNCONFIRMED_FOR` closes, so that a mistyped number holds nobody's place. Arriving
  confirms it too.
- **Arriving** (`arrive`, `check_in_number`): with the mairie's arrival code of the moment
  (`arrival_codes`, shown as a QR code on its paired screens and at reception) or checked
  in by reception. The ticket then waits as if since it was taken, for at most the site's
  `remote_head_start_minutes`: coming on time is rewarded, never punished.
- **Passed over** (`hold_passed`, on each call): when a station calls someone who took their ticket
  later while a remote holder is not there yet, that ticket is held and its holder told;
  arriving within `remote_rejoin_minutes` puts it first in line, else it closes
  (`close_unanswered`).
- **Leaving home** (`tell_to_leave`): a text when the estimate comes down to the travel
  time the holder gave.
"""

from __future__ import annotations

import hashlib
import hmac
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app import events, locking
from app.booking.contacts import texting_number
from app.booking.queries import get_needs, get_service
from app.db import Database, rowcount, writing
from app.errors import BadRequest, Conflict, Forbidden, NotFound
from app.queue import views
from app.queue.arrival_codes import arrival_code_holds, typed
from app.queue.commands import leave, new_ticket
from app.queue.messages import About, about
from app.queue.models import Ticket, TicketStatus
from app.queue.ordering import can_serve
from app.queue.queries import (
    ACTIVE,
    IN_LINE,
    caller,
    get_station,
    reload,
    site_of,
    ticket_query,
    today,
    waiting_of,
)
from app.queue.recording import lock_queue, record
from app.queue.remote_limits import check_joins
from app.queue.rules import TICKET, TicketAction
from app.sites.models import Service, Site
from app.sites.opening import closing_time, is_open, open_day
from app.sites.service import get_site

TRAVEL_MINUTES = (10, 20, 30, 45, 60)
UNCONFIRMED_FOR = timedelta(minutes=20)
# Wrong arrival codes a ticket may be given before only reception can check it in: a
# code is one of a million, two of them good at a time; guessing would take ~250,000 tries.
MAX_ARRIVAL_MISSES = 10
# Told to leave home this much before the estimate says their turn comes: buses are late.
LEAVE_MARGIN_MINUTES = 5
HOUR = timedelta(hours=1)
LIVE = (TicketStatus.REMOTE, *ACTIVE)


class Refusal:
    """Why nobody may join a mairie's queue from a phone now (a problem's `code`)."""

    OFF = "remote_off"
    CLOSED = "site_closed"
    FULL = "remote_full"
    TOO_LATE = "too_late"


@dataclass(frozen=True)
class JoinState:
    """Whether one may join now; if not, why (`Refusal`); the wait a newcomer may expect."""

    open: bool
    reason: str | None
    eta_minutes: tuple[int, int] | None


async def join_state(session: AsyncSession, site: Site, now: datetime) -> JoinState:
    """Whether someone may take a ticket of `site` from a phone at `now`."""
    wait = await views.newcomer_wait(session, site, now)
    if site.remote_per_hour == 0:
        return JoinState(False, Refusal.OFF, wait)
    day = await open_day(session, site, now)
    if not is_open(day, now):
        return JoinState(False, Refusal.CLOSED, None)
    taken = await session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(
            Ticket.site_id == site.id,
            Ticket.travel_minutes.is_not(None),
            Ticket.arrived_at > now - HOUR,
        )
    )
    if int(taken or 0) >= site.remote_per_hour:
        return JoinState(False, Refusal.FULL, wait)
    if views.closes_before_turn(now, closing_time(day), wait):
        return JoinState(False, Refusal.TOO_LATE, wait)
    return JoinState(True, None, wait)


REFUSED = {
    Refusal.OFF: "This mairie takes no tickets from phones.",
    Refusal.CLOSED: "The mairie is closed now: tickets are taken from phones while it is open.",
    Refusal.FULL: "As many tickets as the mairie takes from phones this hour are taken.",
    Refusal.TOO_LATE: "The wait would end after closing time: come another day.",
}


async def _about(session: AsyncSession, ticket: Ticket, site: Site) -> About:
    """What an event about a remote ticket carries: texts go to its own number, in the
    language it was taken in."""
    service = await session.get_one(Service, ticket.service_id)
    return await about(session, ticket, site, service.name_in(ticket.language), person=False)


def _phone_lock(number: str) -> int:
    return locking.lock_key(locking.Scope.PERSON, zlib.crc32(number.encode()))


async def live_ticket_of(session: AsyncSession, number: str) -> Ticket | None:
    """The ticket this mobile number holds in any mairie's queue, if any."""
    found: Ticket | None = await session.scalar(
        ticket_query().where(Ticket.phone == number, Ticket.status.in_(LIVE)).limit(1)
    )
    return found


def confirmation_code(secret: str, token: str) -> str:
    """The code the first text's link carries: proof the number is the holder's."""
    mac = hmac.new(secret.encode(), f"guichet phone confirmation {token}".encode(), hashlib.sha256)
    return mac.hexdigest()[:12]


async def join(
    session: AsyncSession,
    slug: str,
    *,
    service_code: str,
    phone: str,
    needs: tuple[str, ...] = (),
    travel_minutes: int = 20,
    language: str = "fr",
    secret: str,
    now: datetime,
    client: str | None = None,
    per_address_per_day: int | None = None,
) -> Ticket:
    """A `remote` ticket for the holder of `phone`, told by a text with its link. A number
    takes at most `JOINS_PER_NUMBER_PER_DAY` tickets a day (each join texts it: nobody
    fills a stranger's phone by joining and leaving); a client network (`client`) at most
    `per_address_per_day` at one mairie a day (nobody fills its hourly cap alone)."""
    number = texting_number(phone)
    if travel_minutes not in TRAVEL_MINUTES:
        choices = ", ".join(str(minutes) for minutes in TRAVEL_MINUTES)
        raise BadRequest(f"Say how long you need to come: {choices} minutes.", code="travel")
    async with writing(session):
        site = await get_site(session, slug)
        service = await get_service(session, service_code)
        chosen = await get_needs(session, needs)
        await locking.lock(session, [_phone_lock(number)])
        if await live_ticket_of(session, number) is not None:
            raise Conflict(
                "This mobile number already holds a ticket in a mairie's queue today: "
                "leave that one first.",
                code="phone_has_ticket",
            )
        await check_joins(session, site, number, client, per_address_per_day, now)
        await lock_queue(session, site.id)
        state = await join_state(session, site, now)
        if state.reason is not None:
            raise Conflict(REFUSED[state.reason], code=state.reason)
        ticket = await new_ticket(
            session, site, service, chosen, now=now, phone=number, status=TicketStatus.REMOTE
        )
        ticket.travel_minutes = travel_minutes
        ticket.language = language
        ticket.client_network = client
        await record(session, ticket, "joined", now, agent_id=None)
        joined = events.TicketJoinedRemotely(
            at=now,
            **await _about(session, ticket, site),
            confirmation=confirmation_code(secret, ticket.token),
        )
        await events.record(session, joined)
        ticket_id = ticket.id
    return await reload(session, ticket_id)


async def confirm(
    session: AsyncSession, token: str, code: str, *, secret: str, now: datetime
) -> bool:
    """Confirm the ticket's number by the code of its first text; whether it is (now)."""
    async with writing(session):
        ticket = await views.ticket_by_token(session, token)
        if ticket.confirmed_at is not None:
            return True
        if not hmac.compare_digest(code.encode(), confirmation_code(secret, token).encode()):
            return False
        ticket.confirmed_at = now
    return True


# Arriving ------------------------------------------------------------------------------


def placed_at(ticket: Ticket, site: Site, now: datetime) -> datetime:
    """Where an arriving remote ticket goes in the queue: as if waiting since it was taken,
    for at most the site's head start; one held while away keeps its first place."""
    if ticket.held_at is not None:
        return ticket.arrived_at
    return max(ticket.arrived_at, now - timedelta(minutes=site.remote_head_start_minutes))


async def _arrived(
    session: AsyncSession, ticket: Ticket, site: Site, now: datetime, agent_id: int | None
) -> None:
    ticket.status = TICKET.move(ticket.status, TicketAction.ARRIVE).to
    ticket.arrived_at = placed_at(ticket, site, now)
    ticket.came_at = now
    ticket.confirmed_at = ticket.confirmed_at or now
    await record(session, ticket, "arrived", now, agent_id=agent_id)


async def judge_code(
    session: AsyncSession, ticket: Ticket, site: Site, code: str, *, secret: str, now: datetime
) -> None:
    """Nothing when `code` is `site`'s arrival code of the moment; else 403 `arrival_code`,
    the miss counted on `ticket` in a transaction of its own. Past `MAX_ARRIVAL_MISSES`, 403
    `arrival_locked` whatever the code (reception checks the holder in). An empty code is
    refused uncounted. Every code judged goes through here, so that no page tells which
    code holds uncounted."""
    holds = arrival_code_holds(secret, site.id, code, now)
    this_ticket = Ticket.id == ticket.id
    async with writing(session):
        if holds or not typed(code):  # an empty code is no try: nothing to count
            misses = await session.scalar(select(Ticket.arrival_misses).where(this_ticket))
            locked = (misses or 0) >= MAX_ARRIVAL_MISSES
        else:  # one statement, so that misses sent at once are counted up to the lock only
            counted = await session.execute(
                update(Ticket)
                .where(this_ticket, Ticket.arrival_misses < MAX_ARRIVAL_MISSES)
                .values(arrival_misses=Ticket.arrival_misses + 1)
            )
            locked = rowcount(counted) == 0
    if locked:
        raise Forbidden(
            "Too many wrong codes for this ticket: show it at reception, which checks you in.",
            code="arrival_locked",
        )
    if not holds:
        raise Forbidden(
            "This is not the mairie's arrival code of the moment: read the code shown "
            "on the screen or at reception again.",
            code="arrival_code",
        )


async def arrive(
    session: AsyncSession, token: str, code: str, *, secret: str, now: datetime
) -> Ticket:
    """The holder is at the mairie, as the code they read there says: in the queue. 403
    for a wrong or stale code, or a ticket locked (`judge_code`); 409 once not remote."""
    async with writing(session):
        found = await views.ticket_by_token(session, token)
        site = await site_of(session, found.site_id)
    await judge_code(session, found, site, code, secret=secret, now=now)
    async with writing(session):
        await lock_queue(session, site.id)
        ticket = await session.get_one(
            Ticket, found.id, with_for_update=True, populate_existing=True
        )
        if ticket.status != TicketStatus.REMOTE:
            raise Conflict(
                f"Ticket {ticket.number} is already {ticket.status.replace('_', ' ')}.",
                code="not_remote",
            )
        await _arrived(session, ticket, site, now, agent_id=None)
        ticket_id = ticket.id
    return await reload(session, ticket_id)


async def check_in_number(
    session: AsyncSession, slug: str, number: str, *, agent_id: int | None, now: datetime
) -> Ticket:
    """Reception checks in the holder of today's remote ticket `number` (e.g. "A012")."""
    async with writing(session):
        site = await get_site(session, slug)
        await lock_queue(session, site.id)
        ticket = await session.scalar(
            ticket_query()
            .where(
                Ticket.site_id == site.id,
                Ticket.day == today(site, now),
                Ticket.number == number.strip().upper()[:8],
            )
            .with_for_update(of=Ticket)
        )
        if ticket is None:
            raise NotFound(f"No ticket {number.strip()[:8]!r} today at {site.name}.")
        if ticket.status != TicketStatus.REMOTE:
            raise Conflict(
                f"Ticket {ticket.number} is {ticket.status.replace('_', ' ')}: "
                "only a ticket taken from a phone is checked in.",
                code="not_remote",
            )
        await _arrived(session, ticket, site, now, agent_id)
        ticket_id = ticket.id
    return await reload(session, ticket_id)


# While away ----------------------------------------------------------------------------


@events.subscriber(events.QueueMoved)
async def hold_passed(session: AsyncSession, moved: events.QueueMoved) -> None:
    """A station just called someone: the remote tickets it could have served, taken
    before theirs and not held yet, were passed over because their holders are not there.
    Each is held (its turn kept for the rejoin window) and its holder told. In the call's
    transaction, under the site's queue lock."""
    if moved.action != "called" or moved.station_id is None:
        return
    called = await session.get_one(Ticket, moved.ticket_id)
    passed = list(
        await session.scalars(
            ticket_query().where(
                Ticket.site_id == moved.site_id,
                Ticket.day == called.day,
                Ticket.status == TicketStatus.REMOTE,
                Ticket.held_at.is_(None),
                Ticket.arrived_at < called.arrived_at,
            )
        )
    )
    if not passed:  # nobody on their way was passed over: nothing more to read
        return
    station = await get_station(session, moved.station_id)
    site = await site_of(session, moved.site_id)
    for ticket in passed:
        if not can_serve(caller(station), waiting_of(ticket)):
            continue
        ticket.held_at = moved.at
        await record(session, ticket, "held", moved.at, agent_id=None)
        held = events.TicketHeld(
            at=moved.at,
            **await _about(session, ticket, site),
            until=moved.at + timedelta(minutes=site.remote_rejoin_minutes),
        )
        await events.record(session, held)


async def _sites_with_remote(db: Database, *matching: ColumnElement[bool]) -> list[int]:
    """The sites holding remote tickets `matching`, for a sweep to go through one by one."""
    async with db.session() as session:
        found = await session.scalars(
            select(Ticket.site_id).where(Ticket.status == TicketStatus.REMOTE, *matching).distinct()
        )
        return list(found)


async def _claim_remote(
    session: AsyncSession, site: Site, *matching: ColumnElement[bool]
) -> list[Ticket]:
    """The site's remote tickets `matching`, under its queue lock, their rows locked in
    the writing transaction of `session`. Rows another instance's sweep holds are skipped:
    it is dealing with them."""
    await lock_queue(session, site.id)
    found = await session.scalars(
        ticket_query()
        .where(Ticket.site_id == site.id, Ticket.status == TicketStatus.REMOTE, *matching)
        .order_by(Ticket.id)
        .with_for_update(skip_locked=True, of=Ticket)
    )
    return list(found)


async def close_unanswered(db: Database, now: datetime) -> int:
    """Remote tickets held past their rejoin window, or whose number was never confirmed,
    are closed (their holders never came); held ones are told. Safe on every instance at
    once (each site's queue lock, rows claimed with SKIP LOCKED). How many closed."""
    closed = 0
    for site_id in await _sites_with_remote(db):
        async with db.writing() as session:
            site = await site_of(session, site_id)
            rejoin = timedelta(minutes=site.remote_rejoin_minutes)
            tickets = await _claim_remote(
                session,
                site,
                # A held ticket keeps the time its holder was promised, confirmed or not;
                # an unconfirmed one not held closes after its delay.
                (Ticket.held_at <= now - rejoin)
                | (
                    Ticket.confirmed_at.is_(None)
                    & Ticket.held_at.is_(None)
                    & (Ticket.arrived_at <= now - UNCONFIRMED_FOR)
                ),
            )
            for ticket in tickets:
                ticket.status = TICKET.move(ticket.status, TicketAction.NOT_ARRIVED).to
                await record(session, ticket, "not_arrived", now, agent_id=None)
                if ticket.held_at is not None:
                    gone = events.TicketNotArrived(at=now, **await _about(session, ticket, site))
                    await events.record(session, gone)
            closed += len(tickets)
    return closed


async def tell_to_leave(db: Database, now: datetime) -> int:
    """A text to each remote holder whose estimate came down to the travel time they gave
    (plus a margin): time to leave home. Once per ticket. How many told."""
    told = 0
    for site_id in await _sites_with_remote(db, Ticket.leave_told_at.is_(None)):
        async with db.writing() as session:
            site = await site_of(session, site_id)
            tickets = await _claim_remote(
                session, site, Ticket.day == today(site, now), Ticket.leave_told_at.is_(None)
            )
            if not tickets:
                continue
            seen = await views.ticket_views(session, site, tickets, now)
            for ticket in tickets:
                estimate = seen[ticket.id].eta_minutes
                travel = ticket.travel_minutes or 0
                if estimate is None or estimate[0] > travel + LEAVE_MARGIN_MINUTES:
                    continue
                ticket.leave_told_at = now
                leave = events.TicketLeaveNow(at=now, **await _about(session, ticket, site))
                await events.record(session, leave)
                told += 1
    return told


async def leave_by_phone(session: AsyncSession, phone: str, *, now: datetime) -> Ticket | None:
    """The holder of `phone` answered the keyword to leave: their remote or waiting ticket
    is cancelled, as from its page. None when the number holds none."""
    try:
        number = texting_number(phone)
    except BadRequest:
        return None
    ticket = await live_ticket_of(session, number)
    if ticket is None or ticket.status not in IN_LINE:
        return None
    try:
        return await leave(session, ticket.token, now=now)
    except Conflict:  # called at that very moment: too late to leave by text
        return None
