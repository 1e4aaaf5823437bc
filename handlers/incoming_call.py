"""Event Grid trigger: every IncomingCall ACS publishes for this resource."""

from __future__ import annotations

import logging

import azure.functions as func

from callcontrol.errors import CallControlError
from callcontrol.incoming import INCOMING_CALL_TYPE, parse_incoming_call
from handlers._deps import services

logger = logging.getLogger(__name__)
bp = func.Blueprint()


@bp.function_name("incoming_call")
@bp.event_grid_trigger(arg_name="event")
async def incoming_call(event: func.EventGridEvent) -> None:
    if event.event_type != INCOMING_CALL_TYPE:
        logger.warning("ignoring Event Grid event %s of type %s", event.id, event.event_type)
        return
    try:
        call = parse_incoming_call(event.get_json())
    except CallControlError as error:
        # Fail the invocation: the host reports it and Event Grid does not count it delivered.
        logger.error("malformed IncomingCall event %s: %s", event.id, error.detail)
        raise
    await services().service.answer_incoming(call)
