"""Wire names the app spells itself agree with the official Azure SDKs' constants."""

from __future__ import annotations

from azure.communication.callautomation import CallConnectionState, CallRejectReason
from azure.eventgrid import SystemEventNames

from callcontrol.domain.events.incoming_call import INCOMING_CALL_EVENT_TYPE
from callcontrol.domain.models import CallState


def test_the_incoming_call_event_type_is_event_grids() -> None:
    assert SystemEventNames.AcsIncomingCallEventName.value == INCOMING_CALL_EVENT_TYPE


def test_call_states_are_the_sdks() -> None:
    assert {s.value for s in CallState} == {s.value for s in CallConnectionState}


def test_reject_reasons_are_the_sdks() -> None:
    assert {r.value for r in CallRejectReason} == {"none", "busy", "forbidden"}
