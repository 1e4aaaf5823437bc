"""Verifies the Bearer JWT ACS puts on every callback (contract §7).

A pure validator plus a key cache: RS256 only, issuer and audience (the ACS immutable resource
id) checked, expiry required. Keys come from the configured JWKS URL, are cached, and are
fetched again when a token names a key id we have not seen (key rotation). Fetches are at least
`refresh_interval` apart, so a flood of tokens with made-up key ids cannot become a flood of JWKS
requests; a request that meets the limit waits for it rather than failing a genuine rotation.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import jwt

from callcontrol.errors import Unauthenticated
from callcontrol.settings import Settings

logger = logging.getLogger(__name__)

JwksFetcher = Callable[[], Awaitable[Mapping[str, Any]]]


class CallbackAuthenticator:
    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        fetch_jwks: JwksFetcher,
        refresh_interval: float = 2.0,
        leeway_seconds: int = 30,
    ) -> None:
        self._issuer = issuer
        self._audience = audience
        self._fetch = fetch_jwks
        self._refresh_interval = refresh_interval
        self._leeway = leeway_seconds
        self._keys: dict[str, Any] = {}
        self._absent_at_last_fetch: set[str] = set()
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def verify(self, authorization: str | None) -> Mapping[str, Any]:
        """Return the token's claims, or raise Unauthenticated with the reason."""
        token = _bearer_token(authorization)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"malformed token: {exc}") from None
        if header.get("alg") != "RS256":
            raise Unauthenticated("token must be signed with RS256")
        key = await self._key_for(header.get("kid"))
        try:
            claims: Mapping[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=["RS256"],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("token has expired") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("token audience is not this ACS resource") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("token issuer is not the configured ACS issuer") from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"token rejected: {exc}") from None
        return claims

    async def _key_for(self, kid: object) -> Any:
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("token has no key id (kid)")
        if kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            if kid not in self._keys and kid not in self._absent_at_last_fetch:
                # A rotation must not cost callbacks: wait out the rate limit, then re-fetch.
                await asyncio.sleep(self._until_refresh_allowed())
                await self._refresh()
                if kid not in self._keys:
                    self._absent_at_last_fetch.add(kid)  # the same forged kid fails at once
        if kid not in self._keys:
            raise Unauthenticated("token is signed with an unknown key")
        return self._keys[kid]

    def _until_refresh_allowed(self) -> float:
        if self._fetched_at is None:
            return 0.0
        return max(0.0, self._refresh_interval - (time.monotonic() - self._fetched_at))

    async def _refresh(self) -> None:
        self._fetched_at = time.monotonic()
        try:
            document = await self._fetch()
        except Exception as exc:  # any transport failure: tokens simply cannot be checked
            logger.warning("could not fetch the callback signing keys: %s", exc)
            raise Unauthenticated("signing keys are unavailable") from exc
        keys: dict[str, Any] = {}
        for jwk in document.get("keys", []):
            try:
                parsed = jwt.PyJWK(jwk)
            except jwt.PyJWTError:
                continue
            if parsed.key_id:
                keys[parsed.key_id] = parsed.key
        self._keys = keys
        self._absent_at_last_fetch = set()
        logger.info("loaded %d callback signing keys", len(keys))


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated("missing Authorization header")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization must be a Bearer token")
    return token.strip()


def authenticator_from_settings(settings: Settings) -> CallbackAuthenticator:
    jwks_url = settings.callback_jwks_url

    async def fetch() -> Mapping[str, Any]:
        timeout = aiohttp.ClientTimeout(total=10)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(jwks_url) as response,
        ):
            response.raise_for_status()
            document: Mapping[str, Any] = await response.json(content_type=None)
            return document

    return CallbackAuthenticator(
        issuer=settings.callback_issuer, audience=settings.acs_resource_id, fetch_jwks=fetch
    )
