"""Email over SMTP with aiosmtplib."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
from email.utils import formataddr, formatdate, parseaddr

import aiosmtplib

from app.notify.transports import Email, PermanentError, TransientError


def _encoded_word(text: str) -> str:
    """A header value: as it is when it is plain ASCII, else RFC 2047 base64 words."""
    if text.isascii():
        return text
    words, chunk = [], ""
    for char in text:
        # 45 bytes of UTF-8 per word keep each encoded word within 76 characters.
        if len((chunk + char).encode()) > 45:
            words.append(chunk)
            chunk = ""
        chunk += char
    words.append(chunk)
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(word.encode()).decode()}?=" for word in words)


def _part(content_type: str, body: bytes, extra: str = "") -> bytes:
    encoded = base64.encodebytes(body).replace(b"\n", b"\r\n")
    head = f"Content-Type: {content_type}\r\nContent-Transfer-Encoding: base64\r\n{extra}\r\n"
    return head.encode() + encoded


def _multipart(subtype: str, parts: list[bytes]) -> tuple[str, bytes]:
    boundary = f"=_{secrets.token_hex(12)}"
    body = b"".join(f"--{boundary}\r\n".encode() + part + b"\r\n" for part in parts)
    return f'multipart/{subtype}; boundary="{boundary}"', body + f"--{boundary}--\r\n".encode()


def mime_message(email: Email, sender: str) -> bytes:
    """Text and HTML alternatives, the attachments, and a stable Message-ID, as bytes.

    Written directly rather than with `email.message`: its header folding costs more
    than a millisecond a message, which would cap a dispatcher near 300 a second. The
    shape is fixed and simple (every body in base64, non-ASCII headers as RFC 2047
    words), and the tests parse every message with the standard library's parser.
    """
    kind, body = _multipart(
        "alternative",
        [
            _part("text/plain; charset=utf-8", email.text.encode()),
            _part("text/html; charset=utf-8", email.html.encode()),
        ],
    )
    if email.attachments:
        alternatives = f"Content-Type: {kind}\r\n\r\n".encode() + body
        parts = [alternatives]
        for attachment in email.attachments:
            disposition = f'Content-Disposition: attachment; filename="{attachment.filename}"\r\n'
            parts.append(_part(attachment.mime_type, attachment.content, disposition))
        kind, body = _multipart("mixed", parts)
    headers = [
        f"From: {formataddr(parseaddr(sender), charset='utf-8')}",
        f"To: {email.to}",
        f"Subject: {_encoded_word(email.subject)}",
        f"Date: {formatdate(localtime=False)}",
        f"Message-ID: {email.message_id}",
        "MIME-Version: 1.0",
        "Auto-Submitted: auto-generated",
        f"Content-Type: {kind}",
    ]
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


class SmtpTransport:
    """A few SMTP connections kept open and shared: each send takes an idle one, and a
    connection the server dropped is opened again on its next use."""

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
        connections: int = 4,
    ) -> None:
        self.sender = sender
        self.envelope_sender = parseaddr(sender)[1]
        self._options = {
            "hostname": host,
            "port": port,
            "use_tls": security == "tls",
            "start_tls": security == "starttls",
            "timeout": timeout,
        }
        self._login = (username, password) if username else None
        self._idle: asyncio.Queue[aiosmtplib.SMTP | None] = asyncio.Queue()
        for _ in range(connections):
            self._idle.put_nowait(None)

    async def send(self, email: Email) -> None:
        message = mime_message(email, self.sender)
        client = await self._idle.get()
        try:
            client = await self._connected(client)
            await client.sendmail(self.envelope_sender, [email.to], message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise PermanentError("recipient refused") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600 and exc.code != 503:
                raise PermanentError(f"refused with {exc.code}") from exc
            client = self._drop(client)
            raise TransientError(f"server said {exc.code}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            client = self._drop(client)
            raise TransientError(type(exc).__name__) from exc
        finally:
            self._idle.put_nowait(client)

    async def _connected(self, client: aiosmtplib.SMTP | None) -> aiosmtplib.SMTP:
        if client is not None and client.is_connected:
            return client
        client = aiosmtplib.SMTP(**self._options)  # type: ignore[arg-type]
        await client.connect()
        if self._login:
            await client.login(*self._login)
        return client

    @staticmethod
    def _drop(client: aiosmtplib.SMTP | None) -> None:
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    async def close(self) -> None:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client is not None and client.is_connected:
                with contextlib.suppress(Exception):
                    await client.quit()
