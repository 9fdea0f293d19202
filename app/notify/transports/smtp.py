"""Email over SMTP with aiosmtplib: one connection kept open and reused, opened again
when the server drops it."""

from __future__ import annotations

import asyncio
import contextlib
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from app.notify.transports import Email, PermanentError, TransientError


def mime_message(email: Email, sender: str) -> EmailMessage:
    """Text and HTML alternatives, the attachments, and a stable Message-ID."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = email.message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    for attachment in email.attachments:
        maintype, _, subtype = attachment.mime_type.partition("/")
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    return message


class SmtpTransport:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str = "",
        password: str = "",
        security: str = "starttls",
        timeout: float = 20.0,
    ) -> None:
        self.sender = sender
        self._options = {
            "hostname": host,
            "port": port,
            "use_tls": security == "tls",
            "start_tls": security == "starttls",
            "timeout": timeout,
        }
        self._login = (username, password) if username else None
        self._client: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()

    async def send(self, email: Email) -> None:
        message = mime_message(email, self.sender)
        async with self._lock:
            try:
                client = await self._connected()
                await client.send_message(message)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                raise PermanentError("recipient refused") from exc
            except aiosmtplib.SMTPResponseException as exc:
                if 500 <= exc.code < 600 and exc.code not in (503,):
                    raise PermanentError(f"refused with {exc.code}") from exc
                await self._drop()
                raise TransientError(f"server said {exc.code}") from exc
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                await self._drop()
                raise TransientError(type(exc).__name__) from exc

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        client = aiosmtplib.SMTP(**self._options)  # type: ignore[arg-type]
        await client.connect()
        if self._login:
            await client.login(*self._login)
        self._client = client
        return client

    async def _drop(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
        self._client = None

    async def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.quit()
        self._client = None
