"""ACS callback sink: authenticate first, then parse, then apply every event idempotently."""

from __future__ import annotations

import azure.functions as func

from callcontrol.composition import services
from callcontrol.usecases.callbacks import IngestCallbacks
from handlers._http import MAX_BODY_BYTES, http_endpoint, json_response, read_body
from handlers.wire.callback_body import parse_callback_body

bp = func.Blueprint()
MAX_CALLBACK_BYTES = 4 * MAX_BODY_BYTES  # a large roster in ParticipantsUpdated is legitimate


@bp.function_name("callbacks")
@bp.route(route="callbacks", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@http_endpoint
async def callbacks(req: func.HttpRequest) -> func.HttpResponse:
    deps = services()
    await deps.authenticator.verify(req.headers.get("Authorization"))
    events = parse_callback_body(read_body(req, MAX_CALLBACK_BYTES))
    result = await deps.callbacks.ingest(IngestCallbacks(tuple(events)))
    return json_response({"applied": result.applied, "duplicates": result.duplicates})
