"""Connect (optional in the contract): the app joins a server call or a group/room call."""

from __future__ import annotations

import pytest
from azure.communication.callautomation import CallAutomationClient
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from tests.integration.emulator.support import CALLER_ID, PSTN_A, AppSide, Control


def test_connect_to_an_existing_server_call(
    client: CallAutomationClient, app_side: AppSide, control: Control
) -> None:
    placed = control.incoming(PSTN_A, CALLER_ID)
    first = client.answer_call(placed["incomingCallContext"], app_side.url("/callbacks"))
    app_side.wait_for("ParticipantsUpdated", first.call_connection_id)
    joined = client.connect_call(
        app_side.url("/callbacks/joined"), server_call_id=placed["serverCallId"], operation_context="join"
    )
    assert joined.call_connection_state == "connecting"
    assert joined.server_call_id == placed["serverCallId"]
    connected = app_side.wait_for("CallConnected", joined.call_connection_id)[0]
    assert connected["path"] == "/callbacks/joined"
    assert connected["event"]["data"]["operationContext"] == "join"
    roster = app_side.wait_for("ParticipantsUpdated", first.call_connection_id, count=2)[-1]
    assert len(roster["event"]["data"]["participants"]) == 3


def test_connect_to_a_group_call_twice_shares_the_call(
    client: CallAutomationClient, app_side: AppSide
) -> None:
    one = client.connect_call(app_side.url("/callbacks"), group_call_id="team-standup")
    two = client.connect_call(app_side.url("/callbacks"), group_call_id="team-standup")
    assert one.server_call_id == two.server_call_id
    app_side.wait_for("CallConnected", two.call_connection_id)


def test_connect_to_an_unknown_server_call_is_404(client: CallAutomationClient, app_side: AppSide) -> None:
    with pytest.raises(ResourceNotFoundError):
        client.connect_call(app_side.url("/callbacks"), server_call_id="bm90LWEtY2FsbA==")
    with pytest.raises(HttpResponseError):
        client.connect_call("not a url", room_id="r1")
