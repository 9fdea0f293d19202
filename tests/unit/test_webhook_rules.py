"""The pure rules of webhooks: the signature (and the README's test vector), the backoff
of refused deliveries, the addresses an endpoint may have, and what a delivery says:
nothing about the person behind an appointment or a ticket."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.webhooks import rules
from app.webhooks.models import DeliveryStatus

README = Path(__file__).resolve().parents[2] / "README.md"
NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")


def webhooks_section() -> str:
    text = README.read_text()
    start = text.index("## Webhooks")
    return text[start : text.index("\n## ", start + 1)]


# The signature


def test_the_signature_is_the_hex_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"data":{},"meta":{}}'
    expected = hmac.new(b"a-secret-of-the-endpoint", body, hashlib.sha256).hexdigest()
    assert rules.signature("a-secret-of-the-endpoint", body) == f"sha256={expected}"


def test_the_readme_holds_a_test_vector_the_signing_function_agrees_with() -> None:
    section = webhooks_section()
    secret = re.search(r"^- secret: `([^`]+)`$", section, re.MULTILINE)
    body = re.search(r"^- body: `([^`]+)`$", section, re.MULTILINE)
    header = re.search(r"^- header: `X-Guichet-Signature: ([^`]+)`$", section, re.MULTILINE)
    assert secret, "the README's test vector lost its secret"
    assert body, "the README's test vector lost its body"
    assert header, "the README's test vector lost its header"
    assert rules.signature(secret[1], body[1].encode()) == header[1]
    # The vector's body is one the service would send, byte for byte.
    sent = json.loads(body[1])
    data = rules.appointment_data(
        **{k: v for k, v in sent["data"].items() if k not in ("service", "starts_at", "ends_at")},
        service_code=sent["data"]["service"]["code"],
        service_name=sent["data"]["service"]["name"],
        starts_at=datetime.fromisoformat(sent["data"]["starts_at"]),
        ends_at=datetime.fromisoformat(sent["data"]["ends_at"]),
        zone=PARIS,
    )
    meta = sent["meta"]
    made = rules.body(
        meta["event"], data, datetime.fromisoformat(meta["timestamp"]), meta["delivery_id"]
    )
    assert made == body[1].encode()


def test_the_readme_receiver_compares_in_constant_time_with_the_standard_library() -> None:
    code = webhooks_section().split("```python\n", 1)[1].split("```", 1)[0]
    assert "hmac.compare_digest" in code
    assert "X-Guichet-Signature" in code
    imported = re.findall(r"^(?:import|from) (\S+)", code, re.MULTILINE)
    assert set(imported) <= {"hashlib,", "http.server", "json"}, imported


@given(st.binary(max_size=200), st.text(alphabet="abcdef0123456789", min_size=1, max_size=64))
def test_a_signature_checks_only_its_own_body(body: bytes, other: str) -> None:
    secret = "s" * rules.MIN_SECRET
    header = rules.signature(secret, body)
    assert rules.signed_by(secret, body, header)
    assert not rules.signed_by(secret, body + b" ", header)
    assert not rules.signed_by(secret + "x", body, header)
    if other != header.removeprefix("sha256="):
        assert not rules.signed_by(secret, body, f"sha256={other}")


def test_a_signature_header_with_other_characters_is_refused_not_an_error() -> None:
    assert not rules.signed_by("s" * 16, b"{}", "sha256=é")


# Trying again


def test_refused_deliveries_are_tried_again_after_doubling_delays_up_to_an_hour() -> None:
    seconds = [delay.total_seconds() for delay in rules.schedule(10)]
    assert seconds == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_the_jitter_spreads_a_delay_and_a_huge_attempt_count_stays_at_the_cap() -> None:
    assert rules.retry_delay(1, 0.5) == timedelta(seconds=15)
    assert rules.retry_delay(3, 1.5) == timedelta(seconds=180)
    assert rules.retry_delay(10_000) == timedelta(hours=1)
    assert rules.retry_delay(0) == timedelta(seconds=30)


@pytest.mark.parametrize("answer", [200, 201, 202, 204, 299])
def test_a_2xx_delivers(answer: int) -> None:
    result = rules.after_attempt(answer, "", 1, 10, NOW, 1.0)
    assert result == rules.Result(DeliveryStatus.DELIVERED)


@pytest.mark.parametrize(
    ("answer", "said"), [(500, "HTTP 500"), (301, "HTTP 301"), (410, "HTTP 410")]
)
def test_any_other_answer_is_tried_again_after_its_delay(answer: int, said: str) -> None:
    result = rules.after_attempt(answer, "", 2, 10, NOW, 1.0)
    assert result.status == DeliveryStatus.PENDING
    assert result.error == said
    assert result.retry_at == NOW + timedelta(minutes=1)


def test_no_answer_is_tried_again_with_its_reason() -> None:
    result = rules.after_attempt(None, "no answer in time", 1, 10, NOW, 1.0)
    assert (result.status, result.error) == (DeliveryStatus.PENDING, "no answer in time")
    assert result.retry_at == NOW + timedelta(seconds=30)


def test_the_last_refused_attempt_fails_the_delivery_for_good() -> None:
    result = rules.after_attempt(503, "", 10, 10, NOW, 1.0)
    assert result.status == DeliveryStatus.FAILED
    assert result.retry_at is None
    assert result.error == "gave up after 10 attempts: HTTP 503"


# Addresses


@pytest.mark.parametrize(
    "url",
    [
        "https://partenaire.example.org/guichet/webhooks",
        "https://partenaire.example.org:8443/hooks?source=guichet",
        "http://127.0.0.1:9000/hooks",
        "http://localhost/hooks",
        "http://[::1]:8080/",
    ],
)
def test_addresses_taken_in_production(url: str) -> None:
    assert rules.url_problem(url, production=True) is None


def test_plain_http_elsewhere_is_for_a_developer_s_machine_only() -> None:
    url = "http://partenaire.example.org/hooks"
    assert rules.url_problem(url, production=False) is None
    assert "https" in (rules.url_problem(url, production=True) or "")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/hooks",
        "example.org/hooks",
        "https://",
        "https:///path",
        "https://user:password@example.org/hooks",
        "https://example.org/hooks#part",
        "https://example.org:99999/hooks",
        "https://example.org:0/hooks",
        "https://example.org:port/hooks",
        " https://example.org/hooks",
        "https://example.org/a hook",
        "https://example.org/\nhooks",
        "javascript:alert(1)",
    ],
)
def test_addresses_refused(url: str) -> None:
    assert rules.url_problem(url, production=False) is not None


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/latest/meta-data",  # a cloud's metadata service
        "https://10.1.2.3/x",
        "https://192.168.1.10/x",
        "https://172.16.0.1/x",
        "https://[fd00::1]/x",
        "https://[fe80::1]/x",
        "https://0.0.0.0/x",
        "https://0x7f000001/x",  # 127.0.0.1 in a form a resolver reads
        "https://2130706433/x",
        "https://127.1/x",
        "https://224.0.0.1/x",
        "https://100.64.0.1/x",  # shared by carriers (CGNAT), not global
        "https://[2002:a00:1::]/x",  # 6to4 of 10.0.0.1
        "https://[64:ff9b::a9fe:a9fe]/x",  # NAT64 of 169.254.169.254
        "https://[::ffff:10.0.0.1]/x",
        "https://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/x",  # Teredo
    ],
)
def test_addresses_of_the_network_inside_are_refused_in_production(url: str) -> None:
    """An administrator's mistake (or worse) must not make guichet post into the network
    it runs in, nor tell which internal ports answer; a developer's machine may."""
    assert "private" in (rules.url_problem(url, production=True) or "")
    assert rules.url_problem(url, production=False) is None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2001:4860::1", "2002:808:808::"])
def test_global_addresses_are_not_inside(address: str) -> None:
    assert not rules.is_internal(address)


def test_a_url_is_pinned_to_its_checked_address_keeping_its_name_for_host_and_tls() -> None:
    assert rules.pinned("https://partner.example:8443/hooks?x=1", "198.51.100.5") == (
        "https://198.51.100.5:8443/hooks?x=1",
        "partner.example:8443",
        "partner.example",
    )
    assert rules.pinned("https://Partner.example/hooks", "2001:db8::5") == (
        "https://[2001:db8::5]/hooks",
        "Partner.example",
        "partner.example",
    )


def test_the_journal_names_an_endpoint_by_its_host() -> None:
    assert rules.host_of("https://Partenaire.example.org:8443/x?y=1") == "partenaire.example.org"


# What a delivery says

APPOINTMENT_FIELDS = {
    "id",
    "reference",
    "status",
    "site",
    "service",
    "starts_at",
    "ends_at",
    "channel",
}


def an_appointment() -> dict[str, object]:
    return rules.appointment_data(
        id=7,
        reference="PC-7KQ2M9",
        status="booked",
        site="paris-15",
        service_code="caf",
        service_name="Démarches CAF en ligne",
        starts_at=datetime(2026, 12, 3, 8, 30, tzinfo=UTC),
        ends_at=datetime(2026, 12, 3, 9, 0, tzinfo=UTC),
        channel="phone",
        zone=PARIS,
    )


def test_an_appointment_says_what_it_is_and_when_in_the_mairie_s_time_nothing_more() -> None:
    data = an_appointment()
    assert set(data) == APPOINTMENT_FIELDS
    assert data["starts_at"] == "2026-12-03T09:30:00+01:00"
    assert data["service"] == {"code": "caf", "name": "Démarches CAF en ligne"}


def test_a_ticket_and_a_request_sent_on_say_nothing_of_their_person() -> None:
    ticket = rules.ticket_data(
        id=3,
        number="A042",
        status="waiting",
        site="paris-15",
        service_code="caf",
        service_name="CAF",
    )
    assert set(ticket) == {"id", "number", "status", "site", "service"}
    escalation = rules.escalation_data(
        id=1, reference="DX-1", status="received", department="CAF de Paris", site="paris-15"
    )
    assert set(escalation) == {"id", "reference", "status", "department", "site"}


PERSONAL = {"name", "email", "phone", "mobile", "token", "recipient", "message", "comment"}


def keys_of(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {key for item in value.values() for key in keys_of(item)}
    if isinstance(value, list):
        return {key for item in value for key in keys_of(item)}
    return set()


def test_no_body_carries_a_field_about_the_person() -> None:
    body = json.loads(rules.body("appointment.created", an_appointment(), NOW, "d-1"))
    assert keys_of(body) & (PERSONAL - {"name"}) == set()
    assert "name" not in body["data"]  # the one name is the démarche's, in `service`


def test_the_meta_names_the_model_the_event_the_instant_and_the_delivery() -> None:
    body = json.loads(rules.body("ticket.called", {"id": 1}, NOW, "d-2"))
    assert body["meta"] == {
        "model": "ticket",
        "event": "ticket.called",
        "timestamp": "2026-11-30T07:00:00+00:00",
        "delivery_id": "d-2",
    }


def test_every_ticket_move_told_is_one_of_the_contract_s_events() -> None:
    assert set(rules.TICKET_EVENTS.values()) == {
        "ticket.created",
        "ticket.called",
        "ticket.finished",
    }
    assert set(rules.EVENTS) == {
        "appointment.created",
        "appointment.updated",
        "appointment.cancelled",
        "ticket.created",
        "ticket.called",
        "ticket.finished",
        "escalation.created",
        "escalation.updated",
    }
