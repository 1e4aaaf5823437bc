"""A call row holding a flow run, as stored (format 2: format 1 plus `flowRun`, whose own
`format` is 1), reads with today's store and codec and the run goes on from where it was.

The fixture (tests/fixtures/stored_rows/call_flow_run_ringing.json) was captured from the store
on 2026-12-07 (branch flowops; the codec and the run's state as on main 1912207): a sequential
ring whose first target was busy and whose second is ringing. There is no earlier flow-run
format to migrate from; this row is the one later releases must keep reading."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from callcontrol.adapters.store.backend import unpack_json
from callcontrol.adapters.store.calls import CALLS_TABLE
from callcontrol.adapters.store.codec import FORMAT_PROPERTY, decode_call, encode_call, row_format
from callcontrol.domain.flows import RunStatus, Waiting
from tests.unit.flows.test_wiring import SEQUENTIAL
from tests.unit.flows.wiring_support import CONNECTION, flow_rig

ROW = Path(__file__).resolve().parents[2] / "fixtures" / "stored_rows" / "call_flow_run_ringing.json"


def stored() -> Any:
    return json.loads(ROW.read_text(encoding="utf-8"))


def test_the_row_is_format_2_and_reencodes_as_stored() -> None:
    row = stored()
    assert row[FORMAT_PROPERTY] == row_format(row) == 2
    value = unpack_json(row, "Record")
    assert value["flowRun"]["format"] == 1
    assert encode_call(decode_call(value, 2)) == value  # what is written is what was stored


async def test_a_stored_ringing_run_reads_and_goes_on_to_the_answer() -> None:
    rig = await flow_rig(SEQUENTIAL)  # the flow the row's run follows: "desk", rule-set version 1
    await rig.backend.insert(CALLS_TABLE, stored())
    record = await rig.record()
    run = record.flow_run
    assert run is not None and (run.status, run.waiting, run.attempt) == (
        RunStatus.RUNNING, Waiting.RING, 2)
    assert [(p.step, p.attempt, p.outcome) for p in run.path] == [("team", 1, "busy"), ("team", 2, None)]
    [ringing] = [op for op in record.operations if op.status.value == "pending"]
    await rig.callback("AddParticipantSucceeded", operationContext=ringing.context)
    assert rig.acs.actions() == ["hangUp"]  # the app leaves the caller with bob, once
    after = (await rig.record()).flow_run
    assert after is not None and after.outcome is not None and after.outcome.value == "connected"
    assert (await rig.record()).call_connection_id == CONNECTION
