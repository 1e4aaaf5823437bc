"""One decorator declares a management route: the Functions binding, the error mapping and the
OpenAPI entry all come from the same declaration, so the document cannot drift from the app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func
from pydantic import BaseModel

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


ROUTES: list[RouteSpec] = []


def api_route(
    bp: func.Blueprint,
    *,
    name: str,
    route: str,
    method: str,
    summary: str,
    auth_level: func.AuthLevel = func.AuthLevel.FUNCTION,
    **details: object,
) -> Callable[[Handler], Handler]:
    spec = RouteSpec(name=name, route=route, method=method, summary=summary,
                     auth_level=auth_level, **details)  # type: ignore[arg-type]
    ROUTES.append(spec)

    def register(handler: Handler) -> Handler:
        # Idempotency sits inside the error mapping: a failure releases the key, then maps.
        refresh = spec.response == "accepted"  # an action's 202 says its operation's status
        wrapped = http_endpoint(idempotent(handler, refresh_status=refresh) if spec.idempotent
                                else handler)
        bp.function_name(name)(bp.route(route=route, methods=[method], auth_level=auth_level)(wrapped))
        return wrapped

    return register
