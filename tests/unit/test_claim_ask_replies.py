"""A decided claim keeps its flow's ask replies (before the answer) through the store's codec."""

from __future__ import annotations

import pytest

from callcontrol.adapters.store.codec import decode_claim_outcome, encode_claim_outcome
from callcontrol.domain.claims import ClaimOutcome
from callcontrol.domain.errors import StoreError
from callcontrol.domain.flows.events import (
    AskAnswer,
    AskAnswered,
    AskFailed,
    InlineAnswer,
    InlineRedirect,
    InlineReject,
)
from callcontrol.domain.identifiers import parse_strict_identifier
from callcontrol.domain.models import CallState, InboundAction, InboundDecision, InboundOutcome

DECISION = InboundDecision(rule_id="to-flow", action=InboundAction.ANSWER, outcome=InboundOutcome.ANSWERED)
REPLIES = (
    AskFailed("run-1:crm:1", "timeout"),
    AskAnswered("run-1:crm:2", AskAnswer(next_step="team")),
    AskAnswered("run-1:vip:1", AskAnswer(action=InlineAnswer())),
    AskAnswered("run-1:vip:2", AskAnswer(action=InlineReject("busy"))),
    AskAnswered("run-1:vip:3", AskAnswer(action=InlineRedirect(
        parse_strict_identifier({"phoneNumber": "+14255550199"})))),
)


def test_every_kind_of_reply_survives_the_round_trip_in_order() -> None:
    outcome = ClaimOutcome(DECISION, "conn-1", CallState.CONNECTING, asked=REPLIES)
    stored = encode_claim_outcome(outcome)
    assert [sorted(item) for item in stored["asked"]] == [
        ["context", "failed"], ["context", "next"], ["action", "context"], ["action", "context"],
        ["action", "context"]]
    assert decode_claim_outcome(stored) == outcome


def test_an_outcome_without_asks_is_stored_as_before() -> None:
    stored = encode_claim_outcome(ClaimOutcome(DECISION, "conn-1"))
    assert "asked" not in stored
    assert decode_claim_outcome(stored).asked == ()


@pytest.mark.parametrize("asked", [{"context": "x"}, [{"next": "team"}],
                                   [{"context": "c", "action": {"type": "dance"}}]])
def test_a_damaged_reply_is_a_store_error_not_a_silent_default(asked: object) -> None:
    stored = {**encode_claim_outcome(ClaimOutcome(DECISION, "conn-1")), "asked": asked}
    with pytest.raises(StoreError):
        decode_claim_outcome(stored)
