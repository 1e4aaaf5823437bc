"""Event Grid trigger: every IncomingCall ACS publishes for this resource, decided exactly once.

The invocation fails (so Event Grid redelivers) only when a retry can help: a transient ACS or
storage failure, or another delivery of the same call still in progress. A malformed event fails
too, loudly: it is logged with the offending field, and Event Grid dead-letters it in the end.
"""

from __future__ import annotations

import logging

import azure.functions as func

from callcontrol.domain.errors import CallControlError
from callcontrol.domain.events.incoming_call import INCOMING_CALL_EVENT_TYPE, parse_incoming_call
from callcontrol.observability import invocation_scope, telemetry
from handlers._services import observe, services

logger = logging.getLogger(__name__)
bp = func.Blueprint()


@bp.function_name("incoming_call")
@bp.event_grid_trigger(arg_name="event")
async def incoming_call(event: func.EventGridEvent) -> None:
    # A CloudEvents-schema subscription delivers func.CloudEvent: same id, `type` for the type.
    event_type = getattr(event, "event_type", None) or getattr(event, "type", None)
    if event_type != INCOMING_CALL_EVENT_TYPE:
        logger.warning("ignoring Event Grid event %s of type %s", event.id, event_type)
        return
    observe()
    with invocation_scope(), telemetry().span("incoming_call"):
        try:
            call = parse_incoming_call({"id": event.id, "data": event.get_json()})
        except CallControlError as error:
            logger.error("malformed IncomingCall event %s: %s", event.id, error.detail)
            raise
        await services().inbound.handle(call)
