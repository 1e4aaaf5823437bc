"""A long-running emulator stays bounded: logs keep their newest entries, ended calls and
expired offers are forgotten after the retention period (and then still answer 404/8522)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from azure.communication.callautomation import CallAutomationClient, CommunicationUserIdentifier
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from emulator import EmulatorThread, start_in_thread
from tests.integration.emulator.conftest import make_config
from tests.integration.emulator.support import ACCESS_KEY, USER_A, AppSide, Control, connect_call

LOG_MAX = 5


@pytest.fixture
def small_emulator(app_side: AppSide) -> Iterator[EmulatorThread]:
    config = make_config(app_side, log_max_entries=LOG_MAX, ended_call_retention_seconds=0.0)
    running = start_in_thread(config)
    app_side.issuer = running.base_url
    try:
        yield running
    finally:
        running.stop()


def _registry_sizes(emulator: EmulatorThread) -> dict[str, int]:
    async def sizes() -> dict[str, int]:
        registry = emulator.services.registry
        return {
            "calls": len(registry.calls),
            "connections": len(registry.connections),
            "offers": len(registry.offers),
        }

    return emulator.run(sizes())


def test_ended_calls_and_expired_offers_are_forgotten_and_still_answer_404(
    small_emulator: EmulatorThread, app_side: AppSide
) -> None:
    control = Control(small_emulator.base_url)
    client = CallAutomationClient(small_emulator.base_url, AzureKeyCredential(ACCESS_KEY))
    control.settings(incomingCallTtlSeconds=0.0)
    for _ in range(3):
        call, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
        call.hang_up(is_for_everyone=True)
        app_side.wait_for("CallDisconnected", cid)
        placed = control.incoming("+14255550100", "+18005550123")  # expires at once, unanswered
    control.ok("GET", "/callbacks?wait=idle")
    _, last = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))

    assert _registry_sizes(small_emulator) == {"calls": 1, "connections": 1, "offers": 0}
    assert [c["connections"][0]["callConnectionId"] for c in control.calls()] == [last]
    with pytest.raises(ResourceNotFoundError) as gone:
        call.get_call_properties()
    assert gone.value.error.code == "8522"
    assert control.call("GET", f"/calls/{cid}")[0] == 404
    with pytest.raises(HttpResponseError) as refused:  # a forgotten context is an unknown one
        client.answer_call(placed["incomingCallContext"], app_side.url("/callbacks"))
    assert (refused.value.status_code, refused.value.error.code) == (400, "8523")


def test_logs_keep_only_their_newest_entries(small_emulator: EmulatorThread, app_side: AppSide) -> None:
    control = Control(small_emulator.base_url)
    client = CallAutomationClient(small_emulator.base_url, AzureKeyCredential(ACCESS_KEY))
    call, cid = connect_call(client, app_side, CommunicationUserIdentifier(USER_A))
    for _ in range(LOG_MAX + 2):
        call.get_call_properties()
    call.hang_up(is_for_everyone=True)
    requests = control.requests()
    assert len(requests) == LOG_MAX
    assert requests[-1]["operation"] == "CallConnection_TerminateCall"
    for _ in range(LOG_MAX):
        control.incoming("+14255550100", "+18005550123")
    app_side.wait_for("CallDisconnected", cid)
    callbacks = control.ok("GET", "/callbacks?wait=idle")["value"]
    assert len(callbacks) <= LOG_MAX and callbacks[-1]["type"].endswith("CallDisconnected")
    deliveries = control.ok("GET", "/eventgrid/deliveries")["value"]
    assert len(deliveries) == LOG_MAX
    assert all(d["aegEventType"] == "Notification" for d in deliveries)  # the handshake fell off


def test_unconfirmed_validation_codes_are_bounded(small_emulator: EmulatorThread, app_side: AppSide) -> None:
    control = Control(small_emulator.base_url)
    app_side.validation_mode = "refuse"
    for _ in range(LOG_MAX + 1):
        status, _ = control.call(
            "POST", "/incoming-calls", {"from": {"phoneNumber": "+14255550100"}, "to": {"rawId": USER_A}}
        )
        assert status == 502
    codes = [d["body"][0]["data"]["validationCode"] for d in app_side.eventgrid]
    assert len(codes) == LOG_MAX + 1
    assert control.call("GET", f"/eventgrid/validate?code={codes[0]}")[0] == 404
    assert control.call("GET", f"/eventgrid/validate?code={codes[-1]}") == (200, {"validated": True})
