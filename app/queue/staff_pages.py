"""The staff pages: login, the reception console, the agent console of a station, and the
printed ticket. Plain forms posted with the session cookie and a CSRF token; the queue
parts of the consoles refresh themselves every few seconds."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import anyio.to_thread
import segno
from litestar import Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.response import Redirect, Template
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from app import bounds, french
from app.accounts import service as accounts
from app.accounts import sessions
from app.accounts.guards import session_cookie, session_of
from app.booking import alerts as booking_alerts
from app.booking import service as booking
from app.booking.models import Appointment, AppointmentStatus
from app.booking.slots import Refusal
from app.config import Settings
from app.db import Database
from app.errors import DomainError, Forbidden, TooManyRequests
from app.live import presence
from app.queue import service as queue
from app.queue.models import Ticket
from app.sites.models import Site, Station
from app.sites.schemas import Slug
from app.sites.service import get_site, list_needs, list_services, list_sites, local_today
from app.throttle import Limits, client_address
from app.visits import service as visits
from app.visits.models import OUTCOMES
from app.web.staff import (
    Staff,
    StaffController,
    back,
    site_for,
)

RECORDED_OUTCOMES = [code for code in OUTCOMES if code != "unrecorded"]

Id = Annotated[int, PathParameter(ge=1, le=2**31 - 1)]
RECEPTION = frozenset({"reception", "manager"})
FACILITATORS = frozenset({"facilitator", "manager"})


ACTIONS = {
    "rappeler": "recall",
    "commencer": "start",
    "terminer": "finish",
    "absent": "no_show",
    "annuler": "cancel",
    "transferer": "transfer",
}


def _safe_next(target: str | None) -> str | None:
    """Only a path of this site, never another site's address."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None


def _waited(ticket: Ticket, now: datetime) -> str:
    return french.minutes(max(0, int((now - ticket.arrived_at).total_seconds() // 60)))


def ticket_rows(views: list[queue.TicketView], now: datetime, tz: ZoneInfo) -> list[dict[str, Any]]:
    rows = []
    for view in views:
        ticket = view.ticket
        rows.append(
            {
                "id": ticket.id,
                "number": ticket.number,
                "service": ticket.service.name,
                "service_code": ticket.service.code,
                "status": french.TICKET_STATUSES.get(ticket.status, ticket.status),
                "raw_status": ticket.status,
                "priority": ticket.priority,
                "appointment": ticket.due_at.astimezone(tz).strftime("%H:%M")
                if ticket.due_at
                else None,
                "waited": _waited(ticket, now),
                "station": ticket.station.name if ticket.station else "",
                "position": view.position,
                "eta": view.eta_minutes,
                "needs": list(ticket.needs),
                "calls": ticket.call_count,
                "token": ticket.token,
                "late": ticket.late,
                "kind": "appointment" if ticket.appointment_id else "walk_in",
            }
        )
    return rows


async def queue_context(session: AsyncSession, site: Site, now: datetime) -> dict[str, Any]:
    view = await queue.queue(session, site.slug, now)
    tz = ZoneInfo(site.timezone)
    return {
        "waiting": ticket_rows(view.waiting, now, tz),
        "called": ticket_rows(view.called, now, tz),
        "serving": ticket_rows(view.serving, now, tz),
        "seq": view.seq,
        "screens": await presence.screens(session, site.id, now),
        "updated": french.clock(now.astimezone(tz)),
    }


async def station_for(session: AsyncSession, staff: Staff, station_id: int) -> Station:
    """The station, if `staff` is a facilitator of its site."""
    station = await queue.get_station(session, station_id)
    accounts.authorize(staff.agent, roles=FACILITATORS, site=station.site)
    return station


class StaffPages(StaffController):
    # Login

    @get("/connexion")
    async def login_form(self, request: Request[Any, Any, State]) -> Template:
        return Template(
            "staff_login.html",
            context={"next": _safe_next(request.query_params.get("suite")), "error": None},
        )

    @post("/connexion")
    async def login(
        self,
        request: Request[Any, Any, State],
        db: NamedDependency[Database],
        settings: NamedDependency[Settings],
        now: NamedDependency[datetime],
    ) -> Template | Redirect:
        form = await request.form()
        email = str(form.get("email", ""))[:254]
        password = str(form.get("password", ""))[:256]
        target = _safe_next(str(form.get("suite", "")) or None)
        limits: Limits = request.app.state.limits
        address = client_address(request)
        try:
            await accounts.check_login_rate(
                db, limits, email, now, address=address, secret=settings.secret_key
            )
            agent_id = await accounts.authenticate(
                db, email, password, now, address=address, secret=settings.secret_key, via="page"
            )
        except TooManyRequests as exc:
            wait = -(-int(exc.headers.get("Retry-After", "60")) // 60)
            return Template(
                "staff_login.html",
                context={
                    "next": target,
                    "email": email,
                    "error": "Trop d'erreurs de mot de passe depuis ce poste : réessayez dans "
                    f"{french.minutes(wait) if wait > 1 else '1 minute'}, "
                    "ou demandez à votre responsable.",
                },
                status_code=429,
                headers=exc.headers,
            )
        if agent_id is None:
            return Template(
                "staff_login.html",
                context={
                    "next": target,
                    "email": email,
                    "error": "Adresse e-mail ou mot de passe incorrect. Après quelques "
                    "erreurs, il faut attendre un moment avant de réessayer depuis ce poste, "
                    "ou demander à votre responsable.",
                },
                status_code=401,
            )
        staff_session = await sessions.start(db, agent_id, settings, now)
        response = Redirect(target or "/console", status_code=303)
        response.set_cookie(session_cookie(sessions.encode(staff_session, settings), settings))
        return response

    @post("/deconnexion")
    async def logout(
        self,
        request: Request[Any, Any, State],
        db: NamedDependency[Database],
        session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        now: NamedDependency[datetime],
    ) -> Redirect:
        staff_session = await session_of(request, session, settings, now)
        if staff_session is not None:
            await sessions.end(db, staff_session)
        response = Redirect("/connexion", status_code=303)
        response.delete_cookie(sessions.COOKIE, path="/")
        return response

    @get("/console")
    async def console(
        self,
        session: NamedDependency[AsyncSession],
        staff: NamedDependency[Staff],
        settings: NamedDependency[Settings],
        now: NamedDependency[datetime],
    ) -> Template:
        sites = (
            await list_sites(session) if staff.agent.role == "admin" else list(staff.agent.sites)
        )
        # A manager reads here, before anything else, that a day fills abnormally fast.
        bursts = (
            await booking_alerts.alerts_by_site(
                session, sites, now, settings.booking_alert_per_hour
            )
            if staff.agent.role in ("manager", "admin")
            else {}
        )
        places = []
        for site in sites:
            detailed = await get_site(session, site.slug, with_details=True)
            places.append(
                {
                    "site": detailed,
                    "reception": staff.agent.role in RECEPTION | {"admin"},
                    "manager": staff.agent.role in ("manager", "admin"),
                    "bursts": [
                        {"label": french.day(burst.day), "bookings": burst.count}
                        for burst in bursts.get(site.id, [])
                    ],
                    "stations": [s for s in detailed.stations if s.active]
                    if staff.agent.role in FACILITATORS | {"admin"}
                    else [],
                }
            )
        return Template(
            "staff_console.html", context={"staff": staff, "places": places, "agent": staff.agent}
        )

    # Reception

    @get("/accueil/{slug:str}")
    async def reception(
        self,
        slug: Slug,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Template:
        site = await site_for(session, staff, slug, RECEPTION)
        params = request.query_params
        search = params.get("q", "")[:80]
        tz = ZoneInfo(site.timezone)
        appointments = await booking.appointments_of_day(
            session, site, local_today(site, now), search
        )
        late = await queue.late_appointments(session, [a.id for a in appointments])
        issued = None
        ticket_id = bounds.parse_int(params.get("ticket"), 1, bounds.LARGEST_ID)
        if ticket_id is not None:
            ticket = await queue.get_ticket(session, ticket_id)
            if ticket.site_id == site.id:
                issued = ticket_rows([await queue.view_of(session, ticket, now)], now, tz)[0]
        booked = None
        if params.get("rdv"):
            booked = await booking.appointment_by_reference(session, site, params["rdv"][:16])
        context = {
            "staff": staff,
            "agent": staff.agent,
            "site": site,
            "services": await list_services(session),
            "needs": await list_needs(session),
            "search": search,
            "appointments": [
                {
                    "reference": a.reference,
                    "name": a.name,
                    "time": french.clock(a.starts_at.astimezone(tz)),
                    "service": a.service.name,
                    "status": french.STATUSES.get(a.status, a.status),
                    "late": a.id in late,
                    "can_check_in": a.status == AppointmentStatus.BOOKED,
                }
                for a in appointments
            ],
            "issued": issued,
            "booked": _booked_view(booked, settings) if booked else None,
            "checked_in": params.get("arrivee"),
            "error": refusal_text(params["erreur"], site) if params.get("erreur") else None,
            "check_in_window": french.check_in_window(
                site.check_in_early_minutes,
                site.check_in_late_minutes,
                site.late_check_in_limit_minutes,
            ),
            "closed_now": not queue.is_open(await queue.open_day(session, site, now), now),
            **await queue_context(session, site, now),
        }
        return Template("staff_reception.html", context=context)

    @get("/accueil/{slug:str}/file")
    async def reception_queue(
        self,
        slug: Slug,
        session: NamedDependency[AsyncSession],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Template:
        site = await site_for(session, staff, slug, accounts.STAFF_ROLES)
        return Template("_staff_queue.html", context=await queue_context(session, site, now))

    @post("/accueil/{slug:str}/tickets")
    async def issue(
        self,
        slug: Slug,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Redirect:
        site = await get_site(session, slug)
        accounts.authorize(staff.agent, roles=queue.issuers(site), site=site)
        form = await request.form()
        path = f"/accueil/{site.slug}"
        station_id = bounds.parse_int(str(form.get("poste", "")), 1, bounds.LARGEST_ID)
        if station_id is not None:  # issued from a station's console
            station = await station_for(session, staff, station_id)
            if station.site_id != site.id:
                raise Forbidden("This station belongs to another mairie.")
            path = f"/poste/{station.id}"
        forced = form.get("forcer") == "oui"
        try:
            ticket = await queue.issue_walk_in(
                db,
                site.slug,
                service_code=str(form.get("service", "")),
                needs=tuple(str(v) for v in form.getall("besoins", []) if v)[:10],
                priority=form.get("prioritaire") == "oui",
                phone=str(form.get("telephone", "")).strip()[:32] or None,
                agent_id=staff.agent.id,
                now=now,
                force_reason=str(form.get("raison", ""))[:200] if forced else None,
            )
        except DomainError as error:
            return back(path, erreur=error.code or "not_found")
        return back(path, ticket=str(ticket.id))

    @post("/accueil/{slug:str}/arrivees")
    async def check_in(
        self,
        slug: Slug,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Redirect:
        site = await site_for(session, staff, slug, RECEPTION)
        form = await request.form()
        path = f"/accueil/{site.slug}"
        try:
            ticket = await queue.check_in(
                db, site.slug, str(form.get("reference", ""))[:16], agent_id=staff.agent.id, now=now
            )
        except DomainError as error:
            return back(path, erreur=error.code or "not_found")
        return back(path, ticket=str(ticket.id), arrivee="1")

    @get("/accueil/{slug:str}/rendez-vous")
    async def booking_form(
        self,
        slug: Slug,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Template:
        site = await site_for(session, staff, slug, RECEPTION)
        params = request.query_params
        return Template(
            "staff_booking.html",
            context=await _booking_context(
                session,
                site,
                staff,
                now,
                code=params.get("service", ""),
                needs=tuple(params.getall("besoins", []))[:10],
                day_text=params.get("jour", ""),
            ),
        )

    @post("/accueil/{slug:str}/rendez-vous")
    async def book(
        self,
        slug: Slug,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        site = await site_for(session, staff, slug, RECEPTION)
        form = await request.form()
        code = str(form.get("service", ""))
        needs = tuple(str(v) for v in form.getall("besoins", []) if v)[:10]
        day_text = str(form.get("jour", ""))
        channel = "phone" if form.get("canal") == "telephone" else "counter"
        start = bounds.parse_datetime(str(form.get("debut", "")))
        try:
            if start is None:
                raise booking.SlotRefused(Refusal.OFF_GRID)
            appointment = await booking.book(
                db,
                booking.BookingRequest(
                    site=site.slug,
                    service=code,
                    start=start,
                    contact=booking.contact(
                        str(form.get("nom", ""))[:200],
                        str(form.get("email", "")).strip()[:254] or None,
                        str(form.get("telephone", "")).strip()[:32] or None,
                    ),
                    needs=needs,
                    channel=channel,
                    reminders_by_email=form.get("rappels_email") == "oui",
                    reminders_by_sms=form.get("rappels_sms") == "oui",
                ),
                now=now,
                agent_id=staff.agent.id,
            )
        except DomainError as error:
            context = await _booking_context(
                session, site, staff, now, code=code, needs=needs, day_text=day_text
            )
            context["error"] = french.message(error.code)
            return Template("staff_booking.html", context=context, status_code=error.status)
        return back(f"/accueil/{site.slug}", rdv=appointment.reference)

    @get("/accueil/{slug:str}/tickets/{ticket_id:int}/imprimer")
    async def print_ticket(
        self,
        slug: Slug,
        ticket_id: Id,
        session: NamedDependency[AsyncSession],
        settings: NamedDependency[Settings],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Template:
        site = await site_for(session, staff, slug, accounts.STAFF_ROLES)
        ticket = await queue.get_ticket(session, ticket_id)
        if ticket.site_id != site.id:
            raise Forbidden("This ticket belongs to another mairie.")
        view = await queue.view_of(session, ticket, now)
        tz = ZoneInfo(site.timezone)
        tracking = f"{settings.base_url}/ticket/{ticket.token}"
        qr = await anyio.to_thread.run_sync(
            lambda: segno.make(tracking, error="m").svg_inline(
                scale=4, omitsize=True, title="Code QR : suivre votre ticket sur votre téléphone"
            )
        )
        return Template(
            "staff_ticket_print.html",
            context={
                "site": site,
                "ticket": ticket_rows([view], now, tz)[0],
                "issued": french.moment(ticket.arrived_at.astimezone(tz)),
                "tracking": tracking,
                "qr": Markup(qr),  # noqa: S704 (segno's own SVG, from our own address)
                "ahead": (view.position - 1) if view.position else 0,
            },
        )

    # Agent console

    @get("/poste/{station_id:int}")
    async def station(
        self,
        station_id: Id,
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Template:
        station = await station_for(session, staff, station_id)
        params = request.query_params
        site = station.site
        issued = None
        ticket_id = bounds.parse_int(params.get("ticket"), 1, bounds.LARGEST_ID)
        if ticket_id is not None and site.facilitators_issue_tickets:
            ticket = await queue.get_ticket(session, ticket_id)
            if ticket.site_id == site.id:
                view = await queue.view_of(session, ticket, now)
                issued = ticket_rows([view], now, ZoneInfo(site.timezone))[0]
        context = {
            "staff": staff,
            "agent": staff.agent,
            "station": station,
            "site": site,
            "issues_tickets": site.facilitators_issue_tickets,
            "issued": issued,
            "needs": await list_needs(session),
            "closed_now": site.facilitators_issue_tickets
            and not queue.is_open(await queue.open_day(session, site, now), now),
            "services": await list_services(session),
            "departments": await visits.active_departments(session),
            "outcomes": [(code, french.OUTCOMES[code]) for code in RECORDED_OUTCOMES],
            "error": refusal_text(params["erreur"], site) if params.get("erreur") else None,
            **await _station_context(session, station, now),
        }
        return Template("staff_station.html", context=context)

    @get("/poste/{station_id:int}/file")
    async def station_queue(
        self,
        station_id: Id,
        session: NamedDependency[AsyncSession],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Template:
        station = await station_for(session, staff, station_id)
        return Template(
            "_staff_queue.html", context=await queue_context(session, station.site, now)
        )

    @post("/poste/{station_id:int}/appeler")
    async def call_next(
        self,
        station_id: Id,
        session: NamedDependency[AsyncSession],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Redirect:
        station = await station_for(session, staff, station_id)
        path = f"/poste/{station.id}"
        try:
            ticket = await queue.call_next(db, station.id, agent_id=staff.agent.id, now=now)
        except DomainError as error:  # the station is out of service, for one
            return back(path, erreur=error.code or "not_found")
        return back(path) if ticket else back(path, erreur="nobody_waiting")

    @post("/poste/{station_id:int}/tickets/{ticket_id:int}/{action:str}")
    async def move(
        self,
        station_id: Id,
        ticket_id: Id,
        action: Annotated[str, PathParameter(max_length=20)],
        request: Request[Any, Any, State],
        session: NamedDependency[AsyncSession],
        db: NamedDependency[Database],
        now: NamedDependency[datetime],
        staff: NamedDependency[Staff],
    ) -> Redirect:
        station = await station_for(session, staff, station_id)
        ticket = await queue.get_ticket(session, ticket_id)
        if ticket.site_id != station.site_id or action not in ACTIONS:
            raise Forbidden("This ticket or action does not belong to this station.")
        form = await request.form()
        path = f"/poste/{station.id}"
        report = None
        if action == "terminer":
            report = visits.VisitReport(
                services=[str(code) for code in form.getall("demarches", [])],
                outcome=str(form.get("issue", "")) or "none",
                note=str(form.get("note", "")),
                department=str(form.get("service_expert", "")) or None,
            )
        try:
            await queue.act(
                db,
                ticket.id,
                ACTIONS[action],
                agent_id=staff.agent.id,
                now=now,
                service_code=str(form.get("service", "")) or None,
                station_kind=str(form.get("poste", "")) or None,
                report=report,
            )
        except DomainError as error:
            return back(path, erreur=error.code or "not_found")
        return back(path)


def refusal_text(code: str, site: Site) -> str:
    """A refusal shown to staff, with the site's own minutes where it speaks of them."""
    return french.check_in_refusal(
        code, site.check_in_early_minutes, site.late_check_in_limit_minutes
    )


def _booked_view(appointment: Appointment, settings: Settings) -> dict[str, str]:
    tz = ZoneInfo(appointment.site.timezone)
    return {
        "reference": appointment.reference,
        "name": appointment.name,
        "when": french.moment(appointment.starts_at.astimezone(tz)),
        "service": appointment.service.name,
        "link": f"{settings.base_url}/rendez-vous/{appointment.token}",
    }


async def _station_context(
    session: AsyncSession, station: Station, now: datetime
) -> dict[str, Any]:
    site = station.site
    tz = ZoneInfo(site.timezone)
    view = await queue.queue(session, site.slug, now)
    mine = [v for v in view.called + view.serving if v.ticket.station_id == station.id]
    needs = {need.code: need.name for need in await list_needs(session)}
    current = ticket_rows(mine, now, tz)
    for row in current:
        row["need_names"] = [needs.get(code, code) for code in row["needs"]]
    return {"current": current, **await queue_context(session, site, now)}


async def _booking_context(
    session: AsyncSession,
    site: Site,
    staff: Staff,
    now: datetime,
    *,
    code: str,
    needs: tuple[str, ...],
    day_text: str,
) -> dict[str, Any]:
    today = local_today(site, now)
    day = max(bounds.parse_date(day_text) or today, today)
    slots: list[dict[str, str]] = []
    if code:
        _, found = await booking.availability(session, site.slug, code, needs, day, day, now)
        tz = ZoneInfo(site.timezone)
        slots = [
            {
                "value": s.start.astimezone(tz).isoformat(),
                "label": french.clock(s.start.astimezone(tz)),
            }
            for s in found
        ]
    return {
        "staff": staff,
        "agent": staff.agent,
        "site": site,
        "services": await list_services(session),
        "needs": await list_needs(session),
        "code": code,
        "chosen_needs": list(needs),
        "day": day.isoformat(),
        "day_label": french.day(day),
        "next_day": (day + timedelta(days=1)).isoformat(),
        "slots": slots,
        "error": None,
    }
