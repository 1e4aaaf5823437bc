"""A FunctionApp for the devhost tests: blueprints, sync and async functions, every auth level."""

from __future__ import annotations

import asyncio
import json
import threading

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
calls = func.Blueprint()  # type: ignore[no-untyped-call]  # the library leaves __init__ unannotated
events = func.Blueprint()  # type: ignore[no-untyped-call]  # the library leaves __init__ unannotated

# Event Grid invocations land here, keyed by event id, so each test looks only at its own events.
received: dict[str, dict[str, object]] = {}
_received_lock = threading.Lock()
release_blocked = threading.Event()


def _json(body: object, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")


@calls.route(route="calls/{id}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def get_call(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"function": "get_call", "id": req.route_params["id"]})


@calls.route(route="calls/openapi", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def calls_openapi(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"function": "calls_openapi"})


@calls.route(route="calls/{id}", methods=["POST", "DELETE"], auth_level=func.AuthLevel.ANONYMOUS)
async def change_call(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"function": "change_call", "method": req.method, "id": req.route_params["id"]})


@calls.route(route="calls/{id}/participants/{rawId}", methods=["GET"], auth_level="anonymous")
def get_participant(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"id": req.route_params["id"], "rawId": req.route_params["rawId"]})


@calls.route(route="items/{n:int}", methods=["GET"], auth_level="anonymous")
def item_by_number(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"function": "item_by_number", "n": req.route_params["n"]})


@calls.route(route="items/{name}", methods=["GET"], auth_level="anonymous")
def item_by_name(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"function": "item_by_name", "name": req.route_params["name"]})


@calls.route(route="files/{*path}", methods=["GET"], auth_level="anonymous")
def files(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"path": req.route_params.get("path")})


@calls.route(route="pages/{page?}", methods=["GET"], auth_level="anonymous")
def pages(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"page": req.route_params.get("page")})


@app.route(route="echo", methods=["POST", "PUT"], auth_level=func.AuthLevel.ANONYMOUS)
async def echo(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    return _json(
        {
            "method": req.method,
            "url": req.url,
            "params": dict(req.params),
            "header": req.headers.get("x-sample"),
            "content_type": req.headers.get("content-type"),
            "body": req.get_body().decode("utf-8"),
            "invocation_id": context.invocation_id,
            "function_name": context.function_name,
            "loop_running": asyncio.get_running_loop().is_running(),
        }
    )


@app.route(route="guarded", methods=["GET"])  # app default: function level
def guarded(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("function level ok")


@app.route(route="admin-only", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def admin_only(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("admin level ok")


@app.function_name("renamed")
@app.route(route="plain-text", trigger_arg_name="request", auth_level="anonymous")  # every method
def returns_text(request: func.HttpRequest) -> str:
    return f"hello {request.method}"


@app.route(route="nothing", methods=["GET"], auth_level="anonymous")
def returns_nothing(req: func.HttpRequest) -> None:
    return None


@app.route(route="custom", methods=["GET"], auth_level="anonymous")
def custom_response(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(
        "<p>hi</p>",
        status_code=418,
        headers={"X-Custom": "yes", "Set-Cookie": "a=1"},
        mimetype="text/html",
        charset="iso-8859-1",
    )


@app.route(route="boom", methods=["GET"], auth_level="anonymous")
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("secret internal detail")


@app.route(route="wrong-type", methods=["GET"], auth_level="anonymous")
def wrong_type(req: func.HttpRequest) -> dict[str, str]:
    return {"not": "a response"}


@app.route(route="block", methods=["GET"], auth_level="anonymous")
def block(req: func.HttpRequest) -> func.HttpResponse:
    # Sync and blocking: only a thread pool lets /release reach the server meanwhile.
    released = release_blocked.wait(timeout=5)
    return func.HttpResponse("released" if released else "timed out")


@app.route(route="release", methods=["POST"], auth_level="anonymous")
async def release(req: func.HttpRequest) -> func.HttpResponse:
    release_blocked.set()
    return func.HttpResponse("ok")


@events.event_grid_trigger(arg_name="event")
def record_event(event: func.EventGridEvent) -> None:
    data = event.get_json()
    if isinstance(data, dict) and data.get("fail"):
        raise ValueError("event asked to fail")
    with _received_lock:
        received[event.id] = {
            "function": "record_event",
            "type": type(event).__name__,
            "event_type": event.event_type,
            "subject": event.subject,
            "topic": event.topic,
            "data": data,
            "event_time": event.event_time,
            "data_version": event.data_version,
        }


@events.event_grid_trigger(arg_name="incoming")
async def async_event(incoming: func.CloudEvent, context: func.Context) -> None:
    with _received_lock:
        received[incoming.id] = {
            "function": context.function_name,
            "type": type(incoming).__name__,
            "data": incoming.get_json(),
        }


app.register_functions(calls)
app.register_blueprint(events)
