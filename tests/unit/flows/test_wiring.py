"""The flow wired: offer → answer → callbacks move the run in their writes → each request once."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest

from callcontrol.adapters.store.claims import ClaimStore
from callcontrol.adapters.store.rules import RuleSetCache
from callcontrol.domain.errors import AcsErrorInfo, AcsRejected
from callcontrol.domain.rules import parse_rule_set
from callcontrol.usecases.flow_catalog import FlowCatalog
from callcontrol.usecases.flow_start import restarted_flow
from callcontrol.usecases.inbound import InboundCalls, InboundOptions
from tests.unit.flows._support import NOW
from tests.unit.flows.wiring_support import ALICE, BOB, CALLER, answered_but_not_recorded, flow_rig

SEQUENTIAL: dict[str, Any] = {"start": "team", "steps": [
    {"id": "team", "type": "ring", "mode": "sequential", "timeoutSeconds": 10,
     "targets": [ALICE, BOB], "fallback": "bye"},
    {"id": "bye", "type": "hangup"}]}


async def test_sequential_ring_busy_then_answered_leaves_the_call_once_despite_duplicates() -> None:
    rig = await flow_rig(SEQUENTIAL)
    await rig.offer()
    [answer] = rig.sent("answer")
    assert answer is not None and answer.startswith("flow:")
    for _ in range(2):  # every callback twice, same id
        await rig.callback("CallConnected", "e-connected", operationContext=answer)
    [first] = rig.sent("add")
    for _ in range(2):
        await rig.callback("AddParticipantFailed", "e-busy", operationContext=first,
                           resultInformation={"code": 486, "subCode": 560486, "message": "busy"})
    [_, second] = rig.sent("add")
    for _ in range(2):
        await rig.callback("AddParticipantSucceeded", "e-answered", operationContext=second)
    assert rig.acs.actions() == ["answer", "add", "add", "hangUp"]  # the app left, once
    run = (await rig.record()).flow_run
    assert run is not None and run.outcome is not None and run.outcome.value == "connected"
    assert [(p.step, p.attempt, p.outcome) for p in run.path] == [
        ("team", 1, "busy"), ("team", 2, "answered")]
    ops = {op.context for op in (await rig.record()).operations}
    assert {first, second} <= ops  # the flow's requests are the call's operations


async def test_connected_before_the_inbound_record_is_applied_when_the_run_arrives() -> None:
    rig = await flow_rig(SEQUENTIAL)

    async def connect_first() -> None:  # CallConnected overtakes the answer's response
        rig.acs.during = None
        await rig.callback("CallConnected", "e-early", operationContext="flow:early")

    rig.acs.during = connect_first
    await rig.offer()
    assert rig.acs.actions() == ["answer", "add"]


async def test_a_caller_who_hangs_up_mid_ring_cancels_the_invitation() -> None:
    rig = await flow_rig(SEQUENTIAL)
    await rig.offer()
    [answer] = rig.sent("answer")
    await rig.callback("CallConnected", operationContext=answer)
    [add] = rig.sent("add")
    await rig.callback("ParticipantsUpdated", sequenceNumber=2, participants=[])
    assert rig.acs.actions() == ["answer", "add", "cancel", "terminate"]
    record = await rig.record()
    assert record.flow_run is not None and record.flow_run.outcome is not None
    assert record.flow_run.outcome.value == "callerLeft" and add is not None
    assert CALLER  # the caller is the one missing from the roster


async def test_a_lost_callback_is_caught_by_the_overdue_tick_and_the_hunt_moves_on() -> None:
    rig = await flow_rig(SEQUENTIAL)
    await rig.offer()
    [answer] = rig.sent("answer")
    await rig.callback("CallConnected", operationContext=answer)
    record = await rig.record()
    assert record.flow_run is not None and record.flow_run.deadline is not None
    assert not await rig.runs.overdue(record)  # not due yet: nothing moves
    rig.runs._clock = lambda: record.flow_run.deadline + timedelta(seconds=1)  # type: ignore[union-attr]
    assert await rig.runs.overdue(record)  # the first invitation's outcome never came
    assert rig.acs.actions() == ["answer", "add", "cancel", "add"]
    run = (await rig.record()).flow_run
    assert run is not None and [(p.attempt, p.outcome) for p in run.path] == [(1, "overdue"), (2, None)]


async def test_a_callback_racing_the_inbound_write_still_moves_the_run() -> None:
    """The callback read the record before the inbound write gave it a run, and wrote after."""
    rig = await flow_rig(SEQUENTIAL)
    finding = rig.runs.flow_for_callback

    async def read_too_early(event: Any) -> Any:
        await rig.offer()  # the inbound write lands between the callback's read and its write
        return None

    rig.runs.flow_for_callback = read_too_early  # type: ignore[method-assign]
    await rig.callback("CallConnected", operationContext="flow:raced")
    rig.runs.flow_for_callback = finding  # type: ignore[method-assign]
    assert rig.acs.actions() == ["answer", "add"]


async def test_a_redelivery_that_records_for_the_owner_derives_the_same_run() -> None:
    rig = await flow_rig(SEQUENTIAL)
    call = await rig.offer()
    record = await rig.record()
    assert record.flow_run is not None and record.inbound is not None
    again = restarted_flow(await rig.rules.current(), call, record.inbound, NOW)
    assert again is not None and again.run.run_id == record.flow_run.run_id
    assert again.run.step == record.flow_run.step and again.run.waiting is record.flow_run.waiting


async def test_an_add_acs_refuses_for_good_fails_the_attempt_at_once() -> None:
    rig = await flow_rig(SEQUENTIAL)
    await rig.offer()
    [answer] = rig.sent("answer")
    rig.acs.failures.append(AcsRejected("403 from ACS", AcsErrorInfo(403, "Forbidden")))
    await rig.callback("CallConnected", operationContext=answer)
    assert rig.acs.actions() == ["answer", "add", "add"]  # the next target, without waiting
    run = (await rig.record()).flow_run
    assert run is not None and [(p.attempt, p.outcome) for p in run.path] == [(1, "failed"), (2, None)]


async def test_a_redelivery_after_the_rules_changed_records_the_run_of_the_version_it_was_answered_for(
) -> None:
    """The owner answered under version 1 and died before the record; version 2 (another flow)
    is in force when Event Grid redelivers: the call keeps the run it was answered for (it was
    recorded without one while the rules read were those in force)."""
    rig = await flow_rig(SEQUENTIAL)
    call = await answered_but_not_recorded(rig)
    answered_under = await rig.rules.current()
    await rig.rules.replace(parse_rule_set({"rules": [], "defaultAction": {"type": "reject"}}),
                            [answered_under.etag])
    other = InboundCalls(rules=RuleSetCache(rig.rules, 0), claims=ClaimStore(rig.backend),
                         calls=rig.store, gateway=lambda: rig.acs, options=InboundOptions(),
                         flows=rig.runs)
    again = await other.handle(call)
    assert again.duplicate
    run = (await rig.record()).flow_run
    assert run is not None and run.version == answered_under.version and run.flow == "desk"
    [answer] = rig.sent("answer")
    await rig.callback("CallConnected", "e-connected", operationContext=answer)
    assert rig.acs.actions() == ["answer", "add"]  # the hunt of version 1 goes on


async def test_a_run_whose_version_was_pruned_has_no_flow_rather_than_an_error() -> None:
    rig = await flow_rig(SEQUENTIAL)
    await rig.offer()
    run = (await rig.record()).flow_run
    assert run is not None and run.version is not None
    for n in range(3):  # newer versions, then the run's own pruned by retention
        current = await rig.rules.current()
        await rig.rules.replace(parse_rule_set({"rules": [], "defaultAction": {
            "type": "reject", "reason": ["none", "busy", "forbidden"][n]}}), [current.etag])
    assert await rig.rules.prune(keep=1, limit=10) >= 1
    catalog = FlowCatalog(rig.rules)
    assert await catalog.flow_for(run) is None  # was NotFound, raised through the callback
    assert await catalog.ruleset(run.version) is None


async def test_an_overdue_run_whose_version_was_pruned_says_so_and_sends_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rig = await flow_rig(SEQUENTIAL)
    await rig.offer()
    [answer] = rig.sent("answer")
    await rig.callback("CallConnected", operationContext=answer)
    for n in range(2):
        current = await rig.rules.current()
        await rig.rules.replace(parse_rule_set({"rules": [], "defaultAction": {
            "type": "reject", "reason": ["busy", "forbidden"][n]}}), [current.etag])
    assert await rig.rules.prune(keep=1, limit=10) >= 1
    record = await rig.record()
    assert record.flow_run is not None and record.flow_run.deadline is not None
    rig.runs._catalog = FlowCatalog(rig.rules)  # a fresh instance: nothing cached
    rig.runs._clock = lambda: record.flow_run.deadline + timedelta(seconds=1)  # type: ignore[union-attr]
    caplog.set_level(logging.WARNING, logger="callcontrol.usecases.flow_runs")
    assert not await rig.runs.overdue(record)
    assert rig.acs.actions() == ["answer", "add"]
    assert "is gone" in caplog.text
