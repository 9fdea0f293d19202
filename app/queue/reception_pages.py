"""The reception console of a site: the day's appointments and their check-in, walk-in
tickets issued and printed, and appointments booked at the desk or by phone."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from litestar import get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.response import Redirect, Template

from app import bounds
from app.accounts.actors import STAFF
from app.booking import commands as booking_commands
from app.booking import queries as booking
from app.booking.appointment_rows import appointment_summary
from app.booking.contact_form import ContactForm, reminded_by
from app.booking.models import Appointment, AppointmentStatus
from app.booking.pages import free_slots_of_day, needs_of
from app.booking.slots import Refusal
from app.config import Settings
from app.errors import DomainError, Forbidden, NotFound
from app.i18n import formats, gettext
from app.i18n.texts import STATUSES, check_in_window, label, refusal_for_someone
from app.queue import commands, queries, remote, views
from app.queue.arrival_codes import arrival_code
from app.queue.desk_forms import MAX_REFERENCE, WalkIn, too_long, too_long_text
from app.queue.eta_words import EtaWords, eta_words
from app.queue.models import Ticket
from app.queue.station_pages import (
    RECEPTION,
    Id,
    console_context,
    desk_context,
    queue_context,
    refusal_text,
    refused,
    station_for,
    station_page,
    ticket_here,
    ticket_rows,
)
from app.sites import opening
from app.sites.hours import OpenDay
from app.sites.models import Site, Station
from app.sites.schemas import Slug
from app.sites.service import list_needs, list_services, local_today
from app.waitlist import queries as earlier_slots
from app.web.context import Context
from app.web.staff import Staff, StaffController, back, our_link, site_for, site_form


class ReceptionPages(StaffController):
    @get("/accueil/{slug:str}")
    async def reception(
        self,
        slug: Slug,
        staff: NamedDependency[Staff],
    ) -> Template:
        site = await site_for(staff.session, staff, slug, RECEPTION)
        return await reception_page(staff, site, staff.request.query_params)

    @get("/accueil/{slug:str}/file")
    async def reception_queue(
        self,
        slug: Slug,
        staff: NamedDependency[Staff],
    ) -> Template:
        site = await site_for(staff.session, staff, slug, STAFF)
        return Template("_staff_queue.html", context=await queue_context(staff.context, site))

    @get("/accueil/{slug:str}/code-arrivee")
    async def arrival_line(self, slug: Slug, staff: NamedDependency[Staff]) -> Template:
        """The arrival code of the moment, the console's line that refreshes itself."""
        site = await site_for(staff.session, staff, slug, RECEPTION)
        line = {"arrival": _arrival_code(staff, site)}
        return Template("_staff_arrival_code.html", context=line)

    @post("/accueil/{slug:str}/tickets")
    async def issue(
        self,
        slug: Slug,
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        site, form = await site_form(staff, slug, queries.issuers)
        session, now = staff.session, staff.now
        asked = WalkIn.of(form)
        path = f"/accueil/{site.slug}"
        station = None
        if asked.station is not None:  # issued from a station's console
            station = await station_for(session, staff, asked.station)
            if station.site_id != site.id:
                raise Forbidden("This station belongs to another mairie.")
            path = f"/poste/{station.id}"
        day = await opening.open_day(session, site, now)
        open_now = opening.is_open(day, now)
        long = asked.too_long(reason_kept=asked.confirmed and not open_now)
        if long is not None:  # refused, never cut: the form again, as typed
            warning = await _issue_warning(staff, site, day, asked) if long == "raison" else None
            if warning is not None:
                error = too_long_text(long)
                return await _confirm_page(staff, site, asked, warning, path, error=error)
            return await _walk_in_again(staff, site, station, asked, long, too_long_text(long))
        services = {service.code for service in await list_services(session)}
        needs = {need.code for need in await list_needs(session)}
        wrong = asked.refusal(services, needs)
        if wrong is not None:
            return await _walk_in_again(staff, site, station, asked, *wrong)
        if not asked.confirmed:
            warning = await _issue_warning(staff, site, day, asked)
            if warning is not None:
                return await _confirm_page(staff, site, asked, warning, path)
        try:
            ticket = await commands.issue_walk_in(
                session,
                site,
                service_code=asked.service,
                needs=asked.needs,
                priority=asked.priority,
                phone=asked.phone,
                agent_id=staff.actor.agent_id,
                now=now,
                # Confirmed while open (closing soon): no reason is asked, none is kept.
                force_reason=asked.reason if asked.confirmed and not open_now else None,
            )
        except DomainError as error:
            if error.code == "reason_missing":
                warning = await _issue_warning(staff, site, day, asked)
                if warning is not None:
                    text = refusal_text(error.code, site)
                    return await _confirm_page(staff, site, asked, warning, path, error=text)
            return refused(path, error)
        return back(path, ticket=str(ticket.id))

    @post("/accueil/{slug:str}/arrivees")
    async def check_in(
        self,
        slug: Slug,
        staff: NamedDependency[Staff],
    ) -> Redirect:
        site, form, path = await _console_form(staff, slug)
        reference = str(form.get("reference", ""))
        if len(reference) > MAX_REFERENCE:  # no reference, even once cut
            return refused(path, NotFound("No appointment has so long a reference."))
        return await _arrived(
            path,
            commands.check_in(
                staff.session,
                site.slug,
                reference,
                agent_id=staff.actor.agent_id,
                now=staff.now,
            ),
        )

    @post("/accueil/{slug:str}/arrivees-a-distance")
    async def remote_check_in(
        self,
        slug: Slug,
        staff: NamedDependency[Staff],
    ) -> Redirect:
        """The holder of a ticket taken from a phone is at the desk: in line, by its number."""
        site, form, path = await _console_form(staff, slug)
        number = " ".join(str(form.get("numero", "")).split())[:16]
        if not number:
            return back(path, erreur="remote_number_missing")
        try:
            ticket = await remote.check_in_number(
                staff.session, site.slug, number, agent_id=staff.actor.agent_id, now=staff.now
            )
        except DomainError as error:  # the number typed is kept in its field
            code = error.code if error.code not in ("", "not_found") else "remote_ticket_unknown"
            return back(path, erreur=code, numero=number[:8])
        return back(path, ticket=str(ticket.id), arrivee="1")

    @get("/accueil/{slug:str}/rendez-vous")
    async def booking_form(
        self,
        slug: Slug,
        staff: NamedDependency[Staff],
    ) -> Template:
        site = await site_for(staff.session, staff, slug, RECEPTION)
        params = staff.request.query_params
        return Template(
            "staff_booking.html",
            context=await _booking_context(
                staff.context,
                site,
                staff,
                code=params.get("service", ""),
                needs=tuple(params.getall("besoins", []))[:10],
                day_text=params.get("jour", ""),
            ),
        )

    @post("/accueil/{slug:str}/rendez-vous")
    async def book(
        self,
        slug: Slug,
        staff: NamedDependency[Staff],
    ) -> Template | Redirect:
        site, form, path = await _console_form(staff, slug)
        code = str(form.get("service", ""))
        needs = needs_of(form.getall("besoins", []))
        day_text = str(form.get("jour", ""))
        channel = "phone" if form.get("canal") == "telephone" else "counter"
        start = bounds.parse_datetime(str(form.get("debut", "")))
        entered = ContactForm.someone(form)
        long = too_long({"email": entered.email, "telephone": entered.telephone})
        error: str | None = too_long_text(long) if long else None
        status = 400
        if error is None:
            try:
                if start is None:
                    raise booking.SlotRefused(Refusal.OFF_GRID)
                appointment = await booking_commands.book(
                    staff.session,
                    entered.request(site, code, needs, start, channel=channel),
                    now=staff.now,
                    agent_id=staff.actor.agent_id,
                )
                return back(path, rdv=appointment.reference)
            except DomainError as refused_here:
                error, status = refusal_for_someone(refused_here.code), refused_here.status
        page = await _booking_context(
            staff.context, site, staff, code=code, needs=needs, day_text=day_text
        )
        # A démarche or need that is none is said as on the form (`free_slots_of_day`).
        error = page["error"] or error
        page.update(error=error, entered=entered, channel=channel, start=form.get("debut"))
        return Template("staff_booking.html", context=page, status_code=status)

    @get("/accueil/{slug:str}/tickets/{ticket_id:int}/imprimer")
    async def print_ticket(
        self,
        slug: Slug,
        ticket_id: Id,
        staff: NamedDependency[Staff],
    ) -> Template:
        session, now = staff.session, staff.now
        site = await site_for(session, staff, slug, STAFF)
        ticket = await ticket_here(session, ticket_id, site)
        view = await views.view_of(session, ticket, now)
        tz = ZoneInfo(site.timezone)
        title = gettext("Code QR : suivre votre ticket sur votre téléphone")
        tracking, qr = await our_link(staff.settings, f"/ticket/{ticket.token}", title)
        return Template(
            "staff_ticket_print.html",
            context={
                "site": site,
                "ticket": ticket_rows([view], now, tz)[0],
                "issued": formats.moment(ticket.arrived_at.astimezone(tz)),
                "tracking": tracking,
                "qr": qr,
                "ahead": (view.position - 1) if view.position else 0,
                "eta_words": eta_words(view.eta_minutes),
                # Closed: the slip never promises a call "dans un instant".
                "closed_now": not opening.is_open(await opening.open_day(session, site, now), now),
            },
        )

    @get("/accueil/{slug:str}/rendez-vous/{reference:str}/imprimer")
    async def print_booking(
        self,
        slug: Slug,
        reference: Annotated[str, PathParameter(max_length=16)],
        staff: NamedDependency[Staff],
    ) -> Template:
        """The summary of an appointment booked at the desk or on the phone, to hand over or
        post: when, where, what to bring, and how to move or cancel it."""
        session = staff.session
        site = await site_for(session, staff, slug, RECEPTION)
        appointment = await booking.appointment_by_reference(session, site, reference)
        if appointment is None:
            raise NotFound("No appointment of this mairie has this reference.")
        return Template(
            "staff_booking_print.html",
            context=await _slip_context(staff, site, appointment),
        )


async def reception_page(
    staff: Staff,
    site: Site,
    params: Mapping[str, str],
    *,
    walk_in: WalkIn | None = None,
    asked_field: str = "",
    error: str | None = None,
) -> Template:
    """The reception console of `site`; the walk-in form refused shown again as typed
    (`walk_in`, answered 400), with its `error` beside `asked_field`. A search too long
    is refused likewise, kept in its field."""
    session, now = staff.session, staff.now
    status_code = 400 if walk_in else 200
    search = params.get("q", "")
    search_refused = too_long({"q": search}) is not None
    if search_refused:
        error, status_code = too_long_text("q"), 400
    tz = ZoneInfo(site.timezone)
    appointments = (
        []
        if search_refused
        else await booking.appointments_of_day(session, site, local_today(site, now), search)
    )
    late = await queries.late_appointments(session, [a.id for a in appointments])
    booked = None
    if params.get("rdv"):
        booked = await booking.appointment_by_reference(session, site, params["rdv"])
    page = {
        **await console_context(
            staff.context, staff, site, params, refresh=f"/accueil/{site.slug}/file"
        ),
        "search": search,
        "appointments": [
            {
                "reference": a.reference,
                "name": a.name,
                "time": formats.clock(a.starts_at.astimezone(tz)),
                "service": a.service.label,
                "status": label(STATUSES, a.status),
                "late": a.id in late,
                "can_check_in": a.status == AppointmentStatus.BOOKED,
            }
            for a in appointments
        ],
        "booked": _booked_view(booked, staff.settings) if booked else None,
        "checked_in": params.get("arrivee"),
        "remote_number": params.get("numero", "")[:8],
        "check_in_window": check_in_window(
            site.check_in_early_minutes,
            site.check_in_late_minutes,
            site.late_check_in_limit_minutes,
        ),
        "asked": walk_in,
        "asked_field": asked_field,
        "arrival": _arrival_code(staff, site),
        "earlier": await earlier_slots.waiting_count(session, site, now),
    }
    if error:
        page["error"] = error
    return Template("staff_reception.html", context=page, status_code=status_code)


async def _console_form(staff: Staff, slug: str) -> tuple[Site, FormMultiDict, str]:
    """A form posted at the reception console of the site at `slug`: the site, the form,
    and the console's path to go back to."""
    site, form = await site_form(staff, slug, RECEPTION)
    return site, form, f"/accueil/{site.slug}"


async def _arrived(path: str, arrival: Awaitable[Ticket]) -> Redirect:
    """Back to the reception console at `path` once `arrival` has checked someone in: with
    their ticket, or saying why they were not."""
    try:
        ticket = await arrival
    except DomainError as error:
        return refused(path, error)
    return back(path, ticket=str(ticket.id), arrivee="1")


async def _walk_in_again(
    staff: Staff, site: Site, station: Station | None, asked: WalkIn, field: str, error: str
) -> Template:
    """The walk-in form refused, 400, shown again as typed on the console it came from
    (`station`'s, or reception's), its `error` beside its `field`."""
    if station is not None:
        return await station_page(staff, station, {}, walk_in=asked, asked_field=field, error=error)
    return await reception_page(staff, site, {}, walk_in=asked, asked_field=field, error=error)


@dataclass(frozen=True)
class IssueWarning:
    """Why reception is asked to confirm a ticket: the mairie is closed (`closed`, with
    the time it opens again today, if it does), or it closes (`closes`) before the
    newcomer's estimated turn (`wait`)."""

    closed: bool
    opens: str | None = None
    closes: str | None = None
    wait: EtaWords | None = None


async def _issue_warning(
    staff: Staff, site: Site, day: OpenDay, asked: WalkIn
) -> IssueWarning | None:
    """What to warn of before issuing the ticket `asked` for, if anything. An unknown
    démarche is not warned of: the form is refused for it (`WalkIn.refusal`)."""
    session, now = staff.session, staff.now
    if asked.service not in {service.code for service in await list_services(session)}:
        return None
    tz = ZoneInfo(site.timezone)
    if not opening.is_open(day, now):
        opens = next((start for start, _ in day.intervals if start > now), None)
        return IssueWarning(
            closed=True, opens=formats.clock(opens.astimezone(tz)) if opens else None
        )
    closes = opening.closing_time(day)
    wait = await views.newcomer_wait(session, site, now)
    if closes is None or not views.closes_before_turn(now, closes, wait):
        return None
    return IssueWarning(
        closed=False, closes=formats.clock(closes.astimezone(tz)), wait=eta_words(wait)
    )


async def _confirm_page(
    staff: Staff,
    site: Site,
    asked: WalkIn,
    warning: IssueWarning,
    back_to: str,
    error: str | None = None,
) -> Template:
    """The form answered with its warning, and a second button that issues anyway."""
    page = await desk_context(staff.session, staff, site)
    names = {need.code: need.label for need in page["needs"]}
    services = {service.code: service.label for service in page["services"]}
    page.update(
        asked=asked,
        service_name=services.get(asked.service, asked.service),
        need_names=[names.get(code, code) for code in asked.needs],
        warning=warning,
        back_to=back_to,
        error=error,
    )
    return Template("staff_ticket_confirm.html", context=page, status_code=400 if error else 200)


async def _slip_context(staff: Staff, site: Site, appointment: Appointment) -> dict[str, Any]:
    """The printable summary's values, in the words the person reads."""
    tz = ZoneInfo(site.timezone)
    start = appointment.starts_at.astimezone(tz)
    needs = {need.code: need.label for need in await list_needs(staff.session)}
    since, until = await booking.arrival_window(staff.session, site, appointment)
    title = gettext("Code QR : votre rendez-vous, pour le déplacer ou l'annuler")
    link, qr = await our_link(staff.settings, f"/rendez-vous/{appointment.token}", title)
    return {
        "staff": staff,
        "agent": staff.actor,
        "site": site,
        "appointment": appointment,
        "when": formats.moment(start),
        "arrive_from": formats.clock(since.astimezone(tz)),
        "arrive_until": formats.clock(until.astimezone(tz)),
        "need_names": [needs.get(code, code) for code in appointment.needs],
        "link": link,
        "qr": qr,
        "find": f"{staff.settings.base_url}/rendez-vous/retrouver",
        "cancelled": appointment.status != AppointmentStatus.BOOKED,
    }


def _booked_view(appointment: Appointment, settings: Settings) -> dict[str, Any]:
    return {
        **reminded_by(appointment),
        **appointment_summary(appointment),
        "name": appointment.name,
        "link": f"{settings.base_url}/rendez-vous/{appointment.token}",
    }


async def _booking_context(
    context: Context,
    site: Site,
    staff: Staff,
    *,
    code: str,
    needs: tuple[str, ...],
    day_text: str,
) -> dict[str, Any]:
    return {
        **await desk_context(context.session, staff, site),
        "code": code,
        "chosen_needs": list(needs),
        "error": None,
        **await free_slots_of_day(context.session, site, code, needs, day_text, context.now),
        # What a refused booking form held, shown again as typed.
        "entered": None,
        "channel": "counter",
        "start": None,
    }


def _arrival_code(staff: Staff, site: Site) -> dict[str, str]:
    """The code people who took their ticket from a phone type (or scan) on arrival, until
    when it is shown, and in how many seconds it turns (the line is read again then, not
    up to a round later): "123 456", "9 h 35", "42"."""
    code, until = arrival_code(staff.settings.secret_key, site.id, staff.now)
    return {
        "code": f"{code[:3]} {code[3:]}",
        "until": formats.clock(until.astimezone(ZoneInfo(site.timezone))),
        "turns_in": str(max(1, math.ceil((until - staff.now).total_seconds()))),
    }
