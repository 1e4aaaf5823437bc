"""Rows written by the code before the entity codec (commit 1747eef) still read, through the stores.

The fixtures in tests/fixtures/stored_rows were captured from that code's stores (call row with
inline history, a call whose history spilled to event rows, an inbound call, claims, idempotency
records, the rule set). Each test puts them back into a table exactly as written and reads them
with today's stores and codec.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from callcontrol.adapters.store.backend import unpack_json
from callcontrol.adapters.store.calls import CALLS_TABLE, CallStore
from callcontrol.adapters.store.claims import CLAIMS_TABLE, ClaimStore
from callcontrol.adapters.store.codec import (
    CALL_FORMAT,
    FORMAT_PROPERTY,
    call_format,
    decode_call,
    encode_call,
    row_format,
)
from callcontrol.adapters.store.idempotency import IDEMPOTENCY_TABLE, IdempotencyStore
from callcontrol.adapters.store.rules import RULES_TABLE, RuleStore
from callcontrol.domain.claims import ClaimStatus
from callcontrol.domain.errors import Conflict, StoreError
from callcontrol.domain.flows import CallFacts, FlowRun
from callcontrol.domain.idempotency import StoredResponse
from callcontrol.domain.identifiers import IdentifierKind, phone
from callcontrol.domain.models import (
    CallState,
    Direction,
    OperationKind,
    OperationStatus,
    StoredEvent,
)
from tests.support.memory_tables import MemoryTableBackend

ROWS = Path(__file__).resolve().parents[1] / "fixtures" / "stored_rows"


def row(name: str) -> Any:
    return json.loads((ROWS / f"{name}.json").read_text(encoding="utf-8"))


async def backend_with(table: str, *entities: dict[str, Any]) -> MemoryTableBackend:
    backend = MemoryTableBackend()
    for entity in entities:
        await backend.insert(table, entity)
    return backend


async def test_a_call_row_with_inline_history_reads_whole() -> None:
    stored = row("call_with_inline_history")
    assert FORMAT_PROPERTY not in stored and row_format(stored) == 1  # written before the codec
    store = CallStore(await backend_with(CALLS_TABLE, stored))
    found = await store.get(stored["PartitionKey"])
    assert found is not None
    record = found.record
    assert (record.state, record.direction, record.event_count) == (
        CallState.CONNECTED, Direction.INBOUND, 3)
    assert record.inbound is not None and record.inbound.outcome == "answered"
    assert record.inbound.rule_set_version == 1
    [operation] = record.operations
    assert (operation.kind, operation.status, operation.invitation_id) == (
        OperationKind.ADD_PARTICIPANT, OperationStatus.FAILED, "inv-1")
    assert operation.result is not None and operation.result.code == 603
    assert operation.target is not None and operation.target.raw_id == "4:+14255550123"
    assert [p.identifier.kind for p in record.participants] == [
        IdentifierKind.COMMUNICATION_USER, IdentifierKind.PHONE_NUMBER]
    assert len(found.history.inline) == 3 and len(found.history.seen) == 3
    history = await store.events(stored["PartitionKey"])
    assert [e.type.rsplit(".", 1)[-1] for e in history] == [
        "CallConnected", "ParticipantsUpdated", "AddParticipantFailed"]


async def test_the_next_write_moves_an_old_row_to_its_own_key_with_its_history() -> None:
    stored = row("call_with_inline_history")
    backend = await backend_with(CALLS_TABLE, stored)
    store = CallStore(backend)
    call_id = stored["PartitionKey"]
    found = await store.get(call_id)
    assert found is not None and found.legacy_key
    event = StoredEvent("moved-1", call_id, "Microsoft.Communication.CallDisconnected",
                        datetime(2030, 1, 1, tzinfo=UTC), {})
    await store.save_with_event(found.record.with_changes(state=CallState.DISCONNECTED), found,
                                event)
    rows = await backend.query(CALLS_TABLE, partition=call_id)
    assert [r["RowKey"] for r in rows] == [f"call|{call_id}"]  # nothing left under "call"
    history = await store.events(call_id)
    assert [e.type.rsplit(".", 1)[-1] for e in history] == [
        "CallConnected", "ParticipantsUpdated", "AddParticipantFailed", "CallDisconnected"]


def test_format_1_is_still_what_is_written() -> None:
    # Re-encoding an old row gives the same value: old and new releases read each other's rows.
    stored = row("call_with_inline_history")
    value = unpack_json(stored, "Record")
    assert encode_call(decode_call(value, row_format(stored))) == value
    assert CALL_FORMAT == 1


def test_an_unknown_future_format_is_refused_not_misread() -> None:
    with pytest.raises(StoreError, match="format 3"):
        decode_call(unpack_json(row("call_with_inline_history"), "Record"), 3)


def test_a_format_1_row_reads_as_format_2_and_a_flow_run_round_trips() -> None:
    """Format 2 is format 1 plus `flowRun`: an older row reads either way; a call with a run is
    written as 2 (a release without flows refuses it rather than drop the run)."""
    value = unpack_json(row("call_with_inline_history"), "Record")
    assert decode_call(value, 2) == decode_call(value, 1)
    run = FlowRun.new("sales", "run-1", "offer-key", CallFacts(caller=phone("+14255550100")),
                      version=3)
    record = replace(decode_call(value, 1), flow_run=run)
    assert call_format(record) == 2 and call_format(decode_call(value, 1)) == CALL_FORMAT
    assert decode_call(encode_call(record), 2) == record


async def test_a_spilled_history_reads_from_its_event_rows_and_the_record() -> None:
    record_row, event_row = row("call_spilled_record"), row("spilled_event_row")
    store = CallStore(await backend_with(CALLS_TABLE, record_row, event_row))
    history = await store.events(record_row["PartitionKey"])
    # The one spilled row kept here plus the 5 events still inline in the record row.
    assert [e.event_id for e in history] == ["spill-000", *(f"spill-{n:03d}" for n in range(90, 95))]
    assert history[0].time is not None and history[0].received_at is not None
    listed = await store.list_calls()
    assert [r.call_connection_id for r in listed] == ["spilled-call"]
    assert listed[0].participants_sequence == 95


async def test_an_inbound_call_row_reads_with_its_decision() -> None:
    stored = row("inbound_redirected_call")
    record = await CallStore(await backend_with(CALLS_TABLE, stored)).find(stored["PartitionKey"])
    assert record is not None and record.inbound is not None
    assert (record.state, record.inbound.action, record.inbound.outcome) == (
        CallState.DISCONNECTED, "redirect", "redirected")
    assert record.inbound.target is not None
    assert record.inbound.target.kind is IdentifierKind.COMMUNICATION_USER


async def test_a_recorded_claim_reads_with_its_outcome() -> None:
    stored = row("claim_recorded")
    claim = await ClaimStore(await backend_with(CLAIMS_TABLE, stored)).get(stored["PartitionKey"])
    assert claim is not None and claim.status is ClaimStatus.RECORDED
    assert claim.outcome is not None
    assert claim.outcome.record_id.startswith("inbound-")
    assert (claim.outcome.decision.rule_id, claim.outcome.decision.outcome) == ("to-agent", "redirected")
    assert claim.outcome.acs_state is None
    assert claim.outcome.asked == ()  # written before a claim kept its asks' replies


async def test_a_redirect_hop_row_still_counts() -> None:
    stored = row("claim_hop")
    store = ClaimStore(await backend_with(CLAIMS_TABLE, stored))
    loop_key = stored["PartitionKey"].removeprefix("hops|")
    now = datetime.fromisoformat(stored["At"])
    assert await store.hops_before(loop_key, "another-offer", now) == 1


async def test_idempotency_records_replay_and_hold() -> None:
    done, in_progress = row("idempotency_done"), row("idempotency_in_progress")
    store = IdempotencyStore(await backend_with(IDEMPOTENCY_TABLE, done, in_progress))
    now = datetime.fromisoformat(done["CreatedAt"])
    replay = await store.begin("key-done", "fp-1", now)
    assert replay == StoredResponse(202, '{"callConnectionId":"x"}',
                                    {"Content-Type": "application/json; charset=utf-8"})
    with pytest.raises(Conflict, match="in progress"):
        await store.begin("key-progress", "fp-2", now)


async def test_the_rule_set_reads_with_its_version_and_etag() -> None:
    [head], [version] = row("rules_head"), row("rules_version")
    store = RuleStore(await backend_with(RULES_TABLE, head, version))
    current = await store.current()
    assert (current.version, current.etag, current.source) == (1, head["Etag"], "api")
    assert [rule.id for rule in current.rules.rules] == ["to-agent"]
    assert current.saved_at == datetime.fromisoformat(version["SavedAt"])
