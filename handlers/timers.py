"""The one timer function: every minute it runs the jobs whose own schedule came due.

Flex Consumption scales each non-HTTP function as a scale group of its own, and zone redundancy
keeps two instances warm per group; one timer for the reconciler, retention and the outbox sweep
is one group instead of three (docs/deployment.md has the arithmetic). Each job keeps its own
NCRONTAB setting (RECONCILE_SCHEDULE, RETENTION_SCHEDULE, OUTBOX_SCHEDULE), read by the app
(callcontrol/usecases/jobs.py). To run one job now, by name: `POST /api/jobs/{job}` with the
master key (handlers/jobs.py).
"""

from __future__ import annotations

import datetime
from typing import Final

import azure.functions as func

from callcontrol.observability import invocation_scope
from handlers._services import observe, services

bp = func.Blueprint()

TICK_SCHEDULE: Final = "0 * * * * *"  # every minute, on the minute: the fastest job cadence
_TICK: Final = datetime.timedelta(minutes=1)


def tick_window(timer: func.TimerRequest, now: datetime.datetime) -> tuple[datetime.datetime,
                                                                         datetime.datetime]:
    """(after, until]: the occurrences this tick covers. With the host's schedule status, from
    the last tick that ran to the one being run (a past-due run covers what was missed); without
    it (a first run), the minute up to now."""
    status = getattr(timer, "schedule_status", None) or {}  # the concrete request carries it
    last, this = _moment(status.get("Last")), _moment(status.get("Next"))
    # The occurrence being run; a worker clock a hair behind the host's must not lose the tick.
    on_time = this is not None and this <= now + _TICK
    until = this if on_time and this is not None else now.replace(second=0, microsecond=0)
    if last is None or last.year < 2000 or last >= until:  # the host's "never" is year 1
        last = until - _TICK
    return last, until


def _moment(value: object) -> datetime.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


@bp.function_name("timers")
@bp.timer_trigger(schedule=TICK_SCHEDULE, arg_name="timer", run_on_startup=False, use_monitor=True)
async def timers(timer: func.TimerRequest) -> None:
    after, until = tick_window(timer, datetime.datetime.now(datetime.UTC))
    observe()
    with invocation_scope():
        # "timer", not "schedule": a run asked for by hand looks like a scheduled one from here.
        await services().jobs.run_due(after, until, "past due" if timer.past_due else "timer")
