"""The journal in words: each audit event said as a person would say it — who (the agent,
shown apart), what ("a modifié les horaires du mardi", "a créé le compte de Jeanne
Martin"), and its details as readable lines ("Horaires : de 9 h 30 à 12 h 30") — never
codes, ids or JSON.

Every action the service records has its sentence here (tests/unit/test_journal_words.py
finds the actions in the code and fails on one without words). The sentences are verb
phrases whose subject, the agent, the page shows in its own column, so that the phrase
needs no agreement. Each is a catalog msgid with named values; an unknown action still
reads as one. Pure: what the ids and codes name comes in a `Names`, read by the page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from math import ceil
from typing import Any
from zoneinfo import ZoneInfo

from app.audit.sentences import (
    FIELDS,
    LATE_RULES,
    REFUSED,
    ROLES,
    SAID,
    SENTENCES,
    SETTING_NAMES,
    STATION_KINDS,
    UNKNOWN,
    VARIANTS,
    VIA,
    YES_NO,
    sentence,
)
from app.i18n import N_, formats, gettext, ngettext
from app.i18n.texts import CHANNELS, ESCALATION_STATUSES, label
from app.sites.hours import WEEKDAYS
from app.sites.rules import SETTINGS, Bound, Flag, amount


@dataclass(frozen=True)
class Names:
    """What the ids and codes of a page of events stand for, and the time zone it is read
    in. A name not found (a thing deleted since) is said by its id."""

    zone: ZoneInfo
    agents: Mapping[int, str] = field(default_factory=dict)
    sites: Mapping[str, str] = field(default_factory=dict)
    stations: Mapping[int, str] = field(default_factory=dict)
    services: Mapping[str, str] = field(default_factory=dict)
    needs: Mapping[str, str] = field(default_factory=dict)
    departments: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Wanted:
    """The ids and codes a page of events names, for the page to read their names."""

    agents: set[int] = field(default_factory=set)
    stations: set[int] = field(default_factory=set)
    services: set[str] = field(default_factory=set)
    needs: set[str] = field(default_factory=set)
    departments: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Said:
    """One event in words: what was done, and its details, one readable line each."""

    what: str
    details: list[str]


class _Values(dict[str, str]):
    """The values of a sentence; one it needs and the event lacks reads as an ellipsis
    rather than failing the page."""

    def __missing__(self, key: str) -> str:
        return "…"


def wanted(events: Iterable[tuple[str, Mapping[str, Any]]]) -> Wanted:
    """The ids and codes named by `events` (each its target and details)."""
    found = Wanted()
    for target, details in events:
        kind, _, rest = target.partition(":")
        if kind == "agent" and rest.isdigit():
            found.agents.add(int(rest))
        elif kind == "station" and rest.isdigit():
            found.stations.add(int(rest))
        elif kind in ("service", "need", "department"):
            getattr(found, f"{kind}s").add(rest)
        if isinstance(details.get("station"), int):
            found.stations.add(details["station"])
        if isinstance(details.get("service"), str):
            found.services.add(details["service"])
        if isinstance(details.get("department"), str):
            found.departments.add(details["department"])
    return found


def describe(
    action: str, target: str, details: Mapping[str, Any], names: Names, *, agent_known: bool
) -> Said:
    """The event in words, in the current language."""
    key = sentence_key(action, details, agent_known=agent_known)
    values = _sentence_values(action, target, details, names)
    if key in VARIANTS:
        what = gettext(VARIANTS[key]) % values
    elif action in SENTENCES:  # "de Jeanne", "d'Inès": chosen by the name
        what = gettext(sentence(action, values["name"])) % values
    else:
        what = gettext(UNKNOWN, action=action)
    return Said(what, detail_lines(action, details, names))


def sentence_key(action: str, details: Mapping[str, Any], *, agent_known: bool) -> str:
    """The key of the sentence to say: the action's, or one of its `VARIANTS`."""
    if action in ("auth.login_failed", "auth.slowed") and not agent_known:
        return f"{action}:unknown"
    if action in ("hours.changed", "hours_exception.added") and details.get("ranges") == []:
        return f"{action}:closed"
    return action


def _sentence_values(action: str, target: str, details: Mapping[str, Any], names: Names) -> _Values:
    kind, _, rest = target.partition(":")
    values = _Values(reference=rest, name=_target_name(kind, rest, details, names))
    if kind == "site" and ":" in rest:  # "site:paris-15:2026-12-01", a day of the site
        values["day"] = _day(rest.partition(":")[2])
    if details.get("weekday") in WEEKDAYS:
        values["weekday"] = formats.weekday_name(WEEKDAYS.index(details["weekday"]))
    for name, key in (("day", "day"), ("start", "starts_at"), ("end", "ends_at")):
        if isinstance(details.get(key), str):
            values[name] = _day(details[key]) if name == "day" else _moment(details[key], names)
    if isinstance(details.get("status"), str):
        values["status"] = label(ESCALATION_STATUSES, details["status"])
    return values


def _target_name(kind: str, rest: str, details: Mapping[str, Any], names: Names) -> str:
    """The name of what the event acted on: an agent, a station, a catalog item, a screen."""
    number = int(rest) if rest.isdigit() else None
    if kind == "agent":
        found = names.agents.get(number) if number is not None else None
        return found or gettext("compte n° %(id)s", id=rest)
    if kind == "station":
        found = names.stations.get(number) if number is not None else None
        return found or str(details.get("name") or gettext("n° %(id)s", id=rest))
    if kind == "screen":
        return str(details.get("label") or gettext("n° %(id)s", id=rest))
    if kind in ("partner", "webhook"):
        return str(details.get("name") or gettext("n° %(id)s", id=rest))
    by_code = {"service": names.services, "need": names.needs, "department": names.departments}
    if kind in by_code:
        return by_code[kind].get(rest, rest)
    return rest


def _day(iso: str) -> str:
    try:
        return formats.day(date.fromisoformat(iso[:10]))
    except ValueError:
        return iso


def _moment(iso: str, names: Names) -> str:
    try:
        return formats.moment(datetime.fromisoformat(iso).astimezone(names.zone))
    except ValueError:
        return iso


# The details


def detail_lines(action: str, details: Mapping[str, Any], names: Names) -> list[str]:
    """Each detail of the event as a line a person reads, in the order recorded."""
    family = action.partition(".")[0]
    settings = details.get("changed", []) if action == "site.settings_changed" else []
    lines = [_setting_line(name, details.get(name)) for name in settings]
    for key, value in details.items():
        if key in SAID or key in settings or key in ("changed", "previous"):
            continue
        if key == "ranges" and value == []:  # the sentence says it: closed
            continue
        line = _detail_line(family, key, value, details, names)
        if line:
            lines.append(line)
    return lines


def _detail_line(
    family: str, key: str, value: Any, details: Mapping[str, Any], names: Names
) -> str | None:
    words = _WORDS.get(f"{family}.{key}") or _WORDS.get(key)
    if words is not None:
        return words(value, details, names)
    return gettext("%(label)s : %(value)s", label=key.replace("_", " "), value=plain(value))


def plain(value: Any) -> str:
    """Any value as text: "oui", "a, b", never braces."""
    if isinstance(value, bool):
        return gettext(YES_NO[value])
    if value is None or value == "" or value == []:
        return "–"
    if isinstance(value, list | tuple):
        return ", ".join(plain(item) for item in value)
    if isinstance(value, dict):
        return formats.semicolons(
            [
                gettext("%(label)s : %(value)s", label=str(k), value=plain(v))
                for k, v in value.items()
            ]
        )
    return str(value)


def _setting_line(name: str, value: Any) -> str:
    """A setting changed, named as the settings page names it, with its new value."""
    kind = SETTINGS.get(name)
    if isinstance(kind, Bound):
        title = gettext(kind.words)
        shown = amount(value, kind.unit) if isinstance(value, int) else plain(value)
    else:
        title = gettext(SETTING_NAMES[name]) if name in SETTING_NAMES else name
        shown = _setting_value(name, value, kind)
    return gettext("%(label)s : %(value)s", label=title, value=shown)


def _setting_value(name: str, value: Any, kind: object) -> str:
    if isinstance(kind, Flag) or isinstance(value, bool):
        return plain(bool(value))
    if name == "reminder_hours":
        hours = [amount(hour, "hours_before") for hour in value or []]
        return ", ".join(hours) or gettext("aucun rappel")
    if name == "late_arrival_rule":
        return label(LATE_RULES, str(value))
    if isinstance(value, str) and len(value) == 5 and value[2] == ":":
        return _clock(value)
    return plain(value)


def _clock(text: str) -> str:
    """ "09:30" as "9 h 30"."""
    try:
        return formats.clock(time.fromisoformat(text))
    except ValueError:
        return text


def _ranges(value: Any, details: Mapping[str, Any], names: Names) -> str:
    """ "09:30-12:30" ranges as "de 9 h 30 à 12 h 30"."""
    said = []
    for text in value:
        opens, _, closes = str(text).partition("-")
        said.append(
            gettext("de %(opens)s à %(closes)s", opens=_clock(opens), closes=_clock(closes))
        )
    return gettext("Horaires : %(ranges)s", ranges=", ".join(said))


def _listed(words: Callable[[int, str], str]) -> Words:
    """A line that counts appointments and gives their references (`words` of their
    number and references: those kept at their hour on another station, those called
    off), said only when there are some."""
    return lambda value, details, names: words(len(value), ", ".join(value)) if value else None


def _role(value: Any, details: Mapping[str, Any], names: Names) -> str:
    role = label(ROLES, str(value))
    if isinstance(details.get("previous"), str):
        before = label(ROLES, details["previous"])
        return gettext("Rôle : %(role)s (avant : %(previous)s)", role=role, previous=before)
    return gettext("Rôle : %(role)s", role=role)


def _sites(value: Any, details: Mapping[str, Any], names: Names) -> str:
    def listed(slugs: Any) -> str:
        return ", ".join(names.sites.get(slug, slug) for slug in slugs) or gettext("aucune")

    if isinstance(details.get("previous"), list):
        return gettext(
            "Mairies : %(sites)s (avant : %(previous)s)",
            sites=listed(value),
            previous=listed(details["previous"]),
        )
    return gettext("Mairies : %(sites)s", sites=listed(value))


def _waited(value: Any, details: Mapping[str, Any], names: Names) -> str:
    seconds = int(value)
    if seconds < 60:
        wait = ngettext("%(num)d seconde", "%(num)d secondes", seconds)
    else:
        wait = formats.minutes(ceil(seconds / 60))
    return gettext("Nouvel essai possible après %(wait)s", wait=wait)


def _fields(value: Any, details: Mapping[str, Any], names: Names) -> str:
    changed = [label(FIELDS, str(name)) for name in value]
    return gettext("Modifié : %(fields)s", fields=", ".join(changed))


Words = Callable[[Any, Mapping[str, Any], Names], str | None]


def _text(msgid: str, show: Callable[[Any, Names], str] | None = None) -> Words:
    """A line `msgid` whose `%(value)s` is the detail, as `show` says it (`plain`)."""
    return lambda value, details, names: gettext(
        msgid, value=show(value, names) if show else plain(value)
    )


def _count(words: Callable[[int], str]) -> Words:
    """A line that counts ("3 rendez-vous effacés"): `words` is an `ngettext`."""
    return lambda value, details, names: words(int(value))


def _when(msgid: str) -> Words:
    """A line said only when the detail is true."""
    return lambda value, details, names: gettext(msgid) if value else None


def _yes_no(msgid: str) -> Words:
    return lambda value, details, names: gettext(msgid, value=plain(bool(value)))


def _minutes(value: Any, names: Names) -> str:
    return formats.minutes(int(value))


def _email(value: Any, details: Mapping[str, Any], names: Names) -> str:
    if value:
        return gettext("Reçoit les demandes par e-mail")
    return gettext("Ne reçoit pas les demandes par e-mail")


# The details, by their key ("family.key" where one family says it otherwise).
_WORDS: dict[str, Words] = {
    "via": lambda value, details, names: label(VIA, str(value)),
    "auth.reason": lambda value, details, names: label(REFUSED, str(value)),
    "reason": lambda value, details, names: (
        gettext("Motif : %(value)s", value=value) if value else None
    ),
    "failures": _count(
        lambda n: ngettext(
            "%(num)d erreur de mot de passe de suite",
            "%(num)d erreurs de mot de passe de suite",
            n,
        )
    ),
    "address_failures": _count(
        lambda n: ngettext(
            "%(num)d erreur de mot de passe depuis cette adresse",
            "%(num)d erreurs de mot de passe depuis cette adresse",
            n,
        )
    ),
    "seconds": _waited,
    "channel": lambda value, details, names: gettext(
        "Rendez-vous pris %(channel)s", channel=label(CHANNELS, str(value))
    ),
    "service": _text(N_("Démarche : %(value)s"), lambda v, n: n.services.get(v, str(v))),
    "station": _text(N_("Poste : %(value)s"), lambda v, n: n.stations.get(v, str(v))),
    "department": _text(
        N_("Par le service expert : %(value)s"), lambda v, n: n.departments.get(v, str(v))
    ),
    "forced": _when(N_("Ticket donné alors que la mairie était fermée")),
    "kept": _listed(
        lambda n, references: ngettext(
            "%(num)d rendez-vous confié à un autre poste, à la même heure : %(references)s",
            "%(num)d rendez-vous confiés à un autre poste, à la même heure : %(references)s",
            n,
            references=references,
        )
    ),
    "to_reschedule": _listed(
        lambda n, references: ngettext(
            "%(num)d rendez-vous annulé par la mairie, à replanifier : %(references)s",
            "%(num)d rendez-vous annulés par la mairie, à replanifier : %(references)s",
            n,
            references=references,
        )
    ),
    "ranges": _ranges,
    "role": _role,
    "sites": _sites,
    "name": _text(N_("Nom : %(value)s")),
    "kind": _text(N_("Type de poste : %(value)s"), lambda v, n: label(STATION_KINDS, str(v))),
    "accessible": _yes_no(N_("Accessible en fauteuil roulant : %(value)s")),
    "active": _yes_no(N_("Poste utilisé : %(value)s")),
    "department.active": _yes_no(N_("Proposé : %(value)s")),
    # A department made a partner's account (its id), or no longer one (0).
    "department.partner_id": lambda value, details, names: (
        gettext("Compte du partenaire n° %(id)s", id=value)
        if value
        else gettext("N'est plus le compte d'un partenaire")
    ),
    "answer_days": _count(
        lambda n: ngettext(
            "Réponse attendue en %(num)d jour", "Réponse attendue en %(num)d jours", n
        )
    ),
    "email": _email,
    "renamed": _when(N_("Nom modifié")),
    "fields": _fields,
    "duration_minutes": _text(N_("Durée : %(value)s"), _minutes),
    "extra_minutes": _text(N_("Temps en plus : %(value)s"), _minutes),
    "station_kind": _text(
        N_("Poste demandé : %(value)s"), lambda v, n: label(STATION_KINDS, str(v))
    ),
    "requires_accessible": _yes_no(
        N_("Demande un poste accessible en fauteuil roulant : %(value)s")
    ),
    "person.appointments": _count(
        lambda n: ngettext("%(num)d rendez-vous effacé", "%(num)d rendez-vous effacés", n)
    ),
    "person.tickets": _count(
        lambda n: ngettext("%(num)d ticket effacé", "%(num)d tickets effacés", n)
    ),
    "person.messages": _count(
        lambda n: ngettext("%(num)d message effacé", "%(num)d messages effacés", n)
    ),
    "person.cancelled": _count(
        lambda n: ngettext(
            "%(num)d rendez-vous à venir annulé", "%(num)d rendez-vous à venir annulés", n
        )
    ),
    "released": _count(
        lambda n: ngettext("%(num)d rendez-vous annulé", "%(num)d rendez-vous annulés", n)
    ),
    "told": _count(
        lambda n: ngettext("%(num)d personne prévenue", "%(num)d personnes prévenues", n)
    ),
    "references": _text(N_("Références : %(value)s")),
}
