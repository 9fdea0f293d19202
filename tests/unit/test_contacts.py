"""The contact normaliser, the client network, who can be texted or mailed, and when a day
fills abnormally fast: pure functions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.booking.contacts import (
    deliverable_email,
    e164,
    email_key,
    fold,
    is_mobile,
    mailbox,
    texting_number,
)
from app.booking.guard import Made, bursts
from app.errors import BadRequest
from app.throttle import client_network

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "written",
    [
        "victim@example.org",
        "Victim@Example.ORG",
        "victim+1@example.org",
        "victim+rdv+2@example.org",
        "v\u0456ct\u0456m@example.org",  # Cyrillic і
        "\u03bdictim@example.org",  # Greek ν
        "VICT\u0399M@EXAMPLE.ORG",  # Greek capital iota
        "\uff56\uff49\uff43\uff54\uff49\uff4d@example.org",  # full-width letters
        "  victim@example.org ",
    ],
)
def test_every_spelling_of_one_mailbox_has_one_key(written: str) -> None:
    assert email_key(written) == "victim@example.org"


@pytest.mark.parametrize(
    "written", ["Victim@Example.ORG", "victim+rdv@example.org", "  VICTIM@example.org "]
)
def test_a_mailbox_is_the_address_whatever_its_case_and_tag(written: str) -> None:
    assert mailbox(written) == "victim@example.org"


@pytest.mark.parametrize(
    "look_alike",
    [
        "v\u0456ct\u0456m@example.org",  # Cyrillic і in the name
        "\u03bdictim@example.org",  # Greek ν
        "victim@ex\u0430mple.org",  # Cyrillic а in the domain: another domain
        "\uff56\uff49\uff43\uff54\uff49\uff4d@example.org",  # full-width letters
    ],
)
def test_a_look_alike_is_one_person_for_the_guard_but_not_the_same_mailbox(
    look_alike: str,
) -> None:
    assert email_key(look_alike) == email_key("victim@example.org")
    assert mailbox(look_alike) != mailbox("victim@example.org")


def test_an_idn_domain_has_one_key_whether_written_in_unicode_or_in_idna() -> None:
    assert email_key("josé@exämple.org") == email_key("JOSÉ+x@xn--exmple-cua.org")
    assert email_key("bot@exämple.org") == "bot@xn--exmple-cua.org"


def test_gmail_ignores_dots_and_googlemail_is_gmail() -> None:
    assert email_key("Jean.Dupont+rdv@gmail.com") == "jeandupont@gmail.com"
    assert email_key("j.e.a.n.dupont@googlemail.com") == "jeandupont@gmail.com"


def test_other_providers_keep_their_dots() -> None:
    assert email_key("jean.dupont@example.org") != email_key("jeandupont@example.org")


def test_different_people_keep_different_keys() -> None:
    assert email_key("bot1@example.org") != email_key("bot2@example.org")
    assert email_key("bot@example.org") != email_key("bot@example.net")


def test_folding_takes_look_alikes_to_latin_in_both_cases() -> None:
    assert fold("\u0420\u0410\u0420\u0410") == "papa"  # Cyrillic Р, А
    assert fold("\u0440\u0430\u0440\u0430") == "papa"
    assert fold("Ａ\u2460") == "a1"  # full width A, circled one


@given(st.emails())
def test_a_key_is_stable_and_a_key_is_its_own_key(address: str) -> None:
    key = email_key(address)
    assert email_key(address.upper()) == email_key(address.lower()) or "ß" in address.lower()
    assert email_key(key) == key


@pytest.mark.parametrize(
    ("written", "number"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("0033612345678", "+33612345678"),
        ("07 81 23 45 67", "+33781234567"),
        ("0692 12 34 56", "+262692123456"),  # La Réunion, dialled like the mainland
        ("0690 12 34 56", "+590690123456"),  # Guadeloupe
        ("+596 696 12 34 56", "+596696123456"),  # Martinique
        ("+44 7400 123456", "+447400123456"),  # a British mobile
        ("+1 212 555 0123", "+12125550123"),  # New York: landlines and mobiles share a plan
        ("+1 416 555 0123", "+14165550123"),  # Toronto: the same
    ],
)
def test_phones_are_kept_in_e164_and_mobiles_can_be_texted(written: str, number: str) -> None:
    assert e164(written) == number
    assert is_mobile(written)
    assert texting_number(written) == number


@pytest.mark.parametrize(
    "landline",
    [
        "01 45 45 45 45",
        "+33 1 45 45 45 45",
        "0800 00 00 00",
        "+44 20 7946 0958",
        "+1 800 555 0199",  # toll-free
        "+45 32 12 34 56",  # Denmark: landlines and mobiles share a plan, but not +1's
        "+508 41 01 23",  # Saint-Pierre-et-Miquelon, the same
        "+56 2 2123 4567",  # Santiago
    ],
)
def test_landlines_and_free_numbers_cannot_be_texted(landline: str) -> None:
    assert not is_mobile(landline)
    with pytest.raises(BadRequest) as refused:
        texting_number(landline)
    assert refused.value.code == "phone_not_mobile"


@pytest.mark.parametrize("wrong", ["12", "06 12", "not a number", "+999 12", "٠٦١٢٣٤٥٦٧٨٩"])
def test_numbers_that_are_not_numbers_are_refused_as_invalid(wrong: str) -> None:
    with pytest.raises(BadRequest) as refused:
        e164(wrong)
    assert refused.value.code == "phone_invalid"
    assert not is_mobile(wrong)


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("Usager@Example.org", "usager@example.org"),
        ("josé@exämple.org", "josé@exämple.org"),
        ("user@xn--exmple-cua.org", "user@exämple.org"),
    ],
)
def test_addresses_that_can_be_delivered_are_kept(written: str, kept: str) -> None:
    assert deliverable_email(written) == kept


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("usager@exemple.c", "email_undeliverable"),
        ("usager@exemple.123", "email_invalid"),
        ("usager@xn--zz.org", "email_invalid"),
        ("usager@localhost", "email_invalid"),
        ("usager@[192.0.2.1]", "email_invalid"),
        ("usa ger@example.org", "email_invalid"),
        ("usager@ex\u200dample.org", "email_invalid"),
    ],
)
def test_addresses_no_mail_can_reach_are_refused(written: str, code: str) -> None:
    with pytest.raises(BadRequest) as refused:
        deliverable_email(written)
    assert refused.value.code == code


@pytest.mark.parametrize(
    ("host", "network"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("fe80::1%eth0", "fe80::/64"),
        ("testclient", "unknown"),
        ("what a proxy passed on", "unknown"),
        ("x" * 100, "unknown"),
    ],
)
def test_an_ipv6_client_is_its_64_and_an_ipv4_client_its_address(host: str, network: str) -> None:
    assert client_network(host) == network


def made(
    number: int,
    *,
    minutes_ago: int = 5,
    day: date = date(2026, 12, 1),
    network: str | None = None,
    email: str | None = None,
) -> Made:
    return Made(
        appointment_id=number,
        day=day,
        made_at=NOW - timedelta(minutes=minutes_ago),
        network=network if network is not None else f"198.51.100.{number}",
        email_key=email if email is not None else f"person{number}@example.org",
        phone=None,
    )


def test_a_day_is_flagged_past_the_threshold_within_the_hour_only() -> None:
    calm = [made(n) for n in range(3)]
    busy = [made(n) for n in range(4)]
    old = [made(n, minutes_ago=61) for n in range(10)]

    assert bursts(calm, threshold=3, now=NOW) == []
    assert [b.count for b in bursts(busy, threshold=3, now=NOW)] == [4]
    assert bursts(old, threshold=3, now=NOW) == []


def test_suspects_share_a_network_or_a_person_and_strangers_are_left_alone() -> None:
    bookings = [
        made(1, network="203.0.113.9"),
        made(2, network="203.0.113.9"),
        made(3, email="same@example.org"),
        made(4, email="same@example.org"),
        made(5),
        made(6),
        made(7, day=date(2026, 12, 2)),
    ]

    (burst,) = bursts(bookings, threshold=5, now=NOW)

    assert burst.day == date(2026, 12, 1)
    assert burst.count == 6
    assert burst.suspects == (1, 2, 3, 4)
    assert burst.networks == 5


@given(
    st.lists(st.tuples(st.integers(0, 120), st.integers(0, 3), st.integers(0, 3)), max_size=40),
    st.integers(1, 10),
)
def test_a_burst_counts_only_the_hour_and_its_suspects_are_among_its_bookings(
    rows: list[tuple[int, int, int]], threshold: int
) -> None:
    bookings = [
        made(n, minutes_ago=ago, network=f"net{net}", email=f"p{person}@example.org")
        for n, (ago, net, person) in enumerate(rows)
    ]
    recent = {b.appointment_id for b in bookings if b.made_at >= NOW - timedelta(hours=1)}
    for burst in bursts(bookings, threshold=threshold, now=NOW):
        assert burst.count == len(recent) > threshold
        assert set(burst.suspects) <= recent
