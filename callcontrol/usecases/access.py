"""Admitting a management request: who the caller is and whether its roles allow the route.

The function key, when the mode uses one, is checked by the Functions host before the app
runs; what is left to the app is the bearer token (docs/security.md#management-api-callers).

    keys    every caller is the key holder (all roles); a token is not looked at
    both    the host wants a key; a token, when sent, must hold and names the caller, who is
            then limited to its roles (a key does not widen a token)
    entra   the routes are anonymous at the host: a token with the route's role is required
            (except on a route kept keyed: there a key alone is the key holder, as in both)
"""

from __future__ import annotations

from collections.abc import Callable

from callcontrol.domain.access import KEY_HOLDER, Actor, AuthMode, Role, require
from callcontrol.domain.errors import Unauthenticated
from callcontrol.usecases.ports import CallerTokens


class ManagementAccess:
    def __init__(self, mode: Callable[[], AuthMode], tokens: Callable[[], CallerTokens]) -> None:
        # Both resolved per request, so a malformed setting fails the request (500), and the
        # token verifier is built only in a mode that uses it.
        self._mode = mode
        self._tokens = tokens

    async def admit(self, authorization: str | None, role: Role, *,
                    keyed_always: bool = False) -> Actor:
        """The caller, if it may do what `role` allows; Unauthenticated (401) without a
        usable credential, Forbidden (403) without the role. A `keyed_always` route keeps the
        host's key check in every mode (readiness: the deployment hook holds a key only)."""
        mode = self._mode()
        if mode is AuthMode.KEYS:
            actor = KEY_HOLDER
        elif authorization:
            actor = await self._tokens().actor(authorization)
        elif mode is AuthMode.BOTH or keyed_always:  # the host has checked a key
            actor = KEY_HOLDER
        else:
            raise Unauthenticated("a bearer token (Microsoft Entra ID) is required")
        require(actor, role)
        return actor
