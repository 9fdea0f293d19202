"""Endpoints' secrets, sealed at rest: the server must sign with a secret, so it cannot
keep only a hash of it as it does of keys and passwords; it keeps it encrypted (Fernet:
AES-128-CBC and HMAC-SHA256, from the `cryptography` package) with a key derived from
the service's own secret key (`GUICHET_SECRET_KEY`). A copy of the database alone does not
give the secrets away; if the service's secret key changes, sealed secrets can no longer
be read, and their endpoints must be registered again (their deliveries fail, saying so).
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PURPOSE = b"guichet webhook endpoint secrets"


def _fernet(service_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(
        service_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(service_key: str, secret: str) -> str:
    """`secret` encrypted with a key derived from `service_key` (a new token each time)."""
    return _fernet(service_key).encrypt(secret.encode()).decode("ascii")


def unseal(service_key: str, sealed: str) -> str | None:
    """The secret `sealed` holds, or None if it was sealed with another service key (or
    wiped: an endpoint deleted)."""
    try:
        return _fernet(service_key).decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, ValueError):
        return None
