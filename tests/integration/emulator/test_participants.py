"""Participants: list (with paging), get, add (+ timeout, cancel), remove, mute — sync client."""

from __future__ import annotations

import time

import pytest
from azure.communication.callautomation import (
    CallAutomationClient,
    CommunicationUserIdentifier,
    PhoneNumberIdentifier,
)
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

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
    ResponseRecorder,
    connect_call,
)


def test_list_participants_follows_next_link_past_the_page_size(
    client, app_side: AppSide, control: Control
) -> None:
    control.settings(participantsPageSize=1)
    call, cid = connect_call(
        client, app_side, CommunicationUserIdentifier(USER_A), CommunicationUserIdentifier(USER_B)
    )
    app_side.wait_for("ParticipantsUpdated", cid, count=2)
    participants = list(call.list_participants())
    raw_ids = [p.identifier.raw_id for p in participants]
    assert len(raw_ids) == 3 and USER_A in raw_ids and USER_B in raw_ids
    pages = control.requests("GetParticipants")
    assert len(pages) == 3
    assert "skipToken" not in pages[0]["query"] and pages[1]["query"]["skipToken"] == "1"
    assert all(page["status"] == 200 for page in pages)


def test_next_link_points_at_the_host_the_client_called(
    emulator: EmulatorThread, app_side: AppSide, control: Control
) -> None:
    control.settings(participantsPageSize=1)
    port = emulator.base_url.rsplit(":", 1)[1]
    endpoint = f"http://localhost:{port}"  # not the address the emulator was bound to
    recorder = ResponseRecorder()
    client = CallAutomationClient(endpoint, AzureKeyCredential(ACCESS_KEY), raw_response_hook=recorder)
    call, cid = connect_call(
        client, app_side, CommunicationUserIdentifier(USER_A), CommunicationUserIdentifier(USER_B)
    )
    app_side.wait_for("ParticipantsUpdated", cid, count=2)
    raw_ids = {p.identifier.raw_id for p in call.list_participants()}
    assert {USER_A, USER_B} <= raw_ids and len(raw_ids) == 3
    links = [r["body"]["nextLink"] for r in recorder.responses if r["body"] and "nextLink" in r["body"]]
    assert len(links) == 2
    assert all(link.startswith(f"{endpoint}/calling/callConnections/{cid}/participants?") for link in links)


def test_get_participant_by_percent_encoded_raw_id(client, app_side: AppSide, control: Control) -> None:
    call, _cid = connect_call(
        client,
        app_side,
        PhoneNumberIdentifier(PSTN_A),
        source_caller_id_number=PhoneNumberIdentifier(CALLER_ID),
    )
    participant = call.get_participant(PhoneNumberIdentifier(PSTN_A))
    assert participant.identifier.raw_id == "4:" + PSTN_A and participant.is_muted is False
    assert control.requests("GetParticipant")[0]["rawPath"].split("?")[0].endswith("4%3A%2B14255550101")
    with pytest.raises(ResourceNotFoundError) as missing:
        call.get_participant(CommunicationUserIdentifier(USER_C))
    assert missing.value.error.code == "8522"


def test_add_participant_succeeds_and_roster_follows(
    client, app_side: AppSide, recorder: ResponseRecorder
) -> None:
    call, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    result = call.add_participant(
        CommunicationUserIdentifier(USER_B),
        operation_context="op-add",
        operation_callback_url=app_side.url("/callbacks/per-op"),
    )
    assert result.invitation_id and result.operation_context == "op-add"
    assert result.participant.identifier.raw_id == USER_B
    assert recorder.responses[-1]["status"] == 202
    added = app_side.wait_for("AddParticipantSucceeded", cid)[0]
    assert added["path"] == "/callbacks/per-op"
    data = added["event"]["data"]
    assert data["participant"]["rawId"] == USER_B and data["operationContext"] == "op-add"
    assert (data["resultInformation"]["code"], data["resultInformation"]["subCode"]) == (200, 0)
    roster = app_side.wait_for("ParticipantsUpdated", cid, count=2)[-1]
    assert roster["event"]["data"]["sequenceNumber"] == 2
    assert USER_B in {p["identifier"]["rawId"] for p in roster["event"]["data"]["participants"]}


def test_add_participant_declined_reports_failure(client, app_side: AppSide, control: Control) -> None:
    control.endpoint(USER_B, "decline")
    call, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    call.add_participant(CommunicationUserIdentifier(USER_B))
    failed = app_side.wait_for("AddParticipantFailed", cid)[0]["event"]["data"]
    assert failed["resultInformation"]["code"] == 603
    assert USER_B not in {p.identifier.raw_id for p in call.list_participants()}


def test_invitation_timeout_is_honoured(client, app_side: AppSide, control: Control) -> None:
    control.endpoint("4:" + PSTN_A, "noAnswer")
    call, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    started = time.monotonic()
    call.add_participant(
        PhoneNumberIdentifier(PSTN_A),
        invitation_timeout=1,
        source_caller_id_number=PhoneNumberIdentifier(CALLER_ID),
    )
    failed = app_side.wait_for("AddParticipantFailed", cid, timeout=5)[0]
    assert 1.0 <= failed["received"] - started < 5  # the default ring timeout is 60 s
    assert failed["event"]["data"]["resultInformation"]["subCode"] == 10004


def test_add_pstn_without_caller_id_or_bad_timeout_is_400(client, app_side: AppSide) -> None:
    call, _cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    with pytest.raises(HttpResponseError) as refused:
        call.add_participant(PhoneNumberIdentifier(PSTN_A))
    assert (refused.value.status_code, refused.value.error.code) == (400, "8523")
    with pytest.raises(HttpResponseError) as refused:
        call.add_participant(CommunicationUserIdentifier(USER_B), invitation_timeout=181)
    assert (refused.value.status_code, refused.value.error.code) == (400, "8523")


def test_cancel_add_participant_while_ringing_then_again(client, app_side: AppSide, control: Control) -> None:
    control.endpoint(USER_B, "answer", delay=3)
    call, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    invitation = call.add_participant(CommunicationUserIdentifier(USER_B)).invitation_id
    cancelled = call.cancel_add_participant_operation(invitation, operation_context="op-cancel")
    assert cancelled.invitation_id == invitation and cancelled.operation_context == "op-cancel"
    done = app_side.wait_for("CancelAddParticipantSucceeded", cid)[0]
    assert done["event"]["data"]["invitationId"] == invitation
    call.cancel_add_participant_operation(invitation)
    app_side.wait_for("CancelAddParticipantFailed", cid)
    assert app_side.events("AddParticipantSucceeded", cid) == []
    with pytest.raises(HttpResponseError) as refused:
        call.cancel_add_participant_operation("not-an-invitation")
    assert refused.value.status_code == 400


def test_remove_participant_then_roster_shrinks(
    client, app_side: AppSide, recorder: ResponseRecorder
) -> None:
    call, cid = connect_call(
        client, app_side, CommunicationUserIdentifier(USER_A), CommunicationUserIdentifier(USER_B)
    )
    app_side.wait_for("ParticipantsUpdated", cid, count=2)
    result = call.remove_participant(CommunicationUserIdentifier(USER_B))
    assert result.operation_context is None
    assert recorder.responses[-1]["status"] == 202 and recorder.responses[-1]["body"] == {}
    removed = app_side.wait_for("RemoveParticipantSucceeded", cid)[0]
    assert removed["event"]["data"]["participant"]["rawId"] == USER_B
    roster = app_side.wait_for("ParticipantsUpdated", cid, count=3)[-1]
    assert USER_B not in {p["identifier"]["rawId"] for p in roster["event"]["data"]["participants"]}
    with pytest.raises(ResourceNotFoundError):
        call.remove_participant(CommunicationUserIdentifier(USER_C))


def test_removing_the_last_remote_party_ends_the_call(client, app_side: AppSide) -> None:
    call, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    call.remove_participant(CommunicationUserIdentifier(USER_A), operation_context="rm")
    app_side.wait_for("RemoveParticipantSucceeded", cid)
    app_side.wait_for("CallDisconnected", cid)


def test_mute_acs_user_shows_in_the_roster(client, app_side: AppSide, recorder: ResponseRecorder) -> None:
    call, cid = connect_call(
        client,
        app_side,
        CommunicationUserIdentifier(USER_A),
        PhoneNumberIdentifier(PSTN_A),
        source_caller_id_number=PhoneNumberIdentifier(CALLER_ID),
    )
    result = call.mute_participant(CommunicationUserIdentifier(USER_A), operation_context="mute")
    assert result.operation_context == "mute" and recorder.responses[-1]["status"] == 200
    assert call.get_participant(CommunicationUserIdentifier(USER_A)).is_muted is True
    updates = app_side.wait_for("ParticipantsUpdated", cid, count=3)
    muted = {p["identifier"]["rawId"]: p["isMuted"] for p in updates[-1]["event"]["data"]["participants"]}
    assert muted[USER_A] is True
    with pytest.raises(HttpResponseError) as refused:
        call.mute_participant(PhoneNumberIdentifier(PSTN_A))
    assert (refused.value.status_code, refused.value.error.code) == (400, "8523")


def test_mid_call_actions_before_connect_are_8501(client, app_side: AppSide, control: Control) -> None:
    control.endpoint(USER_A, "answer", delay=5)
    props = client.create_call(CommunicationUserIdentifier(USER_A), app_side.url("/callbacks"))
    call = client.get_call_connection(props.call_connection_id)
    with pytest.raises(HttpResponseError) as refused:
        call.add_participant(CommunicationUserIdentifier(USER_B))
    assert (refused.value.status_code, refused.value.error.code) == (400, "8501")
