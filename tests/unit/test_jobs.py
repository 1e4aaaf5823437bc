"""One timer for every job: NCRONTAB schedules read by the app, which jobs a tick runs, a failing
job not stopping the others, the tick's window from the host's schedule status, and the
`POST /api/jobs/{job}` route that runs one by hand."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest
from azure.functions.timer import TimerRequest

from callcontrol.domain.errors import NotFound, SettingError
from callcontrol.domain.schedule import parse_schedule
from callcontrol.usecases.jobs import Jobs, JobsFailed
from handlers.timers import tick_window
from tests.support.app import http_request, invoke, json_body
from tests.support.memory_tables import MemoryTableBackend
from tests.support.signing import TestSigner
from tests.support.wiring import AUDIENCE, ISSUER, services_over

UTC = datetime.UTC
DEFAULTS = {"reconciler": "0 */5 * * * *", "retention": "0 17 3 * * *", "outbox": "0 */1 * * * *"}


def at(hour: int, minute: int, second: int = 0, day: int = 7) -> datetime.datetime:
    return datetime.datetime(2026, 12, day, hour, minute, second, tzinfo=UTC)


def jobs(ran: list[str] | None = None, failing: str | None = None) -> Jobs:
    schedules = {name: parse_schedule(name, text) for name, text in DEFAULTS.items()}

    def runner(name: str) -> Any:
        async def run(trigger: str) -> dict[str, Any]:
            if ran is not None:
                ran.append(name)
            if name == failing:
                raise RuntimeError(f"{name} broke")
            return {"trigger": trigger}
        return run

    return Jobs(lambda: schedules, {name: runner(name) for name in DEFAULTS})


def test_a_schedule_occurs_in_a_half_open_window() -> None:
    every_five = parse_schedule("S", "0 */5 * * * *")
    assert every_five.occurs_between(at(4, 59), at(5, 0))
    assert not every_five.occurs_between(at(5, 0), at(5, 1))  # the start is excluded
    assert not every_five.occurs_between(at(5, 1), at(5, 4, 59))
    nightly = parse_schedule("S", "0 17 3 * * *")
    assert nightly.occurs_between(at(3, 16), at(3, 17))
    assert nightly.occurs_between(at(3, 0, day=6), at(4, 0, day=7))  # a day back covers it
    mondays = parse_schedule("S", "30 0 9 * * 1")  # 7 December 2026 is a Monday
    assert mondays.occurs_between(at(9, 0), at(9, 1))
    assert not mondays.occurs_between(at(9, 0, day=8), at(9, 1, day=8))
    assert parse_schedule("S", "0 0 8-10/2,23 * * *").hours == frozenset({8, 10, 23})


@pytest.mark.parametrize(("text", "fault"), [("0 */5 * * *", "6 fields"),
                                             ("0 0 25 * * *", "hour field '25'"),
                                             ("0 */0 * * * *", "minute field"),
                                             ("0 5-1 * * * *", "minute field"),
                                             ("x * * * * *", "second field")])
def test_a_bad_schedule_names_its_setting_and_field(text: str, fault: str) -> None:
    with pytest.raises(SettingError, match=f"RECONCILE_SCHEDULE .*{fault}"):
        parse_schedule("RECONCILE_SCHEDULE", text)


def test_a_tick_runs_the_jobs_whose_schedule_came_due() -> None:
    assert jobs().due(at(4, 58), at(4, 59)) == ["outbox"]
    assert jobs().due(at(4, 59), at(5, 0)) == ["outbox", "reconciler"]
    assert jobs().due(at(3, 16), at(3, 17)) == ["outbox", "retention"]
    # A past-due tick after an outage covers what was missed, once per job, a day back at most.
    assert jobs().due(at(3, 0), at(3, 30)) == ["outbox", "reconciler", "retention"]
    assert jobs().due(datetime.datetime(1, 1, 1, tzinfo=UTC), at(5, 1)) == [
        "outbox", "reconciler", "retention"]


async def test_a_failing_job_fails_the_tick_after_the_others_ran() -> None:
    ran: list[str] = []
    with pytest.raises(JobsFailed, match="reconciler") as failed:
        await jobs(ran, failing="reconciler").run_due(at(4, 59), at(5, 0), "schedule")
    assert sorted(ran) == ["outbox", "reconciler"]
    assert isinstance(failed.value.__cause__, RuntimeError)
    assert await jobs().run_due(at(4, 58), at(4, 59), "schedule") == ["outbox"]


async def test_a_job_runs_by_name_and_an_unknown_one_is_not_found() -> None:
    assert await jobs().run("retention", "manual") == {"trigger": "manual"}
    with pytest.raises(NotFound, match="reconciler, retention"):
        await jobs().run("vacuum", "manual")


def test_the_tick_window_follows_the_hosts_schedule_status() -> None:
    now = at(5, 0, 2)
    scheduled = TimerRequest(schedule_status={"Last": "2026-12-07T04:59:00+00:00",
                                              "Next": "2026-12-07T05:00:00+00:00"})
    assert tick_window(scheduled, now) == (at(4, 59), at(5, 0))
    past_due = TimerRequest(past_due=True, schedule_status={"Last": "2026-12-07T04:40:00Z",
                                                            "Next": "2026-12-07T04:41:00Z"})
    assert tick_window(past_due, now) == (at(4, 40), at(4, 41))
    never = TimerRequest(schedule_status={"Last": "0001-01-01T00:00:00",
                                          "Next": "2026-12-07T05:00:00+00:00"})
    assert tick_window(never, now) == (at(4, 59), at(5, 0))
    assert tick_window(TimerRequest(), now) == (at(4, 59), at(5, 0))  # no status: the minute
    early = at(4, 59, 59)  # the worker's clock a moment behind the host's: the tick still counts
    assert tick_window(scheduled, early) == (at(4, 59), at(5, 0))


@pytest.fixture
def app_services() -> Iterator[None]:
    with services_over(MemoryTableBackend(), TestSigner(ISSUER, AUDIENCE)):
        yield


@pytest.mark.usefixtures("app_services")
async def test_the_route_runs_one_job_and_answers_its_counts() -> None:
    reply = await invoke("run_job", http_request("POST", "jobs/reconciler",
                                                 route_params={"job": "reconciler"}))
    assert reply.status_code == 200, reply.get_body()
    body = json_body(reply)
    assert body["job"] == "reconciler"
    assert body["counts"]["examined"] == 0 and body["counts"]["completedPass"] is True
    reply = await invoke("run_job", http_request("POST", "jobs/outbox", route_params={"job": "outbox"}))
    assert json_body(reply) == {"job": "outbox", "counts": None}  # no topic: nothing to sweep
    reply = await invoke("run_job", http_request("POST", "jobs/vacuum", route_params={"job": "vacuum"}))
    assert reply.status_code == 404
    assert "vacuum" in json_body(reply)["detail"]


@pytest.mark.usefixtures("app_services")
async def test_the_timer_function_runs_the_due_jobs() -> None:
    # 05:00 on the tick: the outbox (no topic: nothing) and the reconciler over an empty store.
    status = {"Last": "2026-12-07T04:59:00+00:00", "Next": "2026-12-07T05:00:00+00:00"}
    assert await invoke("timers", TimerRequest(schedule_status=status)) is None


@pytest.mark.usefixtures("app_services")
async def test_the_reconciler_job_reports_readiness_as_a_gauge_per_check() -> None:
    from callcontrol.adapters.telemetry.metrics import READINESS
    from tests.support.telemetry import recording

    with recording() as recorded:
        reply = await invoke("run_job", http_request("POST", "jobs/reconciler",
                                                     route_params={"job": "reconciler"}))
        assert json_body(reply)["counts"]["ready"] is False  # no settings: ACS unknown
        points = {p.attributes["check"]: p.value for p in recorded.metric_points(READINESS)}
    assert set(points) == {"settings", "tableStorage", "acs", "callbackKeys"}
    assert points["acs"] == 0 and points["tableStorage"] == 1  # the table twin answers
