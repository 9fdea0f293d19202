"""The tabs of a mairie's administration page: which concern each shows, which settings
each form sends, and the way back to the tab a form came from."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from litestar.response import Redirect

from app.i18n import N_, gettext
from app.sites.models import Site

# The tabs of a mairie's page, in order, by the code its address carries (`?onglet=`):
# each shows one concern and its forms only, so that no page is thousands of pixels tall
# (the week's hours apart from the days and periods when the mairie is closed).
TABS = {
    "general": N_("Général"),
    "rendez-vous": N_("Rendez-vous"),
    "file": N_("File d'attente"),
    "messages": N_("Messages"),
    "horaires": N_("Horaires"),
    "fermetures": N_("Fermetures"),
    "postes": N_("Postes"),
    "ecrans": N_("Écrans"),
}
FIRST_TAB = "general"
TAB_FIELD = "onglet"
# The settings tabs: each a form of its own posted to `/reglages`, its fieldsets (legend,
# settings) in order. Together they hold every setting of `SETTINGS` once.
SETTING_TABS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "rendez-vous": (
        (
            N_("Réservation"),
            (
                "walk_in_percent",
                "booking_min_notice_minutes",
                "booking_horizon_days",
                "max_future_bookings_per_contact",
            ),
        ),
        (
            N_("Créneaux plus tôt"),
            ("offer_hold_minutes",),
        ),
        (
            N_("Arrivée des personnes"),
            (
                "check_in_early_minutes",
                "check_in_late_minutes",
                "late_arrival_rule",
                "late_grace_minutes",
                "late_check_in_limit_minutes",
            ),
        ),
    ),
    "file": (
        (
            N_("Appels et priorité"),
            ("priority_after_minutes", "no_show_after_calls", "turn_near_position"),
        ),
        (N_("Niveau de service"), ("service_level_minutes", "service_level_goal")),
        (
            N_("File à distance"),
            ("remote_per_hour", "remote_head_start_minutes", "remote_rejoin_minutes"),
        ),
        (N_("Rôles"), ("facilitators_issue_tickets",)),
    ),
    "messages": ((N_("Rappels et SMS"), ("reminder_hours", "sms_quiet_from", "sms_quiet_until")),),
}
# The tab a confirmation comes back to when its address names none (an address written
# before the tabs, or by hand).
DONE_TABS = {
    "poste_ajoute": "postes",
    "poste_modifie": "postes",
    "hors_service": "postes",
    "en_service": "postes",
    "horaires": "horaires",
    "exception": "fermetures",
    "exception_supprimee": "fermetures",
    "fermeture": "fermetures",
    "fermeture_supprimee": "fermetures",
    "ecran_retire": "ecrans",
}
# The tab of each form of the page, by its name (`posted`) or the start of it.
FORM_TABS = {
    "nouveau": "postes",
    "poste": "postes",
    "panne": "postes",
    "horaires": "horaires",
    "exception": "fermetures",
    "fermeture": "fermetures",
    "ecran": "ecrans",
}


def settings_in(tab: str) -> tuple[str, ...]:
    """The settings the form of the settings tab `tab` sends, in order."""
    return tuple(name for _, names in SETTING_TABS.get(tab, ()) for name in names)


def tab_of_setting(name: str) -> str:
    """The settings tab where the setting `name` is changed."""
    return next((tab for tab in SETTING_TABS if name in settings_in(tab)), "rendez-vous")


def tab_of_form(posted: str) -> str:
    """The tab of the form named `posted` (`poste-12`, `horaires-mon`…), or the first."""
    return FORM_TABS.get(posted, FORM_TABS.get(posted.split("-")[0], FIRST_TAB))


def chosen_tab(query: Mapping[str, str]) -> str:
    """The tab the address asks for; without one, that of the confirmation it carries; an
    unknown tab (an old or mistyped link) falls back to the first rather than failing."""
    asked = query.get(TAB_FIELD, "")
    if asked in TABS:
        return asked
    if asked:
        return FIRST_TAB
    return DONE_TABS.get(query.get("fait", ""), FIRST_TAB)


def tab_links(site: Site) -> list[dict[str, str]]:
    return [
        {"code": code, "label": gettext(text), "href": f"/admin/sites/{site.slug}?onglet={code}"}
        for code, text in TABS.items()
    ]


def back(site: Site, tab: str, **query: str) -> Redirect:
    """Back to the tab `tab` of the site's page, with `query` (the confirmation), at the
    top of the tab's panel where the confirmation is said."""
    return Redirect(
        f"/admin/sites/{site.slug}?{urlencode({TAB_FIELD: tab, **query})}#onglet",
        status_code=303,
    )
