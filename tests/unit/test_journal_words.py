"""The journal in words: every action the service records has its sentence, found in the
code itself (a new action without words fails here), and its details read as words —
names rather than ids, days and times as people write them, never codes or JSON."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from app.audit.pages import ACTION_FILTERS
from app.audit.words import SENTENCES, VARIANTS, Names, describe, wanted
from app.queue.commands import REFUSALS

APP = Path(__file__).parents[2] / "app"
CODE = re.compile(r"^[a-z_]+\.[a-z_]+$")
# The functions an action's code is given to, as their first string argument: the audit
# log's own (`record`, `record_at_sites`), the domain event every administration change
# goes through (`administered`), and the helpers of the slices that call them.
WRITERS = {"record", "record_at_sites", "administered", "_log", "login_tried", "log"}
WRITERS |= {"place_and_record", "add_period"}
ZONE = ZoneInfo("Europe/Paris")
NAMES = Names(
    ZONE,
    agents={6: "Jeanne Martin"},
    sites={"paris-15": "Mairie du 15e arrondissement", "paris-20": "Mairie du 20e"},
    stations={48: "Poste 1"},
    services={"caf": "Démarches CAF en ligne"},
    departments={"caf": "CAF de Paris"},
)


def _strings(node: ast.expr) -> Iterator[str]:
    """The string constants `node` may be: itself, or either branch of `a if c else b`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.IfExp):
        yield from _strings(node.body)
        yield from _strings(node.orelse)


def _called(tree: ast.AST, names: set[str]) -> Iterator[tuple[str, ast.Call]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in names:
                yield name, node


def recorded_actions() -> set[str]:
    """Every action code the app hands to the audit log, read from its source."""
    found: set[str] = set()
    for path in APP.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name, call in _called(tree, WRITERS | {"_record", "record"}):
            for argument in call.args:
                for text in _strings(argument):
                    if CODE.fullmatch(text):
                        found.add(text)
                    elif name == "record" and "queue" in path.parts:
                        found.add(f"ticket.{text}")  # the queue's own: "ticket.<action>"
                    elif name == "_record" and path.name == "catalog.py":
                        found |= {f"service.{text}", f"need.{text}"}  # "<kind>.<action>"
    # Tickets moved by `act()`: any action it accepts, recorded under its own name.
    found |= {f"ticket.{action}" for action in REFUSALS}
    return found


def test_the_search_finds_the_actions_of_every_slice() -> None:
    """A guard on the search itself: were it to find nothing, nothing would be checked."""
    found = recorded_actions()

    assert {
        "auth.login",
        "auth.slowed",
        "appointment.booked",
        "appointments.released",
        "ticket.issued",
        "ticket.checked_in_late",
        "ticket.transfer",
        "escalation.moved",
        "service.retired",
        "need.restored",
        "department.changed",
        "agent.enabled",
        "agent.role_changed",
        "site.settings_changed",
        "station.out_of_service",
        "hours.changed",
        "hours_exception.deleted",
        "closure.added",
        "screen.paired",
        "screen.revoked",
        "person.erased",
    } <= found


def test_every_recorded_action_has_its_sentence_and_a_filter() -> None:
    found = recorded_actions()

    without_words = sorted(found - set(SENTENCES))
    without_filter = sorted(
        action for action in found if f"{action.partition('.')[0]}." not in ACTION_FILTERS
    )
    assert not without_words, (
        f"actions without a sentence in app/audit/sentences.py: {without_words}"
    )
    assert not without_filter, f"actions the journal cannot filter: {without_filter}"


@pytest.mark.parametrize("key", [*SENTENCES, *VARIANTS])
def test_every_sentence_reads_without_a_code_or_a_gap(key: str) -> None:
    action = key.partition(":")[0]
    details: dict[str, Any] = {
        "weekday": "tue",
        "day": "2026-12-01",
        "starts_at": "2026-12-01T09:30:00+01:00",
        "ends_at": "2026-12-01T12:00:00+01:00",
        "status": "answered",
        "label": "Hall",
        "ranges": [] if key.endswith(":closed") else ["09:30-12:30"],
    }
    said = describe(action, "agent:6", details, NAMES, agent_known=not key.endswith(":unknown"))

    assert said.what
    for slip in ("%(", "…", "{", "_", action):
        assert slip not in said.what, f"{slip!r} in {said.what!r}"


def test_an_hours_change_says_the_day_the_hours_and_what_it_did_to_appointments() -> None:
    said = describe(
        "hours.changed",
        "site:paris-15",
        {
            "weekday": "tue",
            "ranges": ["09:30-12:30", "13:30-17:00"],
            "kept": ["PC-AAAA"],
            "to_reschedule": ["PC-BBBB", "PC-CCCC"],
        },
        NAMES,
        agent_known=True,
    )

    assert said.what == "a modifié les horaires du mardi"
    assert said.details == [
        "Horaires : de 9\u00a0h\u00a030 à 12\u00a0h\u00a030, "
        "de 13\u00a0h\u00a030 à 17\u00a0h\u00a000",
        "1 rendez-vous confié à un autre poste, à la même heure : PC-AAAA",
        "2 rendez-vous annulés par la mairie, à replanifier : PC-BBBB, PC-CCCC",
    ]


def test_a_closure_is_said_in_paris_time_with_its_reason() -> None:
    said = describe(
        "closure.added",
        "site:paris-15",
        {
            "closure": 3,
            "starts_at": "2026-12-01T08:00:00+00:00",
            "ends_at": "2026-12-02T19:00:00+00:00",
            "reason": "Travaux",
            "kept": [],
            "to_reschedule": [],
        },
        NAMES,
        agent_known=True,
    )

    assert said.what == (
        "a fermé la mairie du mardi 1er décembre 2026 à 9\u00a0h\u00a000 "
        "au mercredi 2 décembre 2026 à 20\u00a0h\u00a000"
    )
    assert said.details == ["Motif : Travaux"]


def test_settings_are_named_as_the_settings_page_names_them() -> None:
    said = describe(
        "site.settings_changed",
        "site:paris-15",
        {
            "changed": ["reminder_hours", "sms_quiet_from", "walk_in_percent"],
            "walk_in_percent": 35,
            "reminder_hours": [48, 2],
            "sms_quiet_from": "20:30",
        },
        NAMES,
        agent_known=True,
    )

    assert said.what == "a modifié les réglages de la mairie"
    assert said.details == [
        "Rappels avant le rendez-vous : 48 heures avant, 2 heures avant",
        "Pas de SMS à partir de : 20\u00a0h\u00a030",
        "La part du temps des postes gardée pour les visiteurs sans rendez-vous : 35 %",
    ]


@pytest.mark.parametrize(
    ("action", "target", "details", "what", "lines"),
    [
        (
            "agent.sites_changed",
            "agent:6",
            {"sites": ["paris-15", "paris-20"], "previous": ["paris-15"]},
            "a changé les mairies de Jeanne Martin",
            [
                "Mairies : Mairie du 15e arrondissement, Mairie du 20e "
                "(avant : Mairie du 15e arrondissement)"
            ],
        ),
        (
            "agent.role_changed",
            "agent:6",
            {"role": "facilitator", "previous": "reception"},
            "a changé le rôle de Jeanne Martin",
            ["Rôle : Facilitation (avant : Accueil)"],
        ),
        (
            "appointment.booked",
            "appointment:PC-7KQ2M9",
            {"channel": "phone", "service": "caf", "station": 48},
            "a pris le rendez-vous PC-7KQ2M9 pour une personne",
            [
                "Rendez-vous pris par téléphone",
                "Démarche : Démarches CAF en ligne",
                "Poste : Poste 1",
            ],
        ),
        (
            "ticket.issued",
            "ticket:A042",
            {"ticket": 912, "station": 48, "forced": True},
            "a donné le ticket A042",
            ["Poste : Poste 1", "Ticket donné alors que la mairie était fermée"],
        ),
        (
            "escalation.moved",
            "escalation:DX-42",
            {"status": "answered", "department": "caf"},
            "a fait passer la demande DX-42 à l'étape « réponse reçue »",
            ["Par le service expert : CAF de Paris"],
        ),
        (
            "auth.slowed",
            "",
            {"failures": 1, "address_failures": 12, "seconds": 90},
            "a vu ses connexions ralenties après des erreurs de mot de passe",
            [
                "1 erreur de mot de passe de suite",
                "12 erreurs de mot de passe depuis cette adresse",
                "Nouvel essai possible après 2 minutes",
            ],
        ),
        (
            "person.erased",
            "person",
            {"appointments": 1, "tickets": 2, "messages": 3},
            "a effacé les données d'une personne, à sa demande",
            ["1 rendez-vous effacé", "2 tickets effacés", "3 messages effacés"],
        ),
        (
            "service.changed",
            "service:caf",
            {"fields": ["duration_minutes"], "duration_minutes": 75, "station_kind": "double"},
            "a modifié la démarche « Démarches CAF en ligne »",
            [
                "Modifié : la durée",
                "Durée : 1\u00a0h\u00a015",
                "Poste demandé : Poste double écran",
            ],
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and CODE.fullmatch(value) else "",
)
def test_details_are_said_in_words(
    action: str, target: str, details: dict[str, Any], what: str, lines: list[str]
) -> None:
    said = describe(action, target, details, NAMES, agent_known=True)

    assert (said.what, said.details) == (what, lines)


def test_an_unknown_action_and_unknown_details_still_read_without_braces() -> None:
    said = describe(
        "station.repainted",
        "station:99",
        {"colour_code": {"r": 1}, "layers": [1, 2], "glossy": False},
        NAMES,
        agent_known=True,
    )

    assert said.what == "a fait l'action « station.repainted »"
    assert said.details == ["colour code : r : 1", "layers : 1, 2", "glossy : non"]
    assert not any("{" in line or "[" in line for line in said.details)


def test_the_page_reads_the_names_of_what_its_events_name() -> None:
    found = wanted(
        [
            ("agent:6", {}),
            ("station:48", {}),
            ("ticket:A042", {"station": 12}),
            ("service:caf", {}),
            ("appointment:PC-1", {"service": "pass-numerique"}),
            ("need:fauteuil", {}),
            ("escalation:DX-1", {"department": "caf"}),
        ]
    )

    assert found.agents == {6}
    assert found.stations == {48, 12}
    assert found.services == {"caf", "pass-numerique"}
    assert found.needs == {"fauteuil"}
    assert found.departments == {"caf"}


def test_de_before_a_name_is_elided_before_a_vowel_or_a_mute_h() -> None:
    names = Names(ZONE, agents={7: "Inès Benali", 8: "Hélène Roux", 9: "Hugues Petit"})

    def said(action: str, agent: int) -> str:
        return describe(action, f"agent:{agent}", {}, names, agent_known=True).what

    assert said("agent.created", 7) == "a créé le compte d'Inès Benali"
    assert said("agent.unlocked", 8) == "a débloqué le compte d'Hélène Roux"
    assert said("agent.role_changed", 9) == "a changé le rôle de Hugues Petit"
