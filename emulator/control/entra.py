"""A stand-in Entra ID tenant for the management API (issue 25): mints access tokens with app
roles and publishes their key set, so the app's token path runs offline like in Azure.

Only for the local stack: anyone who can reach the emulator gets any role it asks for. The
tokens have the shape of app-only v2 tokens (oid, azp, roles, idtyp=app, app_displayname).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
from aiohttp import web

from emulator.acs.middleware import SERVICES_KEY
from emulator.acs.tokens import ALGORITHM, SigningKey, new_signing_key
from emulator.common.errors import bad_input
from emulator.common.httputil import json_response

PREFIX = "/emulator/entra"
DEFAULT_AUDIENCE = "api://call-control-local"
LIFETIME_SECONDS = 3600
_KEY = web.AppKey("entra_key", SigningKey)


def issuer(base_url: str) -> str:
    return f"{base_url}{PREFIX}/v2.0"


def mint(key: SigningKey, base_url: str, body: dict[str, Any]) -> str:
    roles = body.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise bad_input("roles must be a list of strings")
    name = body.get("name", "local-caller")
    audience = body.get("audience", DEFAULT_AUDIENCE)
    if not isinstance(name, str) or not isinstance(audience, str):
        raise bad_input("name and audience must be strings")
    # One stable principal per name, as one managed identity keeps its object id.
    oid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{base_url}/{name}"))
    now = int(time.time())
    claims = {"iss": issuer(base_url), "aud": audience, "iat": now, "nbf": now,
              "exp": now + LIFETIME_SECONDS, "oid": oid, "sub": oid, "azp": oid, "idtyp": "app",
              "app_displayname": name, "roles": roles}
    return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})


async def token(request: web.Request) -> web.StreamResponse:
    body = await request.json() if request.can_read_body else {}
    if not isinstance(body, dict):
        raise bad_input("the body must be a JSON object")
    base_url = request.app[SERVICES_KEY].base_url
    return json_response({"access_token": mint(request.app[_KEY], base_url, body),
                          "token_type": "Bearer", "expires_in": LIFETIME_SECONDS,
                          "issuer": issuer(base_url)})


async def keys(request: web.Request) -> web.StreamResponse:
    return json_response({"keys": [request.app[_KEY].public_jwk()]})


def add_routes(app: web.Application) -> None:
    app[_KEY] = new_signing_key()
    app.router.add_post(f"{PREFIX}/token", token)
    app.router.add_get(f"{PREFIX}/keys", keys)
