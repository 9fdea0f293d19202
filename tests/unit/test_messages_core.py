"""The planner, GSM-7 texts and retries: pure parts of messaging."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from app import french
from app.notify import planner, render
from app.notify.dispatcher import message_id, retry_delay
from app.notify.planner import Planned, Reach, Rules
from app.notify.sms import fits_one_segment, gsm7, septets
from app.sites.demo import SERVICES, mairies

PARIS = ZoneInfo("Europe/Paris")
RULES = Rules()
EVERYTHING = Reach(email=True, phone=True, reminders_by_email=True, reminders_by_sms=True)


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS).astimezone(UTC)


def test_a_booking_plans_a_confirmation_and_reminders_a_day_and_two_hours_before() -> None:
    now = paris("2026-11-30 09:00")

    plans = planner.for_booking(paris("2026-12-03 10:00"), EVERYTHING, RULES, now, PARIS)

    assert plans == [
        Planned("confirmation", "email", now),
        Planned("reminder_24h", "email", paris("2026-12-02 10:00")),
        Planned("reminder_24h", "sms", paris("2026-12-02 10:00")),
        Planned("reminder_2h", "email", paris("2026-12-03 08:00")),
        Planned("reminder_2h", "sms", paris("2026-12-03 08:00")),
    ]


def test_no_reminder_whose_moment_has_passed() -> None:
    now = paris("2026-12-03 07:00")

    plans = planner.for_booking(paris("2026-12-03 10:00"), EVERYTHING, RULES, now, PARIS)

    assert [p.kind for p in plans] == ["confirmation", "reminder_2h", "reminder_2h"]


def test_texts_wait_for_the_morning_and_never_pass_the_start() -> None:
    now = paris("2026-11-30 09:00")

    early = planner.for_booking(paris("2026-12-03 09:00"), EVERYTHING, RULES, now, PARIS)

    sms = {p.kind: p.send_after for p in early if p.channel == "sms"}
    email = {p.kind: p.send_after for p in early if p.channel == "email"}
    assert email["reminder_2h"] == paris("2026-12-03 07:00")
    assert sms["reminder_2h"] == paris("2026-12-03 08:00")
    assert sms["reminder_24h"] == paris("2026-12-02 09:00")
    at_eight = planner.for_booking(paris("2026-12-03 08:00"), EVERYTHING, RULES, now, PARIS)
    assert [p.kind for p in at_eight if p.channel == "sms"] == ["reminder_24h"]


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-12-01 19:59", "2026-12-01 19:59"),
        ("2026-12-01 20:00", "2026-12-02 08:00"),
        ("2026-12-01 23:30", "2026-12-02 08:00"),
        ("2026-12-02 03:00", "2026-12-02 08:00"),
        ("2026-12-02 08:00", "2026-12-02 08:00"),
        ("2027-03-27 22:00", "2027-03-28 08:00"),
    ],
)
def test_quiet_hours_are_local_from_eight_in_the_evening_to_eight_in_the_morning(
    moment: str, expected: str
) -> None:
    assert planner.outside_quiet_hours(paris(moment), RULES, PARIS) == paris(expected)


def test_confirmations_go_by_email_when_there_is_one_else_by_text() -> None:
    email_only = Reach(email=True, phone=False, reminders_by_email=False, reminders_by_sms=False)
    phone_only = Reach(email=False, phone=True, reminders_by_email=False, reminders_by_sms=False)
    now = paris("2026-11-30 09:00")

    assert planner.for_change("moved", email_only, RULES, now, PARIS) == [
        Planned("moved", "email", now)
    ]
    assert planner.for_change("moved", phone_only, RULES, now, PARIS) == [
        Planned("moved", "sms", now)
    ]
    assert planner.reminders(paris("2026-12-03 10:00"), phone_only, RULES, now, PARIS) == []


def test_a_site_may_choose_other_reminder_hours() -> None:
    rules = Rules(reminder_hours=(48,), quiet_from=time(21), quiet_until=time(7))
    now = paris("2026-11-30 09:00")

    plans = planner.reminders(paris("2026-12-03 10:00"), EVERYTHING, rules, now, PARIS)

    assert [(p.kind, p.send_after) for p in plans] == [
        ("reminder_48h", paris("2026-12-01 10:00")),
        ("reminder_48h", paris("2026-12-01 10:00")),
    ]


def test_gsm7_keeps_french_accents_it_has_and_simplifies_the_others() -> None:
    assert gsm7("Démarches à la mairie") == "Démarches à la mairie"
    assert gsm7("Être reçu · l’accueil — «ici»") == 'Etre recu ? l\'accueil - "ici"'
    assert septets("a€b") == 4
    assert fits_one_segment("é" * 160)
    assert not fits_one_segment("é" * 161)
    assert not fits_one_segment("ê")


def longest(names: list[str]) -> str:
    return max(names, key=len)


def test_every_text_fits_one_segment_with_the_longest_names() -> None:
    site = longest([m["name"] for m in mairies()["mairies"]])
    service = longest([s["name"] for s in SERVICES])
    base = "https://rendez-vous.mairies.paris.example.org"
    token = "x" * 32
    slowest_day = french.abbreviated(date(2026, 12, 30))
    data = {
        "sequence": 0,
        "token": token,
        "name": "Marie-Thérèse de La Tour d'Auvergne-Lauraguais",
        "site": site,
        "address": "72 rue du Faubourg Saint-Martin, 75010 Paris",
        "service": service,
        "documents": [],
        "when": "mercredi 30 décembre 2026 à 17 h 30",
        "day": "mercredi 30 décembre 2026",
        "day_short": slowest_day,
        "time": "17 h 30",
        "number": "B1000",
        "reference": "DMPC-7KQ2M9",
        "department": "Titres de séjour (Préfecture de police)",
        "status_label": max(french.ESCALATION_STATUSES.values(), key=len),
        "message": "",
    }

    for kind in render.SMS_KINDS:
        text = render.sms(kind, data, base)
        assert fits_one_segment(text), f"{kind} ({septets(text)}): {text}"
        assert site in text


def test_every_email_kind_renders_a_subject_a_text_and_html() -> None:
    data = {
        "sequence": 0,
        "reference": "15-7KQ2M9",
        "token": "t" * 32,
        "name": "Ada",
        "site": "Mairie du 15e arrondissement",
        "address": "31 rue Péclet, 75015 Paris",
        "service": "Démarches CAF en ligne",
        "documents": ["Votre numéro allocataire"],
        "when": "jeudi 3 décembre 2026 à 10 h 00",
        "day": "jeudi 3 décembre 2026",
        "day_short": "jeu. 3/12",
        "time": "10 h 00",
        "number": "A042",
        "done": ["Démarches CAF en ligne"],
        "outcome": "escalated",
        "escalation": {"reference": "DM15-7KQ2M9", "department": "Caisse d'allocations"},
        "department": "Caisse d'allocations familiales (CAF)",
        "status_label": "réponse reçue",
        "message": "La CAF a répondu par courrier.",
    }

    for kind in render.EMAIL_KINDS:
        subject, text, html = render.email(kind, data, "https://x.example.org")
        assert subject
        assert "\n" not in subject
        assert "Mairie du 15e arrondissement" in text
        assert '<html lang="fr">' in html


def test_retries_back_off_exponentially_up_to_an_hour_with_jitter() -> None:
    assert retry_delay(1, 1.0) == timedelta(seconds=30)
    assert retry_delay(2, 1.0) == timedelta(minutes=1)
    assert retry_delay(4, 1.0) == timedelta(minutes=4)
    assert retry_delay(20, 1.0) == timedelta(hours=1)
    assert retry_delay(2, 0.5) == timedelta(seconds=30)


def test_a_message_keeps_its_message_id_whatever_the_attempt() -> None:
    assert message_id("appointment:1:0:confirmation:email") == message_id(
        "appointment:1:0:confirmation:email"
    )
    assert message_id("appointment:1:0:confirmation:email") != message_id(
        "appointment:1:1:moved:email"
    )


def test_an_email_parses_back_with_its_accents_alternatives_and_attachment() -> None:
    import email
    import email.policy

    from app.notify.transports import Attachment, Email
    from app.notify.transports.smtp import mime_message

    raw = mime_message(
        Email(
            to="ada@example.org",
            subject="Votre rendez-vous du mercredi 30 décembre 2026 à 17 h 30 est déplacé" * 2,
            text="Été, à bientôt.\n",
            html="<p>Été, à bientôt.</p>",
            message_id="<abc@guichet>",
            attachments=[Attachment("rendez-vous.ics", b"BEGIN:VCALENDAR\r\n", "text/calendar")],
        ),
        "Mairie de Paris – Accueil <ne-pas-repondre@example.org>",
    )
    parsed = email.message_from_bytes(raw, policy=email.policy.default)

    assert (
        parsed["Subject"]
        == "Votre rendez-vous du mercredi 30 décembre 2026 à 17 h 30 est déplacé" * 2
    )
    assert parsed["From"] == "Mairie de Paris – Accueil <ne-pas-repondre@example.org>"
    assert parsed["Message-ID"] == "<abc@guichet>"
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    body = parsed.get_body(("plain",))
    assert body is not None
    assert body.get_content() == "Été, à bientôt.\n"
    html = parsed.get_body(("html",))
    assert html is not None
    assert "<p>Été, à bientôt.</p>" in html.get_content()
    (attachment,) = parsed.iter_attachments()
    assert attachment.get_filename() == "rendez-vous.ics"
    assert attachment.get_content() == "BEGIN:VCALENDAR\r\n"
