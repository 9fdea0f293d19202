"""Email over SMTP with aiosmtplib.

Each message is its own transaction on a pooled connection. A connection goes back to
the pool only between transactions: whatever went wrong once MAIL FROM was sent (a
refusal, a dropped line, an error of ours), it is closed and a new one is opened for the
next message, so no message ever starts in the leftovers of another.

Internationalised addresses go as written where the relay offers SMTPUTF8 (RFC 6531);
elsewhere the domain goes in IDNA (`jose@xn--exmple-cua.org`), and a name before the @
that is not ASCII cannot go at all: that message fails for good, and only that one.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import secrets
from email.utils import formataddr, formatdate, parseaddr

import aiosmtplib
import idna

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


def envelope_recipient(address: str, *, smtputf8: bool) -> str:
    """The address as the relay can take it: as written if it is ASCII or the relay offers
    SMTPUTF8, else with its domain in IDNA. PermanentError when it cannot go to this relay
    (a non-ASCII name before the @ and no SMTPUTF8) or to any (no @, spaces, a domain
    IDNA refuses). The reasons name no part of the address."""
    local, at, domain = address.rpartition("@")
    if not (at and local and domain) or any(c.isspace() or not c.isprintable() for c in address):
        raise PermanentError("not an email address")
    if address.isascii() or smtputf8:
        return address
    if not local.isascii():
        raise PermanentError("non-ASCII name before @, and the relay does not offer SMTPUTF8")
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise PermanentError("domain not valid in IDNA") from exc
    return f"{local}@{ascii_domain}"


def is_invitation(mime_type: str) -> bool:
    """A calendar file that is an iTIP message (`text/calendar; method=REQUEST`)."""
    kind, _, params = mime_type.partition(";")
    return kind.strip().lower() == "text/calendar" and any(
        param.strip().lower().startswith("method=") for param in params.split(";")
    )


def mime_message(email: Email, sender: str) -> bytes:
    """Text and HTML alternatives (and a calendar invitation's iTIP part), the
    attachments, and a stable Message-ID, as bytes.

    Written directly rather than with `email.message`: its header folding costs more
    than a millisecond a message, which would cap a dispatcher near 300 a second. The
    shape is fixed and simple (every body in base64, non-ASCII headers as RFC 2047
    words), and the tests parse every message with the standard library's parser.
    """
    alternatives = [
        _part("text/plain; charset=utf-8", email.text.encode()),
        _part("text/html; charset=utf-8", email.html.encode()),
    ]
    files = []
    for attachment in email.attachments:
        if is_invitation(attachment.mime_type):
            # As calendar invitations go: the iTIP message is the last alternative, which
            # Outlook and Gmail act upon, and also a file to open by hand.
            alternatives.append(_part(attachment.mime_type, attachment.content))
            attachment = dataclasses.replace(attachment, mime_type="application/ics")
        files.append(attachment)
    kind, body = _multipart("alternative", alternatives)
    if files:
        parts = [f"Content-Type: {kind}\r\n\r\n".encode() + body]
        for attachment in files:
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
        client = await self._idle.get()
        between_transactions = False  # whether the connection may serve the next message
        try:
            client = await self._connected(client)
            try:
                recipient = envelope_recipient(email.to, smtputf8=self._smtputf8(client))
            except PermanentError:
                between_transactions = True  # nothing was sent
                raise
            message = mime_message(dataclasses.replace(email, to=recipient), self.sender)
            await client.sendmail(
                self.envelope_sender,
                [recipient],
                message,
                mail_options=[] if recipient.isascii() else ["SMTPUTF8"],
            )
            between_transactions = True
        except PermanentError:
            raise
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refused.code for refused in exc.recipients]
            if codes and all(500 <= code < 600 for code in codes):
                raise PermanentError(f"recipient refused ({codes[0]})") from exc
            raise TransientError(f"recipient deferred ({codes[0] if codes else '?'})") from exc
        except aiosmtplib.SMTPDataError as exc:  # this message's content refused
            if 500 <= exc.code < 600 and exc.code != 503:
                raise PermanentError(f"message refused ({exc.code})") from exc
            raise TransientError(f"message deferred ({exc.code})") from exc
        except aiosmtplib.SMTPResponseException as exc:
            # Refused at the greeting, the login or the sender (554 "no service", 530
            # "authentication required", 535): the relay's state or our settings, not
            # this message; given up for good, every message would be lost until someone
            # retried each. Tried again later, as a relay that does not answer.
            raise TransientError(f"relay refused ({exc.code})") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise TransientError(type(exc).__name__) from exc
        except ValueError as exc:  # an address aiosmtplib will not write on a command line
            raise PermanentError(f"address not sendable ({type(exc).__name__})") from exc
        finally:
            if not between_transactions:
                client = self._drop(client)
            self._idle.put_nowait(client)

    @staticmethod
    def _smtputf8(client: aiosmtplib.SMTP) -> bool:
        return client.supports_extension("smtputf8")

    async def _connected(self, client: aiosmtplib.SMTP | None) -> aiosmtplib.SMTP:
        if client is not None and client.is_connected:
            return client
        client = aiosmtplib.SMTP(**self._options)  # type: ignore[arg-type]
        await client.connect()
        if self._login:
            await client.login(*self._login)
        if client.is_ehlo_or_helo_needed:  # to know the extensions (SMTPUTF8) before sending
            try:
                await client.ehlo()
            except aiosmtplib.SMTPHeloError:
                await client.helo()
        return client

    @staticmethod
    def _drop(client: aiosmtplib.SMTP | None) -> None:
        """Close a connection that is not fit to be used again; its slot opens a new one."""
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    async def close(self) -> None:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client is not None and client.is_connected:
                with contextlib.suppress(Exception):
                    await client.quit()
