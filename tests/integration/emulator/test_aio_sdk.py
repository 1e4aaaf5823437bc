"""The aio client (aiohttp transport, as the app uses it) against every call-control operation."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from azure.communication.callautomation import CommunicationUserIdentifier, PhoneNumberIdentifier
from azure.communication.callautomation.aio import CallAutomationClient
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ResourceNotFoundError

from emulator import EmulatorThread
from tests.integration.emulator.support import (
    ACCESS_KEY,
    CALLER_ID,
    PSTN_A,
    PSTN_B,
    USER_A,
    USER_B,
    AppSide,
    Control,
    ResponseRecorder,
)


async def _wait(app_side: AppSide, type_: str, cid: str, count: int = 1) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = app_side.events(type_, cid)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.01)
    raise AssertionError(f"{type_} not received")


@pytest.mark.asyncio
async def test_full_call_with_the_aio_client(
    emulator: EmulatorThread, app_side: AppSide, control: Control, recorder: ResponseRecorder
) -> None:
    async with CallAutomationClient(
        emulator.base_url, AzureKeyCredential(ACCESS_KEY), raw_response_hook=recorder
    ) as client:
        props = await client.create_call(
            PhoneNumberIdentifier(PSTN_A),
            app_side.url("/callbacks"),
            source_caller_id_number=PhoneNumberIdentifier(CALLER_ID),
            operation_context="aio",
        )
        cid = props.call_connection_id
        await _wait(app_side, "ParticipantsUpdated", cid)
        call = client.get_call_connection(cid)
        assert (await call.get_call_properties()).call_connection_state == "connected"

        # aiohttp sends 4:%2B1... while the signature covers 4%3A%2B1... (contract §11)
        participant = await call.get_participant(PhoneNumberIdentifier(PSTN_A))
        assert participant.identifier.raw_id == "4:" + PSTN_A
        raw_path = control.requests("GetParticipant")[-1]["rawPath"]
        assert "/participants/4:%2B14255550101" in raw_path

        added = await call.add_participant(
            CommunicationUserIdentifier(USER_A), operation_context="add", invitation_timeout=10
        )
        await _wait(app_side, "AddParticipantSucceeded", cid)
        assert added.invitation_id

        control.settings(participantsPageSize=1)
        listed = [p.identifier.raw_id async for p in call.list_participants()]
        assert set(listed) == {"4:" + PSTN_A, USER_A, props.source.raw_id}

        await call.mute_participant(CommunicationUserIdentifier(USER_A))
        assert (await call.get_participant(CommunicationUserIdentifier(USER_A))).is_muted

        await call.remove_participant(CommunicationUserIdentifier(USER_A))
        await _wait(app_side, "RemoveParticipantSucceeded", cid)

        control.endpoint(USER_B, "answer", delay=2)
        invitation = (await call.add_participant(CommunicationUserIdentifier(USER_B))).invitation_id
        await call.cancel_add_participant_operation(invitation)
        await _wait(app_side, "CancelAddParticipantSucceeded", cid)

        await call.transfer_call_to_participant(PhoneNumberIdentifier(PSTN_B), operation_context="x")
        await _wait(app_side, "CallTransferAccepted", cid)
        await _wait(app_side, "CallDisconnected", cid)
        with pytest.raises(ResourceNotFoundError):
            await call.get_call_properties()

    statuses = {(r["method"], r["status"]) for r in recorder.responses}
    assert ("POST", 201) in statuses and ("POST", 202) in statuses and ("GET", 200) in statuses
    assert all(r["status"] < 500 for r in recorder.responses)


@pytest.mark.asyncio
async def test_answer_reject_redirect_and_hang_up_with_the_aio_client(
    emulator: EmulatorThread, app_side: AppSide, control: Control
) -> None:
    async with CallAutomationClient(emulator.base_url, AzureKeyCredential(ACCESS_KEY)) as client:
        placed = control.incoming(PSTN_A, CALLER_ID)
        props = await client.answer_call(placed["incomingCallContext"], app_side.url("/callbacks"))
        await _wait(app_side, "CallConnected", props.call_connection_id)
        await client.get_call_connection(props.call_connection_id).hang_up(is_for_everyone=True)
        await _wait(app_side, "CallDisconnected", props.call_connection_id)

        placed = control.incoming(PSTN_A, CALLER_ID)
        await client.reject_call(placed["incomingCallContext"], call_reject_reason="busy")
        placed = control.incoming(PSTN_A, CALLER_ID)
        await client.redirect_call(placed["incomingCallContext"], PhoneNumberIdentifier(PSTN_B))
        operations = [r["operation"] for r in control.requests()]
        assert operations.count("RejectCall") == operations.count("RedirectCall") == 1
