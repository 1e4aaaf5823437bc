"""The run's stored shape: a lossless JSON round trip, versioned, refusing what it cannot read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from callcontrol.domain.errors import InvalidInput
from callcontrol.domain.flows import (
    CallFacts,
    FlowOutcome,
    FlowRun,
    RingFailure,
    RunStatus,
    Waiting,
    run_id_for,
)
from callcontrol.domain.flows.actions import FlowContext, parse_context, same_invitation
from callcontrol.domain.flows.state import Invitation, InvitationStatus, PathEntry
from callcontrol.domain.identifiers import Identifier, IdentifierKind, phone

texts = st.text(min_size=1, max_size=20)
ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,10}", fullmatch=True)
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                     timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7))]))
identifiers = st.one_of(
    st.from_regex(r"\+1[2-9][0-9]{9}", fullmatch=True).map(phone),
    ids.map(lambda v: Identifier(IdentifierKind.COMMUNICATION_USER, f"8:acs:{v}")),
)
facts = st.builds(
    CallFacts, server_call_id=st.none() | texts, correlation_id=st.none() | texts,
    caller=st.none() | identifiers, callee=st.none() | identifiers,
    headers=st.lists(st.tuples(texts, st.text(max_size=20)), max_size=3).map(tuple),
)
runs = st.builds(
    FlowRun,
    flow=ids, run_id=ids, call_key=texts, version=st.none() | st.integers(0, 10**9), facts=facts,
    status=st.sampled_from(RunStatus), answered=st.booleans(), step=st.none() | ids,
    visit=st.integers(0, 100), attempt=st.integers(0, 10), waiting=st.sampled_from(Waiting),
    pending=st.lists(st.builds(Invitation, texts, st.integers(0, 9), st.sampled_from(InvitationStatus)),
                     max_size=4).map(tuple),
    winner=st.none() | texts, last_failure=st.none() | st.sampled_from(RingFailure),
    removed=st.lists(texts, max_size=3).map(tuple),
    path=st.lists(st.builds(PathEntry, ids, st.integers(1, 100), st.integers(1, 10), st.none() | texts),
                  max_size=5).map(tuple),
    steps_taken=st.integers(0, 100), started_at=st.none() | times, deadline=st.none() | times,
    outcome=st.none() | st.sampled_from(FlowOutcome),
)


@given(runs)
def test_any_run_survives_its_json_round_trip(run: FlowRun) -> None:
    stored = json.loads(json.dumps(run.to_json()))  # what a table column would hold
    assert FlowRun.from_json(stored) == run


def test_the_stored_shape_carries_its_format() -> None:
    stored = FlowRun.new("sales", "run-1", "call-1", CallFacts(caller=phone("+12065550123"))).to_json()
    assert stored["format"] == 1
    assert stored["facts"]["caller"]["rawId"] == "4:+12065550123"


@pytest.mark.parametrize(
    ("change", "field"),
    [({"format": 2}, "flowRun.format"), ({"format": None}, "flowRun.format"),
     ({"status": "paused"}, "flowRun"), ({"pending": [["c", 0]]}, "flowRun"), ({"visit": "x"}, "flowRun")],
)
def test_a_run_it_cannot_read_is_refused(change: dict[str, Any], field: str) -> None:
    stored = {**FlowRun.new("sales", "run-1", "call-1", CallFacts()).to_json(), **change}
    with pytest.raises(InvalidInput) as caught:
        FlowRun.from_json(stored)
    assert caught.value.problems[0].field == field


def test_missing_members_are_refused() -> None:
    stored = FlowRun.new("sales", "run-1", "call-1", CallFacts()).to_json()
    del stored["path"]
    with pytest.raises(InvalidInput):
        FlowRun.from_json(stored)
    with pytest.raises(InvalidInput):
        FlowRun.from_json([])


@given(ids, st.integers(0, 99999), ids, st.integers(0, 99999), st.sampled_from(["add", "ask", "end"]),
       st.none() | st.integers(0, 9))
def test_contexts_read_back_as_rendered(run: str, visit: int, step: str, attempt: int, verb: str,
                                        target: int | None) -> None:
    context = FlowContext(run, visit, step, attempt, verb, target)
    assert parse_context(context.render()) == context
    assert len(context.render()) <= 512  # ACS's (and the API's) operationContext cap


@pytest.mark.parametrize("text", [None, "", "vip", "flow:a:1:b:1", "flow:a:x:b:1:add", "flow:a:1:b:1:add:0:9",
                                  "other:a:1:b:1:add", "flow:a:\u0661:b:1:add"])
def test_other_contexts_are_not_a_flow_s(text: str | None) -> None:
    assert parse_context(text) is None


def test_a_cancel_or_remove_context_leads_back_to_its_add() -> None:
    assert same_invitation("flow:r:3:ring:2:cancel:1") == "flow:r:3:ring:2:add:1"
    assert same_invitation("flow:r:3:ring:2:remove:1") == "flow:r:3:ring:2:add:1"
    assert same_invitation("flow:r:3:ask:1:ask") is None


def test_a_run_id_is_derived_stably_and_fits_a_context() -> None:
    first = run_id_for("offer-key", "sales")
    assert first == run_id_for("offer-key", "sales") != run_id_for("offer-key", "support")
    assert FlowRun.new("sales", first, "call-1", CallFacts()).run_id == first


@pytest.mark.parametrize("run_id", ["", "a:b", "a b", "x" * 65])
def test_a_run_id_that_cannot_travel_in_a_context_is_refused(run_id: str) -> None:
    with pytest.raises(ValueError, match="run id"):
        FlowRun.new("sales", run_id, "call-1", CallFacts())
