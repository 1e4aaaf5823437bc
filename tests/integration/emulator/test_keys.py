"""Callback signing keys rotate on demand; a receiver that refreshes its JWKS keeps verifying."""

from __future__ import annotations

from azure.communication.callautomation import CommunicationUserIdentifier

from tests.integration.emulator.support import USER_A, USER_B, AppSide, Control, connect_call


def test_rotation_publishes_a_new_key_and_signs_with_it(client, app_side: AppSide, control: Control) -> None:
    call, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    old_kid = app_side.events("CallConnected", cid)[0]["kid"]
    fetches = app_side.jwks_fetches
    rotated = control.ok("POST", "/keys:rotate", {})
    assert rotated["kid"] != old_kid and [k["kid"] for k in rotated["keys"]] == [rotated["kid"]]

    call.add_participant(CommunicationUserIdentifier(USER_B))
    added = app_side.wait_for("AddParticipantSucceeded", cid)[0]
    assert added["kid"] == rotated["kid"] and added["token_error"] is None
    assert app_side.jwks_fetches == fetches + 1


def test_rotation_can_keep_publishing_the_previous_key(control: Control) -> None:
    first = control.ok("POST", "/keys:rotate", {})["kid"]
    second = control.ok("POST", "/keys:rotate", {"retainPrevious": True})
    assert [k["kid"] for k in second["keys"]] == [second["kid"], first]
    assert control.call("POST", "/keys:rotate", {"retainPrevious": "yes"})[0] == 400
