"""Two rules found missing by an outside tester, checked without a database: a quiet period
for texts must leave most of the day for them (the same reading as the planner's), and
every field a change of an audited model records is named in words in the journal."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, String
from sqlalchemy.orm import DeclarativeBase

from app.audit.words import Names, describe
from app.notify.planner import Rules, outside_quiet_hours
from app.sites.models import Need, Service, Site, Station
from app.sites.rules import (
    DAYTIME,
    MIN_SUGGESTED_QUIET_HOURS,
    MIN_TEXT_HOURS,
    quiet_hours_problem,
    quiet_minutes,
)
from app.visits.models import Department

UTC_ZONE = ZoneInfo("UTC")
clocks = st.builds(time, st.integers(0, 23), st.integers(0, 59))


def clock(text: str) -> time:
    return time.fromisoformat(text)


# SMS quiet hours


@pytest.mark.parametrize(
    ("quiet_from", "quiet_until"),
    [
        ("20:00", "08:00"),  # the default
        ("21:00", "08:00"),
        ("22:00", "07:00"),
        ("00:00", "07:00"),  # a night that starts at midnight
        ("12:00", "14:00"),  # a lunch break: the planner holds texts then too
        ("16:00", "08:00"),  # 8 h to 16 h: just the hours needed
        ("20:00", "12:00"),  # 12 h to 20 h
    ],
)
def test_quiet_hours_that_leave_most_of_the_day_for_texts_are_kept(
    quiet_from: str, quiet_until: str
) -> None:
    assert quiet_hours_problem(clock(quiet_from), clock(quiet_until)) is None


@pytest.mark.parametrize(
    ("quiet_from", "quiet_until", "guess"),
    [
        ("08:00", "21:00", "Voulez-vous dire de 21\u00a0h\u00a000 à 8\u00a0h\u00a000 ?"),
        ("07:00", "00:00", "Voulez-vous dire de 0\u00a0h\u00a000 à 7\u00a0h\u00a000 ?"),
        ("13:00", "08:00", ""),  # the other way round leaves the afternoon only
        ("14:00", "09:00", ""),  # the other way round leaves 8 h to 9 h and the afternoon
        ("00:00", "23:59", ""),  # the other way round is one minute, no quiet period
        ("00:00", "22:00", ""),  # the other way round is two hours: not a night
    ],
)
def test_quiet_hours_that_leave_little_of_the_day_are_refused_with_a_guess_when_one_fits(
    quiet_from: str, quiet_until: str, guess: str
) -> None:
    problem = quiet_hours_problem(clock(quiet_from), clock(quiet_until))

    assert problem is not None
    assert problem.field == "sms_quiet_from"
    assert problem.text.startswith(
        "Avec cette période sans SMS, il resterait moins de 8 heures entre 8\u00a0h\u00a000 et "
        "20\u00a0h\u00a000 pour envoyer les SMS."
    )
    assert problem.text.endswith(guess)
    assert ("Voulez-vous dire" in problem.text) == bool(guess)
    assert ("Did you mean" in problem.detail) == bool(guess)


def test_quiet_hours_that_start_and_end_at_the_same_time_are_refused() -> None:
    problem = quiet_hours_problem(clock("21:00"), clock("21:00"))

    assert problem is not None
    assert problem.text == "La période sans SMS doit commencer et finir à des heures différentes."


@given(clocks, clocks)
def test_a_period_suggested_instead_is_itself_kept_and_lasts_a_night(
    quiet_from: time, quiet_until: time
) -> None:
    problem = quiet_hours_problem(quiet_from, quiet_until)

    if problem is not None and "Voulez-vous dire" in problem.text:
        assert quiet_hours_problem(quiet_until, quiet_from) is None
        assert quiet_minutes(quiet_until, quiet_from) >= MIN_SUGGESTED_QUIET_HOURS * 60


def daytime_minutes_the_planner_sends_at(quiet_from: time, quiet_until: time) -> int:
    """The minutes of the day in `DAYTIME` at which the planner sends a text at once."""
    rules = Rules(quiet_from=quiet_from, quiet_until=quiet_until)
    day = datetime.combine(date(2026, 12, 1), DAYTIME[0], UTC)
    minutes = int((datetime.combine(day.date(), DAYTIME[1], UTC) - day).total_seconds() // 60)
    moments = (day + timedelta(minutes=n) for n in range(minutes))
    return sum(1 for at in moments if outside_quiet_hours(at, rules, UTC_ZONE) == at)


@given(clocks, clocks)
def test_the_rule_reads_quiet_hours_as_the_planner_does(
    quiet_from: time, quiet_until: time
) -> None:
    """A period kept leaves the planner at least the hours the rule promises; one refused
    (other than the same time twice, which the planner reads as no quiet hours) fewer."""
    left = daytime_minutes_the_planner_sends_at(quiet_from, quiet_until)
    refused = quiet_hours_problem(quiet_from, quiet_until) is not None

    if quiet_from == quiet_until:
        assert refused
    else:
        assert refused == (left < MIN_TEXT_HOURS * 60)


# The journal names every field a change records

CATALOG = Names(UTC_ZONE, stations={48: "Poste 1"}, services={"caf": "CAF"}, needs={"pmr": "PMR"})
# The columns of the audited models that no change of them names in the journal, and why.
NOT_NAMED: dict[type[DeclarativeBase], set[str]] = {
    # What the catalog change acts on (the sentence names it); retiring has its sentences.
    Service: {"id", "code", "active"},
    Need: {"id", "code", "active"},
    # The station acted on, and its mairie; its place is not changed by a change of station.
    Station: {"id", "site_id", "position"},
    # The department acted on; a new name is said "Nom modifié" (`renamed`), its place is
    # not changed.
    Department: {"id", "code", "name", "position"},
    # What a mairie is, set by the City's data rather than its settings page.
    Site: {
        *("id", "slug", "name", "address", "timezone", "arrondissements"),
        *("latitude", "longitude", "access", "active"),
    },
}


def sample(column: Column[Any]) -> Any:
    """A value of `column` as the audit log holds it (a time as "HH:MM", JSON a list)."""
    samples = {bool: True, int: 3, float: 1.5, time: "21:00", object: []}
    return samples.get(column.type.python_type, "x")


def recorded_change(model: type[Any], column: Column[Any]) -> tuple[str, str, dict[str, Any]]:
    """The action, target and details of a change of `column` of `model`, as its command
    records them."""
    name, value = column.key, sample(column)
    if model in (Service, Need):
        kind = "service" if model is Service else "need"
        return f"{kind}.changed", f"{kind}:caf", {"fields": [name]}
    if model is Site:
        return "site.settings_changed", "site:paris-15", {"changed": [name], name: value}
    if model is Station:
        return "station.changed", "station:48", {"changed": [name], name: value}
    return "department.changed", "department:caf", {name: value}


def raw_lines(model: type[Any], column: Column[Any]) -> list[str]:
    """The journal's lines for a change of `column` that say the column by its code: a
    field listed as is, or a detail labelled by its key."""
    action, target, details = recorded_change(model, column)
    said = describe(action, target, details, CATALOG, agent_known=True)
    name = column.key
    labels = (f"{name} : ", f"{name.replace('_', ' ')} : ")
    return [line for line in said.details if line == f"Modifié : {name}" or line.startswith(labels)]


def audited_columns() -> list[tuple[type[Any], Column[Any]]]:
    return [
        (model, column)
        for model, unnamed in NOT_NAMED.items()
        for column in model.__table__.columns
        if column.key not in unnamed
    ]


@pytest.mark.parametrize(
    ("model", "column"),
    [pytest.param(m, c, id=f"{m.__name__}.{c.key}") for m, c in audited_columns()],
)
def test_every_field_a_change_records_is_named_in_words(
    model: type[Any], column: Column[Any]
) -> None:
    assert not raw_lines(model, column), (
        f"{model.__name__}.{column.key} has no words in the journal (app/audit/sentences.py)"
    )


@pytest.mark.parametrize("model", list(NOT_NAMED))
def test_a_field_without_words_is_found(model: type[Any]) -> None:
    """A guard on the search itself: a field added without words would be caught."""
    assert raw_lines(model, Column("colour_en", String)), model


def test_the_walk_covers_the_english_fields_of_the_catalogue() -> None:
    walked = {(model, column.key) for model, column in audited_columns()}

    assert {(Service, "name_en"), (Service, "description_en"), (Service, "documents_en")} <= walked
    assert (Need, "name_en") in walked
    assert (Site, "sms_quiet_from") in walked
