"""Password hashes (argon2) and signed bearer tokens (JWT, HS256, with expiry)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
_ALGORITHM = "HS256"
_ISSUER = "guichet"
_CLOCK_SKEW = timedelta(seconds=60)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


@lru_cache(maxsize=1)
def _unknown_account_hash() -> str:
    """Verified against when the email is unknown, so that a wrong email costs as long as
    a wrong password and the answer does not tell which one was wrong (made on first use:
    a hash costs half a second, and most processes never need it)."""
    return _hasher.hash("no account has this password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check `password` against `password_hash`; with no hash, spend the same time and fail."""
    try:
        return _hasher.verify(password_hash or _unknown_account_hash(), password) and bool(
            password_hash
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str, email: str = "") -> str | None:
    """Why `password` may not be used, or None. Length is what counts (a phrase of a few
    words is best); no rule on kinds of characters, as current guidance advises, but a
    password made of one repeated character or of the account's own address is refused."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must have at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"The password must have at most {MAX_PASSWORD_LENGTH} characters."
    if len(set(password)) < 4:
        return "The password must not repeat the same few characters: try a short phrase."
    local_part = email.split("@", 1)[0].lower()
    if email and (password.lower() == email.lower() or password.lower() == local_part):
        return "The password must not be the account's email address."
    return None


@dataclass(frozen=True)
class TokenClaims:
    agent_id: int
    issued_at: datetime
    expires_at: datetime
    extra: dict[str, object] = field(default_factory=dict)


# `iat` counts whole seconds; `usec` carries the microseconds of the issue time, so that a
# token issued a moment before a password change, in the same second, is told apart.
_STANDARD = {"iss", "typ", "sub", "iat", "usec", "exp"}


def issue_token(
    agent_id: int,
    *,
    secret: str,
    now: datetime,
    ttl: timedelta,
    kind: str = "access",
    extra: dict[str, str | int] | None = None,
) -> str:
    """A signed token for `agent_id`; `kind` keeps bearer tokens and session cookies apart."""
    claims = {
        "iss": _ISSUER,
        "typ": kind,
        "sub": str(agent_id),
        "iat": int(now.timestamp()),
        "usec": now.microsecond,
        "exp": int((now + ttl).timestamp()),
        **(extra or {}),
    }
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def read_token(
    token: str, *, secret: str, now: datetime, kind: str = "access"
) -> TokenClaims | None:
    """The claims of a valid, unexpired token of `kind` signed with `secret`, else None."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            issuer=_ISSUER,
            # Time is checked below against `now`, the caller's clock.
            options={
                "require": ["exp", "iat", "sub", "iss"],
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
        agent_id = int(claims["sub"])
        issued_at = datetime.fromtimestamp(int(claims["iat"]), now.tzinfo)
        usec = claims.get("usec", 0)
        if isinstance(usec, int) and 0 <= usec < 1_000_000:
            issued_at += timedelta(microseconds=usec)
        expires_at = datetime.fromtimestamp(int(claims["exp"]), now.tzinfo)
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError):
        return None
    if claims.get("typ") != kind:
        return None
    if expires_at <= now or issued_at > now + _CLOCK_SKEW:
        return None
    return TokenClaims(
        agent_id, issued_at, expires_at, {k: v for k, v in claims.items() if k not in _STANDARD}
    )
