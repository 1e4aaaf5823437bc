"""Cancelling an invitation the call never made is a 404 naming it, decided from the call's own
record before ACS is asked (ACS's answer reached the client as a 400)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from callcontrol.domain.callback_binding import SECRET_PARAMETER, new_callback_secret
from tests.conftest import load_event
from tests.support.app import http_request, invoke, json_body
from tests.support.memory_tables import MemoryTableBackend
from tests.support.signing import TestSigner
from tests.support.wiring import AUDIENCE, ISSUER, services_over

CALL_ID = load_event("call_connected.json")[0]["data"]["callConnectionId"]
SIGNER = TestSigner(ISSUER, AUDIENCE)


@pytest.fixture(autouse=True)
def wired() -> Iterator[None]:
    with services_over(MemoryTableBackend(), SIGNER):
        yield


async def test_an_unknown_invitation_is_a_404() -> None:
    connected = await invoke("callbacks", http_request(
        "POST", "callbacks", raw=json.dumps(load_event("call_connected.json")).encode(),
        params={SECRET_PARAMETER: new_callback_secret()},  # the call's own callback URI
        headers={"Authorization": SIGNER.bearer()}))
    assert connected.status_code == 200
    unknown = "00000000-0000-0000-0000-00000000beef"
    response = await invoke("cancel_add_participant", http_request(
        "DELETE", f"calls/{CALL_ID}/invitations/{unknown}",
        route_params={"callConnectionId": CALL_ID, "invitationId": unknown}))
    assert response.status_code == 404, response.get_body()
    assert unknown in json_body(response)["detail"]
