"""Password hashes (argon2) and signed bearer tokens (JWT, HS256, with expiry)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
_ALGORITHM = "HS256"
_ISSUER = "guichet"
_CLOCK_SKEW = timedelta(seconds=60)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256

# Verified against when the email is unknown, so that a wrong email costs as
# long as a wrong password and the answer does not tell which one was wrong.
_UNKNOWN_ACCOUNT_HASH = _hasher.hash("no account has this password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check `password` against `password_hash`; with no hash, spend the same time and fail."""
    try:
        return _hasher.verify(password_hash or _UNKNOWN_ACCOUNT_HASH, password) and bool(
            password_hash
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str) -> str | None:
    """Why `password` may not be used, or None: length is what counts."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must have at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"The password must have at most {MAX_PASSWORD_LENGTH} characters."
    return None


@dataclass(frozen=True)
class TokenClaims:
    agent_id: int
    issued_at: datetime
    expires_at: datetime


def issue_token(agent_id: int, *, secret: str, now: datetime, ttl: timedelta) -> str:
    claims = {
        "iss": _ISSUER,
        "sub": str(agent_id),
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def read_token(token: str, *, secret: str, now: datetime) -> TokenClaims | None:
    """The claims of a valid, unexpired token signed with `secret`, else None."""
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
        expires_at = datetime.fromtimestamp(int(claims["exp"]), now.tzinfo)
    except (jwt.PyJWTError, ValueError, TypeError, OverflowError):
        return None
    if expires_at <= now or issued_at > now + _CLOCK_SKEW:
        return None
    return TokenClaims(agent_id, issued_at, expires_at)
