"""The usager's tracking page: their ticket's place, estimate, and station when called,
where the mairie is, and leaving the queue (asked once more on a page of its own)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from litestar import get, post
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from app import bounds
from app.booking.schemas import Token
from app.errors import Conflict, DomainError, NotFound
from app.i18n import N_, formats, gettext
from app.i18n.texts import refusal
from app.queue import commands, queries, remote, views
from app.queue.eta_words import eta_words
from app.queue.models import Ticket, TicketStatus
from app.sites.geo import map_link
from app.sites.opening import OPEN
from app.visits import feedback
from app.visits import service as visits
from app.visits.staff_pages import usager_view
from app.web.context import Context
from app.web.public import PublicController, Visitor, short_link

LEAVE_EVERY = 5  # minutes: "partez vers 9 h 40", never "vers 9 h 43"


def leave_home_at(
    now: datetime, eta: tuple[int, int] | None, travel_minutes: int | None
) -> datetime | None:
    """When the holder of a remote ticket should leave home: the estimate's low end less
    their travel time, rounded down to five minutes; None without an estimate. Pure."""
    if eta is None or travel_minutes is None:
        return None
    at = now + timedelta(minutes=eta[0] - travel_minutes)
    at = at.replace(second=0, microsecond=0)
    return at - timedelta(minutes=at.minute % LEAVE_EVERY)


def remote_values(
    ticket: Ticket, eta: tuple[int, int] | None, rejoin_minutes: int, now: datetime, tz: ZoneInfo
) -> dict[str, Any]:
    """What the page says of a ticket taken from a phone whose holder is not there yet:
    when to leave home (`leave_now` once that time has come), and until when a held one
    keeps its turn (`held_until`). Pure."""
    if ticket.status != TicketStatus.REMOTE:
        return {"leave_at": None, "leave_now": False, "held_until": None}
    held_until = None
    if ticket.held_at is not None:
        held_until = formats.clock(
            (ticket.held_at + timedelta(minutes=rejoin_minutes)).astimezone(tz)
        )
    leave = leave_home_at(now, eta, ticket.travel_minutes)
    return {
        "leave_at": formats.clock(leave.astimezone(tz)) if leave and leave > now else None,
        "leave_now": leave is not None and leave <= now,
        "held_until": held_until,
    }


async def tracking_context(context: Context, token: str) -> dict[str, Any]:
    """The tracking page's values: the ticket's place, estimate, station and follow-up,
    and where the mairie is; for one taken from a phone, when to leave home."""
    session, now = context.session, context.now
    view = await views.by_token(session, token, now)
    ticket = view.ticket
    site = await queries.site_of(session, ticket.site_id)
    tz = ZoneInfo(site.timezone)
    escalation = await visits.escalation_of_ticket(session, ticket.id)
    waiting = ticket.status == TicketStatus.WAITING
    remote_now = remote_values(ticket, view.eta_minutes, site.remote_rejoin_minutes, now, tz)
    # While the mairie is closed (a ticket forced by reception), no estimate holds: the
    # view of a waiting ticket says whether it is open, and when it opens.
    opening = view.opening or OPEN
    return {
        "token": ticket.token,
        "number": ticket.number,
        "site": site.name,
        "slug": site.slug,
        "address": site.address,
        "access": site.access,
        "map_url": map_link(site),
        "service": ticket.service.label,
        "service_lang": ticket.service.label_lang,
        "status": ticket.status,
        "position": view.position,
        # Nobody before: the next one called (the page never says "0 personne avant vous").
        "next": waiting and view.position is not None and view.position <= 1,
        "eta": view.eta_minutes,
        "eta_words": eta_words(view.eta_minutes) if opening.open else None,
        "opening": opening,
        "station": ticket.station.name if ticket.station else "",
        "calls": ticket.call_count,
        "updated": formats.clock(now.astimezone(tz)),
        "escalation": usager_view(escalation, tz),
        "travel": ticket.travel_minutes,
        **remote_now,
        "confirmed": None,
        "arrival_error": None,
    }


SCORES = [
    (5, N_("5 – très satisfaisante")),
    (4, N_("4 – satisfaisante")),
    (3, N_("3 – moyenne")),
    (2, N_("2 – peu satisfaisante")),
    (1, N_("1 – pas du tout satisfaisante")),
]


async def feedback_context(
    context: Context,
    token: str,
    *,
    thanks: bool = False,
    error: str | None = None,
) -> dict[str, Any]:
    """The feedback form's page: the ticket, and the answer already given, if any."""
    page = await tracking_context(context, token)
    answer = await feedback.answer_of(context.session, token, context.now)
    scores = [(score, gettext(text)) for score, text in SCORES]
    page.update(scores=scores, answer=answer, thanks=thanks, error=error)
    return page


PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


class TrackingPages(PublicController):
    @get("/ticket/{token:str}")
    async def tracking(self, token: Token, visitor: NamedDependency[Visitor]) -> Template:
        """The ticket's page; opened from the first text's link (`confirmer`), it confirms
        the holder's number first. A link that leads to no ticket (erased, or mistyped)
        says so, and what to do, as the page does when its state answers so (404)."""
        code = visitor.request.query_params.get("confirmer")
        confirmed = None
        try:
            if code is not None:
                confirmed = await remote.confirm(
                    visitor.session,
                    token,
                    code[:40],
                    secret=visitor.settings.secret_key,
                    now=visitor.now,
                )
            page = await tracking_context(visitor.context, token)
        except NotFound:
            return Template("ticket_gone.html", status_code=404, headers=PRIVATE)
        page["confirmed"] = confirmed
        return Template("tracking.html", context=page, headers=PRIVATE)

    @get("/ticket/{token:str}/etat")
    async def state(self, token: Token, visitor: NamedDependency[Visitor]) -> Template:
        page = await tracking_context(visitor.context, token)
        return Template("_tracking_state.html", context=page, headers={"Cache-Control": "no-store"})

    @get("/ticket/{token:str}/quitter")
    async def confirm_leave(self, token: Token, visitor: NamedDependency[Visitor]) -> Template:
        page = await tracking_context(visitor.context, token)
        return Template("ticket_leave.html", context=page, headers=PRIVATE)

    @post("/ticket/{token:str}/quitter")
    async def leave(self, token: Token, visitor: NamedDependency[Visitor]) -> Template | Redirect:
        try:
            await commands.leave(visitor.session, token, now=visitor.now)
        except Conflict:
            # Called meanwhile (or over): the page says where the ticket stands now.
            page = await tracking_context(visitor.context, token)
            return Template("ticket_leave.html", context=page, status_code=409, headers=PRIVATE)
        return Redirect(f"/ticket/{token}", status_code=303)

    short_tracking = short_link("/t/{token:str}", "/ticket/{token}")
    short_feedback = short_link("/a/{token:str}", "/ticket/{token}/avis")

    @get("/ticket/{token:str}/avis")
    async def feedback_form(
        self,
        token: Token,
        visitor: NamedDependency[Visitor],
    ) -> Template:
        thanks = visitor.request.query_params.get("merci") == "1"
        page = await feedback_context(visitor.context, token, thanks=thanks)
        return Template("feedback.html", context=page, headers=PRIVATE)

    @post("/ticket/{token:str}/avis")
    async def give_feedback(
        self,
        token: Token,
        visitor: NamedDependency[Visitor],
    ) -> Template | Redirect:
        form = await visitor.request.form()
        score = str(form.get("note", ""))
        try:
            await feedback.record(
                visitor.session,
                token,
                bounds.parse_int(score, 1, 5) or 0,
                str(form.get("commentaire", "")),
                visitor.now,
            )
        except DomainError as error:
            # The answer already given, if any, stays shown: its comment is kept whatever.
            page = await feedback_context(visitor.context, token, error=refusal(error.code))
            return Template("feedback.html", context=page, status_code=error.status)
        return Redirect(f"/ticket/{token}/avis?merci=1", status_code=303)
