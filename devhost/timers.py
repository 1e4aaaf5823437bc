"""Timer triggers: run each timer function on its NCRONTAB schedule, as the host's timer listener does.

* The schedule may be (or contain) `%AppSetting%`, resolved from the app settings when the host
  starts; an unknown setting or a bad schedule stops startup with the function named.
* Times are UTC unless WEBSITE_TIME_ZONE names an IANA zone (as on Linux plans).
* `run_on_startup` runs the function once when the host starts.
* One timer never overlaps itself: the next occurrence is computed when an invocation ends.
* `use_monitor` (default: on when the schedule's interval is at least a minute, as in the host):
  when occurrences were missed (an invocation overran, the machine slept), the timer runs once at
  once with `past_due` true, then resumes its schedule. The status lives in memory only (the host
  keeps it in storage, so it also catches up after a restart). Unmonitored timers skip missed runs.
* The function gets a `func.TimerRequest` built by the library's own converter from the JSON the
  host sends: `{"Schedule": {"AdjustForDST": true}, "ScheduleStatus": {...} | null, "IsPastDue": b}`.
* A failing invocation is logged with its traceback; the timer keeps its schedule.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import re
import zoneinfo
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import azure.functions as func
from azure.functions import meta
from azure.functions.timer import TimerRequestConverter

from devhost.context import InvocationContext
from devhost.errors import IndexingError, SettingsError
from devhost.indexing import TimerFunction
from devhost.invoker import Invoker
from devhost.ncrontab import CronSchedule, parse_schedule

logger = logging.getLogger(__name__)

TIME_ZONE_SETTING: Final = "WEBSITE_TIME_ZONE"
_SETTING_TOKEN: Final = re.compile(r"%([^%]+)%")
_MONITOR_THRESHOLD: Final = datetime.timedelta(minutes=1)

Clock = Callable[[], datetime.datetime]
Sleep = Callable[[float], Awaitable[None]]


@dataclass
class ScheduledTimer:
    function: TimerFunction
    schedule: CronSchedule
    monitored: bool
    last: datetime.datetime | None = None  # the last occurrence that ran (monitor status)


def resolve_schedule(function: TimerFunction, settings: Mapping[str, str]) -> str:
    """Replace each `%Name%` in the schedule with that app setting, like the host's name resolver."""

    def setting(match: re.Match[str]) -> str:
        value = settings.get(match.group(1))
        if not value:
            raise IndexingError(
                f"function {function.name}: the schedule {function.schedule!r} names app setting "
                f"{match.group(1)!r}, which is not set"
            )
        return value

    return _SETTING_TOKEN.sub(setting, function.schedule)


def time_zone(settings: Mapping[str, str]) -> datetime.tzinfo:
    name = settings.get(TIME_ZONE_SETTING, "")
    if not name:
        return datetime.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"{TIME_ZONE_SETTING}={name!r} is not an IANA time zone name") from None


def prepare_timers(functions: Sequence[TimerFunction], settings: Mapping[str, str]) -> list[ScheduledTimer]:
    """Resolve and parse every schedule now, so a bad one stops startup instead of a later tick."""
    timers = []
    for function in functions:
        text = resolve_schedule(function, settings)
        try:
            schedule = parse_schedule(text)
        except IndexingError as exc:
            raise IndexingError(f"function {function.name}: {exc}") from exc
        monitored = function.use_monitor if function.use_monitor is not None else _interval(schedule) >= (
            _MONITOR_THRESHOLD
        )
        timers.append(ScheduledTimer(function, schedule, monitored))
    return timers


def _interval(schedule: CronSchedule) -> datetime.timedelta:
    first = schedule.next_after(datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC))
    return schedule.next_after(first) - first


class TimerScheduler:
    def __init__(
        self,
        timers: Sequence[ScheduledTimer],
        invoker: Invoker,
        function_directory: Path,
        zone: datetime.tzinfo = datetime.UTC,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.timers = list(timers)
        self._invoker = invoker
        self._function_directory = function_directory
        self._clock = clock or (lambda: datetime.datetime.now(zone))
        self._sleep = sleep
        self._tasks: list[asyncio.Task[None]] = []

    def timer(self, name: str) -> ScheduledTimer | None:
        wanted = name.lower()
        return next((t for t in self.timers if t.function.name.lower() == wanted), None)

    async def start(self) -> None:
        for timer in self.timers:
            self._tasks.append(asyncio.create_task(self.run(timer), name=f"timer {timer.function.name}"))
            logger.info(
                "Timer %s: schedule %r, next run %s", timer.function.name, timer.schedule.text,
                timer.schedule.next_after(self._clock()).isoformat(),
            )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def run(self, timer: ScheduledTimer) -> None:
        """The timer's life: an optional startup run, then its occurrences, until cancelled."""
        if timer.function.run_on_startup:
            await self.invoke(timer, past_due=False)
        due = timer.schedule.next_after(self._clock())
        while True:
            await self._sleep_until(due)
            await self.invoke(timer, past_due=False, occurrence=due)
            following = timer.schedule.next_after(due)
            now = self._clock()
            if following <= now:
                if timer.monitored:
                    logger.warning("Timer %s missed its run at %s; running it now as past due",
                                   timer.function.name, following.isoformat())
                    await self.invoke(timer, past_due=True, occurrence=following)
                else:
                    logger.info("Timer %s skipped its run at %s (an invocation overran)",
                                timer.function.name, following.isoformat())
                following = timer.schedule.next_after(self._clock())
            due = following

    async def invoke(
        self, timer: ScheduledTimer, past_due: bool, occurrence: datetime.datetime | None = None
    ) -> bool:
        """Run the timer's function once; True if it succeeded. Failures are logged, never raised."""
        function = timer.function
        now = self._clock()
        request = self._timer_request(timer, past_due, occurrence or now, now)
        context = InvocationContext(function.name, self._function_directory)
        logger.info("Executing %s (timer%s, invocation %s)", function.name, ", past due" if past_due else "",
                    context.invocation_id)
        try:
            result = await self._invoker.invoke(function, request, context)
            if result is not None:
                raise TypeError(f"function {function.name} has no $return binding but returned "
                                f"{type(result).__name__}")
        except Exception:
            logger.exception(
                "Function %s failed (timer, invocation %s)", function.name, context.invocation_id
            )
            return False
        finally:
            timer.last = occurrence or now
        logger.info("Executed %s (timer, invocation %s)", function.name, context.invocation_id)
        return True

    def _timer_request(
        self, timer: ScheduledTimer, past_due: bool, occurrence: datetime.datetime, now: datetime.datetime
    ) -> func.TimerRequest:
        status: dict[str, Any] | None = None
        if timer.monitored:
            # As the host fills it: Next is the occurrence being run, Last the one before it.
            status = {
                "Last": (timer.last or datetime.datetime.min.replace(tzinfo=datetime.UTC)).isoformat(),
                "Next": occurrence.isoformat(),
                "LastUpdated": now.isoformat(),
            }
        document = {"Schedule": {"AdjustForDST": True}, "ScheduleStatus": status, "IsPastDue": past_due}
        decoded = TimerRequestConverter.decode(meta.Datum(type="json", value=json.dumps(document)),
                                               trigger_metadata={})
        assert isinstance(decoded, func.TimerRequest)
        return decoded

    async def _sleep_until(self, due: datetime.datetime) -> None:
        # Sleep in slices: the loop's monotonic clock and the wall clock may drift apart.
        while (remaining := (due - self._clock()).total_seconds()) > 0:
            await self._sleep(min(remaining, 60.0))
