"""The figures as CSV: a row per period and one for the whole range, for programs (commas,
the figures' codes as titles) or for a spreadsheet set up in French (semicolons, a byte
order mark, French titles beside the codes, decimal commas)."""

from __future__ import annotations

import csv
import io
from typing import Any

from app.i18n import N_, gettext
from app.i18n.texts import OUTCOMES, label
from app.stats.schemas import Figures, Stats

REMOTE = ("joined", "arrived", "not_arrived", "left")  # the fields of `RemoteFigures`
OFFERS = ("made", "accepted", "expired", "declined", "withdrawn")  # the fields of `OfferFigures`


def row_of(label: str, item: Figures) -> dict[str, Any]:
    """One period as one flat row."""
    return {
        "period": label,
        "from": item.start.isoformat(),
        "to": item.end.isoformat(),
        "appointments_online": item.appointments.online,
        "appointments_phone": item.appointments.phone,
        "appointments_counter": item.appointments.counter,
        "appointments_partner": item.appointments.partner,
        "appointments": item.appointments.total,
        "walk_ins": item.walk_ins,
        "tickets": item.tickets,
        "served": item.served,
        "came_late": item.came_late,
        "closed": item.closed,
        "no_shows_appointments": item.no_shows.appointments,
        "no_shows_tickets": item.no_shows.tickets,
        "no_show_rate": item.no_shows.rate,
        "cancellations": item.cancellations.count,
        "cancellation_rate": item.cancellations.rate,
        "called_off": item.called_off,
        "wait_mean_minutes": item.waiting_minutes.mean,
        "wait_median_minutes": item.waiting_minutes.median,
        "wait_p90_minutes": item.waiting_minutes.p90,
        "service_level_target_minutes": item.service_level.target_minutes,
        "service_level_goal": item.service_level.goal,
        "called": item.service_level.called,
        "called_within_target": item.service_level.within,
        "service_level": item.service_level.rate,
        **{f"outcome_{name}": count for name, count in item.outcomes.items()},
        "escalations_opened": item.escalations.opened,
        "escalations_answered": item.escalations.answered,
        "escalations_open": item.escalations.open,
        "escalations_overdue": item.escalations.overdue,
        "escalation_median_response_days": item.escalations.median_response_days,
        "satisfaction_answers": item.satisfaction.answers,
        "satisfaction_mean": item.satisfaction.mean,
        **{f"satisfaction_{score}": n for score, n in item.satisfaction.scores.items()},
        **{f"remote_{name}": getattr(item.remote, name, None) for name in REMOTE},
        **{f"offers_{name}": getattr(item.offers, name, None) for name in OFFERS},
    }


# What a City office reads at the head of each column, beside the code programs use.
TITLES = {
    "period": N_("Période"),
    "from": N_("Du"),
    "to": N_("Au"),
    "appointments_online": N_("Rendez-vous en ligne"),
    "appointments_phone": N_("Rendez-vous par téléphone"),
    "appointments_counter": N_("Rendez-vous au guichet"),
    "appointments_partner": N_("Rendez-vous pris par un partenaire"),
    "appointments": N_("Rendez-vous"),
    "walk_ins": N_("Visites sans rendez-vous"),
    "tickets": N_("Tickets"),
    "served": N_("Personnes reçues"),
    "came_late": N_("Arrivées en retard"),
    "closed": N_("Tickets clos à la fermeture"),
    "no_shows_appointments": N_("Rendez-vous non honorés"),
    "no_shows_tickets": N_("Tickets non présentés"),
    "no_show_rate": N_("Taux de rendez-vous non honorés"),
    "cancellations": N_("Annulations"),
    "cancellation_rate": N_("Taux d'annulation"),
    "called_off": N_("Rendez-vous annulés par la mairie"),
    "wait_mean_minutes": N_("Attente moyenne (minutes)"),
    "wait_median_minutes": N_("Attente médiane (minutes)"),
    "wait_p90_minutes": N_("Attente du 9e décile (minutes)"),
    "service_level_target_minutes": N_("Attente visée (minutes)"),
    "service_level_goal": N_("Part visée dans ce délai"),
    "called": N_("Personnes appelées"),
    "called_within_target": N_("Appelées dans le délai visé"),
    "service_level": N_("Part appelée dans le délai visé"),
    "escalations_opened": N_("Demandes transmises"),
    "escalations_answered": N_("Demandes ayant reçu réponse"),
    "escalations_open": N_("Demandes en cours"),
    "escalations_overdue": N_("Demandes en retard"),
    "escalation_median_response_days": N_("Délai médian de réponse (jours)"),
    "satisfaction_answers": N_("Avis reçus"),
    "satisfaction_mean": N_("Note moyenne (sur 5)"),
    "remote_joined": N_("Tickets pris à distance"),
    "remote_arrived": N_("Personnes arrivées à la mairie"),
    "remote_not_arrived": N_("Personnes non arrivées à temps"),
    "remote_left": N_("Personnes sorties de la file avant d'arriver"),
    "offers_made": N_("Créneaux plus tôt proposés"),
    "offers_accepted": N_("Créneaux plus tôt pris"),
    "offers_expired": N_("Propositions restées sans réponse"),
    "offers_declined": N_("Propositions laissées à la personne suivante"),
    "offers_withdrawn": N_(
        "Propositions retirées (rendez-vous changé ou annulé, recherche arrêtée)"
    ),
}
SCORES = range(1, 6)
# Cells a spreadsheet would read as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def table_csv(rows: list[dict[str, Any]], *, excel: bool = False) -> str:
    """Rows as CSV. By default for programs: commas, the codes as titles, numbers with a
    point, UTF-8 without a mark. With `excel`, as a spreadsheet set up in French opens
    it at a double click: semicolons, a UTF-8 byte order mark, "Titre (code)" headers,
    decimal commas, and text that would start a formula kept as text."""
    out = io.StringIO()
    fields = list(rows[0]) if rows else []
    if not excel:
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()
    out.write("\ufeff")
    table = csv.writer(out, delimiter=";", lineterminator="\r\n")
    table.writerow([_heading(code) for code in fields])
    table.writerows([_french_cell(row[code]) for code in fields] for row in rows)
    return out.getvalue()


def title(code: str) -> str | None:
    """What a City office reads at the head of the column `code`, if it has a title."""
    outcome = code.removeprefix("outcome_")
    score = code.removeprefix("satisfaction_")
    if code in TITLES:
        return gettext(TITLES[code])
    if outcome != code and outcome in OUTCOMES:
        return gettext("Issue : %(outcome)s", outcome=label(OUTCOMES, outcome))
    if score != code and score.isdigit() and int(score) in SCORES:
        return gettext("Avis notés %(score)s", score=score)
    return None


def _heading(code: str) -> str:
    """ "Titre (code)", or the code alone."""
    text = title(code)
    return code if text is None else f"{text} ({code})"


def _french_cell(value: object) -> object:
    if value is None or isinstance(value, bool | int):
        return "" if value is None else value
    if isinstance(value, float):
        return repr(value).replace(".", ",")
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_START) else text


def stats_csv(stats: Stats, *, excel: bool = False) -> str:
    """A row per period and a last row for the whole range; empty cells where a figure
    has no value (a rate with nothing to divide)."""
    rows = [row_of(item.start.isoformat(), item) for item in stats.periods]
    rows.append(row_of(gettext("Total") if excel else "total", stats.total))
    return table_csv(rows, excel=excel)
