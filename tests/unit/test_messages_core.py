"""Texts and their segments, calendar files, comments and retries: pure parts of messaging
(the planner has its own file)."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar
import pytest
import vobject
from hypothesis import given, settings
from hypothesis import strategies as st

from app.booking.ics import CalendarEntry, Method, calendar_file, invitation
from app.i18n import formats, texts
from app.notify import render
from app.notify.dispatcher import message_id, retry_delay
from app.notify.sms import (
    BASIC,
    EXTENDED,
    REPLACEMENTS,
    Encoding,
    SmsText,
    fits_one_segment,
    prepare,
    segments,
    septets,
)
from app.sites.demo import SERVICES, mairies
from app.visits.feedback import joined


def test_a_text_keeps_the_accents_gsm7_has_and_stays_in_gsm7() -> None:
    text = "Démarches à la mairie, Hélène, Ñuñez, Müller, Ærø, Çağ"[:38]

    sent = prepare(text)

    assert sent == SmsText(text, Encoding.GSM7, 1)


def test_an_accent_typed_as_a_separate_mark_joins_its_letter() -> None:
    typed_on_a_mac = unicodedata.normalize("NFD", "Hélène à l'accueil")

    sent = prepare(typed_on_a_mac)

    assert sent == SmsText("Hélène à l'accueil", Encoding.GSM7, 1)


def test_a_text_with_a_letter_gsm7_lacks_goes_in_ucs2_as_written() -> None:
    assert prepare("Être reçu à la fenêtre") == SmsText("Être reçu à la fenêtre", Encoding.UCS2, 1)
    assert prepare("Rendez-vous de 李小龍") == SmsText("Rendez-vous de 李小龍", Encoding.UCS2, 1)


def test_typographic_signs_are_made_plain_and_alone_never_switch_to_ucs2() -> None:
    sent = prepare("l’accueil — «\u00a0ici\u00a0» … cœur")

    assert sent == SmsText('l\'accueil - " ici " ... coeur', Encoding.GSM7, 1)


def test_a_time_in_one_piece_goes_with_plain_spaces_in_gsm7() -> None:
    # Pages and emails write times with no-break spaces (U+00A0, or the narrow U+202F):
    # neither is in GSM-7, and alone they must not switch a text to UCS-2.
    sent = prepare("RDV mar. 1/12 à 9\u00a0h\u00a030, arrivée dès 9\u202fh\u202f15")

    assert sent == SmsText("RDV mar. 1/12 à 9 h 30, arrivée dès 9 h 15", Encoding.GSM7, 1)


def test_a_reminder_carries_the_time_pages_write_in_gsm7() -> None:
    start = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    data = {
        "token": "t" * 32,
        "site": "Mairie du 15e arrondissement",
        "service": "Démarches CAF en ligne",
        "when": formats.moment(start),
        "day": formats.day(start.date()),
        "day_short": formats.abbreviated(start.date()),
        "time": formats.clock(start),
        "reference": "15-7KQ2M9",
    }
    assert data["time"] == "9\u00a0h\u00a030"

    sent = render.sms("reminder_2h", data, "https://x.example.org")

    assert sent.encoding is Encoding.GSM7
    assert "9 h 30" in sent.text
    assert "\u00a0" not in sent.text


@pytest.mark.parametrize(
    ("text", "encoding", "count"),
    [
        ("é" * 160, Encoding.GSM7, 1),
        ("é" * 161, Encoding.GSM7, 2),
        ("a" * 306, Encoding.GSM7, 2),
        ("a" * 307, Encoding.GSM7, 3),
        ("€" * 80, Encoding.GSM7, 1),
        ("€" * 81, Encoding.GSM7, 2),  # 76 a segment: an escape is never cut from its sign
        ("a" * 152 + "€", Encoding.GSM7, 1),
        ("ê" * 70, Encoding.UCS2, 1),
        ("ê" * 71, Encoding.UCS2, 2),
        ("ê" * 134, Encoding.UCS2, 2),
        ("ê" * 135, Encoding.UCS2, 3),
        ("😀" * 35, Encoding.UCS2, 1),
        ("😀" * 36, Encoding.UCS2, 2),  # 33 a segment: a surrogate pair is never cut
    ],
)
def test_texts_are_counted_in_segments_of_their_encoding(
    text: str, encoding: Encoding, count: int
) -> None:
    assert prepare(text) == SmsText(text, encoding, count)
    assert segments(text, encoding) == count


ESCAPE = "\x1b"
GSM7_EXTENSION = set("\f^{}\\[~]|€")  # GSM 03.38: each sent as ESC and a second septet


def cut_into_segments(text: str, encoding: Encoding) -> list[list[str]]:
    """The reference: `text` written out unit by unit as the network carries it (a GSM-7
    extension sign as ESC then the sign, UCS-2 as UTF-16 code units), then cut into
    segments of 160 (70) units, or 153 (67) each once it needs several, a cut moved back
    by one unit where it would part an escape from its sign or a surrogate pair."""
    if encoding is Encoding.GSM7:
        units = [u for char in text for u in ([ESCAPE, char] if char in GSM7_EXTENSION else [char])]
        single, several = 160, 153
        opens_a_pair = {ESCAPE}
    else:
        raw = text.encode("utf-16-be")
        units = [raw[i : i + 2].decode("utf-16-be", "surrogatepass") for i in range(0, len(raw), 2)]
        single, several = 70, 67
        opens_a_pair = {chr(code) for code in range(0xD800, 0xDC00)}
    if len(units) <= single:
        return [units]
    pieces = []
    while units:
        cut = min(several, len(units))
        if cut < len(units) and units[cut - 1] in opens_a_pair:
            cut -= 1
        pieces.append(units[:cut])
        units = units[cut:]
    return pieces


# Any text, and texts of several segments dense in the signs that take two units, in each
# encoding (the boundaries themselves are the examples above).
@given(
    st.text(max_size=400)
    | st.text("aé€", min_size=150, max_size=480)
    | st.text("aê😀", min_size=60, max_size=210)
)
def test_no_character_of_a_text_is_ever_lost(text: str) -> None:
    sent = prepare(text)

    composed = unicodedata.normalize("NFC", text)
    assert sent.text == "".join(REPLACEMENTS.get(char, char) for char in composed)
    assert (sent.encoding is Encoding.GSM7) == all(c in BASIC or c in EXTENDED for c in sent.text)
    assert sent.segments == len(cut_into_segments(sent.text, sent.encoding))
    if sent.encoding is Encoding.GSM7:
        assert (sent.segments == 1) == (septets(sent.text) <= 160)


def longest(names: list[str]) -> str:
    return max(names, key=len)


def test_every_text_fits_one_segment_with_the_longest_names_the_first_remote_one_two() -> None:
    site = longest([m["name"] for m in mairies()["mairies"]])
    service = longest([s["name"] for s in SERVICES])
    base = "https://rendez-vous.mairies.paris.example.org"
    token = "x" * 32
    slowest_day = formats.abbreviated(date(2026, 12, 30))
    data = {
        "sequence": 0,
        "token": token,
        "name": "Marie-Thérèse de La Tour d'Auvergne-Lauraguais",
        "site": site,
        "address": "72 rue du Faubourg Saint-Martin, 75010 Paris",
        "service": service,
        "documents": [],
        "when": "mercredi 30 décembre 2026 à 17\u00a0h\u00a030",
        "day": "mercredi 30 décembre 2026",
        "day_short": slowest_day,
        "time": "17\u00a0h\u00a030",
        "number": "B1000",
        "reference": "DMPC-7KQ2M9",
        "department": "Titres de séjour (Préfecture de police)",
        "status_label": max(texts.ESCALATION_STATUSES.values(), key=len),
        "message": "",
        "confirmation": "0123456789ab",
        "until": "2026-12-30T17:30:00+01:00",
        "until_time": "17\u00a0h\u00a030",
        "offer_short": f"{slowest_day} 17\u00a0h\u00a030",
    }

    steps = [{"status": code, "status_label": label}
             for code, label in texts.ESCALATION_STATUSES.items()]  # fmt: skip

    for kind in render.SMS_KINDS:
        for step in steps if kind == "escalation" else [{}]:
            sent = render.sms(kind, {**data, **step}, base)
            assert sent.encoding is Encoding.GSM7, f"{kind}: {sent.text}"
            two = kind in render.TWO_SEGMENTS  # it carries its whole link
            assert two or fits_one_segment(sent.text), f"{kind} ({septets(sent.text)}): {sent.text}"
            assert sent.segments == (2 if two else 1), f"{kind}: {sent.text}"
            assert site in sent.text


# What every email about an appointment reads of it.
APPOINTMENT = {
    "sequence": 0,
    "reference": "15-7KQ2M9",
    "token": "t" * 32,
    "name": "Ada",
    "site": "Mairie du 15e arrondissement",
    "address": "31 rue Péclet, 75015 Paris",
    "service": "Démarches CAF en ligne",
    "documents": ["Votre numéro allocataire"],
    "when": "jeudi 3 décembre 2026 à 10\u00a0h\u00a000",
    "day": "jeudi 3 décembre 2026",
    "day_short": "jeu. 3/12",
    "time": "10\u00a0h\u00a000",
}


def test_every_email_kind_renders_a_subject_a_text_and_html() -> None:
    data = {
        **APPOINTMENT,
        "number": "A042",
        "done": ["Démarches CAF en ligne"],
        "outcome": "escalated",
        "escalation": {"reference": "DM15-7KQ2M9", "department": "Caisse d'allocations"},
        "department": "Caisse d'allocations familiales (CAF)",
        "status_label": "réponse reçue",
        "message": "La CAF a répondu par courrier.",
        "offer_when": "mercredi 2 décembre 2026 à 9\u00a0h\u00a030",
        "until_when": "mardi 1er décembre 2026 à 18\u00a0h\u00a015",
    }

    for kind in render.EMAIL_KINDS:
        subject, text, html = render.email(kind, data, "https://x.example.org")
        assert subject
        assert "\n" not in subject
        assert "Mairie du 15e arrondissement" in text
        assert '<html lang="fr">' in html


@pytest.mark.parametrize(
    "kind", ["confirmation", "moved", "station_changed", "reminder", "reminder_24h", "reminder_2h"]
)
def test_every_email_telling_an_appointment_as_it_stands_lists_what_to_bring(kind: str) -> None:
    """A moved appointment is the same démarche: its email says again what to bring, in
    the text and in the HTML, as the confirmation and the reminders do."""
    data = {**APPOINTMENT, "documents": ["Votre numéro allocataire", "Une pièce d'identité"]}

    _, text, html = render.email(kind, data, "https://x.example.org")

    assert "À apporter :\n- Votre numéro allocataire\n- Une pièce d'identité\n" in text
    assert "<li>Votre numéro allocataire</li><li>Une pièce d&#39;identité</li>" in html
    _, without, _ = render.email(kind, {**data, "documents": []}, "https://x.example.org")
    assert "apporter" not in without


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
            subject="Votre rendez-vous du mercredi 30 décembre 2026 à 17\u00a0h\u00a030 est déplacé"
            * 2,
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
        == "Votre rendez-vous du mercredi 30 décembre 2026 à 17\u00a0h\u00a030 est déplacé" * 2
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


def entry(**fields: Any) -> CalendarEntry:
    values: dict[str, Any] = {
        "uid": "15-7KQ2M9@guichet",
        "sequence": 3,
        "start": datetime(2026, 12, 3, 9, tzinfo=UTC),
        "end": datetime(2026, 12, 3, 9, 30, tzinfo=UTC),
        "summary": "Facilitation numérique : Démarches CAF en ligne",
        "location": "Mairie du 15e arrondissement, 31 rue Péclet, 75015 Paris",
        "description": "Rendez-vous 15-7KQ2M9 (Poste 2).\nÀ apporter :\n- " + "é" * 90,
        "url": "https://x.example.org/rendez-vous/" + "t" * 43,
        "cancelled": False,
        "stamp": datetime(2026, 11, 30, 8, tzinfo=UTC),
        "attendee": "ada@example.org",
        **fields,
    }
    return CalendarEntry(**values)


def read_both(text: str) -> tuple[Any, Any]:
    event = next(c for c in icalendar.Calendar.from_ical(text).walk() if c.name == "VEVENT")
    return event, vobject.readOne(text).vevent


def test_an_invitation_quotes_the_organizer_and_folds_lines_without_cutting_a_letter() -> None:
    sent = invitation(entry(), '"Mairie de Paris, accueil; 15e" <ne-pas-repondre@example.org>')

    event, read = read_both(sent.text)
    raw = sent.text.encode()
    assert sent.media_type == "text/calendar; charset=utf-8; method=REQUEST"
    assert all(len(line) <= 75 for line in raw.split(b"\r\n"))
    assert all(line.decode("utf-8") for line in raw.split(b"\r\n") if line)  # no letter cut
    assert raw.endswith(b"END:VCALENDAR\r\n")
    assert read.organizer.params["CN"] == ["Mairie de Paris, accueil; 15e"]
    assert str(event["ORGANIZER"]) == "mailto:ne-pas-repondre@example.org"
    assert read.description.value == entry().description
    assert str(event["DESCRIPTION"]) == entry().description


def test_a_cancelled_entry_is_a_cancel_without_alarms_and_a_download_has_no_method() -> None:
    cancelled = invitation(entry(cancelled=True), "Mairie <ne-pas-repondre@example.org>")
    download = calendar_file(entry())

    assert cancelled.method == Method.CANCEL
    assert "METHOD:CANCEL\r\nBEGIN:VEVENT" in cancelled.text
    assert "STATUS:CANCELLED" in cancelled.text
    assert "VALARM" not in cancelled.text
    assert "METHOD" not in download
    assert "ORGANIZER" not in download


@given(
    st.text(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\u2028\u2029")
        | st.sampled_from('\n;,\\:"'),
        min_size=1,
        max_size=200,
    )
)
@settings(deadline=None)
def test_whatever_a_mairie_names_its_service_both_readers_read_it_back(name: str) -> None:
    sent = invitation(entry(summary=name, location=name), "Mairie <ne-pas-repondre@example.org>")

    event, read = read_both(sent.text)

    assert str(event.get("SUMMARY", "")) == read.summary.value == name
    assert all(len(line) <= 75 for line in sent.text.encode().split(b"\r\n"))


@pytest.mark.parametrize(
    ("earlier", "added", "kept"),
    [
        ("Trop d'attente.", "", "Trop d'attente."),
        ("Trop d'attente.", "Trop d'attente.", "Trop d'attente."),
        ("Trop d'attente.", "Mais très aimable.", "Trop d'attente. / Mais très aimable."),
        ("Trop d'attente.", "Trop d'attente. Mais aimable.", "Trop d'attente. Mais aimable."),
        ("", "Merci.", "Merci."),
        ("a" * 990, "Merci beaucoup.", "a" * 990 + " / Merci b"),  # within 1000
    ],
)
def test_a_second_comment_is_added_to_the_first_never_put_in_its_place(
    earlier: str, added: str, kept: str
) -> None:
    assert joined(earlier, added) == kept
