"""Callback parsing: our fixtures, the live recordings in ../shared, and bad bodies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from callcontrol.domain.errors import InvalidInput
from callcontrol.domain.events.callbacks import EventKind
from callcontrol.domain.identifiers import IdentifierKind
from handlers.wire.callback_body import parse_callback_body
from tests.conftest import load_event


def body(name: str) -> bytes:
    return json.dumps(load_event(name)).encode()


def test_participants_updated_is_typed() -> None:
    [event] = parse_callback_body(body("participants_updated.json"))
    assert event.kind is EventKind.PARTICIPANTS_UPDATED
    assert event.sequence_number == 1
    assert event.participants is not None
    kinds = [p.identifier.kind for p in event.participants]
    assert kinds == [IdentifierKind.COMMUNICATION_USER, IdentifierKind.PHONE_NUMBER]


def test_result_information_and_operation_context_are_read() -> None:
    [event] = parse_callback_body(body("add_participant_failed.json"))
    assert event.kind is EventKind.ADD_PARTICIPANT_FAILED
    assert event.operation_context == "add-1"
    assert event.result is not None and (event.result.code, event.result.sub_code) == (603, 0)
    assert event.participant is not None and event.participant.raw_id == "4:+14255550177"


def test_unknown_types_are_kept_not_refused() -> None:
    [event] = parse_callback_body(body("unknown_event.json"))
    assert event.kind is EventKind.UNKNOWN
    assert event.type == "Microsoft.Communication.HoldFailed"


@pytest.mark.parametrize(
    "name",
    ["CallConnected.json", "CallDisconnected.json", "ParticipantsUpdated.json",
     "ParticipantsUpdated.pstn.json", "PlayCompleted.json"],
)
def test_live_recordings_parse(contract_dir: Path, name: str) -> None:
    raw = json.loads((contract_dir / "events/callbacks/recorded-2023-09" / name).read_text())
    items = raw if isinstance(raw, list) else [raw]
    events = parse_callback_body(json.dumps(items).encode())
    assert all(e.call_connection_id for e in events)
    assert events[0].type.removeprefix("Microsoft.Communication.") == name.split(".")[0]


def test_transfer_accepted_capture_parses(contract_dir: Path) -> None:
    raw = json.loads((contract_dir / "events/callbacks/other-captures/CallTransferAccepted.json")
                     .read_text())
    items = raw if isinstance(raw, list) else [raw]
    [event] = parse_callback_body(json.dumps(items).encode())
    assert event.kind is EventKind.CALL_TRANSFER_ACCEPTED
    assert event.transfer_target is not None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b"{not json", "body"),
        (b"[" * 30000, "body"),
        (b'{"id": "x"}', "body"),
        (b"[]", "body"),
        (b'[{"type": "Microsoft.Communication.CallConnected", "data": {}}]', "[0].id"),
        (b'[{"id": "e", "type": "t", "data": {}}]', "[0].data.callConnectionId"),
        (b'[{"id": "e", "type": "t", "data": "x"}]', "[0].data"),
        (b'[{"id": "e", "type": "Microsoft.Communication.ParticipantsUpdated",'
         b' "data": {"callConnectionId": "c", "participants": 3}}]', "[0].data.participants"),
        (b'[{"id": "e", "type": "t", "time": "yesterday", "data": {"callConnectionId": "c"}}]',
         "[0].time"),
        # Issue 25: a list or object kind was a 500 (unhashable in the identifier reader).
        (b'[{"id": "e", "type": "t", "data": {"callConnectionId": "c",'
         b' "participant": {"kind": ["phoneNumber"], "rawId": "4:+14255550123"}}}]',
         "[0].data.participant.kind"),
        (b'[{"id": "e", "type": "t", "data": {"callConnectionId": "c",'
         b' "transferTarget": {"kind": {"a": 1}, "rawId": "4:+14255550123"}}}]',
         "[0].data.transferTarget.kind"),
    ],
)
def test_bad_bodies_name_the_field(payload: bytes, field: str) -> None:
    with pytest.raises(InvalidInput) as failure:
        parse_callback_body(payload)
    assert failure.value.problems[0].field == field


def test_withheld_and_teams_participants_in_a_roster_are_read() -> None:
    payload = [{
        "id": "e1", "type": "Microsoft.Communication.ParticipantsUpdated",
        "data": {"callConnectionId": "c", "sequenceNumber": 2, "participants": [
            {"identifier": {"kind": "phoneNumber", "rawId": "4:anonymous",
                            "phoneNumber": {"value": "anonymous", "isAnonymous": True}}},
            {"identifier": {"kind": "microsoftTeamsUser", "rawId": "8:orgid:abc",
                            "microsoftTeamsUser": {"userId": "abc", "cloud": "public"}}},
        ]},
    }]
    [event] = parse_callback_body(json.dumps(payload).encode())
    assert event.participants is not None
    assert [p.identifier.raw_id for p in event.participants] == ["4:anonymous", "8:orgid:abc"]
