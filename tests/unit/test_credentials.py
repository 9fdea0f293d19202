"""Password hashes and signed bearer tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.accounts.credentials import (
    hash_password,
    issue_token,
    password_problem,
    read_token,
    verify_password,
)

SECRET = "x" * 40
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def test_a_password_verifies_against_its_argon2_hash_only() -> None:
    stored = hash_password("un mot de passe assez long")

    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "un mot de passe assez long")
    assert not verify_password(stored, "un mot de passe assez lonG")
    assert not verify_password("not a hash", "un mot de passe assez long")


def test_passwords_are_hashed_with_argon2id_at_the_recommended_cost() -> None:
    """RFC 9106's second recommended option: 64 MiB of memory, three passes, four lanes
    (the tests of other files use cheaper settings to save time; production must not)."""
    stored = hash_password("un mot de passe assez long")

    assert stored.split("$")[2:4] == ["v=19", "m=65536,t=3,p=4"]


def test_without_a_stored_hash_nothing_verifies() -> None:
    assert not verify_password(None, "no account has this password")
    assert not verify_password(None, "")


def test_passwords_must_be_long_not_complicated() -> None:
    assert password_problem("short") is not None
    assert password_problem("eleven char") is not None
    assert password_problem("twelve chars") is None
    assert password_problem("x" * 257) is not None


def test_a_token_carries_its_agent_and_expiry() -> None:
    token = issue_token(42, secret=SECRET, now=NOW, ttl=timedelta(minutes=60))

    claims = read_token(token, secret=SECRET, now=NOW + timedelta(minutes=59))

    assert claims is not None
    assert claims.agent_id == 42
    assert claims.expires_at == NOW + timedelta(minutes=60)


def test_an_expired_forged_or_garbled_token_is_refused() -> None:
    token = issue_token(42, secret=SECRET, now=NOW, ttl=timedelta(minutes=60))

    assert read_token(token, secret=SECRET, now=NOW + timedelta(minutes=60)) is None
    assert read_token(token, secret="y" * 40, now=NOW) is None
    assert read_token(token[:-2] + "AA", secret=SECRET, now=NOW) is None
    assert read_token("a.b.c", secret=SECRET, now=NOW) is None
    assert read_token("", secret=SECRET, now=NOW) is None


def test_a_token_issued_in_the_future_is_refused() -> None:
    token = issue_token(42, secret=SECRET, now=NOW + timedelta(hours=1), ttl=timedelta(hours=2))

    assert read_token(token, secret=SECRET, now=NOW) is None


def test_a_token_signed_with_none_is_refused() -> None:
    import jwt

    unsigned = jwt.encode(
        {"iss": "guichet", "sub": "1", "iat": 0, "exp": 9_999_999_999}, key=None, algorithm="none"
    )

    assert read_token(unsigned, secret=SECRET, now=NOW) is None
