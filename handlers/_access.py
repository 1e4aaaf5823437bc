"""Management routes: the host's auth level by MANAGEMENT_AUTH, and the caller of this request.

The host fixes a function's auth level when it indexes the app, so the mode is read then
(`management_auth_at_index`): in `entra` a keyed route is anonymous at the host and the app
admits the caller by its token (usecases/access.py); otherwise the host keeps checking keys.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar

import azure.functions as func

from callcontrol.domain.access import Actor, AuthMode, Role
from callcontrol.settings import management_auth_at_index
from handlers._services import services

Handler = Callable[[func.HttpRequest], Awaitable[func.HttpResponse]]
_caller: ContextVar[Actor] = ContextVar("caller")


def host_auth_level(declared: func.AuthLevel, mode: AuthMode | None = None, *,
                    keyed_always: bool = False) -> func.AuthLevel:
    """What the host enforces for a route declared with `declared`."""
    mode = management_auth_at_index() if mode is None else mode
    if declared is func.AuthLevel.FUNCTION and mode is AuthMode.ENTRA and not keyed_always:
        return func.AuthLevel.ANONYMOUS
    return declared


def admitted(role: Role, handler: Handler, *, keyed_always: bool = False) -> Handler:
    """`handler`, run only for a caller whose credential allows `role`; `caller()` names it."""

    async def run(req: func.HttpRequest) -> func.HttpResponse:
        actor = await services().access.admit(req.headers.get("Authorization"), role,
                                              keyed_always=keyed_always)
        token = _caller.set(actor)
        try:
            return await handler(req)
        finally:
            _caller.reset(token)

    run.__name__ = handler.__name__
    return run


def caller() -> Actor:
    """The caller of the management request being handled (set by `admitted`)."""
    return _caller.get()
