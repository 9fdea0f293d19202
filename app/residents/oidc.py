"""An OpenID Connect client for one provider configuration: the authorization code flow
with PKCE (S256), `state` and `nonce`, and the ID token verified against the provider's
keys (signature, issuer, audience, expiry, nonce).

Nothing here knows residents: a `Client` is built from settings (the residents' today,
the staff's single sign-on later) and hands back the `Identity` the provider vouched for,
or raises `SignInRefused`. Authlib builds the authorization request and exchanges the
code; joserfc (Authlib's own JOSE library) verifies the ID token. The provider's discovery
document and keys are fetched with httpx and kept for the life of the process; the keys
are fetched again when a token names a key they do not hold (the provider rotated them),
at most once every `KEYS_REFRESH_SECONDS`.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from authlib.integrations.base_client import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc6749.errors import OAuth2Error
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

log = logging.getLogger("guichet")
TIMEOUT_SECONDS = 10.0
# Leeway between the provider's clock and ours, in seconds.
LEEWAY_SECONDS = 60
KEYS_REFRESH_SECONDS = 30.0
# The ID token must be signed with a key pair: never `none`, never the client's secret.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
LONGEST_CODE = 2048
LONGEST_STATE = 256


class SignInRefused(Exception):
    """The provider's answer cannot sign anyone in. `reason`: `flow` (no sign-in under
    way in this browser, or it expired), `state` (the answer is not to our request),
    `denied` (the person or the provider declined), `code` (the code was refused at the
    token endpoint: used already, expired, or not ours), `id_token` (the ID token is not
    genuine, not for us, expired, or not for this request), `unavailable` (the provider
    cannot be reached)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        # The detail may carry what the browser sent (the provider's `error`): logged as
        # one line, its control characters shown escaped, never as new lines.
        detail = "".join(c if c.isprintable() else repr(c)[1:-1] for c in detail)
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Client:
    """Guichet as one client of one provider."""

    issuer: str
    client_id: str
    client_secret: str
    scopes: str
    redirect_uri: str


@dataclass(frozen=True)
class Flow:
    """One sign-in under way, kept by the browser between going to the provider and
    coming back (see `sessions.encode_flow`): every value is random and used once."""

    state: str
    nonce: str
    code_verifier: str

    @classmethod
    def new(cls) -> Flow:
        # RFC 7636: a verifier of 43 to 128 characters of [A-Za-z0-9-._~].
        return cls(secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48))


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in, with what it says of them."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    phone: str | None
    phone_verified: bool
    name: str
    # The ID token itself, for the provider's logout (`id_token_hint`): never logged.
    id_token: str = field(default="", repr=False)


@dataclass
class _Provider:
    """What one provider published: its discovery document and its keys."""

    metadata: dict[str, Any]
    keys: KeySet
    keys_fetched: float = field(default_factory=time.monotonic)


_providers: dict[str, _Provider] = {}


def _http() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False)


async def _get_json(http: httpx.AsyncClient, url: str) -> dict[str, Any]:
    try:
        response = await http.get(url, headers={"accept": "application/json"})
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise SignInRefused("unavailable", f"{url}: {exc}") from exc
    if not isinstance(document, dict):
        raise SignInRefused("unavailable", f"{url}: not a JSON object")
    return document


async def _fetch_keys(http: httpx.AsyncClient, metadata: Mapping[str, Any]) -> KeySet:
    document = await _get_json(http, str(metadata["jwks_uri"]))
    try:
        return KeySet.import_key_set(document)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise SignInRefused("unavailable", f"the provider's keys: {exc}") from exc


async def _provider(http: httpx.AsyncClient, issuer: str) -> _Provider:
    """The provider at `issuer`, its discovery document checked and kept."""
    known = _providers.get(issuer)
    if known is not None:
        return known
    metadata = await _get_json(http, f"{issuer.rstrip('/')}/.well-known/openid-configuration")
    # OpenID Connect Discovery 1.0, 4.3: the document is the issuer's own.
    if metadata.get("issuer") != issuer:
        named = metadata.get("issuer")
        raise SignInRefused("unavailable", f"the discovery document names {named!r}")
    for endpoint in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(metadata.get(endpoint), str):
            raise SignInRefused("unavailable", f"the discovery document has no {endpoint}")
    known = _Provider(metadata, await _fetch_keys(http, metadata))
    _providers[issuer] = known
    return known


def forget_providers() -> None:
    """Forget every provider's document and keys (they are fetched again when needed)."""
    _providers.clear()


def _oauth(client: Client, http_timeout: float = TIMEOUT_SECONDS) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=client.client_id,
        client_secret=client.client_secret or None,
        scope=client.scopes,
        redirect_uri=client.redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method=("client_secret_basic" if client.client_secret else "none"),
        timeout=http_timeout,
        follow_redirects=False,
    )


async def authorization_url(client: Client) -> tuple[str, Flow]:
    """Where to send the browser to sign in, and the flow it must come back with."""
    flow = Flow.new()
    async with _http() as http:
        provider = await _provider(http, client.issuer)
    async with _oauth(client) as oauth:
        url, _state = oauth.create_authorization_url(
            provider.metadata["authorization_endpoint"],
            state=flow.state,
            nonce=flow.nonce,
            code_verifier=flow.code_verifier,
        )
    return str(url), flow


async def finish(client: Client, flow: Flow, answer: Mapping[str, str], now: datetime) -> Identity:
    """The identity the provider's answer (`answer`: the query of the redirect back to
    us) vouches for, once its `state` is ours, its code exchanged with our verifier, and
    its ID token verified."""
    state = answer.get("state", "")
    if not state or len(state) > LONGEST_STATE or not hmac.compare_digest(state, flow.state):
        raise SignInRefused("state", "the state is not the one sent")
    if "error" in answer:
        raise SignInRefused("denied", answer.get("error", "")[:100])
    # RFC 9207: a provider that names itself in its answers must name itself.
    if "iss" in answer and answer["iss"] != client.issuer:
        raise SignInRefused("state", "the answer comes from another issuer")
    code = answer.get("code", "")
    if not code or len(code) > LONGEST_CODE:
        raise SignInRefused("code", "no code")
    async with _http() as http:
        provider = await _provider(http, client.issuer)
        tokens = await _exchange(client, provider, flow, code)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise SignInRefused("id_token", "the token endpoint sent no ID token")
        claims = await _verified_claims(http, client, provider, id_token, flow.nonce, now)
        access_token = tokens.get("access_token")
        userinfo_endpoint = provider.metadata.get("userinfo_endpoint")
        if isinstance(access_token, str) and isinstance(userinfo_endpoint, str):
            claims = {**claims, **await _userinfo(http, userinfo_endpoint, access_token, claims)}
    return _identity(client.issuer, claims, id_token)


async def end_session_endpoint(client: Client) -> str | None:
    """Where the provider ends its own session (OpenID Connect RP-Initiated Logout), if
    its discovery document names such a place."""
    async with _http() as http:
        provider = await _provider(http, client.issuer)
    endpoint = provider.metadata.get("end_session_endpoint")
    return endpoint if isinstance(endpoint, str) and endpoint else None


async def logout_url(
    client: Client, id_token: str, back_to: str, state: str | None = None
) -> str | None:
    """Where to send the browser so that the provider ends its session too (naming the
    sign-in by its ID token) and sends it back to `back_to` (with `state`, if given);
    None when the provider has no such place or cannot be reached (guichet's session has
    ended all the same)."""
    try:
        endpoint = await end_session_endpoint(client)
    except SignInRefused as refused:
        log.warning("provider logout not reached", extra={"reason": str(refused)})
        return None
    if endpoint is None:
        return None
    params = {
        "id_token_hint": id_token,
        "post_logout_redirect_uri": back_to,
        "client_id": client.client_id,
    }
    if state:
        params["state"] = state
    return str(httpx.URL(endpoint).copy_merge_params(params))


async def _exchange(
    client: Client, provider: _Provider, flow: Flow, code: str
) -> Mapping[str, Any]:
    try:
        async with _oauth(client) as oauth:
            tokens = await oauth.fetch_token(
                provider.metadata["token_endpoint"],
                grant_type="authorization_code",
                code=code,
                code_verifier=flow.code_verifier,
            )
    except (OAuthError, OAuth2Error) as exc:
        # The provider refused the code: used already, expired, or not given to us.
        raise SignInRefused("code", str(exc.error)[:100]) from exc
    except httpx.HTTPError as exc:
        raise SignInRefused("unavailable", f"the token endpoint: {exc}") from exc
    except ValueError as exc:  # not JSON
        raise SignInRefused("code", f"the token endpoint's answer: {exc}") from exc
    return tokens  # type: ignore[no-any-return]


def _key_id(id_token: str) -> str | None:
    try:
        header = jws.extract_compact(id_token.encode()).protected
    except (JoseError, ValueError) as exc:
        raise SignInRefused("id_token", f"not a signed token: {exc}") from exc
    kid = header.get("kid")
    return kid if isinstance(kid, str) else None


async def _verified_claims(
    http: httpx.AsyncClient,
    client: Client,
    provider: _Provider,
    id_token: str,
    nonce: str,
    now: datetime,
) -> dict[str, Any]:
    kid = _key_id(id_token)
    known = {key.kid for key in provider.keys}
    if kid is not None and kid not in known:
        # A key we do not hold: perhaps the provider rotated its keys since we fetched them.
        if time.monotonic() - provider.keys_fetched >= KEYS_REFRESH_SECONDS:
            provider.keys = await _fetch_keys(http, provider.metadata)
            provider.keys_fetched = time.monotonic()
        if kid not in {key.kid for key in provider.keys}:
            raise SignInRefused("id_token", "signed with a key the provider does not publish")
    try:
        token = jwt.decode(id_token, provider.keys, algorithms=list(ALGORITHMS))
        registry = jwt.JWTClaimsRegistry(
            now=int(now.timestamp()),
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": client.issuer},
            aud={"essential": True, "value": client.client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        registry.validate(token.claims)
    except (JoseError, ValueError, TypeError) as exc:
        raise SignInRefused("id_token", str(exc)[:200]) from exc
    claims = dict(token.claims)
    audience = claims["aud"]
    # OpenID Connect Core 1.0, 3.1.3.7: with several audiences, we are the party it is for.
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != client.client_id:
        raise SignInRefused("id_token", "the token is for another party")
    if not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
        raise SignInRefused("id_token", "the nonce is not the one sent")
    return claims


async def _userinfo(
    http: httpx.AsyncClient, endpoint: str, access_token: str, claims: Mapping[str, Any]
) -> dict[str, Any]:
    """What the provider's user info endpoint says of the person (some providers put the
    person's details there only); it must be about the ID token's subject."""
    try:
        response = await http.get(
            endpoint,
            headers={"authorization": f"Bearer {access_token}", "accept": "application/json"},
        )
        response.raise_for_status()
        info = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise SignInRefused("unavailable", f"the user info endpoint: {exc}") from exc
    if not isinstance(info, dict) or info.get("sub") != claims["sub"]:
        raise SignInRefused("id_token", "the user info is about someone else")
    # What proves who signed in is the ID token's: never taken from here.
    return {
        key: value
        for key, value in info.items()
        if key not in ("sub", "iss", "aud", "exp", "iat", "nonce", "azp")
    }


def _text(value: object, longest: int) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:longest]


def _identity(issuer: str, claims: Mapping[str, Any], id_token: str = "") -> Identity:
    name = _text(claims.get("name"), 120)
    if name is None:
        parts = (_text(claims.get(part), 60) for part in ("given_name", "family_name"))
        name = " ".join(part for part in parts if part)
    subject = str(claims["sub"])
    if len(subject) > 255:
        raise SignInRefused("id_token", "the subject is too long to be kept")
    email = _text(claims.get("email"), 254)
    phone = _text(claims.get("phone_number"), 32)
    return Identity(
        issuer=issuer,
        subject=subject,
        email=email,
        email_verified=email is not None and claims.get("email_verified") is True,
        phone=phone,
        phone_verified=phone is not None and claims.get("phone_number_verified") is True,
        name=name,
        id_token=id_token,
    )
