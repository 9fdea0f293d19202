"""Closing time: the tickets still in the queue when the mairie closes are closed, and
their holders told by text while it still means something."""

from __future__ import annotations

from datetime import datetime, timedelta

from app import events
from app.db import Database
from app.queue.messages import about
from app.queue.models import Ticket
from app.queue.queries import IN_LINE, site_of, sites_with_waiting, ticket_query, today
from app.queue.recording import lock_queue, record
from app.queue.rules import TICKET, TicketAction
from app.sites.opening import closing_time, open_day

# Past this long after closing time, tickets are closed without a text: it would come too late.
CLOSING_TEXT_WITHIN = timedelta(hours=1)


async def close_waiting(db: Database, now: datetime) -> int:
    """At closing time (the end of the day's last opening range), the tickets still waiting
    are closed and their holders told by text; called or served ones are left alone, as are
    tickets staff forced after closing (until the next day). Safe on every instance at once:
    each site's queue lock, and rows already claimed elsewhere are skipped. How many closed."""
    async with db.session() as session:
        site_ids = await sites_with_waiting(session)
    closed = 0
    for site_id in site_ids:
        async with db.writing() as session:
            site = await site_of(session, site_id)
            day = today(site, now)
            closing = closing_time(await open_day(session, site, now))
            due = Ticket.day < day
            if closing is not None and now >= closing:
                due = due | ((Ticket.day == day) & (Ticket.arrived_at < closing))
            await lock_queue(session, site.id)
            tickets = list(
                await session.scalars(
                    ticket_query()
                    .where(Ticket.site_id == site.id, Ticket.status.in_(IN_LINE), due)
                    .order_by(Ticket.id)
                    .with_for_update(skip_locked=True, of=Ticket)
                )
            )
            for ticket in tickets:
                ticket.status = TICKET.move(ticket.status, TicketAction.CLOSE).to
                await record(session, ticket, "closed", now, agent_id=None)
                if (
                    closing is not None
                    and ticket.day == day
                    and now - closing < CLOSING_TEXT_WITHIN
                ):
                    closed_event = events.TicketQueueClosed(
                        at=now,
                        **await about(session, ticket, site, ticket.service.name, person=False),
                    )
                    await events.record(session, closed_event)
            closed += len(tickets)
    return closed
