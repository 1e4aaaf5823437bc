"""Callbacks bound to their call, through `function_app.app` (issue 13, item 1; issue 25): the
per-call secret in the callback URI, token ids used once per deployment, and the bare URI for
calls from before secrets only, over the in-memory store twin."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import azure.functions as func
import pytest

from callcontrol.adapters.store.calls import CallStore
from callcontrol.domain.callback_binding import SECRET_PARAMETER, new_callback_secret
from callcontrol.domain.models import CallRecord, CallState
from tests.conftest import load_event
from tests.support.app import http_request, invoke, json_body
from tests.support.memory_tables import MemoryTableBackend
from tests.support.signing import TestSigner
from tests.support.wiring import AUDIENCE, ISSUER, services_over


@pytest.fixture(scope="module")
def signer() -> TestSigner:
    return TestSigner(ISSUER, AUDIENCE)


@pytest.fixture
def backend() -> MemoryTableBackend:
    return MemoryTableBackend()


@pytest.fixture(autouse=True)
def wired(signer: TestSigner, backend: MemoryTableBackend) -> Iterator[None]:
    with services_over(backend, signer):
        yield


async def stored_before_secrets(backend: MemoryTableBackend) -> str:
    """A call an earlier release stored: its record has no callback secret."""
    call_id = str(uuid.uuid4())
    record = CallRecord(call_id, state=CallState.CONNECTING, created_at=datetime.now(UTC))
    await CallStore(backend).save(record, None)
    return call_id


def event(call_id: str, kind: str = "CallConnected") -> dict[str, Any]:
    template = load_event("call_connected.json")[0]
    return {**template, "id": str(uuid.uuid4()), "type": f"Microsoft.Communication.{kind}",
            "data": {**template["data"], "callConnectionId": call_id}}


async def post(events: list[dict[str, Any]], token: str, secret: str | None) -> func.HttpResponse:
    params = {SECRET_PARAMETER: secret} if secret is not None else None
    return await invoke("callbacks", http_request(
        "POST", "callbacks", raw=json.dumps(events).encode(), params=params,
        headers={"Authorization": f"Bearer {token}"}))


async def state(call_id: str) -> str:
    listed = json_body(await invoke("list_calls", http_request("GET", "calls")))
    return next(c["state"] for c in listed["value"] if c["callConnectionId"] == call_id)


async def test_a_call_with_a_secret_takes_callbacks_only_through_its_own_uri(
    signer: TestSigner
) -> None:
    call_id, secret = str(uuid.uuid4()), new_callback_secret()
    assert (await post([event(call_id)], signer.token(jti="a"), secret)).status_code == 200
    for presented in (None, new_callback_secret(), ""):
        refused = await post([event(call_id, "CallDisconnected")], signer.token(), presented)
        assert refused.status_code == 401, presented
    assert await state(call_id) == "connected"
    accepted = await post([event(call_id, "CallDisconnected")], signer.token(), secret)
    assert accepted.status_code == 200
    assert await state(call_id) == "disconnected"


async def test_a_token_id_is_refused_with_another_body_and_acknowledged_with_its_own(
    signer: TestSigner
) -> None:
    call_id, secret = str(uuid.uuid4()), new_callback_secret()
    token, first = signer.token(jti=str(uuid.uuid4())), [event(call_id)]
    assert (await post(first, token, secret)).status_code == 200
    again = await post(first, token, secret)
    assert again.status_code == 200 and json_body(again)["duplicates"] == 1
    forged = await post([event(call_id, "CallDisconnected")], token, secret)
    assert forged.status_code == 401
    assert forged.mimetype == "application/problem+json"
    assert await state(call_id) == "connected"


async def test_a_secret_uri_speaks_for_one_call_only(signer: TestSigner) -> None:
    mine, other, secret = str(uuid.uuid4()), str(uuid.uuid4()), new_callback_secret()
    refused = await post([event(mine), event(other)], signer.token(), secret)
    assert refused.status_code == 401
    listed = json_body(await invoke("list_calls", http_request("GET", "calls")))
    assert listed["value"] == []


async def test_a_call_without_a_secret_keeps_working_and_a_bare_batch_is_all_or_nothing(
    signer: TestSigner, backend: MemoryTableBackend
) -> None:
    legacy, bound, secret = await stored_before_secrets(backend), str(uuid.uuid4()), \
        new_callback_secret()
    assert (await post([event(legacy)], signer.token(), None)).status_code == 200
    assert (await post([event(bound)], signer.token(), secret)).status_code == 200
    # The bare URI still speaks for the call without a secret...
    assert (await post([event(legacy, "CallDisconnected")], signer.token(), None)).status_code \
        == 200
    # ...but not for the bound one, and a batch naming both applies nothing.
    legacy2 = await stored_before_secrets(backend)
    assert (await post([event(legacy2)], signer.token(), None)).status_code == 200
    mixed = await post([event(legacy2, "CallDisconnected"), event(bound, "CallDisconnected")],
                       signer.token(), None)
    assert mixed.status_code == 401
    assert (await state(legacy2), await state(bound)) == ("connected", "connected")


async def test_a_token_is_used_once_whatever_the_call(signer: TestSigner) -> None:
    # Issue 25: a token from call B, with call A's own URI, forged A's CallDisconnected.
    a, a_secret, b, b_secret = str(uuid.uuid4()), new_callback_secret(), str(uuid.uuid4()), \
        new_callback_secret()
    assert (await post([event(a)], signer.token(jti=str(uuid.uuid4())), a_secret)).status_code \
        == 200
    token = signer.token(jti=str(uuid.uuid4()))
    assert (await post([event(b)], token, b_secret)).status_code == 200

    forged = await post([event(a, "CallDisconnected")], token, a_secret)

    assert forged.status_code == 401
    assert forged.mimetype == "application/problem+json"
    assert await state(a) == "connected"


async def test_one_token_is_not_accepted_on_many_calls(signer: TestSigner) -> None:
    token = signer.token(jti=str(uuid.uuid4()))
    statuses = [(await post([event(str(uuid.uuid4()))], token, new_callback_secret())).status_code
                for _ in range(5)]
    assert statuses == [200, 401, 401, 401, 401]


async def test_the_bare_uri_makes_up_no_call(signer: TestSigner, backend: MemoryTableBackend
                                            ) -> None:
    # Issue 25: the bare URI and any valid token created records for invented call ids.
    for token in (signer.token(jti=str(uuid.uuid4())), signer.token()):
        refused = await post([event(str(uuid.uuid4()))], token, None)
        assert refused.status_code == 401
        assert refused.mimetype == "application/problem+json"
        assert "before per-call secrets" in json_body(refused)["detail"]
    legacy = await stored_before_secrets(backend)
    mixed = await post([event(legacy), event(str(uuid.uuid4()))], signer.token(), None)
    assert mixed.status_code == 401
    listed = json_body(await invoke("list_calls", http_request("GET", "calls")))
    assert [c["callConnectionId"] for c in listed["value"]] == [legacy]
    assert await state(legacy) == "connecting"
