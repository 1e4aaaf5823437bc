"""parse_incoming_call on the recorded and documented payloads, and on malformed ones."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from callcontrol.domain.errors import InvalidInput
from callcontrol.domain.identifiers import Identifier, IdentifierKind, parse_lenient_identifier
from callcontrol.domain.rules import decide, parse_incoming_call, parse_rule_set
from tests.unit.rules._support import load_shared_json

RECORDED = "events/callbacks/recorded-2023-09"
EVENTGRID = "events/eventgrid"


@pytest.mark.needs_shared
def test_recorded_pstn_call_reads_live_phone_number_objects() -> None:
    call = parse_incoming_call(load_shared_json(f"{RECORDED}/IncomingCall.data.pstn.json"))
    assert call.to.kind == "phoneNumber"
    assert call.to.is_phone and call.to.value == "+18662315126"
    assert call.from_ is not None
    assert (call.from_.kind, call.from_.raw_id) == ("phoneNumber", "4:+18447649276")
    assert call.from_.value == "+18447649276"
    assert call.caller_kind == "phoneNumber"
    assert not call.caller_withheld
    assert call.correlation_id == "1b90ad4c-24b0-48d2-b33f-400a32c9c356"
    assert call.server_call_id and call.incoming_call_context
    assert call.caller_display_name == ""
    assert call.event_id is None  # only `data` was given


@pytest.mark.needs_shared
def test_recorded_acs_user_call() -> None:
    call = parse_incoming_call(load_shared_json(f"{RECORDED}/IncomingCall.data.acs-user.json"))
    assert call.to.kind == "communicationUser"
    assert call.to.to_json()["communicationUserId"] == call.to.raw_id
    assert call.caller_kind == "communicationUser"
    assert dict(call.sip_headers) == {}


@pytest.mark.needs_shared
@pytest.mark.parametrize(
    "sample", ["incoming_call.eventgrid-schema.json", "incoming_call.cloudevents-schema.json"]
)
def test_whole_events_in_either_schema(sample: str) -> None:
    event = load_shared_json(f"{EVENTGRID}/{sample}")
    call = parse_incoming_call(event)
    assert call.event_id == event["id"]
    assert call.caller_display_name == "VOIP Caller"
    assert call.voip_header("CUSTOMHEADER") == "customValue"
    assert call.sip_header("userToUser") == "616d617a6f6e5f6368696;encoding=hex"
    assert parse_incoming_call(event["data"]) == _without_event_id(call)


@pytest.mark.needs_shared
def test_on_behalf_of_callee_is_read() -> None:
    call = parse_incoming_call(load_shared_json(f"{EVENTGRID}/incoming_call.eventgrid-schema.json"))
    assert call.on_behalf_of_callee is not None
    assert call.on_behalf_of_callee.kind == "communicationUser"


@pytest.mark.needs_shared
def test_docs_delivery_array_with_one_event() -> None:
    delivery = load_shared_json(f"{EVENTGRID}/incoming_call.delivery-array.docs-example.json")
    call = parse_incoming_call(delivery)
    assert call.event_id == delivery[0]["id"]
    assert call.caller_kind == "communicationUser"
    assert call.from_ is not None and call.from_.raw_id.startswith("8:acs:")


@pytest.mark.needs_shared
def test_a_documented_event_is_decided_by_its_sip_header() -> None:
    call = parse_incoming_call(load_shared_json(f"{EVENTGRID}/incoming_call.eventgrid-schema.json"))
    rules = parse_rule_set(
        {
            "rules": [
                {
                    "id": "vip",
                    "conditions": {
                        "sipHeaders": [{"name": "x-ms-custom-myheader1", "equals": "35567842"}],
                        "callerKinds": ["communicationUser"],
                    },
                    "action": {"type": "reject", "reason": "busy"},
                }
            ],
            "defaultAction": {"type": "answer"},
        }
    )
    decision = decide(call, rules, datetime(2026, 1, 5, tzinfo=UTC))
    assert decision.rule_id == "vip"
    # explanations follow the engine's fixed condition order, not the order written
    assert decision.matched == (
        "caller kind communicationUser is in callerKinds",
        "SIP header x-ms-custom-myheader1 equals '35567842'",
    )


def _without_event_id(call: Any) -> Any:
    from dataclasses import replace

    return replace(call, event_id=None)


def _pstn_data() -> dict[str, Any]:
    return {
        "to": {
            "kind": "phoneNumber",
            "rawId": "4:+14255550100",
            "phoneNumber": {"value": "+14255550100"},
        },
        "from": {"rawId": "4:+12065550123"},
        "serverCallId": "c2VydmVy",
        "incomingCallContext": "opaque-context",
        "customContext": {"sipHeaders": {"X-MS-Custom-Tier": "gold"}, "voipHeaders": {}},
        "correlationId": "corr-1",
    }


@pytest.mark.parametrize(
    ("payload", "field", "reason"),
    [
        ("not json object", "(body)", "IncomingCall event"),
        ([], "(body)", "exactly one"),
        ([_pstn_data(), _pstn_data()], "(body)", "exactly one"),
        (
            {"eventType": "Microsoft.Communication.CallConnected", "data": _pstn_data()},
            "eventType",
            "IncomingCall",
        ),
        (
            {"type": "Microsoft.Communication.CallEnded", "data": _pstn_data()},
            "type",
            "IncomingCall",
        ),
        (
            {"id": 7, "eventType": "Microsoft.Communication.IncomingCall", "data": _pstn_data()},
            "id",
            "string",
        ),
        (
            {"eventType": "Microsoft.Communication.IncomingCall", "data": None},
            "data",
            "JSON object",
        ),
        ({"from": {"rawId": "4:+1"}, "incomingCallContext": "c"}, "to", "required"),
    ],
)
def test_malformed_envelopes_are_refused(payload: object, field: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_incoming_call(payload)
    problems = caught.value.problems
    assert [p.field for p in problems] == [field], problems
    assert reason.lower() in problems[0].reason.lower()


@pytest.mark.parametrize(
    ("member", "value", "field", "reason"),
    [
        ("to", "4:+14255550100", "data.to", "object"),
        ("to", {"kind": "phoneNumber"}, "data.to", "rawId"),
        ("to", {"rawId": 42}, "data.to", "string"),
        ("from", {"phoneNumber": 14255550100}, "data.from", "phoneNumber"),
        ("serverCallId", 12, "data.serverCallId", "string"),
        (
            "customContext",
            {"sipHeaders": {"X-MS-Custom-A": 1}},
            "data.customContext.sipHeaders.X-MS-Custom-A",
            "string",
        ),
        ("customContext", {"voipHeaders": ["a"]}, "data.customContext.voipHeaders", "JSON object"),
        ("incomingCallContext", None, "data.incomingCallContext", "required to act"),
        ("incomingCallContext", "", "data.incomingCallContext", "required to act"),
    ],
)
def test_malformed_data_is_refused_with_its_field(
    member: str, value: object, field: str, reason: str
) -> None:
    data = _pstn_data()
    data[member] = value
    event = {"id": "e1", "eventType": "Microsoft.Communication.IncomingCall", "data": data}
    with pytest.raises(InvalidInput) as caught:
        parse_incoming_call(event)
    problems = caught.value.problems
    assert [p.field for p in problems] == [field], problems
    assert reason.lower() in problems[0].reason.lower()


def test_dry_run_may_omit_the_call_context() -> None:
    data = _pstn_data()
    del data["incomingCallContext"]
    call = parse_incoming_call(data, require_call_context=False)
    assert call.incoming_call_context is None
    with pytest.raises(InvalidInput):
        parse_incoming_call(data)


def test_unknown_fields_from_newer_acs_versions_are_ignored() -> None:
    data = _pstn_data()
    data["version"] = "2024-09-15"
    data["publicEventType"] = "Microsoft.Communication.IncomingCall"
    assert parse_incoming_call(data).to.value == "+14255550100"


def test_repr_keeps_numbers_context_and_header_values_out() -> None:
    data = _pstn_data()
    data["incomingCallContext"] = "eyJhbGciOiJub25lIn0.secret-context."
    text = repr(parse_incoming_call(data))
    for secret in ("4255550100", "2065550123", "secret-context", "gold", "c2VydmVy"):
        assert secret not in text
    assert "X-MS-Custom-Tier" in text and "phoneNumber:…0100" in text


@pytest.mark.parametrize(
    ("member", "expected"),
    [
        ({"rawId": "4:+14255550100"}, ("phoneNumber", "4:+14255550100", "+14255550100")),
        (
            {"phoneNumber": {"value": "+14255550100"}},
            ("phoneNumber", "4:+14255550100", "+14255550100"),
        ),
        ({"phoneNumber": "+14255550100"}, ("phoneNumber", "4:+14255550100", "+14255550100")),
        (
            {
                "kind": "phoneNumber",
                "rawId": "4:anonymous",
                "phoneNumber": {"value": "anonymous", "isAnonymous": True},
            },
            ("phoneNumber", "4:anonymous", "anonymous"),
        ),
        ({"communicationUser": {"id": "8:acs:r_u"}}, ("communicationUser", "8:acs:r_u", None)),
        (
            {
                "kind": "communicationUser",
                "rawId": "{caller-id}",
                "communicationUser": {"id": "{caller-id}"},
            },
            ("communicationUser", "{caller-id}", None),
        ),
        ({"kind": "somethingNew", "rawId": "8:orgid:x"}, ("microsoftTeamsUser", "8:orgid:x", None)),
    ],
)
def test_acs_identifier_forms(
    member: dict[str, Any], expected: tuple[str, str, str | None]
) -> None:
    identifier = parse_lenient_identifier(copy.deepcopy(member))
    phone = identifier.value if identifier.is_phone else None
    assert (identifier.kind, identifier.raw_id, phone) == expected


def test_identifier_repr_redacts_phone_numbers() -> None:
    identifier = Identifier(IdentifierKind.PHONE_NUMBER, "4:+14255550123")
    assert "4255550123" not in repr(identifier)
    assert "4255550123" not in str(identifier)
