"""Calling functions of `function_app.app` directly, as the Functions host would."""

from __future__ import annotations

import inspect
import json
from functools import cache
from typing import Any
from urllib.parse import urlencode

import azure.functions as func

from function_app import app


@cache
def indexed() -> list[func.Function]:
    """The app's functions, indexed once: like the host, FunctionApp allows one indexing."""
    return app.get_functions()


def user_function(name: str) -> Any:
    for function in indexed():
        if function.get_function_name() == name:
            return function.get_user_function()
    raise KeyError(name)


def http_request(
    method: str, path: str, *, body: object = None, raw: bytes | None = None,
    headers: dict[str, str] | None = None, route_params: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> func.HttpRequest:
    data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    query = f"?{urlencode(params)}" if params else ""
    return func.HttpRequest(method=method, url=f"http://localhost/api/{path}{query}",
                            headers=headers or {}, params=params or {},
                            route_params=route_params or {}, body=data)


async def invoke(name: str, argument: Any) -> Any:
    result = user_function(name)(argument)
    return await result if inspect.isawaitable(result) else result


def json_body(response: func.HttpResponse) -> Any:
    return json.loads(response.get_body())
