"""How messages leave: SMTP and an SMS gateway in production, files on a developer's
machine. Another SMS provider is one more class with a `send(sms)` method."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Protocol


class TransientError(Exception):
    """The message may go through later: the server is away, busy, or said 4xx."""


class PermanentError(Exception):
    """The message will never go through: the address or the number is refused."""


def message_id(key: str) -> str:
    """An email's Message-ID from its outbox key: stable across attempts and instances, the
    same message always has the same id."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@guichet>"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mime_type: str


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str
    message_id: str
    attachments: list[Attachment] = field(default_factory=list)


@dataclass(frozen=True)
class Sms:
    to: str
    text: str
    reference: str
    encoding: str = "gsm7"  # or "ucs2" when the text holds a character GSM-7 lacks
    segments: int = 1  # each billed as one message


class EmailTransport(Protocol):
    sender: str  # the From of every email, and the organizer of the calendar files

    async def send(self, email: Email) -> None: ...

    async def close(self) -> None: ...


class SmsTransport(Protocol):
    async def send(self, sms: Sms) -> None: ...

    async def close(self) -> None: ...
