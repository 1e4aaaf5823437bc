"""GET /api/openapi.json: the OpenAPI 3.1 document, generated from the route declarations and the
same pydantic models that validate requests and describe responses."""

from __future__ import annotations

from functools import cache
from typing import Any

import azure.functions as func
from pydantic import BaseModel

from handlers._api import ROUTES, RouteSpec
from handlers._http import json_response
from handlers.wire.responses import RESPONSE_MODELS, ProblemOut

bp = func.Blueprint()
REF = "#/components/schemas/{model}"


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=REF, by_alias=True)
    components.update(schema.pop("$defs", {}))
    components[model.__name__] = schema
    return {"$ref": REF.format(model=model.__name__)}


def _operation(spec: RouteSpec, components: dict[str, Any]) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _path_parameters(spec.route)
    ]
    parameters += [{"name": name, "in": "query", "required": False, "description": text,
                    "schema": {"type": "string"}} for name, text in spec.query]
    parameters += [{"name": name, "in": "header", "required": False, "description": text,
                    "schema": {"type": "string"}} for name, text in spec.headers]
    if spec.idempotent:
        parameters.append({"name": "Idempotency-Key", "in": "header", "required": False,
                           "description": "same key within 24 h: first response replayed, "
                                          "action performed once",
                           "schema": {"type": "string", "maxLength": 255}})
    problem = {"application/problem+json": {"schema": _schema(ProblemOut, components)}}
    responses: dict[str, Any] = {
        str(spec.success): {
            "description": spec.summary,
            "content": {"application/json": {
                "schema": _schema(RESPONSE_MODELS[spec.response], components)}},
        }
    }
    for status in spec.errors:
        responses[str(status)] = {"description": "problem", "content": problem}
    operation: dict[str, Any] = {"operationId": spec.name, "summary": spec.summary,
                                 "parameters": parameters, "responses": responses}
    if spec.auth_level != func.AuthLevel.ANONYMOUS:
        operation["security"] = [{"functionKey": []}, {"functionKeyQuery": []}]
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
        "info": {"title": "ACS call control", "version": "1.0.0",
                 "description": "Steer Azure Communication Services calls over HTTP."},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key"},
                "functionKeyQuery": {"type": "apiKey", "in": "query", "name": "code"},
            },
        },
    }


@bp.function_name("openapi")
@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def openapi(req: func.HttpRequest) -> func.HttpResponse:
    return json_response(openapi_document())
