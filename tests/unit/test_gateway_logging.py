"""What the ACS gateway logs: a call ACS no longer knows is an answer to GetCall, not a failure
(every GET of an ended call printed "ACS get call failed" in `make run`'s terminal)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError

from callcontrol.adapters.acs_gateway import AcsGateway
from callcontrol.domain.errors import NotFound


class _Gone:
    async def get_call_properties(self) -> Any:
        error = ResourceNotFoundError("Call not found")
        error.status_code = 404
        raise error

    async def hang_up(self, _everyone: bool, **_: Any) -> None:
        await self.get_call_properties()


class _Client:
    def get_call_connection(self, _call_connection_id: str) -> _Gone:
        return _Gone()


def _gateway() -> AcsGateway:
    return AcsGateway(_Client(), callback_url="http://127.0.0.1/api/callbacks")  # type: ignore[arg-type]


async def test_get_call_of_a_call_acs_no_longer_knows_logs_no_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="callcontrol")
    with pytest.raises(NotFound):
        await _gateway().get_call_properties("ended-call")
    assert not [r for r in caplog.records if r.levelno >= logging.INFO and "failed" in r.getMessage()]


async def test_other_actions_on_a_gone_call_still_log_their_failure(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="callcontrol")
    with pytest.raises(NotFound):
        await _gateway().hang_up("ended-call", for_everyone=False)
    assert any("ACS hang up failed" in r.getMessage() for r in caplog.records)
