"""ACS callback sink: authenticate first, then parse, then apply every event idempotently.

Authentication is the JWT (verified here, before anything is read) plus what the callbacks use
case checks: the secret in the call's own callback URI against the call's record, and the
token's id, used once per deployment (see docs/security.md).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import azure.functions as func

from callcontrol.domain.callback_binding import SECRET_PARAMETER, CallbackCredentials, body_digest
from callcontrol.domain.errors import CallControlError
from callcontrol.observability import CallbackResult, telemetry
from callcontrol.usecases.callbacks import IngestCallbacks
from handlers._api import api_route
from handlers._http import MAX_BODY_BYTES, json_response, read_body
from handlers._services import services
from handlers.wire.callback_body import CallbackBatch, parse_callback_body

logger = logging.getLogger(__name__)
bp = func.Blueprint()
MAX_CALLBACK_BYTES = 4 * MAX_BODY_BYTES  # a large roster in ParticipantsUpdated is legitimate


@api_route(bp, name="callbacks", route="callbacks", method="POST", auth_level=func.AuthLevel.ANONYMOUS,
           bearer=True, body=CallbackBatch, response="callbacks", errors=(400, 401, 409, 503),
           summary="ACS callback events (CloudEvents), authenticated by ACS's signed JWT")
async def callbacks(req: func.HttpRequest) -> func.HttpResponse:
    deps = services()
    try:
        token_claims = await deps.authenticator.verify(req.headers.get("Authorization"))
        body = read_body(req, MAX_CALLBACK_BYTES)
        events = parse_callback_body(body)
    except CallControlError as error:
        telemetry().metrics.callback(CallbackResult.REFUSED)
        logger.warning("callbacks refused: %s", error.detail)
        raise
    credentials = CallbackCredentials(
        secret=req.params.get(SECRET_PARAMETER) or None,
        token_id=_token_id(token_claims),
        token_expires_at=_expiry(token_claims),
        body_digest=body_digest(body),
    )
    result = await deps.callbacks.ingest(IngestCallbacks(tuple(events), credentials))
    return json_response({"applied": result.applied, "duplicates": result.duplicates})


def _token_id(token_claims: Mapping[str, Any]) -> str | None:
    jti = token_claims.get("jti")
    return jti if isinstance(jti, str) and jti else None


def _expiry(token_claims: Mapping[str, Any]) -> datetime | None:
    exp = token_claims.get("exp")  # required and checked by the authenticator
    return datetime.fromtimestamp(exp, UTC) if isinstance(exp, int | float) else None
