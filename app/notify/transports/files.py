"""On a developer's machine (or without a mail server or SMS gateway): emails as .eml
files and texts as .txt files, in a folder. They hold what the outbox holds, so they are
forgotten as the outbox's bodies are (`forget_older`, by the daily sweep), and with a
person's data erased on request (`forget`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import anyio

from app.notify.transports import Email, Sms, message_id
from app.notify.transports.smtp import mime_message

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _name(reference: str) -> str:
    return _UNSAFE.sub("_", reference.strip("<>"))[:120]


def _email_file(email_id: str) -> str:
    return f"{_name(email_id)}.eml"


def _text_file(reference: str) -> str:
    return f"sms-{_name(reference)}.txt"


class EmailFiles:
    def __init__(self, folder: Path, sender: str) -> None:
        self.folder = folder
        self.sender = sender

    async def send(self, email: Email) -> None:
        await anyio.Path(self.folder).mkdir(parents=True, exist_ok=True)
        path = anyio.Path(self.folder / _email_file(email.message_id))
        await path.write_bytes(mime_message(email, self.sender))

    async def close(self) -> None:
        pass


class SmsFiles:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def send(self, sms: Sms) -> None:
        await anyio.Path(self.folder).mkdir(parents=True, exist_ok=True)
        path = anyio.Path(self.folder / _text_file(sms.reference))
        await path.write_text(f"To: {sms.to}\n\n{sms.text}\n", encoding="utf-8")

    async def close(self) -> None:
        pass


def forget_older(folder: Path, before: datetime) -> int:
    """Delete the message files under `folder` written before `before`; how many."""
    deleted = 0
    for kind, pattern in (("email", "*.eml"), ("sms", "sms-*.txt")):
        for path in (folder / kind).glob(pattern):
            try:
                if path.stat().st_mtime < before.timestamp():
                    path.unlink()
                    deleted += 1
            except FileNotFoundError:  # another instance's sweep, sharing the folder
                continue
    return deleted


def forget(folder: Path, keys: Iterable[str]) -> int:
    """Delete the files written for the outbox messages of `keys` (their idempotency
    keys), by email or by text; how many."""
    deleted = 0
    for key in keys:
        for path in (
            folder / "email" / _email_file(message_id(key)),
            folder / "sms" / _text_file(key),
        ):
            try:
                path.unlink()
                deleted += 1
            except FileNotFoundError:
                continue
    return deleted
