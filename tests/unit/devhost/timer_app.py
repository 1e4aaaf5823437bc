"""A FunctionApp for the devhost timer and admin tests: timers on schedules, one from an app setting,
one that fails, one that only runs when invoked, an Event Grid function and an HTTP function."""

from __future__ import annotations

import threading
import time

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

# (function name, past_due, monotonic time) per invocation, in order.
runs: list[tuple[str, bool, float]] = []
events: dict[str, object] = {}
_lock = threading.Lock()


def _record(name: str, timer: func.TimerRequest) -> None:
    with _lock:
        runs.append((name, timer.past_due, time.monotonic()))


def runs_of(name: str) -> list[tuple[str, bool, float]]:
    with _lock:
        return [run for run in runs if run[0] == name]


@app.timer_trigger(schedule="* * * * * *", arg_name="timer")  # every second
def every_second(timer: func.TimerRequest) -> None:
    _record("every_second", timer)


@app.timer_trigger(schedule="%TIMER_APP_SCHEDULE%", arg_name="timer", use_monitor=False)
async def from_setting(timer: func.TimerRequest) -> None:
    _record("from_setting", timer)


@app.timer_trigger(schedule="*/2 * * * * *", arg_name="timer")
def always_fails(timer: func.TimerRequest) -> None:
    _record("always_fails", timer)
    raise RuntimeError("timer asked to fail")


@app.timer_trigger(schedule="0 0 0 1 1 *", arg_name="timer")  # once a year: runs when invoked
def yearly(timer: func.TimerRequest, context: func.Context) -> None:
    _record("yearly", timer)


@app.event_grid_trigger(arg_name="event")
def on_event(event: func.EventGridEvent) -> None:
    with _lock:
        events[event.id] = event.get_json()


@app.route(route="ping", methods=["GET"])
def ping(req: func.HttpRequest) -> str:
    return "pong"
