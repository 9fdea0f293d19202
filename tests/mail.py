"""A real SMTP server (aiosmtpd) and a real HTTP stub of an SMS gateway, on loopback, for
the tests and benchmarks of messages."""

from __future__ import annotations

import email
import email.policy
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

REFUSED_ADDRESS = "refuse@example.org"
REFUSED_NUMBER = "+33600000000"


@dataclass
class Mailbox:
    """What the SMTP server received, in order: kept raw, parsed when read (parsing on
    arrival would slow the server down more than what it measures), with each message's
    envelope recipients as the server read them and the connection it came on."""

    raw: list[bytes] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    connections: list[object] = field(default_factory=list)
    refused: set[str] = field(default_factory=lambda: {REFUSED_ADDRESS})
    lock: threading.Lock = field(default_factory=threading.Lock)
    _parsed: list[Message] = field(default_factory=list)

    @property
    def messages(self) -> list[Message]:
        with self.lock:
            for content in self.raw[len(self._parsed) :]:
                # Headers may be UTF-8 where the server offers SMTPUTF8 (RFC 6532).
                text = content.decode("utf-8", errors="surrogateescape")
                self._parsed.append(email.message_from_string(text, policy=email.policy.default))
            return list(self._parsed)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.lock:
            self.raw.append(envelope.original_content or b"")
            self.recipients.extend(envelope.rcpt_tos)
            self.connections.append(session.peer)
        return "250 Message accepted for delivery"

    def refuse(self, address: str) -> None:
        self.refused.add(address)

    def accept(self, address: str) -> None:
        self.refused.discard(address)

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]

    def count(self) -> int:
        with self.lock:
            return len(self.raw)

    def wait_for(self, count: int, within: float = 60) -> None:
        deadline = time.monotonic() + within
        while self.count() < count and time.monotonic() < deadline:
            time.sleep(0.05)


@dataclass
class SmtpServer:
    mailbox: Mailbox
    port: int
    smtputf8: bool = False
    controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(
            self.mailbox, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=self.smtputf8
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@contextmanager
def smtp_server(port: int, *, smtputf8: bool = False) -> Iterator[SmtpServer]:
    """A relay on loopback; it offers SMTPUTF8 only if asked (aiosmtpd's default is not to)."""
    server = SmtpServer(Mailbox(), port, smtputf8)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class SmsGateway:
    """An HTTP stub of an SMS gateway: 200 for a good number, 422 for the refused one,
    503 while `down`."""

    port: int
    received: list[dict[str, Any]] = field(default_factory=list)
    down: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/messages"


@contextmanager
def sms_gateway(port: int) -> Iterator[SmsGateway]:
    gateway = SmsGateway(port)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            if gateway.down:
                status = 503
            elif body.get("to") == REFUSED_NUMBER:
                status = 422
            else:
                gateway.received.append(body)
                status = 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gateway
    finally:
        server.shutdown()
        server.server_close()
