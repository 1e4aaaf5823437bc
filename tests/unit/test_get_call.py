"""GET /api/calls/{id} in the use case: the store read and ACS's read run concurrently, and
which failure wins when only one of them knows the call."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from callcontrol.domain.errors import AcsUnavailable, NotFound, StoreError
from callcontrol.domain.models import AcsCall, CallRecord, CallState
from callcontrol.usecases.calls import Calls, GetCall
from callcontrol.usecases.ports import CallAutomation, CallRecords

CALL = "call-1"


class Reads:
    """A store and an ACS whose reads log when they start and end, yielding in between."""

    def __init__(self, stored: CallRecord | Exception | None, live: AcsCall | Exception) -> None:
        self.stored, self.live = stored, live
        self.log: list[str] = []

    async def _read(self, name: str, result: Any) -> Any:
        self.log.append(f"{name} started")
        for _ in range(3):  # a request in flight: the loop runs others meanwhile
            await asyncio.sleep(0)
        self.log.append(f"{name} ended")
        if isinstance(result, Exception):
            raise result
        return result

    async def find(self, call_connection_id: str) -> CallRecord | None:
        return cast(CallRecord | None, await self._read("store", self.stored))

    async def get_call_properties(self, call_connection_id: str) -> AcsCall:
        return cast(AcsCall, await self._read("acs", self.live))

    def calls(self) -> Calls:
        return Calls(cast(CallRecords, self), lambda: cast(CallAutomation, self),
                     default_caller_id=lambda: None)


def live(state: CallState = CallState.CONNECTED) -> AcsCall:
    return AcsCall(CALL, "server-1", "correlation-1", state, (), None, None, None)


def stored(state: CallState) -> CallRecord:
    return CallRecord(CALL, state=state, server_call_id="server-0")


async def get(reads: Reads) -> Any:
    return await reads.calls().get_call(GetCall(CALL))


async def test_both_reads_are_in_flight_at_once() -> None:
    reads = Reads(stored(CallState.CONNECTING), live())
    await get(reads)
    assert reads.log[:2] == ["store started", "acs started"]


async def test_acs_state_wins_while_acs_has_the_call() -> None:
    view = await get(Reads(stored(CallState.CONNECTING), live(CallState.CONNECTED)))
    assert view.live is not None
    assert view.record.state is CallState.CONNECTED
    assert view.record.server_call_id == "server-0"  # the stored id is kept
    assert view.record.correlation_id == "correlation-1"  # ACS fills what the store lacks


async def test_a_call_acs_alone_knows_is_shown_from_acs() -> None:
    view = await get(Reads(None, live()))
    assert view.record.call_connection_id == CALL and view.record.state is CallState.CONNECTED


async def test_an_ended_call_ignores_acs() -> None:
    view = await get(Reads(stored(CallState.DISCONNECTED), live(CallState.CONNECTED)))
    assert view.live is None and view.record.state is CallState.DISCONNECTED


async def test_unknown_to_both_is_not_found() -> None:
    with pytest.raises(NotFound):
        await get(Reads(None, NotFound("no such call at ACS")))


async def test_a_stored_call_acs_no_longer_has_is_shown_stored() -> None:
    view = await get(Reads(stored(CallState.CONNECTED), NotFound("gone")))
    assert view.live is None and view.record.state is CallState.CONNECTED


@pytest.mark.parametrize("record", [None, stored(CallState.CONNECTED)])
async def test_acs_unavailable_fails_a_call_that_may_be_live(record: CallRecord | None) -> None:
    with pytest.raises(AcsUnavailable):
        await get(Reads(record, AcsUnavailable("ACS is unavailable")))


async def test_acs_unavailable_does_not_fail_an_ended_call() -> None:
    view = await get(Reads(stored(CallState.DISCONNECTED), AcsUnavailable("ACS is unavailable")))
    assert view.live is None and view.record.state is CallState.DISCONNECTED


@pytest.mark.parametrize("acs", [live(), NotFound("gone"), AcsUnavailable("down")])
async def test_a_store_failure_fails_the_read_whatever_acs_said(acs: AcsCall | Exception) -> None:
    reads = Reads(StoreError("table unavailable"), acs)
    with pytest.raises(StoreError):
        await get(reads)
    assert "acs ended" in reads.log  # ACS's read was not left running
