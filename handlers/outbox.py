"""The `outbox` timer: re-publishes call events still pending in the call rows (docs/events.md).

Publishing right after each write is the fast path; this is the one that catches up after a
failed publish, a crash or a scale-in. Without a topic configured it does nothing.
"""

from __future__ import annotations

import logging

import azure.functions as func

from callcontrol.composition import observe, services
from callcontrol.observability import invocation_scope, telemetry

bp = func.Blueprint()
logger = logging.getLogger(__name__)


@bp.function_name("outbox")
@bp.timer_trigger(arg_name="timer", schedule="%OUTBOX_SCHEDULE%", run_on_startup=False,
                  use_monitor=False)
async def outbox(timer: func.TimerRequest) -> None:
    relay = services().outbox
    if relay is None:
        return  # opt-in: no EVENTGRID_TOPIC_ENDPOINT, nothing to publish
    observe()
    with invocation_scope(), telemetry().span("outbox"):
        result = await relay.sweep()
    if result.calls:
        logger.info("outbox: %d call(s) with pending events, %d event(s) published, "
                    "%d call(s) still failing, %d busy", result.calls, result.published,
                    result.failed_calls, result.busy_calls)
