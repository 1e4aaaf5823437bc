"""Timer-triggered functions: the reconciler, retention and the outbox (call events out).

Schedules are app settings the Functions host resolves itself (%RECONCILE_SCHEDULE%,
%RETENTION_SCHEDULE%, %OUTBOX_SCHEDULE%; declared in callcontrol/settings.py, set by infra and
by the local stack).
Operators and tests run one now with the host's admin API:
`POST /admin/functions/reconciler` (master key, body `{"input": ""}`).
"""

from __future__ import annotations

import logging

import azure.functions as func

from callcontrol.observability import invocation_scope, telemetry
from callcontrol.settings import OUTBOX_SCHEDULE, RECONCILE_SCHEDULE, RETENTION_SCHEDULE
from callcontrol.usecases.reconcile import RunReconciliation
from callcontrol.usecases.retention import RunRetention
from handlers._services import observe, services

bp = func.Blueprint()
logger = logging.getLogger(__name__)


def _trigger(timer: func.TimerRequest) -> str:
    # A run asked for through the admin API looks like a scheduled one to the function: "timer"
    # claims neither (it used to say "schedule" for a run by hand).
    return "past due" if timer.past_due else "timer"


@bp.function_name("reconciler")
@bp.timer_trigger(schedule=f"%{RECONCILE_SCHEDULE}%", arg_name="timer", run_on_startup=False,
                  use_monitor=True)
async def reconciler(timer: func.TimerRequest) -> None:
    observe()  # a timer may be the worker's first invocation: telemetry (quiet SDKs) first
    await services().reconciler.run(RunReconciliation(_trigger(timer)))


@bp.function_name("retention")
@bp.timer_trigger(schedule=f"%{RETENTION_SCHEDULE}%", arg_name="timer", run_on_startup=False,
                  use_monitor=True)
async def retention(timer: func.TimerRequest) -> None:
    observe()
    await services().retention.run(RunRetention(_trigger(timer)))


@bp.function_name("outbox")
@bp.timer_trigger(schedule=f"%{OUTBOX_SCHEDULE}%", arg_name="timer", run_on_startup=False,
                  use_monitor=True)
async def outbox(timer: func.TimerRequest) -> None:
    """Re-publishes call events still pending in the call rows (docs/events.md): publishing
    right after each write is the fast path, this one catches up after a failed publish, a
    crash or a scale-in. Without a topic configured it does nothing."""
    relay = services().outbox
    if relay is None:
        return  # opt-in: no EVENTGRID_TOPIC_ENDPOINT, nothing to publish
    observe()
    with invocation_scope(), telemetry().span("outbox"):
        result = await relay.sweep()
    if result.calls:
        logger.info("outbox (%s): %d call(s) with pending events, %d event(s) published, "
                    "%d call(s) still failing, %d busy", _trigger(timer), result.calls,
                    result.published, result.failed_calls, result.busy_calls)
