"""The tolerant identifier reader, inbound records surviving storage, and the inbound settings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from callcontrol.adapters.store.codec import decode_call, decode_decision, encode_call
from callcontrol.composition import inbound_options_from_settings
from callcontrol.domain.errors import InvalidInput, SettingError
from callcontrol.domain.identifiers import Identifier, IdentifierKind, from_raw_id, parse_lenient_identifier
from callcontrol.domain.models import (
    CallRecord,
    CallState,
    Direction,
    InboundAction,
    InboundDecision,
    InboundOutcome,
)
from callcontrol.settings import load_settings


@pytest.mark.parametrize(
    ("payload", "kind", "raw_id"),
    [
        ({"rawId": "4:+14255550100"}, IdentifierKind.PHONE_NUMBER, "4:+14255550100"),
        ({"phoneNumber": {"value": "+14255550100"}}, IdentifierKind.PHONE_NUMBER, "4:+14255550100"),
        ({"kind": "phoneNumber", "phoneNumber": {"value": "anonymous", "isAnonymous": True}},
         IdentifierKind.PHONE_NUMBER, "4:anonymous"),
        ({"kind": "communicationUser", "rawId": "{caller-id}", "communicationUser": {"id": "{caller-id}"}},
         IdentifierKind.COMMUNICATION_USER, "{caller-id}"),
        ({"kind": "teamsExtensionUser", "rawId": "8:acs:r_t_u"}, IdentifierKind.TEAMS_EXTENSION_USER,
         "8:acs:r_t_u"),
        ({"kind": "somethingNew", "rawId": "8:orgid:x"}, IdentifierKind.MICROSOFT_TEAMS_USER, "8:orgid:x"),
        ({"communicationUserId": "8:acs:r_u"}, IdentifierKind.COMMUNICATION_USER, "8:acs:r_u"),
    ],
)
def test_read_identifier_accepts_what_acs_sends(payload: dict[str, object], kind: IdentifierKind,
                                                raw_id: str) -> None:
    assert parse_lenient_identifier(payload) == Identifier(kind, raw_id)


@pytest.mark.parametrize("payload", ["4:+1425", {}, {"kind": "phoneNumber"}, {"rawId": 5},
                                     {"phoneNumber": 5}])
def test_read_identifier_refuses_what_is_not_an_identifier(payload: object) -> None:
    with pytest.raises(InvalidInput):
        parse_lenient_identifier(payload, "data.from")


@pytest.mark.parametrize("raw_id", ["4:anonymous", "{caller-id}", "8:acs:r_u", "4:+14255550100_asserted"])
def test_inbound_records_with_any_caller_survive_storage(raw_id: str) -> None:
    caller = parse_lenient_identifier({"kind": "communicationUser", "rawId": raw_id} if "{" in raw_id
                             else {"rawId": raw_id})
    decision = InboundDecision(
        rule_id="r", action=InboundAction.REJECT, outcome=InboundOutcome.REJECTED, reject_reason="busy",
        target=from_raw_id("8:acs:r_agent"), redirect_hops=2, loop_guard=True,
        decided_at=datetime(2026, 1, 5, 10, tzinfo=UTC), rule_set_version=4, latency_ms=3.5,
    )
    record = CallRecord("inbound-x", state=CallState.DISCONNECTED, direction=Direction.INBOUND,
                        source=caller, targets=(from_raw_id("8:acs:r_me"),), inbound=decision)
    assert decode_call(encode_call(record)) == record


def test_records_written_before_the_decision_fields_existed_still_read() -> None:
    old = {"ruleId": None, "action": "answer", "outcome": "answered", "detail": "", "latencyMs": 1.0}
    decision = decode_decision(old)
    assert (decision.loop_guard, decision.target, decision.rule_set_version) == (False, None, None)


def test_inbound_options_come_from_settings() -> None:
    options = inbound_options_from_settings(load_settings({
        "REDIRECT_MAX_HOPS": "5", "REDIRECT_LOOP_KEY": "serverCallId",
        "REDIRECT_LOOP_REJECT_REASON": "forbidden", "ACS_REQUEST_TIMEOUT_SECONDS": "4"}))
    assert (options.redirect_max_hops, options.loop_key, options.loop_reject_reason) == (
        5, "serverCallId", "forbidden")
    # The lease covers the ACS timeout, three storage deadlines (5 s each) plus 5 s, and the 10 s
    # a flow's asks before the answer may take: a live owner's own stuck write fails inside it
    # (issue 13). A duplicate waits at most 25 s.
    assert options.claim_lease.total_seconds() == 4 + 15 + 5 + 10
    assert options.duplicate_wait_seconds == 25
    defaults = inbound_options_from_settings(load_settings({}))
    assert (defaults.redirect_max_hops, defaults.loop_key, defaults.loop_reject_reason) == (
        3, "correlationId", "busy")


@pytest.mark.parametrize(
    ("name", "value"),
    [("REDIRECT_LOOP_KEY", "callId"), ("REDIRECT_LOOP_REJECT_REASON", "declined"),
     ("REDIRECT_MAX_HOPS", "-1"), ("REDIRECT_MAX_HOPS", "many"), ("RULES_CACHE_SECONDS", "soon")],
)
def test_a_bad_inbound_setting_is_named(name: str, value: str) -> None:
    settings = load_settings({name: value})

    def read_all() -> None:
        inbound_options_from_settings(settings)
        settings.rules_cache_seconds  # noqa: B018

    with pytest.raises(SettingError, match=name):
        read_all()
