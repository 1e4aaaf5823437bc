"""GET /api/openapi.json: the OpenAPI 3.1 document, generated from the route declarations and the
same pydantic models that validate requests and describe responses."""

from __future__ import annotations

from functools import cache
from typing import Any

import azure.functions as func
from pydantic import BaseModel

from callcontrol.domain.opaque_ids import MAX_ID_CHARS, OPAQUE_ID_SCHEMA_PATTERN
from handlers._api import ROUTES, RouteSpec, api_route
from handlers._http import OPAQUE_ROUTE_PARAMS, json_response
from handlers._idempotency import IDEMPOTENCY_KEY_SCHEMA
from handlers.wire.responses import RESPONSE_MODELS, ProblemOut

bp = func.Blueprint()
REF = "#/components/schemas/{model}"
DESCRIPTION = """Steer Azure Communication Services calls over HTTP.

Every HTTP route of the app is here. The app's Event Grid trigger (`incoming_call`, which answers,
rejects or redirects incoming calls by the rules) is not an HTTP route of the app: Event Grid
reaches it through the Functions host's own webhook (`/runtime/webhooks/EventGrid`), so it is not
part of this API.

Errors are `application/problem+json` (RFC 9457) with `errors: [{field, reason}]` for bad input,
except the Functions host's own answers, which have an empty body: 401 for a missing or wrong
function key, 404 for a path that matches no route."""
# A path value must fill one segment: the host answers a "/" or an empty value with its own 404.
PATH_SEGMENT = {"type": "string", "minLength": 1, "pattern": r"^(?!\.\.?$)[^/]+$"}
OPAQUE_PATH_ID = {"type": "string", "minLength": 1, "maxLength": MAX_ID_CHARS,
                  "pattern": OPAQUE_ID_SCHEMA_PATTERN}
HOST_401 = {"description": "missing or wrong function key (the Functions host's answer, empty "
                           "body) or, with MANAGEMENT_AUTH entra or both, a bearer token that "
                           "does not hold (problem+json)"}
ERROR_TEXT = {
    400: "bad input: `errors` names each field and the reason",
    401: "not authenticated",
    403: "the caller's token lacks the operation's app role (x-app-role)",
    404: "not found",
    409: "conflict with the call's state, or the Idempotency-Key is in use",
    412: "If-Match does not name the current version",
    413: "request body too large",
    428: "If-Match is required",
    503: "ACS or storage unavailable: retry (Retry-After)",
}


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=REF, by_alias=True)
    components.update(schema.pop("$defs", {}))
    components[model.__name__] = schema
    return {"$ref": REF.format(model=model.__name__)}


def _parameters(spec: RouteSpec) -> list[dict[str, Any]]:
    checked = dict(spec.path)
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True,
         "schema": {**PATH_SEGMENT, **checked[name]} if name in checked
         else dict(OPAQUE_PATH_ID if name in OPAQUE_ROUTE_PARAMS else PATH_SEGMENT)}
        for name in _path_parameters(spec.route)
    ]
    for name, text, *schema in spec.query:
        parameters.append({"name": name, "in": "query", "required": False, "description": text,
                           "schema": schema[0] if schema else {"type": "string"}})
    parameters += [{"name": name, "in": "header", "required": False, "description": text,
                    "schema": {"type": "string"}} for name, text in spec.headers]
    if spec.idempotent:
        parameters.append({"name": "Idempotency-Key", "in": "header", "required": False,
                           "description": "same key within 24 h: first response replayed, "
                                          "action performed once",
                           "schema": IDEMPOTENCY_KEY_SCHEMA})
    return parameters


def _responses(spec: RouteSpec, components: dict[str, Any]) -> dict[str, Any]:
    problem = {"application/problem+json": {"schema": _schema(ProblemOut, components)}}
    responses: dict[str, Any] = {
        str(spec.success): {
            "description": spec.summary,
            "content": {"application/json": {
                "schema": _schema(RESPONSE_MODELS[spec.response], components)}},
        }
    }
    statuses = set(spec.errors)
    if spec.body is not None:
        statuses |= {400, 413}
    keyed = spec.auth_level != func.AuthLevel.ANONYMOUS
    if spec.role is not None:  # a token without the route's app role
        statuses.add(403)
    for status in sorted(statuses | ({401} if keyed else set())):
        if status == 401 and keyed:
            responses["401"] = HOST_401
        else:
            responses[str(status)] = {"description": ERROR_TEXT.get(status, "problem"),
                                      "content": problem}
    for status in spec.also:
        responses[str(status)] = {**responses[str(spec.success)], "description": f"HTTP {status}"}
    if statuses:  # ACS's own 4xx passes through; 502 when ACS fails; 500 for the unexpected
        responses["default"] = {"description": "another error, as problem+json", "content": problem}
    return responses


def _operation(spec: RouteSpec, components: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": spec.name, "summary": spec.summary,
                                 "parameters": _parameters(spec),
                                 "responses": _responses(spec, components)}
    if spec.auth_level == func.AuthLevel.ADMIN:  # the host takes the master key only
        operation["security"] = [{"masterKey": []}]
    elif spec.role is not None:
        # Which of these a deployment accepts is MANAGEMENT_AUTH's choice (docs/security.md).
        operation["security"] = [{"functionKey": []}, {"functionKeyQuery": []},
                                 {"entraToken": [spec.role.value]}]
        operation["x-app-role"] = spec.role.value
    elif spec.auth_level != func.AuthLevel.ANONYMOUS:
        operation["security"] = [{"functionKey": []}, {"functionKeyQuery": []}]
    elif spec.bearer:
        operation["security"] = [{"acsCallbackToken": []}]
    else:
        operation["security"] = []
    if spec.body is not None:
        operation["requestBody"] = {
            "required": spec.body_required,
            "content": {"application/json": {"schema": _schema(spec.body, components)}},
        }
    return operation


def _path_parameters(route: str) -> list[str]:
    return [part[1:-1].split(":")[0] for part in route.split("/") if part.startswith("{")]


@cache
def openapi_document() -> dict[str, Any]:
    components: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    for spec in ROUTES:
        paths.setdefault(f"/api/{spec.route}", {})[spec.method.lower()] = _operation(spec, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": "ACS call control", "version": "1.0.0", "description": DESCRIPTION},
        "servers": [{"url": "/", "description": "the app's own origin (make run: "
                                                 "http://localhost:7071)"}],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {
                "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key",
                                "description": "the function key (make run: .run/function-key)"},
                "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code",
                                     "description": "the function key as a query parameter"},
                "entraToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                               "description": "a Microsoft Entra ID access token for this API "
                                              "whose roles claim holds the operation's app role "
                                              "(x-app-role); MANAGEMENT_AUTH entra or both"},
                "masterKey": {"type": "apiKey", "in": "header", "name": "x-functions-key",
                              "description": "the host's master key, for admin-level routes "
                                             "(make run prints it)"},
                "acsCallbackToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                     "description": "the token ACS signs for the callback URI"},
            },
        },
    }


@api_route(bp, name="openapi", route="openapi.json", method="GET", auth_level=func.AuthLevel.ANONYMOUS,
           summary="This OpenAPI document", response="document", errors=())
async def openapi(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(openapi_document())

