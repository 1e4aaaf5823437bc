"""The console's timeline: which log entries belong to a call, in what order, on which lanes."""

from __future__ import annotations

from typing import Any

from console.timeline import ACS, APP, Logs, build, short_name

CALLER = {"rawId": "4:+14255550100"}
APP_USER = {"rawId": "8:acs:res_00000000-0000-0000-0000-0000000000aa"}
TARGET = {"rawId": "4:+14255550199"}


def call(**extra: Any) -> dict[str, Any]:
    return {
        "serverCallId": "S1",
        "correlationId": "C1",
        "connections": [{"callConnectionId": "K1", "appIdentity": APP_USER}],
        "offers": [
            {
                "eventId": "E1",
                "to": APP_USER,
                "status": "answer",
                "incomingCallContext": "CTX",
                "createdAt": 10.0,
            }
        ],
        **extra,
    }


def journal(
    kind: str, at: float, party: dict[str, str], other: dict[str, str] | None = None, **more: Any
) -> dict:
    return {"time": at, "kind": kind, "serverCallId": "S1", "party": party, "other": other, **more}


def test_a_transferred_call_reads_in_order_across_caller_acs_app_and_target() -> None:
    logs = Logs(
        call(),
        journal=[
            journal("dialed", 10.0, CALLER, APP_USER, customContext={"sipHeaders": {"x-ms-custom-a": "1"}}),
            journal("ringing", 13.0, TARGET, CALLER),
            journal("answered", 14.0, TARGET, CALLER, by="control", result={"code": 200, "subCode": 0}),
            {**journal("dialed", 9.0, CALLER), "serverCallId": "OTHER"},
        ],
        # Recorded once answered (at 12), but it left when the offer was made (10).
        deliveries=[
            {"time": 12.0, "eventId": "E1", "aegEventType": "Notification", "deliveryCount": 0, "status": 202}
        ],
        requests=[
            {"time": 11.0, "operation": "AnswerCall", "status": 200, "body": {"incomingCallContext": "CTX"}},
            {
                "time": 12.5,
                "operation": "CallConnection_TransferToParticipant",
                "status": 202,
                "path": "/calling/callConnections/K1:transferToParticipant",
                "body": {"targetParticipant": TARGET},
            },
            {"time": 12.6, "operation": "CreateCall", "status": 201, "correlationId": "C2", "body": {}},
        ],
        callbacks=[
            {
                "time": 11.5,
                "type": "Microsoft.Communication.CallConnected",
                "callConnectionId": "K1",
                "status": 200,
                "delivered": True,
                "event": {"data": {"serverCallId": "S1"}},
            },
            {
                "time": 15.0,
                "type": "Microsoft.Communication.CallTransferAccepted",
                "callConnectionId": "K1",
                "status": 200,
                "delivered": True,
                "event": {
                    "data": {"serverCallId": "S1", "resultInformation": {"code": 200, "subCode": 7015}}
                },
            },
            {
                "time": 15.5,
                "type": "Microsoft.Communication.CallConnected",
                "callConnectionId": "K9",
                "status": 200,
                "delivered": True,
                "event": {"data": {"serverCallId": "S9"}},
            },
        ],
        app_calls=[
            {
                "callConnectionId": "K1",
                "serverCallId": "S1",
                "inbound": {"ruleId": "r1", "action": "answer", "decidedAt": "1970-01-01T00:00:10.5+00:00"},
            }
        ],
    )
    built = build(logs)
    rows = [(s["from"], s["to"], s["label"]) for s in built["steps"]]
    assert rows == [
        ("4:+14255550100", ACS, "dials user …0000aa"),
        (ACS, APP, "IncomingCall → 202"),
        (APP, APP, "rule r1: answer"),
        (APP, ACS, "AnswerCall → 200"),
        (ACS, APP, "CallConnected → 200"),
        (APP, ACS, "TransferToParticipant → 202"),
        (ACS, "4:+14255550199", "rings"),
        ("4:+14255550199", ACS, "answers"),
        (ACS, APP, "CallTransferAccepted → 200"),
    ]
    assert built["steps"][0]["detail"] == "x-ms-custom-a: 1"
    assert built["steps"][-1]["detail"].startswith("200/7015")
    assert [lane["id"] for lane in built["lanes"]] == ["4:+14255550100", ACS, APP, "4:+14255550199"]


def test_failures_are_marked_and_the_apps_own_legs_are_not_drawn_twice() -> None:
    logs = Logs(
        call(),
        journal=[
            journal("ringing", 1.0, APP_USER, CALLER),  # the app's own number: shown as IncomingCall
            journal("ringing", 2.0, TARGET, APP_USER),
            journal("busy", 3.0, TARGET, APP_USER, by="control", result={"code": 486, "subCode": 560486}),
            journal(
                "noAnswer",
                4.0,
                {"rawId": "4:+1999"},
                None,
                by="timeout",
                result={"code": 487, "subCode": 10004},
            ),
        ],
        callbacks=[
            {
                "time": 5.0,
                "type": "Microsoft.Communication.AddParticipantFailed",
                "callConnectionId": "K1",
                "status": None,
                "error": "ClientConnectorError",
                "delivered": False,
                "event": {"data": {"serverCallId": "S1"}},
            }
        ],
    )
    steps = build(logs)["steps"]
    assert [(s["label"], s["failed"]) for s in steps] == [
        ("rings", False),
        ("busy", True),
        ("no answer (timeout)", True),
        ("AddParticipantFailed → ClientConnectorError", True),
    ]
    assert steps[1]["detail"].startswith("486/560486")
    assert steps[2]["from"] == ACS  # a timeout is the network giving up, not the party acting


def test_short_names() -> None:
    assert short_name("4:+14255550100") == "+14255550100"
    assert short_name("8:acs:res_abc") == "user abc"
    assert short_name("8:acs:res_00000000-0000-0000-0000-0000000000aa") == "user …0000aa"
    assert short_name("28:orgid:x") == "28:orgid:x"
