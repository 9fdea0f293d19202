"""A person's browser at the provider, over plain HTTP: it follows the provider's
redirects and fills in its own login and consent pages, until the provider sends it back
to guichet. And a proxy in front of a provider that re-signs its ID tokens with a key the
provider never published."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urljoin

import httpx
from joserfc import jws, jwt
from joserfc.jwk import RSAKey

MOST_STEPS = 20
PROMPT = re.compile(r'name="prompt" value="([a-z]+)"')
ACTION = re.compile(r'<form[^>]*action="([^"]+)"')
XSRF = re.compile(r'name="xsrf" value="([^"]+)"')


class ProviderBrowser:
    """Cookies of its own at the provider, as a browser has."""

    def __init__(self) -> None:
        self.http = httpx.AsyncClient(follow_redirects=False, timeout=10)

    async def close(self) -> None:
        await self.http.aclose()

    async def sign_in(self, authorization_url: str, login: str, back_to: str) -> str:
        """Through the provider's pages as `login` (any password); the address the
        provider sends the browser back to (which starts with `back_to`)."""
        url = authorization_url
        for _ in range(MOST_STEPS):
            if url.startswith(back_to):
                return url
            response = await self.http.get(url)
            if response.is_redirect:
                url = urljoin(url, response.headers["location"])
                continue
            assert response.status_code == 200, f"{url}: {response.status_code} {response.text}"
            prompt, action = PROMPT.search(response.text), ACTION.search(response.text)
            assert prompt, f"no form of the provider's at {url}:\n{response.text}"
            assert action, f"no form of the provider's at {url}:\n{response.text}"
            data = {"prompt": prompt.group(1)}
            if prompt.group(1) == "login":
                data.update(login=login, password="any password")
            response = await self.http.post(urljoin(url, action.group(1)), data=data)
            assert response.is_redirect, (
                f"{action.group(1)}: {response.status_code} {response.text}"
            )
            url = urljoin(url, response.headers["location"])
        raise AssertionError(f"the provider never sent the browser back: at {url}")

    async def log_out(self, logout_url: str) -> str:
        """Through the provider's logout page (it asks to confirm): the address it sends
        the browser back to."""
        page = await self.http.get(logout_url)
        assert page.status_code == 200, page.text
        action, xsrf = ACTION.search(page.text), XSRF.search(page.text)
        assert action, f"no logout form at {logout_url}:\n{page.text}"
        assert xsrf, f"no logout form at {logout_url}:\n{page.text}"
        confirmed = await self.http.post(
            urljoin(logout_url, action.group(1)), data={"xsrf": xsrf.group(1), "logout": "yes"}
        )
        assert confirmed.is_redirect, confirmed.text
        return str(confirmed.headers["location"])


HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "accept-encoding",
}


@contextmanager
def resigning_proxy(port: int, provider_url: str, kid: Callable[[str], str]) -> Iterator[str]:
    """A proxy on 127.0.0.1:`port` in front of the provider at `provider_url`: it passes
    every request on as it is, but for the token endpoint's answers, whose ID token it
    signs again, claims unchanged, with a key of its own (named `kid(provider's kid)`)."""
    intruder = RSAKey.generate_key(2048)

    def resign(body: bytes) -> bytes:
        tokens = json.loads(body)
        if "id_token" in tokens:
            token = jws.extract_compact(tokens["id_token"].encode())
            header = {"alg": "RS256", "kid": kid(str(token.protected.get("kid", "")))}
            tokens["id_token"] = jwt.encode(header, json.loads(token.payload), intruder)
        return json.dumps(tokens).encode()

    class Forward(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            # The Host header goes on as it came: the provider names its endpoints after
            # it, so that every later request comes through the proxy too.
            headers = {
                name: value
                for name, value in self.headers.items()
                if name.lower() not in HOP_BY_HOP
            }
            answer = httpx.request(
                self.command,
                f"{provider_url}{self.path}",
                headers=headers,
                content=body,
                follow_redirects=False,
                timeout=10,
            )
            content = answer.content
            if self.path.split("?")[0] == "/token" and answer.status_code == 200:
                content = resign(content)
            self.send_response(answer.status_code)
            for name, value in answer.headers.multi_items():
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("content-length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = _forward
        do_POST = _forward

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Forward)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
