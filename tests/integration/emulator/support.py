"""A stand-in for the app's side of the wire, for emulator tests: a real aiohttp server that
receives callbacks (verifying each Bearer token against the emulator's published keys) and
Event Grid deliveries (doing the validation handshake and, optionally, acting on IncomingCall)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import jwt
from aiohttp import web

from tests.support.http import call as http_call
from tests.support.loopback import LoopbackServer

ACCESS_KEY = "ZW11bGF0b3ItdGVzdC1rZXktbm90LWEtc2VjcmV0ISE="
RESOURCE_ID = "6b3fd6a6-2b7c-4c59-9e2a-6b1ba1f0a001"


IncomingHandler = Callable[[dict[str, Any]], Awaitable[None]]


class AppSide(LoopbackServer):
    """Serves POST /callbacks[/<tag>] and POST /eventgrid on a free loopback port, in a thread."""

    def __init__(self) -> None:
        super().__init__()
        self.callbacks: list[dict[str, Any]] = []
        self.eventgrid: list[dict[str, Any]] = []
        self.eventgrid_statuses: list[int] = []
        self.validation_mode = "echo"
        self.on_incoming: IncomingHandler | None = None
        self.issuer: str | None = None
        self.audience = RESOURCE_ID
        self.jwks_fetches = 0
        self._keys: dict[str, Any] = {}
        self._lock = threading.Lock()

    # lifecycle -----------------------------------------------------------------------------
    def start(self) -> AppSide:
        self.start_serving()
        return self

    async def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/callbacks", self._callback)
        app.router.add_post("/callbacks/{tag}", self._callback)
        app.router.add_post("/eventgrid", self._eventgrid)
        self._session = aiohttp.ClientSession()
        return app

    async def close(self) -> None:
        await self._session.close()

    def url(self, path: str) -> str:
        return self.base_url + path

    # callbacks -----------------------------------------------------------------------------
    async def _callback(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        claims: dict[str, Any] | None = None
        token_error: str | None = None
        kid: str | None = None
        try:
            if not header.startswith("Bearer "):
                raise jwt.InvalidTokenError("no bearer token")
            token = header[len("Bearer ") :]
            kid = jwt.get_unverified_header(token).get("kid")
            claims = await self._verify(token)
        except (jwt.PyJWTError, aiohttp.ClientError) as exc:
            token_error = f"{type(exc).__name__}: {exc}"
        body = await request.json()
        with self._lock:
            for event in body:
                self.callbacks.append(
                    {
                        "path": request.path,
                        "event": event,
                        "type": event["type"].rsplit(".", 1)[-1],
                        "claims": claims,
                        "kid": kid,
                        "token_error": token_error,
                        "received": time.monotonic(),
                        "batch_size": len(body),
                    }
                )
        return web.Response(status=401 if token_error else 200)

    async def _verify(self, token: str) -> dict[str, Any]:
        assert self.issuer, "set AppSide.issuer to the emulator's base URL"
        kid = jwt.get_unverified_header(token).get("kid")
        if kid not in self._keys:
            await self._refresh_keys()
        if kid not in self._keys:
            raise jwt.InvalidKeyError(f"unknown kid {kid}")
        claims: dict[str, Any] = jwt.decode(
            token,
            self._keys[kid],
            algorithms=["RS256"],
            audience=self.audience,
            issuer=self.issuer,
            options={"require": ["exp", "iat", "iss", "aud"]},
        )
        return claims

    async def _refresh_keys(self) -> None:
        assert self.issuer
        config_url = f"{self.issuer}/calling/.well-known/acsopenidconfiguration"
        async with self._session.get(config_url) as response:
            config = await response.json()
        async with self._session.get(config["jwks_uri"]) as response:
            jwks = await response.json()
        self.jwks_fetches += 1
        self._keys = {key["kid"]: jwt.PyJWK(key).key for key in jwks["keys"]}

    def events(self, type_: str | None = None, connection_id: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            found = list(self.callbacks)
        return [
            record
            for record in found
            if (type_ is None or record["type"] == type_)
            and (connection_id is None or record["event"]["data"].get("callConnectionId") == connection_id)
        ]

    def wait_for(
        self, type_: str, connection_id: str | None = None, count: int = 1, timeout: float = 5
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.events(type_, connection_id)
            if len(found) >= count:
                return found
            time.sleep(0.01)
        raise AssertionError(
            f"{count} x {type_} not received in {timeout}s; got "
            f"{[r['type'] for r in self.events(connection_id=connection_id)]}"
        )

    # event grid ----------------------------------------------------------------------------
    async def _eventgrid(self, request: web.Request) -> web.Response:
        body = await request.json()
        kind = request.headers.get("aeg-event-type")
        with self._lock:
            self.eventgrid.append(
                {"kind": kind, "headers": dict(request.headers), "body": body, "received": time.monotonic()}
            )
        if kind == "SubscriptionValidation":
            if self.validation_mode == "echo":
                return web.json_response({"validationResponse": body[0]["data"]["validationCode"]})
            return web.Response(status=400)
        with self._lock:
            status = self.eventgrid_statuses.pop(0) if self.eventgrid_statuses else 200
        if status == 200 and self.on_incoming is not None:
            for event in body:
                await self.on_incoming(event)
        return web.Response(status=status)

    def notifications(self) -> list[dict[str, Any]]:
        with self._lock:
            return [d for d in self.eventgrid if d["kind"] == "Notification"]


def _exchange(url: str, method: str, body: Any, *, empty: bytes | None) -> tuple[int, Any]:
    """One HTTP request with a JSON body; the status and the decoded JSON reply (or None)."""
    data = json.dumps(body).encode("utf-8") if body is not None else empty
    reply = http_call(url, method, data, {"Content-Type": "application/json"} if data is not None else {})
    return reply.status, json.loads(reply.body) if reply.body else None


def post_json(url: str, body: Any) -> tuple[int, Any]:
    """A plain HTTP POST to the control API (sync, stdlib only)."""
    return _exchange(url, "POST", body, empty=b"")


def get_json(url: str) -> tuple[int, Any]:
    return _exchange(url, "GET", None, empty=None)


def signed_request(
    base_url: str,
    method: str,
    path_and_query: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    key: str = ACCESS_KEY,
) -> tuple[int, dict[str, str], Any]:
    """Send one request signed the way the SDK signs (independent of the emulator's code)."""
    import base64
    import hashlib
    import hmac
    import urllib.error
    import urllib.request
    from email.utils import formatdate
    from urllib.parse import urlsplit

    host = urlsplit(base_url).netloc
    date = formatdate(usegmt=True)
    content_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
    to_sign = f"{method}\n{path_and_query}\n{date};{host};{content_hash}"
    signature = base64.b64encode(
        hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256).digest()
    ).decode()
    all_headers = {
        "x-ms-date": date,
        "x-ms-content-sha256": content_hash,
        "Authorization": "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256"
        f"&Signature={signature}",
        "Content-Type": "application/json",
        **(headers or {}),
    }
    request = urllib.request.Request(
        base_url + path_and_query,
        data=body if method != "GET" else None,
        method=method,
        headers=all_headers,
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, dict(response.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, dict(exc.headers), json.loads(raw) if raw else None


class ResponseRecorder:
    """An azure-core ``raw_response_hook`` keeping every response the SDK received."""

    def __init__(self) -> None:
        self.responses: list[dict[str, Any]] = []

    def __call__(self, pipeline_response: Any) -> None:
        from urllib.parse import urlsplit

        request = pipeline_response.http_request
        response = pipeline_response.http_response
        text = response.text()
        self.responses.append(
            {
                "method": request.method,
                "path": urlsplit(request.url).path,
                "status": response.status_code,
                "body": json.loads(text) if text else None,
                "headers": dict(response.headers),
            }
        )


class Control:
    """The emulator's control API, as the app's e2e tests would use it."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url + "/emulator"

    def _send(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return _exchange(self.base + path, method, body, empty=None)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, reply = self._send(method, path, body)
        assert 200 <= status < 300, (status, reply)
        return reply

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return self._send(method, path, body)

    def incoming(self, caller: str, callee: str, **extra: Any) -> dict[str, Any]:
        body = {
            "from": {"phoneNumber": caller} if caller.startswith("+") else {"rawId": caller},
            "to": {"phoneNumber": callee} if callee.startswith("+") else {"rawId": callee},
            **extra,
        }
        reply: dict[str, Any] = self.ok("POST", "/incoming-calls", body)
        return reply

    def endpoint(self, raw_id: str, behavior: str, delay: float = 0) -> None:
        self.ok(
            "PUT", "/endpoints", {"endpoint": {"rawId": raw_id}, "behavior": behavior, "delaySeconds": delay}
        )

    def settings(self, **values: Any) -> dict[str, Any]:
        reply: dict[str, Any] = self.ok("PATCH", "/settings", values)
        return reply

    def requests(self, operation: str | None = None) -> list[dict[str, Any]]:
        suffix = f"?operation={operation}" if operation else ""
        reply: list[dict[str, Any]] = self.ok("GET", "/requests" + suffix)["value"]
        return reply

    def calls(self) -> list[dict[str, Any]]:
        reply: list[dict[str, Any]] = self.ok("GET", "/calls")["value"]
        return reply


USER_A = "8:acs:6b3fd6a6-2b7c-4c59-9e2a-6b1ba1f0a001_0000001b-0000-0000-0000-00000000000a"
USER_B = "8:acs:6b3fd6a6-2b7c-4c59-9e2a-6b1ba1f0a001_0000001b-0000-0000-0000-00000000000b"
USER_C = "8:acs:6b3fd6a6-2b7c-4c59-9e2a-6b1ba1f0a001_0000001b-0000-0000-0000-00000000000c"
PSTN_A = "+14255550101"
PSTN_B = "+14255550102"
CALLER_ID = "+18005550100"


def connect_call(client: Any, app_side: AppSide, *targets: Any, **kwargs: Any) -> Any:
    """Create a call with the official client and wait until the app's leg is connected."""
    if len(targets) == 1:
        props = client.create_call(targets[0], app_side.url("/callbacks"), **kwargs)
    else:
        props = client.create_call(list(targets), app_side.url("/callbacks"), **kwargs)
    app_side.wait_for("ParticipantsUpdated", props.call_connection_id)
    return client.get_call_connection(props.call_connection_id), props.call_connection_id
