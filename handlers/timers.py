"""Timer-triggered functions: the reconciler and retention.

Schedules are app settings the Functions host resolves itself (%RECONCILE_SCHEDULE%,
%RETENTION_SCHEDULE%; declared in callcontrol/settings.py, set by infra and by the local stack).
Operators and tests run one now with the host's admin API:
`POST /admin/functions/reconciler` (master key, body `{"input": ""}`).
"""

from __future__ import annotations

import logging

import azure.functions as func

from callcontrol.composition import services
from callcontrol.settings import RECONCILE_SCHEDULE, RETENTION_SCHEDULE
from callcontrol.usecases.reconcile import RunReconciliation
from callcontrol.usecases.retention import RunRetention

bp = func.Blueprint()
logger = logging.getLogger(__name__)


def _trigger(timer: func.TimerRequest) -> str:
    return "past due" if timer.past_due else "schedule"


@bp.function_name("reconciler")
@bp.timer_trigger(schedule=f"%{RECONCILE_SCHEDULE}%", arg_name="timer", run_on_startup=False,
                  use_monitor=True)
async def reconciler(timer: func.TimerRequest) -> None:
    await services().reconciler.run(RunReconciliation(_trigger(timer)))


@bp.function_name("retention")
@bp.timer_trigger(schedule=f"%{RETENTION_SCHEDULE}%", arg_name="timer", run_on_startup=False,
                  use_monitor=True)
async def retention(timer: func.TimerRequest) -> None:
    await services().retention.run(RunRetention(_trigger(timer)))
