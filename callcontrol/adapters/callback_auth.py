"""Verifies the Bearer JWT ACS puts on every callback (contract §7).

A pure validator plus a key cache: RS256 only, issuer and audience (the ACS immutable resource
id) checked, expiry required. Keys come from the configured JWKS URL, are cached, and are
fetched again when a token names a key id we have not seen (key rotation). Fetches are at least
`refresh_interval` apart, so a flood of tokens with made-up key ids cannot become a flood of JWKS
requests; a request that meets the limit waits for it rather than failing a genuine rotation.
Keys are also re-read once they are `max_age` old, so a withdrawn key stops being trusted. When
the key set cannot be fetched, the answer is a 503 (retry), not a 401.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import aiohttp
import jwt

from callcontrol.domain.callback_tokens import TOKEN_LEEWAY
from callcontrol.domain.errors import AcsUnavailable, Unauthenticated
from callcontrol.domain.redaction import redact

logger = logging.getLogger(__name__)

JwksFetcher = Callable[[], Awaitable[Mapping[str, Any]]]


class CallbackAuthenticator:
    # What a refusal says; the management API's verifier (caller_auth.py) names its own.
    KEYS = "callback signing keys"
    WRONG_AUDIENCE = "token audience is not this ACS resource"
    WRONG_ISSUER = "token issuer is not the configured ACS issuer"

    def __init__(
        self,
        *,
        issuer: str | Sequence[str],
        audience: str | Sequence[str],
        fetch_jwks: JwksFetcher,
        refresh_interval: float = 2.0,
        max_age: float = 24 * 3600.0,
        leeway_seconds: int = int(TOKEN_LEEWAY.total_seconds()),  # the replay store's too
    ) -> None:
        self._issuer = issuer
        self._audience = audience
        self._fetch = fetch_jwks
        self._refresh_interval = refresh_interval
        self._max_age = max_age
        self._leeway = leeway_seconds
        self._keys: dict[str, Any] = {}
        self._absent_at_last_fetch: set[str] = set()  # unknown kids, as of the last fetch
        self._last_fetch_ok = False
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
            raise Unauthenticated(self.WRONG_AUDIENCE) from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated(self.WRONG_ISSUER) from None
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"token rejected: {exc}") from None
        return claims

    async def _key_for(self, kid: object) -> Any:
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("token has no key id (kid)")
        if not self._stale():
            if kid in self._keys:
                return self._keys[kid]
            if kid in self._absent_at_last_fetch and self._until_refresh_allowed() > 0:
                # Looked for in the key set fetched a moment ago: refused without a new fetch.
                raise Unauthenticated("token is signed with an unknown key")
        asked_at = time.monotonic()
        # Wait out the rate limit before taking the lock, so that requests with made-up key ids
        # cannot queue a genuine callback (signed with a freshly rotated key) behind them.
        await asyncio.sleep(self._until_refresh_allowed())
        async with self._lock:
            fetched_since = self._fetched_at is not None and self._fetched_at >= asked_at
            if not fetched_since and (kid not in self._keys or self._stale()):
                await self._refresh(keep_on_failure=kid in self._keys)
            elif fetched_since and not self._last_fetch_ok and kid not in self._keys:
                # Someone else's fetch just failed: this caller cannot be judged either.
                raise AcsUnavailable(f"the {self.KEYS} could not be fetched")
            if kid not in self._keys:
                self._absent_at_last_fetch.add(kid)
                raise Unauthenticated("token is signed with an unknown key")
            return self._keys[kid]

    def _stale(self) -> bool:
        """Keys are re-read now and then, so that a key ACS withdrew stops being trusted."""
        return self._fetched_at is not None and time.monotonic() - self._fetched_at > self._max_age

    def _until_refresh_allowed(self) -> float:
        if self._fetched_at is None:
            return 0.0
        return max(0.0, self._refresh_interval - (time.monotonic() - self._fetched_at))

    async def _refresh(self, *, keep_on_failure: bool) -> None:
        self._fetched_at = time.monotonic()
        self._last_fetch_ok = False
        try:
            document = await self._fetch()
        except Exception as exc:  # any transport failure
            logger.warning("could not fetch the %s: %s", self.KEYS, redact(str(exc)))
            if keep_on_failure:
                return  # the key in use is still known: keep serving with it
            # Not the caller's fault: a 503 makes the sender retry rather than give up.
            raise AcsUnavailable(f"the {self.KEYS} could not be fetched") from exc
        keys: dict[str, Any] = {}
        for jwk in document.get("keys", []):
            try:
                parsed = jwt.PyJWK(jwk)
            except jwt.PyJWTError:
                continue
            if parsed.key_id:
                keys[parsed.key_id] = parsed.key
        self._keys = keys
        self._last_fetch_ok = True
        self._absent_at_last_fetch = set()
        logger.info("loaded %d %s", len(keys), self.KEYS)


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated("missing Authorization header")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Authorization must be a Bearer token")
    return token.strip()


def connect_authenticator(*, issuer: str, audience: str, jwks_url: str) -> CallbackAuthenticator:
    """An authenticator that fetches the signing keys from `jwks_url` when it needs them."""
    return CallbackAuthenticator(issuer=issuer, audience=audience, fetch_jwks=jwks_fetcher(jwks_url))


def jwks_fetcher(jwks_url: str) -> JwksFetcher:
    """Fetches a JSON Web Key Set over HTTPS (bounded at 10 s)."""

    async def fetch() -> Mapping[str, Any]:
        timeout = aiohttp.ClientTimeout(total=10)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(jwks_url) as response,
        ):
            response.raise_for_status()
            document: Mapping[str, Any] = await response.json(content_type=None)
            return document

    return fetch
