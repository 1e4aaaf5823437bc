"""Through the handlers: every action answers the common 202 (hang-up keeps `forEveryone`), and
a client's retry after an ambiguous 503 gets the same operation back."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import cast

import pytest

from callcontrol.adapters.acs_gateway import AcsGateway
from callcontrol.composition import Services, services, use_services
from callcontrol.domain.errors import AcsUnavailable
from callcontrol.domain.models import CallRecord, CallState, OperationStatus
from callcontrol.settings import load_settings
from tests.support.app import http_request, invoke, json_body
from tests.support.memory_tables import MemoryTableBackend
from tests.unit.actions.support import CALL, NOW, FakeAcs

ROUTE = {"callConnectionId": CALL}


@pytest.fixture
def acs() -> Iterator[FakeAcs]:
    fake, backend = FakeAcs(), MemoryTableBackend()
    with use_services(lambda: Services(load_settings({}), backend=backend,
                                       gateway=cast(AcsGateway, fake))):
        yield fake


async def connected_call() -> None:
    await services().call_store.modify(CALL, lambda _: CallRecord(
        CALL, state=CallState.CONNECTED, created_at=NOW, updated_at=NOW))


async def hang_up(headers: dict[str, str] | None = None) -> tuple[int, dict[str, object]]:
    response = await invoke("hang_up", http_request(
        "POST", f"calls/{CALL}/hangup", body={"forEveryone": True}, headers=headers,
        route_params=ROUTE))
    return response.status_code, json_body(response)


async def test_a_hang_up_answers_the_common_shape_and_keeps_for_everyone(acs: FakeAcs) -> None:
    await connected_call()
    status, body = await hang_up()
    assert status == 202, body
    assert set(body) == {"callConnectionId", "operationContext", "status", "forEveryone"}
    assert (body["callConnectionId"], body["status"], body["forEveryone"]) == (CALL, "pending", True)
    assert str(body["operationContext"]).startswith("hangup-")
    assert acs.actions() == ["terminate"]


async def test_a_hang_up_retried_after_a_503_is_the_same_operation_sent_with_the_same_id(
        acs: FakeAcs) -> None:
    await connected_call()
    acs.failures.append(AcsUnavailable("ACS timed out"))
    key = {"Idempotency-Key": "hang-up-once"}
    status, _ = await hang_up(key)
    assert status == 503
    status, body = await hang_up(key)
    assert (status, body["status"]) == (202, "pending")
    [first, second] = acs.sent
    assert first.repeatability_id == second.repeatability_id is not None
    record = await services().call_store.find(CALL)
    assert record is not None
    assert [op.context for op in record.operations] == [body["operationContext"]]


async def test_an_idempotent_replay_reports_the_operations_current_status(acs: FakeAcs) -> None:
    """Issue 25: the replay repeated the first 202's `pending` after the operation succeeded."""
    await connected_call()
    key = {"Idempotency-Key": "hang-up-settled"}
    status, first = await hang_up(key)
    assert (status, first["status"]) == (202, "pending")

    def settle(record: CallRecord | None) -> CallRecord:
        assert record is not None
        return replace(record, operations=tuple(
            replace(op, status=OperationStatus.SUCCEEDED) for op in record.operations))

    await services().call_store.modify(CALL, settle)
    response = await invoke("hang_up", http_request(
        "POST", f"calls/{CALL}/hangup", body={"forEveryone": True}, headers=key, route_params=ROUTE))
    assert response.status_code == 202 and response.headers["Idempotent-Replayed"] == "true"
    assert json_body(response) == {**first, "status": "succeeded"}
    assert acs.actions() == ["terminate"]  # replayed, not sent again

