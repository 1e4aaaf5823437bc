"""The app's scheduled jobs behind one timer: which are due, running one by name.

Flex Consumption scales every non-HTTP function as its own group (zone redundancy keeps two
instances per group), so the reconciler, retention and the outbox sweep share one timer function
that ticks every minute and runs each job whose own schedule fell in the window since the last
tick. A job can also be run by name now (the admin route handlers/jobs.py).
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from callcontrol.domain.errors import NotFound
from callcontrol.domain.schedule import Schedule
from callcontrol.observability import telemetry

logger = logging.getLogger(__name__)

RECONCILER: Final = "reconciler"
RETENTION: Final = "retention"
OUTBOX: Final = "outbox"
JOB_NAMES: Final = (OUTBOX, RECONCILER, RETENTION)  # in the order a tick starts them
# A tick looks back at most this far (a first run, or after the app was stopped for long): a
# missed occurrence runs a job once, never once per occurrence missed.
MAX_LOOKBACK: Final = datetime.timedelta(days=1)

Runner = Callable[[str], Awaitable[dict[str, Any] | None]]  # trigger → the run's counts


class JobsFailed(Exception):
    """One or more jobs of a tick failed; the others ran to their end."""


class Jobs:
    def __init__(self, schedules: Callable[[], Mapping[str, Schedule]],
                 runners: Mapping[str, Runner]) -> None:
        self._schedules = schedules  # read on use: a bad setting fails the tick, not the import
        self._runners = runners

    def due(self, after: datetime.datetime, until: datetime.datetime) -> list[str]:
        """The jobs with an occurrence in (after, until], at most MAX_LOOKBACK back."""
        after = max(after, until - MAX_LOOKBACK)
        schedules = self._schedules()
        return [name for name in JOB_NAMES if schedules[name].occurs_between(after, until)]

    async def run(self, name: str, trigger: str) -> dict[str, Any] | None:
        runner = self._runners.get(name)
        if runner is None:
            raise NotFound(f"no job named {name!r} (jobs: {', '.join(JOB_NAMES)})")
        with telemetry().span(name):
            return await runner(trigger)

    async def run_due(self, after: datetime.datetime, until: datetime.datetime,
                      trigger: str) -> list[str]:
        """Run the due jobs side by side; one failing does not stop the others, then fails all."""
        names = self.due(after, until)
        outcomes = await asyncio.gather(*(self.run(name, trigger) for name in names),
                                        return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, asyncio.CancelledError):
                raise outcome  # the host is stopping: not a job's failure
        failed = [(name, outcome) for name, outcome in zip(names, outcomes, strict=True)
                  if isinstance(outcome, BaseException)]
        for name, error in failed:
            logger.error("job %s failed (%s)", name, trigger, exc_info=error)
        if failed:
            raise JobsFailed(f"job(s) failed: {', '.join(name for name, _ in failed)}") from failed[0][1]
        return names
