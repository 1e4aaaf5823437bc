"""The ask step wired: before the answer under the offer's claim, after it through the run's
guarded writes; the real adapter posts to the emulator's receiver, which verifies each request."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from callcontrol.adapters.ask_client import HttpAsks
from callcontrol.adapters.store.claims import ClaimStore
from callcontrol.adapters.store.rules import RuleSetCache
from callcontrol.adapters.telemetry.logs import CallContextFilter
from callcontrol.domain.errors import StoreError
from callcontrol.domain.flows import AskRequest, FlowAction
from callcontrol.observability import invocation_scope
from callcontrol.usecases.flow_start import restarted_flow
from callcontrol.usecases.inbound import InboundCalls, InboundOptions
from tests.support.ask_receiver import SECRET, LocalReceiver, local_receiver
from tests.unit.flows._support import NOW
from tests.unit.flows.wiring_support import (
    ALICE,
    BOB,
    CALLER,
    CONNECTION,
    FlowRig,
    answered_but_not_recorded,
    flow_rig,
)
from tests.unit.inbound.support import CALLEE, incoming

ASKS = HttpAsks(SECRET.encode())
FAILED_BUSY = {"code": 486, "subCode": 560486, "message": "busy"}


def asking_first(receiver: LocalReceiver, timeout: float = 3) -> dict[str, Any]:
    return {"start": "crm", "steps": [
        {"id": "crm", "type": "ask", "url": receiver.url("crm"), "timeoutSeconds": timeout,
         "choices": ["team"], "fallback": "bye"},
        {"id": "team", "type": "ring", "targets": [ALICE], "fallback": "bye"},
        {"id": "bye", "type": "hangup"}]}


def ring_then_ask(receiver: LocalReceiver) -> dict[str, Any]:
    return {"start": "team", "steps": [
        {"id": "team", "type": "ring", "targets": [ALICE], "fallback": "crm"},
        {"id": "crm", "type": "ask", "url": receiver.url("crm"), "choices": ["other"], "fallback": "bye"},
        {"id": "other", "type": "ring", "targets": [BOB], "fallback": "bye"},
        {"id": "bye", "type": "hangup"}]}


async def path(rig: FlowRig) -> list[tuple[str, str | None]]:
    run = (await rig.record()).flow_run
    assert run is not None
    return [(p.step, p.outcome) for p in run.path]


async def test_an_ask_before_the_answer_names_the_ring_and_the_offer_is_answered_for_it() -> None:
    async with local_receiver() as receiver:
        receiver.script("crm", {"answer": {"next": "team"}})
        rig = await flow_rig(asking_first(receiver), ASKS)
        await rig.offer()
        [answer] = rig.sent("answer")
        await rig.callback("CallConnected", "e-connected", operationContext=answer)
        [seen] = receiver.requests("crm")
    assert rig.acs.actions() == ["answer", "add"]
    assert await path(rig) == [("crm", "next:team"), ("team", None)]
    assert seen["verified"] and seen["body"]["answered"] is False and seen["body"]["step"] == "crm"
    assert seen["body"]["call"]["from"]["phoneNumber"] == "+14255550100"


async def test_an_inline_reject_before_the_answer_is_the_offers_action() -> None:
    async with local_receiver() as receiver:
        receiver.script("crm", {"answer": {"action": {"type": "reject", "reason": "busy"}}})
        rig = await flow_rig(asking_first(receiver), ASKS)
        call = await rig.offer()
        found = await rig.inbound.handle(call)  # a redelivery: decided already, nothing sent again
        assert len(receiver.requests("crm")) == 1
    assert rig.acs.actions() == ["reject"]
    assert found.duplicate and found.decision.outcome.value == "rejected"
    record = await rig.store.find(found.record_id)
    run = record.flow_run if record is not None else None
    assert run is not None and run.outcome is not None and run.outcome.value == "rejected"
    assert [(p.step, p.outcome) for p in run.path] == [("crm", "action:InlineReject")]


async def test_an_ask_that_times_out_before_the_answer_takes_its_fallback() -> None:
    async with local_receiver() as receiver:
        receiver.script("crm", {"answer": {"next": "team"}, "delaySeconds": 2})
        rig = await flow_rig(asking_first(receiver, timeout=0.3), ASKS)
        await rig.offer()
    assert rig.acs.actions() == ["reject"]  # the fallback hangs up: before the answer, a reject


async def test_an_ask_after_the_answer_moves_the_run_once_despite_duplicates_and_a_retry() -> None:
    async with local_receiver() as receiver:
        receiver.script("crm", {"answer": {"next": "other"}})
        rig = await flow_rig(ring_then_ask(receiver), ASKS)
        await rig.offer()
        [answer] = rig.sent("answer")
        await rig.callback("CallConnected", "e-connected", operationContext=answer)
        [add] = rig.sent("add")
        for _ in range(2):  # the deciding callback twice: one ask
            await rig.callback("AddParticipantFailed", "e-busy", operationContext=add,
                               resultInformation=FAILED_BUSY)
        assert rig.acs.actions() == ["answer", "add", "add"]
        [seen] = receiver.requests("crm")
        assert seen["verified"] and seen["body"]["answered"] is True
        assert [p["outcome"] for p in seen["body"]["path"]] == ["busy"]
        # The same ask sent again (a retry, another instance): its outcome no longer matches the
        # run's wait, so nothing moves and nothing more is sent.
        run = (await rig.record()).flow_run
        assert run is not None
        retried = AskRequest(f"flow:{run.run_id}:2:crm:1:ask", seen["requestId"],
                             url=receiver.url("crm"), body=seen["body"], timeout_seconds=3)
        await rig.runs.send("conn-flow-1", [retried])
        assert len(receiver.requests("crm")) == 2
    assert rig.acs.actions() == ["answer", "add", "add"]
    assert await path(rig) == [("team", "busy"), ("crm", "next:other"), ("other", None)]


async def test_two_instances_taking_the_same_callback_at_once_ask_once() -> None:
    async with local_receiver() as receiver:
        receiver.script("crm", {"answer": {"next": "other"}, "delaySeconds": 0.2})
        rig = await flow_rig(ring_then_ask(receiver), ASKS)
        await rig.offer()
        [answer] = rig.sent("answer")
        await rig.callback("CallConnected", operationContext=answer)
        [add] = rig.sent("add")
        busy = {"operationContext": add, "resultInformation": FAILED_BUSY}
        await asyncio.gather(rig.callback("AddParticipantFailed", "e-busy", **busy),
                             rig.callback("AddParticipantFailed", "e-busy", **busy))
        assert len(receiver.requests("crm")) == 1
    assert rig.acs.actions() == ["answer", "add", "add"]
    assert await path(rig) == [("team", "busy"), ("crm", "next:other"), ("other", None)]


async def test_a_lost_ask_is_caught_by_the_overdue_tick() -> None:
    async with local_receiver() as receiver:
        receiver.script("crm", {"answer": {"next": "other"}})
        rig = await flow_rig(ring_then_ask(receiver), ASKS)
        await rig.offer()
        [answer] = rig.sent("answer")
        await rig.callback("CallConnected", operationContext=answer)
        [add] = rig.sent("add")
        sending = rig.runs.send

        # The instance dies before making the ask: the ask is never made.
        async def instance_dies(call_connection_id: str, actions: Sequence[FlowAction]) -> None:
            if not any(isinstance(a, AskRequest) for a in actions):
                await sending(call_connection_id, actions)

        rig.runs.send = instance_dies  # type: ignore[method-assign]
        await rig.callback("AddParticipantFailed", operationContext=add, resultInformation=FAILED_BUSY)
        rig.runs.send = sending  # type: ignore[method-assign]
        record = await rig.record()
        assert record.flow_run is not None and record.flow_run.waiting.value == "ask"
        deadline = record.flow_run.deadline
        assert deadline is not None
        assert not await rig.runs.overdue(record)
        rig.runs._clock = lambda: deadline + timedelta(seconds=1)
        assert await rig.runs.overdue(record)
        assert receiver.requests("crm") == []
    assert rig.acs.actions() == ["answer", "add", "terminate"]
    assert await path(rig) == [("team", "busy"), ("crm", "overdue"), ("bye", None)]


async def test_an_offer_whose_decision_could_not_be_marked_is_recorded_without_asking_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with local_receiver() as receiver:
        receiver.script("crm", {"sequence": [{"answer": {"next": "team"}},
                                             {"answer": {"action": {"type": "reject"}}}]})
        rig = await flow_rig(asking_first(receiver), ASKS)
        claims = rig.inbound._claims
        marking = claims.mark
        failures = [StoreError("the claim's write failed")]

        async def fail_once(*args: Any, **kwargs: Any) -> Any:
            if failures:
                raise failures.pop()
            return await marking(*args, **kwargs)

        claims.mark = fail_once  # type: ignore[method-assign]
        call = incoming(caller="+14255550100", callee=CALLEE)
        with pytest.raises(StoreError):
            await rig.inbound.handle(call)  # ACS answered; the note of it failed
        again = await rig.inbound.handle(call)  # Event Grid redelivers: recorded, not asked again
        assert again.duplicate and len(receiver.requests("crm")) == 1
    assert rig.acs.actions() == ["answer"]
    assert await path(rig) == [("crm", "next:team"), ("team", None)]
    record = await rig.record()
    assert record.inbound is not None
    # Another process could not derive this run again without asking: it records none, and says so.
    caplog.set_level(logging.WARNING, logger="callcontrol.usecases.flow_start")
    assert restarted_flow(await rig.rules.current(), call, record.inbound, NOW) is None
    assert "recorded without its run" in caplog.text


async def test_an_offer_decided_but_not_recorded_is_recorded_on_redelivery_without_asking_again() -> None:
    async with local_receiver() as receiver:
        receiver.script("crm", {"sequence": [{"answer": {"next": "team"}},
                                             {"answer": {"action": {"type": "reject"}}}]})
        rig = await flow_rig(asking_first(receiver), ASKS)
        call = await answered_but_not_recorded(rig)
        again = await rig.inbound.handle(call)  # the redelivery: recorded with its run as asked
        assert again.duplicate and len(receiver.requests("crm")) == 1
    assert rig.acs.actions() == ["answer"]
    assert await path(rig) == [("crm", "next:team"), ("team", None)]


async def test_a_redelivery_in_another_process_records_the_run_from_the_claims_ask_replies() -> None:
    """The process that answered after an ask kept the reply in the offer's claim, then died
    before the record: another process (none of the first one's memory) records the run where
    the ask sent it, without asking again, and the ring goes on from there."""
    async with local_receiver() as receiver:
        receiver.script("crm", {"sequence": [{"answer": {"next": "team"}},
                                             {"answer": {"action": {"type": "reject"}}}]})
        rig = await flow_rig(asking_first(receiver), ASKS)
        call = await answered_but_not_recorded(rig)
        other = InboundCalls(rules=RuleSetCache(rig.rules, 5), claims=ClaimStore(rig.backend),
                             calls=rig.store, gateway=lambda: rig.acs, options=InboundOptions(),
                             flows=rig.runs)
        again = await other.handle(call)
        assert again.duplicate and len(receiver.requests("crm")) == 1
        assert await path(rig) == [("crm", "next:team"), ("team", None)]
        [answer] = rig.sent("answer")
        await rig.callback("CallConnected", "e-connected", operationContext=answer)
    assert rig.acs.actions() == ["answer", "add"]


async def test_the_ask_log_records_carry_the_ids_of_the_call_in_hand(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="callcontrol.adapters.ask_client")
    caplog.handler.addFilter(CallContextFilter())  # as the app's logging layer stamps records
    async with local_receiver() as receiver:
        receiver.script("crm", {"sequence": [{"answer": {"next": "team"}},
                                             {"answer": {"next": "team"}}]})
        rig = await flow_rig(ask_before_and_after(receiver), ASKS)
        with invocation_scope():  # the IncomingCall: no call connection yet
            call = await rig.offer()
        [answer] = rig.sent("answer")
        with invocation_scope():
            await rig.callback("CallConnected", operationContext=answer)
        [add] = rig.sent("add")
        with invocation_scope():
            await rig.callback("AddParticipantFailed", operationContext=add, resultInformation=FAILED_BUSY)
        assert len(receiver.requests("crm")) == 2
    before, after = [r for r in caplog.records if r.name == "callcontrol.adapters.ask_client"]
    assert getattr(before, "serverCallId", None) == call.server_call_id
    assert getattr(before, "correlationId", None) == call.correlation_id
    assert getattr(after, "callConnectionId", None) == CONNECTION
    assert CALLER not in before.getMessage() + after.getMessage()


def ask_before_and_after(receiver: LocalReceiver) -> dict[str, Any]:
    """An ask before the answer, then the ring it names, then the same ask after the answer."""
    return {"start": "crm", "steps": [
        {"id": "crm", "type": "ask", "url": receiver.url("crm"), "choices": ["team"], "fallback": "bye"},
        {"id": "team", "type": "ring", "targets": [ALICE], "fallback": "crm2"},
        {"id": "crm2", "type": "ask", "url": receiver.url("crm"), "choices": ["bye"], "fallback": "bye"},
        {"id": "bye", "type": "hangup"}]}
