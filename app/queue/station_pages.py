"""The agent console of a station (call the next ticket, move the ones at the station
along), and what it shares with the reception console: the queue's rows as both show
them, the refused action said in French, and the parts of the page both consoles have."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import bounds
from app.accounts import service as accounts
from app.booking.models import Appointment
from app.errors import DomainError, Forbidden, NotFound
from app.i18n import N_, formats, gettext, ngettext
from app.i18n.texts import OUTCOMES as OUTCOME_LABELS
from app.i18n.texts import TICKET_STATUSES, check_in_refusal, label
from app.live import presence
from app.queue import commands, queries, views
from app.queue.desk_forms import Kept, WalkIn
from app.queue.eta_words import eta_words
from app.queue.models import Ticket, TicketStatus
from app.queue.rules import TICKET, TicketAction
from app.sites import opening
from app.sites.models import Site, Station
from app.sites.service import list_needs, list_services
from app.visits import service as visits
from app.visits.activity_form import form_choices
from app.visits.models import OUTCOMES, Visit
from app.web.context import Context
from app.web.staff import Staff, StaffController, back

RECORDED_OUTCOMES = [code for code in OUTCOMES if code != "unrecorded"]

Id = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]
RECEPTION = frozenset({"reception", "manager"})
FACILITATORS = frozenset({"facilitator", "manager"})
# The states in which a ticket is held by its station, which alone moves it along.
HELD = frozenset({TicketStatus.CALLED, TicketStatus.SERVING})

# The station console's buttons: the word in the form's path, the move of the ticket.
ACTIONS = {
    "rappeler": "recall",
    "commencer": "start",
    "terminer": "finish",
    "absent": "no_show",
    "annuler": "cancel",
    "transferer": "transfer",
}


# What the staff read of the demo catalog's needs, which speak in the usager's voice ("Je
# me déplace en fauteuil roulant"): short enough for a row of the queue. A need added by an
# administrator is shown by its own name.
SHORT_NEEDS = {
    "fauteuil": N_("fauteuil roulant"),
    "audition": N_("entend mal"),
    "vue": N_("voit mal"),
    "langue": N_("parle peu le français"),
    "premiere-fois": N_("première fois sur internet"),
    "accompagnement-long": N_("accompagnement long"),
}


def need_words(codes: list[str], names: Mapping[str, str]) -> list[str]:
    """The needs of a ticket in the staff's words, in the catalog's order of `codes`."""
    return [
        gettext(SHORT_NEEDS[code]) if code in SHORT_NEEDS else names.get(code, code)
        for code in codes
    ]


def _waited(ticket: Ticket, now: datetime) -> str:
    """How long the ticket has waited, never "0 minute"."""
    waited = max(0, int((now - ticket.arrived_at).total_seconds() // 60))
    return formats.minutes(waited) if waited else gettext("moins d'une minute")


def ticket_rows(
    shown: list[views.TicketView],
    now: datetime,
    tz: ZoneInfo,
    need_names: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The tickets as rows of a console's tables; their needs in words (`need_names`: the
    catalog's names by code)."""
    rows = []
    for view in shown:
        ticket = view.ticket
        rows.append(
            {
                "id": ticket.id,
                "number": ticket.number,
                "service": ticket.service.label,
                "service_code": ticket.service.code,
                "status": label(TICKET_STATUSES, ticket.status),
                "raw_status": ticket.status,
                "priority": ticket.priority,
                "appointment": formats.clock(ticket.due_at.astimezone(tz))
                if ticket.due_at
                else None,
                "waited": _waited(ticket, now),
                "station": ticket.station.name if ticket.station else "",
                "position": view.position,
                "eta": view.eta_minutes,
                "eta_words": eta_words(view.eta_minutes),
                "needs": list(ticket.needs),
                "need_words": need_words(list(ticket.needs), need_names or {}),
                "calls": ticket.call_count,
                "token": ticket.token,
                "late": ticket.late,
                "kind": "appointment" if ticket.appointment_id else "walk_in",
                "held": ticket.held_at is not None,
            }
        )
    return rows


async def queue_context(context: Context, site: Site) -> dict[str, Any]:
    """The queue's part of both consoles, which refreshes itself (`_staff_queue.html`)."""
    session, now = context.session, context.now
    view = await views.queue(session, site.slug, now)
    tz = ZoneInfo(site.timezone)
    names = {need.code: need.label for need in await list_needs(session)}
    return {
        "waiting": ticket_rows(view.waiting, now, tz, names),
        "called": ticket_rows(view.called, now, tz, names),
        "serving": ticket_rows(view.serving, now, tz, names),
        "remote": ticket_rows(view.remote, now, tz, names),
        "seq": view.seq,
        "screens": await presence.screens(session, site.id, now),
        "updated": formats.clock(now.astimezone(tz)),
    }


async def station_for(session: AsyncSession, staff: Staff, station_id: int) -> Station:
    """The station, if `staff` is a facilitator of its site."""
    station = await queries.get_station(session, station_id)
    accounts.authorize(staff.actor, roles=FACILITATORS, site=station.site)
    return station


def refusal_text(code: str, site: Site) -> str:
    """A refusal shown to staff, with the site's own minutes where it speaks of them."""
    return check_in_refusal(code, site.check_in_early_minutes, site.late_check_in_limit_minutes)


def refused(path: str, error: DomainError) -> Redirect:
    """Back to the console at `path`, which says why the action was refused."""
    return back(path, erreur=error.code or "not_found")


def held_elsewhere(ticket: Ticket, station: Station) -> str | None:
    """Why `station` may not move `ticket`, called or served at another station; None
    when the ticket is at `station`, or at none (waiting)."""
    if ticket.status not in HELD or ticket.station_id in (None, station.id):
        return None
    name = ticket.station.name if ticket.station else ""
    if ticket.status == TicketStatus.CALLED:
        return gettext(
            "Ce ticket est appelé au %(station)s : c'est à ce poste de le prendre en charge.",
            station=name,
        )
    return gettext(
        "Ce ticket est en cours au %(station)s : c'est à ce poste de s'en occuper.",
        station=name,
    )


async def ticket_here(session: AsyncSession, ticket_id: int, site: Site) -> Ticket:
    """The ticket `ticket_id` of `site`: 404 for another mairie's as for an id nobody
    has, so that a console tells nobody which ids exist elsewhere."""
    ticket = await session.scalar(
        queries.ticket_query().where(Ticket.id == ticket_id, Ticket.site_id == site.id)
    )
    if ticket is None:
        raise NotFound(f"No ticket has the id {ticket_id}.")
    return ticket


async def todays_ticket(context: Context, site: Site, ticket_id: str | None) -> Ticket | None:
    """The ticket whose id the page's address gives, if it is one of `site`'s today; None
    for anything else (an address kept from another day, mistyped, or of a ticket since
    deleted or of another mairie), which the console leaves out."""
    found = bounds.parse_int(ticket_id, 1, bounds.LARGEST_ID)
    if found is None:
        return None
    return await context.session.scalar(
        queries.ticket_query().where(
            Ticket.id == found,
            Ticket.site_id == site.id,
            Ticket.day == queries.today(site, context.now),
        )
    )


async def issued_row(context: Context, site: Site, ticket_id: str | None) -> dict[str, Any] | None:
    """The ticket just issued (its id in the page's address), if it is one of `site`'s
    today."""
    ticket = await todays_ticket(context, site, ticket_id)
    if ticket is None:
        return None
    view = await views.view_of(context.session, ticket, context.now)
    return ticket_rows([view], context.now, ZoneInfo(site.timezone))[0]


async def desk_context(session: AsyncSession, staff: Staff, site: Site) -> dict[str, Any]:
    """What every desk page of a site shows: who works, where, and the catalogue."""
    return {
        "staff": staff,
        "agent": staff.actor,
        "site": site,
        "services": await list_services(session),
        "needs": await list_needs(session),
    }


async def console_context(
    context: Context,
    staff: Staff,
    site: Site,
    params: Mapping[str, str],
    *,
    refresh: str,
    issues_tickets: bool = True,
) -> dict[str, Any]:
    """What both consoles show: the desk, the ticket just issued and whether the site is
    closed (where the console issues tickets), the refusal to say, and the queue, which
    refreshes itself from `refresh`."""
    session, now = context.session, context.now
    return {
        **await desk_context(session, staff, site),
        "issued": await issued_row(context, site, params.get("ticket")) if issues_tickets else None,
        "closed_now": issues_tickets
        and not opening.is_open(await opening.open_day(session, site, now), now),
        "error": refusal_text(params["erreur"], site) if params.get("erreur") else None,
        "refresh": refresh,
        **await queue_context(context, site),
    }


async def station_page(
    staff: Staff,
    station: Station,
    params: Mapping[str, str],
    *,
    walk_in: WalkIn | None = None,
    asked_field: str = "",
    kept: Kept | None = None,
    error: str | None = None,
    status_code: int = 400,
    call_anyway: str = "",
    absent_asked: int | None = None,
) -> Template:
    """The console of `station`; a form refused shown again as typed, answered
    `status_code` with its `error`: the walk-in ticket's (`walk_in`, the error beside
    `asked_field`), a ticket's visit or transfer (`kept`), or an action refused (`error`
    alone)."""
    session = staff.session
    site = station.site
    page = {
        **await console_context(
            staff.context,
            staff,
            site,
            params,
            refresh=f"/poste/{station.id}/file",
            issues_tickets=site.facilitators_issue_tickets,
        ),
        "station": station,
        "issues_tickets": site.facilitators_issue_tickets,
        "departments": await visits.active_departments(session),
        "outcomes": [(code, label(OUTCOME_LABELS, code)) for code in RECORDED_OUTCOMES],
        "activity": form_choices(),
        "current": await _current(staff.context, station),
        "finished": await _finished(staff.context, station, params.get("termine")),
        "asked": walk_in,
        "asked_field": asked_field,
        "kept": kept,
        "call_anyway": call_anyway,
        "absent_asked": absent_asked,
    }
    again = walk_in is not None or kept is not None or error is not None
    if again:
        page["error"] = error or (kept.error if kept else None)
    return Template("staff_station.html", context=page, status_code=status_code if again else 200)


class StationPages(StaffController):
    @get("/poste/{station_id:int}")
    async def station(
        self,
        station_id: Id,
        staff: NamedDependency[Staff],
    ) -> Template:
        station = await station_for(staff.session, staff, station_id)
        return await station_page(staff, station, staff.request.query_params)

    @get("/poste/{station_id:int}/file")
    async def station_queue(
        self,
        station_id: Id,
        staff: NamedDependency[Staff],
    ) -> Template:
        station = await station_for(staff.session, staff, station_id)
        return Template(
            "_staff_queue.html", context=await queue_context(staff.context, station.site)
        )

    @post("/poste/{station_id:int}/appeler")
    async def call_next(
        self,
        station_id: Id,
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        ahead = await queries.station_to_call(staff.session, station_id, staff.now)
        station = ahead.station
        accounts.authorize(staff.actor, roles=FACILITATORS, site=station.site)
        path = f"/poste/{station_id}"
        form = await staff.request.form()
        # The tickets the console asked about and was told to call anyway (their ids).
        asked = str(form.get("quand_meme", ""))
        known = {
            int(part)
            for part in asked.split(",")
            if part.isascii() and part.isdigit() and len(part) < 12
        }
        try:
            ticket = await commands.call_next(
                staff.session,
                ahead,
                agent_id=staff.actor.agent_id,
                now=staff.now,
                busy_with=known,
            )
        except DomainError as error:  # the station is out of service, for one
            if error.code == "station_busy":  # a second person sent to a busy desk: asked
                held = await queries.held_at(staff.session, station, staff.now)
                return await _busy(staff, station, held) if held else back(path)
            return refused(path, error)
        return back(path) if ticket else back(path, erreur="nobody_waiting")

    @post("/poste/{station_id:int}/tickets/{ticket_id:int}/{action:str}")
    async def move(
        self,
        station_id: Id,
        ticket_id: Id,
        action: Annotated[str, PathParameter(max_length=20)],
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        station = await station_for(staff.session, staff, station_id)
        ticket = await ticket_here(staff.session, ticket_id, station.site)
        if action not in ACTIONS:
            raise Forbidden("This action does not belong to this station.")
        elsewhere = held_elsewhere(ticket, station)
        if elsewhere is not None:  # nothing changes: the station holding it acts on it
            return await station_page(staff, station, {}, error=elsewhere, status_code=409)
        session = staff.session
        path = f"/poste/{station.id}"
        form = await staff.request.form()
        if action == "absent" and _too_soon_absent(ticket, station) and form.get("confirme") != "1":
            return await _absent_asked(staff, station, ticket)
        kept = Kept.of(ticket.id, action, form)
        offered = {service.code for service in await list_services(session)}
        departments = {department.code for department in await visits.active_departments(session)}
        # A form is read only for a move the ticket's state allows: else the move's own
        # refusal says why ("only a ticket being served can be finished").
        movable = TICKET.allows(ticket.status, TicketAction(ACTIONS[action]))
        refused_here = kept.refusal(offered, departments) if movable else None
        if refused_here is not None:
            return await station_page(staff, station, {}, kept=refused_here)
        try:
            await commands.act(
                staff.session,
                ticket.id,
                ACTIONS[action],
                agent_id=staff.actor.agent_id,
                now=staff.now,
                service_code=kept.service or None,
                station_kind=kept.kind or None,
                report=kept.report() if action == "terminer" else None,
                station_id=station.id,
            )
        except DomainError as error:
            if error.code == "other_station":  # taken by another station meanwhile
                taken = await ticket_here(staff.session, ticket.id, station.site)
                said = held_elsewhere(taken, station)
                return await station_page(staff, station, {}, error=said, status_code=409)
            return refused(path, error)
        if action == "terminer":  # the console says which visit ended, and how
            return back(path, termine=str(ticket.id))
        return back(path)


async def _finished(
    context: Context, station: Station, ticket_id: str | None
) -> dict[str, Any] | None:
    """The visit just finished at `station` today (its ticket's id in the page's address):
    its ticket, démarche, appointment if any, and recorded outcome."""
    session = context.session
    ticket = await todays_ticket(context, station.site, ticket_id)
    if ticket is None or ticket.status != TicketStatus.DONE:
        return None
    visit = await session.scalar(select(Visit).where(Visit.ticket_id == ticket.id))
    appointment = (
        await session.get(Appointment, ticket.appointment_id) if ticket.appointment_id else None
    )
    tz = ZoneInfo(station.site.timezone)
    return {
        "number": ticket.number,
        "service": ticket.service.label,
        "reference": appointment.reference if appointment else None,
        "time": formats.clock(appointment.starts_at.astimezone(tz)) if appointment else None,
        "outcome": label(OUTCOME_LABELS, visit.outcome) if visit else None,
    }


async def _busy(staff: Staff, station: Station, held: Mapping[int, str]) -> Template:
    """The console of `station`, 409, asking whether to call someone while `held` (the
    tickets still called to or served at it) are there: its button names them, so that a
    ticket called meanwhile is asked about again."""
    said = ngettext(
        "Le ticket %(numbers)s est encore en cours à ce poste : terminez-le, ou "
        "marquez-le absent, avant d'appeler la personne suivante.",
        "Les tickets %(numbers)s sont encore en cours à ce poste : terminez-les, ou "
        "marquez-les absents, avant d'appeler la personne suivante.",
        len(held),
        numbers=", ".join(held.values()),
    )
    anyway = ",".join(str(ticket_id) for ticket_id in held)
    return await station_page(staff, station, {}, error=said, status_code=409, call_anyway=anyway)


def _too_soon_absent(ticket: Ticket, station: Station) -> bool:
    """Whether `ticket`, called, has had fewer calls than its mairie makes before it takes
    a person as absent: then marking it absent, which ends its place, is asked first."""
    called = ticket.status == TicketStatus.CALLED
    return called and ticket.call_count < station.site.no_show_after_calls


async def _absent_asked(staff: Staff, station: Station, ticket: Ticket) -> Template:
    """The console of `station`, 409, asking whether to mark `ticket` absent so soon."""
    said = ngettext(
        "Le ticket %(ticket)s n'a été appelé qu'une fois, et la mairie appelle %(calls)s "
        "fois avant de dire une personne absente. Rappelez-le, ou confirmez : marqué "
        "absent, il perd sa place.",
        "Le ticket %(ticket)s a été appelé %(num)d fois, et la mairie appelle %(calls)s "
        "fois avant de dire une personne absente. Rappelez-le, ou confirmez : marqué "
        "absent, il perd sa place.",
        ticket.call_count,
        ticket=ticket.number,
        calls=station.site.no_show_after_calls,
    )
    return await station_page(
        staff, station, {}, error=said, status_code=409, absent_asked=ticket.id
    )


async def _current(context: Context, station: Station) -> list[dict[str, Any]]:
    """The tickets called to or served at `station`, with their needs' names."""
    session, now = context.session, context.now
    site = station.site
    view = await views.queue(session, site.slug, now)
    mine = [v for v in view.called + view.serving if v.ticket.station_id == station.id]
    needs = {need.code: need.label for need in await list_needs(session)}
    current = ticket_rows(mine, now, ZoneInfo(site.timezone))
    for row in current:
        row["need_names"] = [needs.get(code, code) for code in row["needs"]]
    return current
