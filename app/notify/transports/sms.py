"""Text messages through an HTTP gateway: a JSON POST with the number, the text, the
sender, the text's encoding (`gsm7` or `ucs2`) and its number of segments, authorised by
a key. Most gateways take this shape; another is one class."""

from __future__ import annotations

import httpx

from app.notify.transports import PermanentError, Sms, TransientError


class HttpSmsGateway:
    def __init__(self, *, url: str, key: str, sender: str, timeout: float = 10.0) -> None:
        self.url = url
        self.sender = sender
        self._client = httpx.AsyncClient(
            timeout=timeout, headers={"Authorization": f"Bearer {key}"} if key else {}
        )

    async def send(self, sms: Sms) -> None:
        try:
            response = await self._client.post(
                self.url,
                json={
                    "to": sms.to,
                    "text": sms.text,
                    "sender": self.sender,
                    "reference": sms.reference,
                    "encoding": sms.encoding,
                    "segments": sms.segments,
                },
            )
        except httpx.HTTPError as exc:
            raise TransientError(type(exc).__name__) from exc
        if response.status_code in (400, 404, 422):
            raise PermanentError(f"gateway refused the number ({response.status_code})")
        if response.status_code >= 300:
            raise TransientError(f"gateway answered {response.status_code}")

    async def close(self) -> None:
        await self._client.aclose()
