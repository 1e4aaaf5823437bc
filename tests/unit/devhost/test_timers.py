"""The timer scheduler against a controllable clock: schedule, startup run, past due, failures."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable
from pathlib import Path

import azure.functions as func
import pytest

from devhost.errors import IndexingError, SettingsError
from devhost.indexing import index_app
from devhost.invoker import Invoker
from devhost.timers import ScheduledTimer, TimerScheduler, prepare_timers, time_zone

START = datetime.datetime(2024, 5, 1, 10, 0, 0, 500_000, tzinfo=datetime.UTC)


class FakeClock:
    """Wall time that moves only when the scheduler sleeps or a function says it took a while."""

    def __init__(self, now: datetime.datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime.datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += datetime.timedelta(seconds=seconds)
        await asyncio.sleep(0)


Seen = list[tuple[datetime.datetime, bool, dict[str, object]]]


def _app(schedule: str, seen: Seen, clock: FakeClock, *, run_on_startup: bool = False,
         use_monitor: bool | None = None, takes: float = 0.0, fail_first: bool = False) -> func.FunctionApp:
    app = func.FunctionApp()

    @app.timer_trigger(schedule=schedule, arg_name="timer", run_on_startup=run_on_startup,
                       use_monitor=use_monitor)
    async def tick(timer: func.TimerRequest) -> None:
        seen.append((clock.now, timer.past_due, dict(timer.schedule_status)))
        clock.now += datetime.timedelta(seconds=takes)
        if fail_first and len(seen) == 1:
            raise RuntimeError("first tick fails")

    return app


async def _run_until(scheduler: TimerScheduler, timer: ScheduledTimer, done: Callable[[], bool]) -> None:
    task = asyncio.create_task(scheduler.run(timer))
    try:
        for _ in range(10_000):
            if done():
                return
            await asyncio.sleep(0)
        raise AssertionError("the timer never got there")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _scheduler(app: func.FunctionApp, clock: FakeClock,
               settings: dict[str, str] | None = None) -> tuple[TimerScheduler, ScheduledTimer]:
    [timer] = prepare_timers(index_app(app).timers, settings or {})
    return TimerScheduler([timer], Invoker(1), Path("."), clock=clock, sleep=clock.sleep), timer


async def test_runs_on_each_occurrence_with_past_due_false() -> None:
    clock, seen = FakeClock(), Seen()
    scheduler, timer = _scheduler(_app("*/2 * * * * *", seen, clock), clock)
    await _run_until(scheduler, timer, lambda: len(seen) == 3)
    assert [moment for moment, _, _ in seen] == [
        datetime.datetime(2024, 5, 1, 10, 0, s, tzinfo=datetime.UTC) for s in (2, 4, 6)]
    assert [past_due for _, past_due, _ in seen] == [False] * 3
    assert timer.monitored is False  # a 2-second interval is not monitored by default, as in the host


async def test_schedule_from_an_app_setting_and_run_on_startup() -> None:
    clock, seen = FakeClock(), Seen()
    app = _app("%SWEEP_SCHEDULE%", seen, clock, run_on_startup=True)
    scheduler, timer = _scheduler(app, clock, {"SWEEP_SCHEDULE": "0 */5 * * * *"})
    await _run_until(scheduler, timer, lambda: len(seen) == 2)
    five_past = datetime.datetime(2024, 5, 1, 10, 5, tzinfo=datetime.UTC)
    assert [moment for moment, _, _ in seen] == [START, five_past]
    assert timer.monitored is True  # five minutes: monitored by default


async def test_monitored_timer_status_names_this_and_the_last_occurrence() -> None:
    clock, seen = FakeClock(), Seen()
    scheduler, timer = _scheduler(_app("0 * * * * *", seen, clock), clock)
    await _run_until(scheduler, timer, lambda: len(seen) == 2)
    status = seen[1][2]
    assert status["Next"] == "2024-05-01T10:02:00+00:00"
    assert status["Last"] == "2024-05-01T10:01:00+00:00"


async def test_a_monitored_timer_that_overran_runs_once_past_due() -> None:
    clock, seen = FakeClock(), Seen()
    # Each run takes 2.5 s of a 1-second schedule: the occurrences meanwhile are caught up once.
    app = _app("* * * * * *", seen, clock, use_monitor=True, takes=2.5)
    scheduler, timer = _scheduler(app, clock)
    await _run_until(scheduler, timer, lambda: len(seen) == 4)
    assert [past_due for _, past_due, _ in seen] == [False, True, False, True]


async def test_an_unmonitored_timer_that_overran_skips_the_missed_runs() -> None:
    clock, seen = FakeClock(), Seen()
    app = _app("* * * * * *", seen, clock, use_monitor=False, takes=2.5)
    scheduler, timer = _scheduler(app, clock)
    await _run_until(scheduler, timer, lambda: len(seen) == 3)
    assert [past_due for _, past_due, _ in seen] == [False, False, False]
    assert [moment.second for moment, _, _ in seen] == [1, 4, 7]


async def test_a_failing_invocation_is_logged_and_the_schedule_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, seen = FakeClock(), Seen()
    scheduler, timer = _scheduler(_app("* * * * * *", seen, clock, fail_first=True), clock)
    await _run_until(scheduler, timer, lambda: len(seen) == 3)
    failures = [r for r in caplog.records if r.name == "devhost.timers" and r.exc_info]
    assert len(failures) == 1
    assert "first tick fails" in str(failures[0].exc_info[1] if failures[0].exc_info else "")
    assert "Function tick failed (timer" in failures[0].getMessage()


def test_an_unknown_setting_or_a_bad_schedule_stops_startup() -> None:
    clock, seen = FakeClock(), Seen()
    with pytest.raises(IndexingError, match="names app setting 'MISSING', which is not set"):
        prepare_timers(index_app(_app("%MISSING%", seen, clock)).timers, {})
    with pytest.raises(IndexingError, match="function tick: schedule '0 0 25 \\* \\* \\*'"):
        prepare_timers(index_app(_app("%S%", seen, clock)).timers, {"S": "0 0 25 * * *"})


def test_time_zone_setting() -> None:
    assert time_zone({}) is datetime.UTC
    assert str(time_zone({"WEBSITE_TIME_ZONE": "Europe/Paris"})) == "Europe/Paris"
    with pytest.raises(SettingsError, match="not an IANA time zone"):
        time_zone({"WEBSITE_TIME_ZONE": "W. Europe Standard Time"})
