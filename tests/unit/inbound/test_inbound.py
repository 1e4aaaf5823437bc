"""The inbound use case over the in-memory table twin and a fake ACS: decisions, exactly once,
failures, the loop guard and the records."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from callcontrol.adapters.store.rules import RULES_TABLE
from callcontrol.domain.claims import ClaimStatus, claim_key
from callcontrol.domain.errors import (
    AcsErrorInfo,
    AcsRejected,
    AcsUnavailable,
    InProgress,
    InvalidInput,
    NotFound,
    StoreError,
)
from callcontrol.domain.models import CallState, Direction
from callcontrol.domain.repeatability import for_offer
from callcontrol.usecases.inbound import InboundOptions
from callcontrol.usecases.inbound_decisions import inbound_record_id
from tests.support.memory_tables import MemoryTableBackend
from tests.unit.inbound.support import AGENT, FakeAcs, incoming, rules, world

REJECT_PREMIUM = {"id": "premium", "conditions": {"from": ["+1900*"]},
                  "action": {"type": "reject", "reason": "forbidden"}}
REDIRECT_ALL = {"id": "to-agent", "action": {"type": "redirect", "target": {"communicationUserId": AGENT}}}


@pytest.fixture
def backend() -> MemoryTableBackend:
    return MemoryTableBackend()


async def test_default_rule_set_answers_and_records_the_call(backend: MemoryTableBackend) -> None:
    w = await world(backend)
    call = incoming()
    result = await w.inbound.handle(call)
    assert w.acs.actions() == ["answer"]
    assert w.acs.sent[0].repeatability_id == for_offer(claim_key(call.incoming_call_context or ""),
                                                             "answer")
    record = await w.calls.stored(result.record_id)
    assert result.record_id.startswith("conn-")
    assert (record.state, record.direction) == (CallState.CONNECTING, Direction.INBOUND)
    assert record.server_call_id == "server-from-acs"
    assert record.source == call.from_ and record.targets == (call.to,)
    decision = record.inbound
    assert decision is not None
    assert (decision.rule_id, decision.action, decision.outcome) == (None, "answer", "answered")
    assert decision.latency_ms is not None and decision.latency_ms >= 0
    assert decision.rule_set_version == 0 and decision.decided_at is not None
    listed = await w.calls.list_calls(direction=Direction.INBOUND)
    assert [r.call_connection_id for r in listed] == [result.record_id]


async def test_answer_passes_the_rules_operation_context(backend: MemoryTableBackend) -> None:
    w = await world(backend, rules(default={"type": "answer", "operationContext": "front-desk"}))
    await w.inbound.handle(incoming())
    assert w.acs.sent[0].detail == "front-desk"


@pytest.mark.parametrize("reason", ["busy", "forbidden", "none"])
async def test_reject_is_recorded_under_a_server_call_key(backend: MemoryTableBackend, reason: str) -> None:
    w = await world(backend, rules({**REJECT_PREMIUM, "action": {"type": "reject", "reason": reason}}))
    call = incoming(caller="+19005550100")
    result = await w.inbound.handle(call)
    assert [(s.action, s.detail) for s in w.acs.sent] == [("reject", reason)]
    assert result.record_id == inbound_record_id(call, claim_key(call.incoming_call_context or ""))
    record = await w.calls.stored(result.record_id)
    assert (record.state, record.direction, record.server_call_id) == (
        CallState.DISCONNECTED, Direction.INBOUND, call.server_call_id)
    assert record.inbound is not None
    assert (record.inbound.rule_id, record.inbound.action, record.inbound.outcome,
            record.inbound.reject_reason, record.inbound.rule_set_version) == (
        "premium", "reject", "rejected", reason, 1)
    assert [r.call_connection_id for r in await w.calls.list_calls(direction=Direction.INBOUND)] == [
        result.record_id]


async def test_redirect_is_recorded_with_its_target(backend: MemoryTableBackend) -> None:
    w = await world(backend, rules(REDIRECT_ALL))
    result = await w.inbound.handle(incoming())
    assert w.acs.actions() == ["redirect"] and w.acs.sent[0].detail.raw_id == AGENT
    decision = (await w.calls.stored(result.record_id)).inbound
    assert decision is not None and decision.target is not None
    assert (decision.outcome, decision.target.raw_id, decision.redirect_hops, decision.loop_guard) == (
        "redirected", AGENT, 0, False)


async def test_loop_guard_rejects_after_max_hops_of_the_same_call(backend: MemoryTableBackend) -> None:
    w = await world(backend, rules(REDIRECT_ALL), options=InboundOptions(redirect_max_hops=2))
    hops = [incoming(server_call_id="server-1", correlation_id="corr-1") for _ in range(3)]
    results = [await w.inbound.handle(call) for call in hops]
    assert w.acs.actions() == ["redirect", "redirect", "reject"]
    assert w.acs.sent[2].detail == "busy"
    outcomes = [(r.decision.outcome, r.decision.redirect_hops, r.decision.loop_guard) for r in results]
    assert outcomes == [("redirected", 0, False), ("redirected", 1, False), ("rejected", 2, True)]
    guarded = results[2].decision
    assert guarded.action == "reject" and guarded.rule_id == "to-agent"
    assert guarded.target is not None and "REDIRECT_MAX_HOPS=2" in guarded.detail
    # Another call is counted on its own.
    await w.inbound.handle(incoming(correlation_id="corr-2"))
    assert w.acs.actions()[-1] == "redirect"


async def test_zero_hops_turns_every_redirect_into_a_reject(backend: MemoryTableBackend) -> None:
    options = InboundOptions(redirect_max_hops=0, loop_reject_reason="forbidden")
    w = await world(backend, rules(REDIRECT_ALL), options=options)
    result = await w.inbound.handle(incoming())
    assert [(s.action, s.detail) for s in w.acs.sent] == [("reject", "forbidden")]
    assert result.decision.loop_guard and result.decision.reject_reason == "forbidden"


@pytest.mark.parametrize(("loop_key", "guarded"), [("serverCallId", True), ("correlationId", False)])
async def test_the_loop_key_is_configurable(
    backend: MemoryTableBackend, loop_key: str, guarded: bool
) -> None:
    options = InboundOptions(redirect_max_hops=1, loop_key=loop_key)
    w = await world(backend, rules(REDIRECT_ALL), options=options)
    # Same serverCallId, a new correlationId on each hop.
    for _ in range(2):
        await w.inbound.handle(incoming(server_call_id="server-1"))
    assert w.acs.actions()[-1] == ("reject" if guarded else "redirect")


async def test_a_redelivery_does_nothing(backend: MemoryTableBackend) -> None:
    w = await world(backend)
    call = incoming()
    first = await w.inbound.handle(call)
    again = await w.inbound.handle(call)
    assert w.acs.actions() == ["answer"]
    assert again.duplicate and again.record_id == first.record_id
    assert again.decision == first.decision


async def test_ten_concurrent_deliveries_answer_once(backend: MemoryTableBackend) -> None:
    w = await world(backend, acs=FakeAcs(delay=0.05))
    call = incoming()
    results = await asyncio.gather(*(w.inbound.handle(call) for _ in range(10)))
    assert w.acs.actions() == ["answer"]
    assert sum(not r.duplicate for r in results) == 1
    assert len({r.record_id for r in results}) == 1


async def test_a_transient_failure_releases_the_claim_so_a_redelivery_retries(
    backend: MemoryTableBackend,
) -> None:
    w = await world(backend, acs=FakeAcs(failures=[AcsUnavailable("ACS is unavailable (HTTP 503)")]))
    call = incoming()
    with pytest.raises(AcsUnavailable):
        await w.inbound.handle(call)
    key = claim_key(call.incoming_call_context or "")
    assert await w.claims.get(key) is None
    assert await w.calls.list_calls() == []
    result = await w.inbound.handle(call)
    assert not result.duplicate and w.acs.actions() == ["answer", "answer"]
    assert w.acs.sent[0].repeatability_id == w.acs.sent[1].repeatability_id
    claim = await w.claims.get(key)
    assert claim is not None and claim.status is ClaimStatus.RECORDED


async def test_a_gone_call_is_recorded_missed_and_never_retried(backend: MemoryTableBackend) -> None:
    w = await world(backend, acs=FakeAcs(failures=[NotFound("ACS: Call not found. (answer)")]))
    call = incoming()
    result = await w.inbound.handle(call)
    assert (result.decision.action, result.decision.outcome) == ("answer", "missed")
    assert "Call not found" in result.decision.detail
    record = await w.calls.stored(result.record_id)
    assert record.state is CallState.DISCONNECTED and result.record_id.startswith("inbound-")
    again = await w.inbound.handle(call)
    assert again.duplicate and w.acs.actions() == ["answer"]


async def test_a_refused_action_is_recorded_failed(backend: MemoryTableBackend) -> None:
    refusal = AcsRejected("ACS refused reject: invalid", AcsErrorInfo(status=400, code="8523"))
    w = await world(backend, rules(REJECT_PREMIUM), acs=FakeAcs(failures=[refusal]))
    result = await w.inbound.handle(incoming(caller="+19005550100"))
    assert (result.decision.action, result.decision.outcome) == ("reject", "failed")
    assert (await w.calls.stored(result.record_id)).inbound == result.decision


async def test_a_failed_redirect_does_not_count_as_a_hop(backend: MemoryTableBackend) -> None:
    acs = FakeAcs(failures=[AcsUnavailable("timeout")])
    w = await world(backend, rules(REDIRECT_ALL), acs=acs, options=InboundOptions(redirect_max_hops=1))
    call = incoming(correlation_id="corr-1")
    with pytest.raises(AcsUnavailable):
        await w.inbound.handle(call)
    result = await w.inbound.handle(call)  # the redelivery
    assert result.decision.outcome == "redirected" and result.decision.redirect_hops == 0


class FailingCalls(MemoryTableBackend):
    """Storage that fails the next `failures` writes to the calls table."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    async def insert(self, table: str, entity: dict[str, Any]) -> str:
        if table == "calls" and self.failures:
            self.failures -= 1
            raise StoreError("calls table unavailable")
        return await super().insert(table, entity)


async def test_a_record_lost_after_acting_is_written_by_the_redelivery_without_acting_again() -> None:
    w = await world(FailingCalls(failures=1))
    call = incoming()
    with pytest.raises(StoreError):
        await w.inbound.handle(call)
    claim = await w.claims.get(claim_key(call.incoming_call_context or ""))
    assert claim is not None and claim.status is ClaimStatus.DECIDED
    result = await w.inbound.handle(call)
    assert result.duplicate and w.acs.actions() == ["answer"]
    record = await w.calls.stored(result.record_id)
    assert record.inbound is not None and record.inbound.outcome == "answered"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_an_abandoned_claim_is_taken_over(backend: MemoryTableBackend) -> None:
    clock = Clock()
    w = await world(backend, clock=clock)
    call = incoming()
    key = claim_key(call.incoming_call_context or "")
    # An instance claimed the call 20 s ago and died before acting (lease 15 s).
    await w.claims.acquire(key, owner="dead", now=clock.now - timedelta(seconds=20),
                           lease=timedelta(seconds=15))
    result = await w.inbound.handle(call)
    assert not result.duplicate and w.acs.actions() == ["answer"]


async def test_a_duplicate_waits_for_the_owner_then_gives_up_with_in_progress(
    backend: MemoryTableBackend,
) -> None:
    clock = Clock()
    w = await world(backend, clock=clock, options=InboundOptions(duplicate_wait_seconds=0.2))
    call = incoming()
    await w.claims.acquire(claim_key(call.incoming_call_context or ""), owner="busy", now=clock.now,
                           lease=timedelta(seconds=15))
    with pytest.raises(InProgress):
        await w.inbound.handle(call)
    assert w.acs.sent == []


async def test_a_call_without_context_is_invalid(backend: MemoryTableBackend) -> None:
    from callcontrol.domain.rules import parse_incoming_call

    call = parse_incoming_call({"to": {"rawId": AGENT}}, require_call_context=False)
    w = await world(backend)
    with pytest.raises(InvalidInput, match="incomingCallContext"):
        await w.inbound.handle(call)


class CountingReads(MemoryTableBackend):
    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    async def get(self, table: str, partition: str, row: str, **kwargs: Any
                  ) -> dict[str, Any] | None:
        self.reads.append(table)
        return await super().get(table, partition, row, **kwargs)

    async def query(self, table: str, **kwargs: Any) -> list[dict[str, Any]]:
        self.reads.append(table)
        return await super().query(table, **kwargs)


async def test_the_critical_path_reads_no_rule_table_while_the_cache_is_fresh() -> None:
    backend = CountingReads()
    w = await world(backend, rules(REJECT_PREMIUM))
    await w.inbound.handle(incoming())
    backend.reads.clear()
    for _ in range(5):
        await w.inbound.handle(incoming())
    assert RULES_TABLE not in backend.reads
    assert w.acs.actions() == ["answer"] * 6


async def test_owner_and_duplicate_may_both_finish_a_decided_claim(backend: MemoryTableBackend) -> None:
    """A duplicate that sees `decided` writes the record and marks it recorded; the owner, a
    moment later, finds its mark stale and must still succeed."""
    w = await world(backend)
    call = incoming()
    original_record = w.inbound._record
    duplicate: list[Any] = []
    started: list[bool] = []

    async def record_then_let_a_duplicate_finish(call_: Any, outcome: Any, *rest: Any) -> str:
        record_id = await original_record(call_, outcome, *rest)
        if not started:
            started.append(True)
            duplicate.append(await w.inbound.handle(call))  # sees `decided`, finishes it
        return record_id

    w.inbound._record = record_then_let_a_duplicate_finish  # type: ignore[method-assign]
    result = await w.inbound.handle(call)
    assert not result.duplicate and duplicate[0].duplicate
    assert w.acs.actions() == ["answer"]
    claim = await w.claims.get(claim_key(call.incoming_call_context or ""))
    assert claim is not None and claim.status is ClaimStatus.RECORDED
