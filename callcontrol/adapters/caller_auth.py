"""Verifies a management caller's Entra ID access token and names the caller (an Actor).

The signature, issuer, audience and expiry are checked like a callback token's (the same JWKS
cache, callback_auth.py), against the tenant's issuers (v1 sts.windows.net, v2
login.microsoftonline.com/…/v2.0) and the API registration's audiences. The app roles granted
to the caller arrive in the `roles` claim; roles this release does not know are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from callcontrol.adapters.callback_auth import CallbackAuthenticator, JwksFetcher, jwks_fetcher
from callcontrol.domain.access import Actor, ActorKind, Role
from callcontrol.domain.errors import Unauthenticated

_KNOWN_ROLES = {role.value: role for role in Role}


class EntraTokenVerifier(CallbackAuthenticator):
    KEYS = "Entra ID token signing keys"
    WRONG_AUDIENCE = "token audience is not this API"
    WRONG_ISSUER = "token issuer is not the configured Entra ID tenant"


class EntraCallerTokens:
    def __init__(self, *, issuers: Sequence[str], audiences: Sequence[str],
                 fetch_jwks: JwksFetcher) -> None:
        self._verifier = EntraTokenVerifier(issuer=list(issuers), audience=list(audiences),
                                            fetch_jwks=fetch_jwks)

    async def actor(self, authorization: str) -> Actor:
        return actor_of(await self._verifier.verify(authorization))


def actor_of(claims: Mapping[str, Any]) -> Actor:
    """The caller a verified token names. `oid` is the principal (a managed identity's or a
    user's object id); a delegated token carries `scp`, an app-only token does not."""
    oid = claims.get("oid")
    if not isinstance(oid, str) or not oid:
        raise Unauthenticated("token names no principal (oid)")
    raw_roles = claims.get("roles", [])
    roles = raw_roles if isinstance(raw_roles, list) else []
    app_id = claims.get("azp") or claims.get("appid")  # v2 | v1
    name = claims.get("app_displayname") or claims.get("name")
    return Actor(
        ActorKind.USER if "scp" in claims else ActorKind.APP, oid,
        name=name if isinstance(name, str) else None,
        app_id=app_id if isinstance(app_id, str) else None,
        roles=frozenset(_KNOWN_ROLES[r] for r in roles if isinstance(r, str) and r in _KNOWN_ROLES),
    )


def connect_caller_tokens(*, issuers: Sequence[str], audiences: Sequence[str],
                          jwks_url: str) -> EntraCallerTokens:
    return EntraCallerTokens(issuers=issuers, audiences=audiences,
                             fetch_jwks=jwks_fetcher(jwks_url))
