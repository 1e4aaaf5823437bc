"""One decorator declares a management route: the Functions binding, the error mapping and the
OpenAPI entry all come from the same declaration, so the document cannot drift from the app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func
from pydantic import BaseModel

from callcontrol.domain.access import Role
from handlers._access import admitted, host_auth_level
from handlers._http import Handler, http_endpoint
from handlers._idempotency import idempotent


@dataclass(frozen=True)
class RouteSpec:
    name: str
    route: str
    method: str
    summary: str
    auth_level: func.AuthLevel
    body: type[BaseModel] | None = None
    body_required: bool = True
    success: int = 200
    response: str = "object"  # a key of handlers.openapi.RESPONSE_SCHEMAS
    # (name, description) or (name, description, JSON schema): a schema states what the handler
    # enforces (an enum's values, say); without one the parameter is a free string.
    query: tuple[tuple[str, str] | tuple[str, str, dict[str, Any]], ...] = ()
    # (name, JSON schema) of a path parameter the handler checks beyond "one path segment"
    path: tuple[tuple[str, dict[str, Any]], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()  # request headers: (name, description)
    idempotent: bool = False
    errors: tuple[int, ...] = field(default=(400, 401, 404, 409, 503))
    # Anonymous routes that authenticate themselves with a bearer token (the ACS callbacks).
    bearer: bool = False
    also: tuple[int, ...] = ()  # other statuses answered with the success body's schema
    # The app role a management caller needs (docs/security.md#the-role-map); every keyed
    # route names one, so no route is left to "any token".
    role: Role | None = None
    # Keeps the host's key check under MANAGEMENT_AUTH=entra too (a key opens it as in `both`).
    keyed_always: bool = False


ROUTES: list[RouteSpec] = []


def api_route(
    bp: func.Blueprint,
    role: Role | None = None,
    *,
    name: str,
    route: str,
    method: str,
    summary: str,
    auth_level: func.AuthLevel = func.AuthLevel.FUNCTION,
    **details: object,
) -> Callable[[Handler], Handler]:
    spec = RouteSpec(name=name, route=route, method=method, summary=summary,
                     auth_level=auth_level, role=role, **details)  # type: ignore[arg-type]
    # Management routes (function key or token) name their role; anonymous routes and the
    # operators' admin routes (the host's master key, never a token) name none.
    if (spec.auth_level is func.AuthLevel.FUNCTION) is (spec.role is None):
        raise TypeError(f"{name}: a function-level route names its app role, an anonymous or "
                        "admin one none")
    ROUTES.append(spec)

    def register(handler: Handler) -> Handler:
        # Idempotency sits inside the error mapping: a failure releases the key, then maps.
        # The caller is admitted before that: a stored response is replayed only to one the route admits.
        refresh = spec.response == "accepted"  # an action's 202 says its operation's status
        inner = idempotent(handler, refresh_status=refresh) if spec.idempotent else handler
        wrapped = http_endpoint(admitted(spec.role, inner, keyed_always=spec.keyed_always)
                                if spec.role is not None else inner)
        level = host_auth_level(auth_level, keyed_always=spec.keyed_always)
        bp.function_name(name)(bp.route(route=route, methods=[method], auth_level=level)(wrapped))
        return wrapped

    return register
