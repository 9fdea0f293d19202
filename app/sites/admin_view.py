"""The administration page of one mairie: everything it shows, in tabs (one concern each,
`TABS`: a link per tab, so that they work without JavaScript), the confirmation of the last
change (POST/redirect/GET, back to the tab of the form sent), and a form posted to it
(`PostedForm`), shown again in its tab with what was typed and the problems in French when
refused."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, Concatenate, ParamSpec, TypeVar
from zoneinfo import ZoneInfo

import holidays
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.actors import Actor
from app.accounts.service import site_to_run
from app.i18n import N_, formats, gettext, language
from app.i18n.texts import label
from app.live import commands as admin_screens
from app.sites.admin_done import outcome
from app.sites.admin_tabs import SETTING_TABS, TABS, back, tab_links, tab_of_form
from app.sites.disruption import Affected, Disruption, Unagreed, to_reschedule, within_agreed
from app.sites.forms import period_fields, read_period, refusals
from app.sites.hours import WEEKDAYS, public_holiday
from app.sites.late_rule_names import LATE_RULES
from app.sites.models import Site, Station, StationOutage
from app.sites.queries import (
    closures_ahead,
    exceptions_ahead,
    outages_ahead,
    stations_of,
    weekly_ranges,
    weekly_rows,
)
from app.sites.rules import BOUNDS, CLOCK_SETTINGS, MAX_RANGES_PER_DAY, settings_of
from app.sites.service import local_today
from app.web.staff import FormRefusals, Staff

RANGES_SHOWN = 2  # and one more than a day has, up to the most a day may have
FOLD_AFTER = 5  # rows of a list of days or closures shown before the rest is folded
HOLIDAYS_AHEAD_DAYS = 365
KINDS = {"standard": N_("Standard"), "double": N_("Double écran")}
# What the form says under each setting; Python formats ("%%": a percent sign).
SETTING_HINTS = {
    "walk_in_percent": N_("en %%"),
    "booking_min_notice_minutes": N_("en minutes"),
    "booking_horizon_days": N_("en jours"),
    "check_in_early_minutes": N_("en minutes, avant l'heure du rendez-vous"),
    "check_in_late_minutes": N_(
        "en minutes, après l'heure du rendez-vous ; au-delà, la personne est enregistrée en retard"
    ),
    "late_grace_minutes": N_("en minutes"),
    "late_check_in_limit_minutes": N_("en minutes, après la fin du rendez-vous"),
    "remote_head_start_minutes": N_("en minutes : arriver tôt n'est jamais pénalisé"),
    "remote_rejoin_minutes": N_("en minutes"),
    "offer_hold_minutes": N_("en minutes ; la nuit, à compter de la fin des heures sans SMS"),
    "priority_after_minutes": N_("en minutes"),
    "turn_near_position": N_("0 : ne jamais prévenir"),
    "service_level_minutes": N_("en minutes"),
    "service_level_goal": N_("en %% des personnes appelées dans ce délai"),
}
# The settings that are not numbers within bounds: their label and hint on the page.
OTHER_SETTINGS = {
    "late_arrival_rule": (N_("Une personne en retard passe"), ""),
    "facilitators_issue_tickets": (
        N_(
            "Les facilitateurs peuvent aussi donner des tickets sans rendez-vous (un même agent "
            "fait l'accueil et le poste)"
        ),
        "",
    ),
    "reminder_hours": (
        N_("Rappels avant le rendez-vous"),
        N_(
            "En heures avant le rendez-vous, séparées par des virgules (au plus 3, par "
            "exemple 24, 2). Vide : aucun rappel."
        ),
    ),
    # Texts about the queue of the moment go at once: held, they would come too late.
    "sms_quiet_from": (
        N_("Pas de SMS à partir de"),
        N_(
            "Les rappels, les confirmations et les messages de suivi envoyés par SMS attendent "
            "la fin de cette période. Les SMS sur la file d'attente du jour (« c'est bientôt "
            "votre tour ») partent tout de suite : retardés, ils arriveraient trop tard."
        ),
    ),
    "sms_quiet_until": (N_("Pas de SMS avant"), ""),
}


# The weekdays of a month that have hours of their own, by their rank (-1: the last).
IN_MONTH = {
    1: N_("1er %(weekday)s du mois"),
    2: N_("2e %(weekday)s du mois"),
    3: N_("3e %(weekday)s du mois"),
    4: N_("4e %(weekday)s du mois"),
    5: N_("5e %(weekday)s du mois"),
    -1: N_("Dernier %(weekday)s du mois"),
}


def in_month(nth: int, weekday: int) -> str:
    """ "1er lundi du mois", "Dernier vendredi du mois": the `nth` `weekday` (0: Monday)."""
    name = formats.weekday_name(weekday)
    return gettext(IN_MONTH[nth], weekday=name) if nth in IN_MONTH else name


def holidays_between(first: date, last: date) -> list[tuple[date, str]]:
    """The public holidays from `first` to `last`, each named as the calendar names it
    (`hours.public_holiday`): the days the mairie is closed with nothing to enter."""
    found = holidays.country_holidays("FR", years=range(first.year, last.year + 1))
    lang = language.get()
    return [(day, public_holiday(day, lang) or "") for day in sorted(found) if first <= day <= last]


def setting_hint(name: str) -> str:
    """The hint of the setting `name` in the current language; its msgids are Python
    formats ("%%" is a percent sign), so the text is formatted even with no value."""
    return gettext(SETTING_HINTS[name]) % {} if name in SETTING_HINTS else ""


def affected_rows(items: Sequence[Affected], zone: ZoneInfo) -> list[dict[str, str]]:
    return [
        {
            "reference": item.reference,
            "when": moment(item.starts_at, zone),
            "service": item.service_name,
            "station": item.station,
        }
        for item in items
    ]


# The page


def setting_field(name: str, value: Any) -> dict[str, Any]:
    """What the form shows of the setting `name`, stored as `value`: its kind of control
    ("number", "clock", "hours", "late_rule" or "flag"), label, hint, bounds and value as
    the field writes it."""
    bound = BOUNDS.get(name)
    if bound is not None:
        hint = formats.semicolons(
            [
                part
                for part in (
                    setting_hint(name),
                    gettext("de %(low)d à %(high)d", low=bound.low, high=bound.high),
                )
                if part
            ]
        )
        return {
            "name": name,
            "kind": "number",
            "label": gettext(bound.words),
            "hint": hint,
            "bounds": (bound.low, bound.high),
            "value": str(value),
        }
    label, hint = OTHER_SETTINGS[name]
    kinds = {"reminder_hours": "hours", "late_arrival_rule": "late_rule"}
    kind = kinds.get(name, "clock" if name in CLOCK_SETTINGS else "flag")
    shown = value
    if kind == "hours":
        shown = ", ".join(str(hour) for hour in value)
    elif kind == "clock":
        shown = value.strftime("%H:%M")
    return {
        "name": name,
        "kind": kind,
        "label": gettext(label),
        "hint": gettext(hint) if hint else "",
        "bounds": None,
        "value": shown,
    }


def setting_fieldsets(tab: str, settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The fieldsets of the settings tab `tab`, each with its fields (`setting_field`)."""
    return [
        {"legend": gettext(legend), "fields": [setting_field(n, settings[n]) for n in names]}
        for legend, names in SETTING_TABS.get(tab, ())
    ]


def station_rows(
    stations: list[Station], outages: list[StationOutage], zone: ZoneInfo, now: datetime
) -> list[dict[str, Any]]:
    by_station: dict[int, list[StationOutage]] = {}
    for outage in outages:
        by_station.setdefault(outage.station_id, []).append(outage)
    rows = []
    for station in stations:
        ahead = by_station.get(station.id, [])
        if not station.active:
            state = gettext("Retiré")
        elif ahead and ahead[0].starts_at <= now:
            state = gettext("Hors service jusqu'au %(end)s", end=moment(ahead[0].ends_at, zone))
        elif ahead:
            state = gettext(
                "En service ; hors service du %(start)s au %(end)s",
                start=moment(ahead[0].starts_at, zone),
                end=moment(ahead[0].ends_at, zone),
            )
        else:
            state = gettext("En service")
        rows.append(
            {
                "id": station.id,
                "name": station.name,
                "kind": station.kind,
                "kind_label": label(KINDS, station.kind),
                "accessible": station.accessible,
                "active": station.active,
                "state": state,
            }
        )
    return rows


def moment(value: datetime, zone: ZoneInfo) -> str:
    return formats.moment(value.astimezone(zone))


async def site_context(staff: Staff, site: Site, tab: str = "") -> dict[str, Any]:
    """Everything the site's page shows, at the time of the request, in the tab `tab`
    (when empty, the page shows the tab of the form `posted`, once the caller sets it)."""
    session, now = staff.session, staff.now
    zone = ZoneInfo(site.timezone)
    today = local_today(site, now)
    stations = await stations_of(session, site)
    names = {station.id: station.name for station in stations}
    outages = await outages_ahead(session, site, now)
    rows = await weekly_rows(session, site)
    weekly = weekly_ranges(rows)
    settings = settings_of(site)
    return {
        "staff": staff,
        "agent": staff.actor,
        "section": "sites",
        "site": site,
        "tab": tab,
        "tabs": tab_links(site),
        "tab_of_form": tab_of_form,
        "tab_names": {code: gettext(text) for code, text in TABS.items()},
        "setting_fieldsets": {code: setting_fieldsets(code, settings) for code in SETTING_TABS},
        "kinds": {code: gettext(text) for code, text in KINDS.items()},
        "late_rules": {code: gettext(text) for code, text in LATE_RULES.items()},
        "stations": station_rows(stations, outages, zone, now),
        "outages": [
            {
                "id": outage.id,
                "station": names.get(outage.station_id, ""),
                "starts": moment(outage.starts_at, zone),
                "ends": moment(outage.ends_at, zone),
                "reason": outage.reason,
            }
            for outage in outages
        ],
        "weekdays": [
            {
                "code": WEEKDAYS[day],
                "index": day,
                "name": formats.weekday_name(day),
                "ranges": [(f"{o:%H:%M}", f"{c:%H:%M}") for o, c in weekly[day]],
                "shown": min(MAX_RANGES_PER_DAY, max(RANGES_SHOWN, len(weekly[day]) + 1)),
            }
            for day in range(7)
        ],
        "special": [
            {
                "when": in_month(row.nth_in_month, row.weekday),
                "range": f"{row.opens:%H:%M} – {row.closes:%H:%M}",
                "note": row.note,
            }
            for row in rows
            if row.nth_in_month is not None
        ],
        "exceptions": [
            {
                "day": item.day.isoformat(),
                "label": formats.day(item.day),
                "ranges": [f"{o:%H:%M} – {c:%H:%M}" for o, c in item.ranges],
                "reason": item.reason,
            }
            for item in await exceptions_ahead(session, site, today)
        ],
        "closures": [
            {
                "id": closure.id,
                "starts": moment(closure.starts_at, zone),
                "ends": moment(closure.ends_at, zone),
                "reason": closure.reason,
            }
            for closure in await closures_ahead(session, site, now)
        ],
        "to_reschedule": affected_rows(await to_reschedule(session, site, now), zone),
        "screens": await admin_screens.screen_rows(session, site, now),
        "holidays": [
            {"label": formats.day(day), "name": name}
            for day, name in holidays_between(today, today + timedelta(days=HOLIDAYS_AHEAD_DAYS))
        ],
        "today": today.isoformat(),
        "ranges_shown": RANGES_SHOWN,
        "fold_after": FOLD_AFTER,
        "errors": {},
        "entered": {},
        "posted": "",
        "done": [],
        "done_already": False,
    }


Given = ParamSpec("Given")
Made = TypeVar("Made")


@dataclass
class PostedForm:
    """A form posted to the page of `site`: its fields as typed and the problems found so
    far; `refusals` puts the service's refusal next to the fields, `again` shows the page
    again with both, and `change` does the one thing every form of the page does: a change,
    then back to the page with its confirmation, or the page again."""

    staff: Staff
    site: Site
    form: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def refusals(self, fields: Mapping[str, str], default: str) -> FormRefusals:
        return refusals(self.errors, fields, default)

    def command(
        self,
        run: Callable[Concatenate[AsyncSession, Actor, str, Given], Awaitable[Made]],
        *args: Given.args,
        **kwargs: Given.kwargs,
    ) -> Callable[[], Awaitable[Made]]:
        """`run`, one of the site's commands, ready to be done by the agent of the form at
        its site, with `args`."""
        return partial(run, self.staff.session, self.staff.actor, self.site.slug, *args, **kwargs)

    def period(self, prefix: str) -> tuple[datetime, datetime] | None:
        """The period of the fields `{prefix}-debut-…` and `{prefix}-fin-…`, in the site's
        time zone."""
        return read_period(self.form, prefix, ZoneInfo(self.site.timezone), self.errors)

    async def change(
        self,
        command: Callable[[], Awaitable[Disruption | tuple[Any, Disruption]]],
        fields: Mapping[str, str],
        default: str,
        *,
        tab: str,
        done: str,
        again: str,
    ) -> Template | Redirect:
        """Unless the form was found wrong already, the change `command` makes (its refusal
        put next to the fields, as `refusals` says), then back to the tab `tab` with the
        confirmation `done` and what it did to booked appointments; otherwise the page again
        with what is wrong in the form `again`. A change that would call off appointments
        is first asked about (409), then made once the form comes back agreeing to those
        (their references in `CONFIRMED`): any other is asked about again."""
        if not self.errors:
            agreed = set(self.form.get(CONFIRMED, "")[:10_000].split())
            try:
                with self.refusals(fields, default):
                    made = await within_agreed(self.staff.session, command, agreed)
                    done_query = await outcome(self.staff.session, self.site, done, made)
                    return back(self.site, tab, **done_query)
            except Unagreed as unagreed:
                return await self.again(again, 409, asked=unagreed.disruption)
        return await self.again(again)

    async def add_period(
        self,
        prefix: str,
        add: Callable[..., Awaitable[tuple[Any, Disruption]]],
        *args: Any,
        tab: str,
        done: str,
    ) -> Template | Redirect:
        """`change` by the site's command `add`, with `args` and the period of the form
        `prefix` (its fields `{prefix}-debut-…`, `{prefix}-fin-…` and `{prefix}-motif`)."""
        period = self.period(prefix)
        if period is None:
            return await self.again(prefix)
        reason = self.form.get(f"{prefix}-motif", "")
        starts_at, ends_at = period
        command = self.command(
            add, *args, starts_at=starts_at, ends_at=ends_at, reason=reason, now=self.staff.now
        )
        fields = period_fields(prefix)
        return await self.change(
            command, fields, f"{prefix}-debut-jour", tab=tab, done=done, again=prefix
        )

    async def again(
        self, posted: str, status: int = 400, tab: str = "", asked: Disruption | None = None
    ) -> Template:
        """The page again, in the tab of the form `posted` (or `tab`), with what was typed
        in it and what is wrong; or asking whether to make a change that would call off the
        appointments `asked` says, the form's fields kept to send it again."""
        page = await site_context(self.staff, self.site, tab or tab_of_form(posted))
        page.update(errors=self.errors, entered=self.form, posted=posted)
        if asked is not None:
            kept = {k: v for k, v in self.form.items() if k not in ("csrf", CONFIRMED)}
            called_off = affected_rows(asked.to_reschedule, ZoneInfo(self.site.timezone))
            page["asked"] = {"action": self.staff.request.url.path, "fields": kept}
            page["asked"].update(called_off=called_off, name=CONFIRMED)
        return Template("admin_site.html", context=page, status_code=status)


CONFIRMED = "confirme"  # the form's field: the appointments its agent agreed to call off


def as_typed(form: Mapping[str, Any]) -> dict[str, str]:
    """The fields of a posted form as typed, never cut: a text too long is refused and
    shown back whole (the request's size limit bounds them all)."""
    return {key: str(value) for key, value in form.items()}


async def form_posted(staff: Staff, slug: str) -> PostedForm:
    """The form posted to the page of the site at `slug`, if `staff` runs it (read once
    the route's own parameters are checked)."""
    site = await site_to_run(staff.session, staff.actor, slug)
    return PostedForm(staff, site, as_typed(await staff.request.form()))
