"""The timers set telemetry up before they run: as a worker's first invocation, the reconciler
logged azure-core's request dumps at INFO into devhost.log (the HTTP routes quiet them)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

import handlers.timers as timers


@pytest.mark.parametrize("name", ["reconciler", "retention"])
async def test_a_timer_sets_up_telemetry_before_it_runs(monkeypatch: pytest.MonkeyPatch,
                                                        name: str) -> None:
    order: list[str] = []

    async def run(_command: Any) -> None:
        order.append("run")

    job = SimpleNamespace(run=run)
    monkeypatch.setattr(timers, "observe", lambda: order.append("observe"))
    monkeypatch.setattr(timers, "services", lambda: SimpleNamespace(reconciler=job, retention=job))
    function = getattr(timers, name)._function.get_user_function()
    await function(SimpleNamespace(past_due=False))  # what a TimerRequest gives the handler
    assert order == ["observe", "run"]
