"""ACS callback sink: authenticate first, then parse, then apply every event idempotently."""

from __future__ import annotations

import logging

import azure.functions as func

from callcontrol.composition import services
from callcontrol.domain.errors import CallControlError
from callcontrol.observability import CallbackResult, telemetry
from callcontrol.usecases.callbacks import IngestCallbacks
from handlers._api import api_route
from handlers._http import MAX_BODY_BYTES, json_response, read_body
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
        await deps.authenticator.verify(req.headers.get("Authorization"))
        events = parse_callback_body(read_body(req, MAX_CALLBACK_BYTES))
    except CallControlError as error:
        telemetry().metrics.callback(CallbackResult.REFUSED)
        logger.warning("callbacks refused: %s", error.detail)
        raise
    result = await deps.callbacks.ingest(IngestCallbacks(tuple(events)))
    return json_response({"applied": result.applied, "duplicates": result.duplicates})
