"""Several AddParticipant invitations on one call (issue 21): each rings with its own timeout and
script, a cancel leaves the others ringing, and two callees can answer in the same instant.
Driven by the official sync client; every callback is checked against the swagger."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from azure.communication.callautomation import CommunicationUserIdentifier, PhoneNumberIdentifier
from azure.communication.callautomation.aio import CallAutomationClient as AioClient
from azure.core.credentials import AzureKeyCredential

from emulator import EmulatorThread
from tests.integration.emulator.support import (
    ACCESS_KEY,
    CALLER_ID,
    PSTN_A,
    USER_A,
    USER_B,
    USER_C,
    AppSide,
    Control,
    connect_call,
)
from tests.integration.emulator.swagger import Swagger

USER_D = USER_C[:-1] + "d"


def ringing_legs(control: Control, *raw_ids: str, timeout: float = 5) -> dict[str, dict[str, Any]]:
    """The ringing legs of these callees (by raw id), once all of them ring."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        legs = {leg["callee"]["rawId"]: leg for leg in control.ok("GET", "/legs")["value"]}
        if all(raw_id in legs for raw_id in raw_ids):
            return {raw_id: legs[raw_id] for raw_id in raw_ids}
        time.sleep(0.01)
    raise AssertionError(f"not all of {raw_ids} rang; legs: {control.ok('GET', '/legs')}")


def result_of(record: dict[str, Any]) -> tuple[int, int]:
    info = record["event"]["data"]["resultInformation"]
    return info["code"], info["subCode"]


def pending(control: Control, cid: str) -> list[str]:
    call = control.ok("GET", f"/calls/{cid}")
    (mine,) = [c for c in call["connections"] if c["callConnectionId"] == cid]
    return list(mine["pendingInvitations"])


def add_outcomes(app_side: AppSide, cid: str) -> dict[str, tuple[str, tuple[int, int]]]:
    """Each added participant's raw id → (event type, result code pair)."""
    return {
        r["event"]["data"]["participant"]["rawId"]: (r["type"], result_of(r))
        for r in app_side.events(None, cid)
        if r["type"] in ("AddParticipantSucceeded", "AddParticipantFailed")
    }


def test_invitations_ring_at_once_each_with_its_own_timeout_and_script(
    client, app_side: AppSide, control: Control, swagger: Swagger
) -> None:
    control.endpoint(USER_B, "ring")
    control.endpoint("4:" + PSTN_A, "noAnswer")
    control.endpoint(USER_C, "busy", delay=0.5)
    control.endpoint(USER_D, "decline", delay=0.5)
    call, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    started = time.monotonic()
    ids = [
        call.add_participant(CommunicationUserIdentifier(USER_B), invitation_timeout=30).invitation_id,
        call.add_participant(
            PhoneNumberIdentifier(PSTN_A), invitation_timeout=1,
            source_caller_id_number=PhoneNumberIdentifier(CALLER_ID),
        ).invitation_id,
        call.add_participant(CommunicationUserIdentifier(USER_C), invitation_timeout=30).invitation_id,
        call.add_participant(CommunicationUserIdentifier(USER_D), invitation_timeout=30).invitation_id,
    ]
    assert len(set(ids)) == 4
    ringing_legs(control, USER_B, "4:" + PSTN_A, USER_C, USER_D)
    assert sorted(pending(control, cid)) == sorted(ids)

    failures = app_side.wait_for("AddParticipantFailed", cid, count=3, timeout=5)
    timed_out = next(r for r in failures if r["event"]["data"]["participant"]["rawId"] == "4:" + PSTN_A)
    assert 1.0 <= timed_out["received"] - started < 5  # its own 1 s, not the others' 30 s
    assert pending(control, cid) == [ids[0]]  # USER_B still rings

    leg = ringing_legs(control, USER_B)[USER_B]
    control.ok("POST", f"/legs/{leg['legId']}/answer")
    app_side.wait_for("AddParticipantSucceeded", cid)
    assert add_outcomes(app_side, cid) == {
        USER_B: ("AddParticipantSucceeded", (200, 0)),
        "4:" + PSTN_A: ("AddParticipantFailed", (487, 10004)),
        USER_C: ("AddParticipantFailed", (486, 560486)),
        USER_D: ("AddParticipantFailed", (603, 0)),
    }
    for record in app_side.events(None, cid):
        swagger.validate_callback(record["event"])


def test_cancelling_one_invitation_leaves_the_others_ringing(
    client, app_side: AppSide, control: Control, swagger: Swagger
) -> None:
    for user in (USER_B, USER_C, USER_D):
        control.endpoint(user, "ring")
    call, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    ids = {
        user: call.add_participant(
            CommunicationUserIdentifier(user), operation_context=f"add-{user[-1]}",
            operation_callback_url=app_side.url(f"/callbacks/add-{user[-1]}"),
        ).invitation_id
        for user in (USER_B, USER_C, USER_D)
    }
    ringing_legs(control, USER_B, USER_C, USER_D)

    call.cancel_add_participant_operation(
        ids[USER_C], operation_context="cancel-c", operation_callback_url=app_side.url("/callbacks/cancel-c")
    )
    app_side.wait_for("CancelAddParticipantSucceeded", cid)
    app_side.wait_for("AddParticipantFailed", cid)  # the default: the invitation's own failure follows
    legs = ringing_legs(control, USER_B, USER_D)
    assert USER_C not in {leg["callee"]["rawId"] for leg in control.ok("GET", "/legs")["value"]}
    assert sorted(pending(control, cid)) == sorted([ids[USER_B], ids[USER_D]])

    control.ok("POST", f"/legs/{legs[USER_B]['legId']}/answer")
    control.ok("POST", f"/legs/{legs[USER_D]['legId']}/decline", {"reason": "busy"})
    app_side.wait_for("AddParticipantSucceeded", cid)
    app_side.wait_for("AddParticipantFailed", cid, count=2)
    assert add_outcomes(app_side, cid) == {
        USER_B: ("AddParticipantSucceeded", (200, 0)),
        USER_C: ("AddParticipantFailed", (487, 0)),
        USER_D: ("AddParticipantFailed", (486, 560486)),
    }
    cancelled = next(
        r for r in app_side.events("AddParticipantFailed", cid)
        if r["event"]["data"]["participant"]["rawId"] == USER_C
    )
    # The invitation's own failure answers the add: the add's context and callback URI.
    assert cancelled["event"]["data"]["operationContext"] == f"add-{USER_C[-1]}"
    assert cancelled["path"] == f"/callbacks/add-{USER_C[-1]}"
    done = app_side.events("CancelAddParticipantSucceeded", cid)[0]
    assert (done["event"]["data"]["invitationId"], done["event"]["data"]["operationContext"]) == (
        ids[USER_C], "cancel-c")
    assert done["path"] == "/callbacks/cancel-c"
    assert {p.identifier.raw_id for p in call.list_participants()} >= {USER_B}
    assert USER_C not in {p.identifier.raw_id for p in call.list_participants()}
    for record in app_side.events(None, cid):
        swagger.validate_callback(record["event"])


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("after", ["CancelAddParticipantSucceeded", "AddParticipantFailed"]),
        ("before", ["AddParticipantFailed", "CancelAddParticipantSucceeded"]),
        ("none", ["CancelAddParticipantSucceeded"]),
    ],
)
def test_a_cancelled_invitation_reports_its_own_failure_as_the_setting_says(
    client, app_side: AppSide, control: Control, setting: str, expected: list[str]
) -> None:
    assert control.settings(cancelledInvitationFailure=setting)["cancelledInvitationFailure"] == setting
    control.endpoint(USER_B, "ring")
    call, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    invitation = call.add_participant(CommunicationUserIdentifier(USER_B)).invitation_id
    ringing_legs(control, USER_B)
    call.cancel_add_participant_operation(invitation)
    app_side.wait_for("CancelAddParticipantSucceeded", cid)
    control.ok("GET", "/callbacks?wait=idle")
    seen = [r["type"] for r in app_side.events(None, cid) if "AddParticipant" in r["type"]]
    assert seen == expected
    if "AddParticipantFailed" in expected:
        assert result_of(app_side.events("AddParticipantFailed", cid)[0]) == (487, 0)
    # A second cancel finds the invitation settled, whatever the setting.
    call.cancel_add_participant_operation(invitation)
    failed = app_side.wait_for("CancelAddParticipantFailed", cid)[0]
    assert result_of(failed) == (400, 8523)


def test_bad_cancelled_invitation_setting_is_refused_and_reset_restores_it(control: Control) -> None:
    status, reply = control.call("PATCH", "/settings", {"cancelledInvitationFailure": "sometimes"})
    assert status == 400 and "after, before, none" in reply["error"]["message"]
    control.settings(cancelledInvitationFailure="none")
    control.ok("POST", "/reset")
    assert control.ok("GET", "/settings")["cancelledInvitationFailure"] == "after"


def test_two_callees_answering_in_the_same_instant_both_join_until_one_is_removed(
    client, app_side: AppSide, control: Control, swagger: Swagger
) -> None:
    control.endpoint(USER_B, "ring")
    control.endpoint(USER_C, "ring")
    call, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    call.add_participant(CommunicationUserIdentifier(USER_B), operation_context="ring-b")
    call.add_participant(CommunicationUserIdentifier(USER_C), operation_context="ring-c")
    legs = ringing_legs(control, USER_B, USER_C)

    reply = control.ok("POST", "/legs:answer", {"legIds": [legs[USER_B]["legId"], legs[USER_C]["legId"]]})
    assert [r["outcome"] for r in reply["value"]] == ["answered", "answered"]
    succeeded = app_side.wait_for("AddParticipantSucceeded", cid, count=2)
    assert {r["event"]["data"]["operationContext"] for r in succeeded} == {"ring-b", "ring-c"}
    # Back to back: the emulator sent both before anything else happened to the call (only the
    # roster of the first join stands between them).
    sent = [e["type"].removeprefix("Microsoft.Communication.")
            for e in control.ok("GET", "/callbacks?wait=idle")["value"]
            if e["event"]["data"]["callConnectionId"] == cid]
    first = sent.index("AddParticipantSucceeded")
    assert sent[first:] == [
        "AddParticipantSucceeded", "ParticipantsUpdated", "AddParticipantSucceeded", "ParticipantsUpdated",
    ]
    assert {p.identifier.raw_id for p in call.list_participants()} >= {USER_B, USER_C}
    roster = app_side.wait_for("ParticipantsUpdated", cid, count=3)[-1]["event"]["data"]["participants"]
    assert {USER_B, USER_C} <= {p["identifier"]["rawId"] for p in roster}

    call.remove_participant(CommunicationUserIdentifier(USER_C), operation_context="one-too-many")
    app_side.wait_for("RemoveParticipantSucceeded", cid)
    raw_ids = {p.identifier.raw_id for p in call.list_participants()}
    assert USER_B in raw_ids and USER_C not in raw_ids
    for record in app_side.events(None, cid):
        swagger.validate_callback(record["event"])


def test_answering_together_is_all_or_nothing(client, app_side: AppSide, control: Control) -> None:
    control.endpoint(USER_B, "ring")
    control.endpoint(USER_C, "ring")
    call, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    call.add_participant(CommunicationUserIdentifier(USER_B))
    call.add_participant(CommunicationUserIdentifier(USER_C))
    legs = ringing_legs(control, USER_B, USER_C)
    b, c = legs[USER_B]["legId"], legs[USER_C]["legId"]
    for body in ({}, {"legIds": []}, {"legIds": [b, b]}, {"legIds": [b, 7]}):
        assert control.call("POST", "/legs:answer", body)[0] == 400
    assert control.call("POST", "/legs:answer", {"legIds": [b, "no-such-leg"]})[0] == 404
    assert set(ringing_legs(control, USER_B, USER_C)) == {USER_B, USER_C}  # nothing was answered
    assert app_side.events("AddParticipantSucceeded", cid) == []
    control.ok("POST", "/legs:answer", {"legIds": [b, c]})
    app_side.wait_for("AddParticipantSucceeded", cid, count=2)


@pytest.mark.asyncio
async def test_invitations_sent_in_parallel_with_the_aio_client(
    emulator: EmulatorThread, client, app_side: AppSide, control: Control, swagger: Swagger
) -> None:
    for user in (USER_B, USER_C, USER_D):
        control.endpoint(user, "ring")
    _call, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    async with AioClient(emulator.base_url, AzureKeyCredential(ACCESS_KEY)) as aio:
        call = aio.get_call_connection(cid)
        results = await asyncio.gather(*(
            call.add_participant(CommunicationUserIdentifier(user), invitation_timeout=20)
            for user in (USER_B, USER_C, USER_D)
        ))
        ids = {r.participant.identifier.raw_id: r.invitation_id for r in results}
        assert len(set(ids.values())) == 3
        legs = ringing_legs(control, USER_B, USER_C, USER_D)
        await call.cancel_add_participant_operation(ids[USER_D])
        control.ok("POST", "/legs:answer", {"legIds": [legs[USER_B]["legId"], legs[USER_C]["legId"]]})
    app_side.wait_for("AddParticipantSucceeded", cid, count=2)
    app_side.wait_for("AddParticipantFailed", cid)
    assert add_outcomes(app_side, cid) == {
        USER_B: ("AddParticipantSucceeded", (200, 0)),
        USER_C: ("AddParticipantSucceeded", (200, 0)),
        USER_D: ("AddParticipantFailed", (487, 0)),
    }
    assert pending(control, cid) == []
    for record in app_side.events(None, cid):
        swagger.validate_callback(record["event"])
