"""What the queue looks like: each ticket's place and estimated wait, a site's queue today
(who waits, who is called, who is served), and the lobby screens' state. The estimates
come from `eta` with what the database says of the stations, the services' times and the
booked people still to come; a holder is told none while the mairie is closed (`told`)."""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Integer,
    bindparam,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from app.db import token_digest
from app.errors import NotFound
from app.queue import eta, forecasts
from app.queue.models import QueueState, Ticket, TicketStatus
from app.queue.ordering import Waiting
from app.queue.queries import (
    ACTIVE,
    IN_LINE,
    seq_of,
    site_of_ticket,
    stations_in_service,
    ticket_query,
    today,
    waiting_of,
)
from app.queue.queries import (
    site_of as site_of,  # re-exported: the live hub reads a ticket's site with its view
)
from app.sites.models import Service, Site, Station
from app.sites.opening import Opening, estimate, opening_of
from app.sites.service import get_site


@dataclass(frozen=True)
class TicketView:
    """A ticket as the API and the pages show it. `opening`: whether the mairie is open,
    read for the view its holder is shown of a waiting ticket (`told`), else None."""

    ticket: Ticket
    position: int | None
    eta_minutes: tuple[int, int] | None
    opening: Opening | None = None


@dataclass(frozen=True)
class CalledEntry:
    number: str
    station: str
    station_id: int
    service: str
    called_at: datetime
    status: str


@dataclass(frozen=True)
class DisplayState:
    """What the lobby screens show: the latest calls, and how many wait for how long."""

    seq: int
    called: list[CalledEntry]
    waiting_count: int
    waiting_by_service: dict[str, int]
    eta_minutes: tuple[int, int] | None


@dataclass(frozen=True)
class QueueView:
    site: Site
    seq: int
    waiting: list[TicketView]
    called: list[TicketView]
    serving: list[TicketView]
    # Taken from phones, their holders not there yet: in line, never called.
    remote: list[TicketView] = field(default_factory=list)


@dataclass(frozen=True)
class WaitingModel:
    """What the wait of a newcomer depends on beyond the queue itself: the stations, and
    how long a help takes at the site lately. It changes slowly: screens may keep it a
    little while."""

    stations: int
    average_minutes: float


async def averages(session: AsyncSession, site: Site, now: datetime) -> dict[int, list[float]]:
    """The latest service durations, in minutes, per service, newest first."""
    since = now - timedelta(days=forecasts.AVERAGE_OVER_DAYS)
    recent = forecasts.latest_durations(site.id, since)
    rows = await session.execute(
        select(recent.c.service_id, recent.c.started_at, recent.c.finished_at)
        .where(recent.c.rank <= eta.SAMPLE_SIZE)
        .order_by(recent.c.service_id, recent.c.rank)
    )
    durations: dict[int, list[float]] = defaultdict(list)
    for service_id, started, finished in rows:
        durations[service_id].append((finished - started).total_seconds() / 60)
    return durations


async def ticket_views(
    session: AsyncSession,
    site: Site,
    tickets: Sequence[Ticket],
    now: datetime,
    waiting: Sequence[Waiting] | None = None,
) -> dict[int, TicketView]:
    """Positions and estimates of `tickets` among the site's tickets in line today (those
    taken from phones count as if their holders were there)."""
    if all(ticket.status not in IN_LINE for ticket in tickets):
        return {ticket.id: TicketView(ticket, None, None) for ticket in tickets}
    read, inputs = await forecasts.read(session, site, now, in_line=waiting is None)
    forecast = inputs.forecast(read if waiting is None else waiting, now)
    views = {}
    for ticket in tickets:
        found = forecast.get(ticket.id) if ticket.status in IN_LINE else None
        if found is None:
            views[ticket.id] = TicketView(ticket, None, None)
        else:
            views[ticket.id] = TicketView(ticket, found.position, found.minutes)
    return views


async def queue(session: AsyncSession, slug: str, now: datetime) -> QueueView:
    """Today's queue of a site: who waits (in calling order), who is on the way (taken from
    a phone), who is called, who is served."""
    site = await get_site(session, slug)
    tickets = list(
        await session.scalars(
            ticket_query().where(
                Ticket.site_id == site.id,
                Ticket.day == today(site, now),
                Ticket.status.in_((*ACTIVE, TicketStatus.REMOTE)),
            )
        )
    )
    views = await ticket_views(
        session,
        site,
        tickets,
        now,
        waiting=[waiting_of(t) for t in tickets if t.status in IN_LINE],
    )

    def in_order(status: TicketStatus) -> list[TicketView]:
        found = (views[t.id] for t in tickets if t.status == status)
        return sorted(found, key=lambda view: (view.position or 0, view.ticket.id))

    called = sorted(
        (t for t in tickets if t.status == TicketStatus.CALLED),
        key=lambda t: (t.called_at or t.arrived_at, t.id),
        reverse=True,
    )
    serving = sorted(
        (t for t in tickets if t.status == TicketStatus.SERVING),
        key=lambda t: (t.started_at, t.id),
    )
    return QueueView(
        site=site,
        seq=await seq_of(session, site.id),
        waiting=in_order(TicketStatus.WAITING),
        called=[views[t.id] for t in called],
        serving=[views[t.id] for t in serving],
        remote=in_order(TicketStatus.REMOTE),
    )


async def view_of(
    session: AsyncSession, ticket: Ticket, now: datetime, site: Site | None = None
) -> TicketView:
    site = site or await site_of_ticket(session, ticket)
    return (await ticket_views(session, site, [ticket], now))[ticket.id]


def told(view: TicketView, opening: Opening) -> TicketView:
    """`view` as its holder is told it: with no estimate while the mairie is closed
    (`app.sites.opening.estimate`), as every page, API body and message to them says."""
    return replace(view, eta_minutes=estimate(opening, view.eta_minutes), opening=opening)


async def views_by_token(
    session: AsyncSession,
    site: Site,
    tokens: set[str],
    now: datetime,
    *,
    opening: Opening | None = None,
) -> dict[str, TicketView]:
    """The views their holders are shown of several tickets of one site at once, by
    token; the site's `opening` at `now` is read here unless given, once, and only when
    one of them waits."""
    tickets = list(
        await session.scalars(
            ticket_query().where(
                Ticket.site_id == site.id,
                Ticket.token_digest.in_([token_digest(token) for token in tokens]),
            )
        )
    )
    views = await ticket_views(session, site, tickets, now)
    if opening is None and any(ticket.status in IN_LINE for ticket in tickets):
        opening = await opening_of(session, site, now)
    return {
        ticket.token: told(views[ticket.id], opening)
        if opening is not None and ticket.status in IN_LINE
        else views[ticket.id]
        for ticket in tickets
    }


async def ticket_by_token(session: AsyncSession, token: str) -> Ticket:
    """The ticket behind an usager's tracking link; 404 for anything else."""
    ticket = None
    if 16 <= len(token) <= 64:
        ticket = await session.scalar(
            ticket_query().where(Ticket.token_digest == token_digest(token))
        )
    if ticket is None or not secrets.compare_digest(ticket.token, token):
        raise NotFound("No ticket matches this link.")
    return ticket


async def by_token(
    session: AsyncSession, token: str, now: datetime, *, opening: Opening | None = None
) -> TicketView:
    """The view its holder is shown of the ticket behind their tracking link (`told`,
    the site's `opening` at `now` read here unless given, for a waiting ticket only);
    404 for anything else."""
    ticket = await ticket_by_token(session, token)
    site = await site_of(session, ticket.site_id)
    view = (await ticket_views(session, site, [ticket], now))[ticket.id]
    if ticket.status not in IN_LINE:
        return view
    return told(view, opening or await opening_of(session, site, now))


async def waiting_model(session: AsyncSession, site: Site, now: datetime) -> WaitingModel:
    stations = await stations_in_service(session, site, now)
    durations = [d for found in (await averages(session, site, now)).values() for d in found]
    default = await session.scalar(select(func.avg(Service.duration_minutes)).where(Service.active))
    return WaitingModel(
        stations=len(stations),
        average_minutes=eta.average_minutes(durations, float(default or 30)),
    )


async def display(
    session: AsyncSession,
    site: Site,
    now: datetime,
    *,
    model: WaitingModel | None = None,
    calls: int = 12,
) -> DisplayState:
    """The lobby screens' state: today's latest calls first, the waiting count and the wait
    a newcomer may expect. One statement (what a busy morning reads at every change): the
    calls (kind 0), the count waiting for each service (1), and the queue's `seq` (2)."""
    values = {"site": site.id, "day": today(site, now)}
    rows = (await session.execute(_display(calls), values)).all()
    called = sorted((r for r in rows if r[0] == 0), key=lambda r: (r[6], r[1]), reverse=True)
    by_service = {r[5]: int(r[8]) for r in rows if r[0] == 1}
    count = sum(by_service.values())
    model = model or await waiting_model(session, site, now)
    return DisplayState(
        seq=next((int(r[8]) for r in rows if r[0] == 2), 0),
        called=[CalledEntry(*r[2:8]) for r in called],
        waiting_count=count,
        waiting_by_service=by_service,
        eta_minutes=eta.waiting_range(count, model.stations, model.average_minutes),
    )


@lru_cache(maxsize=8)
def _display(calls: int) -> CompoundSelect[Any]:
    """`display`'s statement, built once for each number of calls shown."""
    none = null()
    mine = (Ticket.site_id == bindparam("site"), Ticket.day == bindparam("day"))
    latest = (
        select(
            literal(0).label("kind"),
            Ticket.id,
            Ticket.number,
            Station.name,
            Station.id,
            Service.code,
            Ticket.called_at,
            Ticket.status,
            cast(none, Integer).label("n"),
        )
        .join(Station, Station.id == Ticket.station_id)
        .join(Service, Service.id == Ticket.service_id)
        .where(*mine, Ticket.called_at.is_not(None))
        .order_by(Ticket.called_at.desc(), Ticket.id.desc())
        .limit(calls)
        .subquery()
    )
    waiting = (
        select(literal(1), none, none, none, none, Service.code, none, none, func.count())
        .select_from(Ticket)
        .join(Service, Service.id == Ticket.service_id)
        .where(*mine, Ticket.status.in_(IN_LINE))
        .group_by(Service.code)
    )
    seq = select(literal(2), none, none, none, none, none, none, none, QueueState.seq).where(
        QueueState.site_id == bindparam("site")
    )
    return union_all(select(latest), waiting, seq)


async def newcomer_wait(session: AsyncSession, site: Site, now: datetime) -> tuple[int, int] | None:
    """The wait, in minutes (low, high), of someone given a ticket now: what reception
    weighs against closing time before issuing one."""
    count = await session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(
            Ticket.site_id == site.id,
            Ticket.day == today(site, now),
            Ticket.status.in_(IN_LINE),
        )
    )
    model = await waiting_model(session, site, now)
    return eta.waiting_range(int(count or 0), model.stations, model.average_minutes)


def closes_before_turn(
    now: datetime, closes: datetime | None, wait: tuple[int, int] | None
) -> bool:
    """Whether someone given a ticket at `now` would likely still be waiting when the site
    closes at `closes`: the middle of the estimate `wait` reaches it. Pure. Without an
    estimate nothing is said: a warning that cries wolf is soon ignored."""
    if closes is None or wait is None:
        return False
    middle = (wait[0] + wait[1]) / 2
    return now + timedelta(minutes=middle) >= closes


async def turn_near(
    session: AsyncSession, site: Site, waiting: list[Waiting], now: datetime
) -> list[Ticket]:
    """The walk-ins with a phone number who are now among the next few of `waiting` (the
    remote tickets in line counted before them): each is sent a text."""
    if site.turn_near_position < 1:
        return []
    with_phone = list(
        await session.scalars(
            select(Ticket)
            .where(
                Ticket.site_id == site.id,
                Ticket.day == today(site, now),
                Ticket.status.in_(IN_LINE),
                Ticket.phone.is_not(None),
            )
            .options(joinedload(Ticket.service))
        )
    )
    # Those not there yet are told to leave home, or that their turn is kept: "your turn is
    # near, come back to the waiting room" is for people in the room.
    in_room = [t for t in with_phone if t.status == TicketStatus.WAITING]
    if not in_room:  # nobody to tell: no forecast to work out, inside the queue's lock
        return []
    remote = [waiting_of(t) for t in with_phone if t.status == TicketStatus.REMOTE]
    _none, inputs = await forecasts.read(session, site, now, in_line=False)
    forecast = inputs.forecast([*waiting, *remote], now)
    near = []
    for ticket in in_room:
        found = forecast.get(ticket.id)
        if found is not None and found.position <= site.turn_near_position:
            near.append(ticket)
    return near
