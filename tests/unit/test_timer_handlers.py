"""The timer sets telemetry up before it runs its jobs: as a worker's first invocation, the
reconciler logged azure-core's request dumps at INFO into devhost.log (the HTTP routes quiet
them)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

import handlers.timers as timers


async def test_the_timer_sets_up_telemetry_before_it_runs_its_jobs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []

    async def run_due(*_args: Any) -> list[str]:
        order.append("run")
        return []

    monkeypatch.setattr(timers, "observe", lambda: order.append("observe"))
    monkeypatch.setattr(timers, "services", lambda: SimpleNamespace(jobs=SimpleNamespace(run_due=run_due)))
    function = timers.timers._function.get_user_function()
    # What a TimerRequest gives the handler (no schedule status: a first run).
    await function(SimpleNamespace(past_due=False, schedule_status=None))
    assert order == ["observe", "run"]
