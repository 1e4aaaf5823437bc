"""A callback read as the flow event it is for the call's run (or None: it does not move it).

Events about the flow's own requests are recognised by their operationContext (`parse_context`
with the run's id); the call's own events (connected, participants, disconnected) by type.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from callcontrol.domain.events.callbacks import CallbackEvent, EventKind
from callcontrol.domain.flows.actions import parse_context
from callcontrol.domain.flows.events import (
    AnswerFailed,
    CallConnected,
    CallDisconnected,
    CallerHungUp,
    FlowEvent,
    InvitationAnswered,
    InvitationCancelled,
    InvitationFailed,
    ParticipantRemoved,
    TransferAccepted,
    TransferFailed,
)
from callcontrol.domain.flows.media_events import DigitsPressed, PromptFailed, PromptPlayed, RecognizeEnded
from callcontrol.domain.flows.outcomes import ended_by_call, menu_failure, ring_failure
from callcontrol.domain.flows.prompts import MenuFailure, tones_as_digits
from callcontrol.domain.flows.state import FlowRun


def flow_event(event: CallbackEvent, run: FlowRun) -> FlowEvent | None:
    kind = event.kind
    if kind is EventKind.CALL_DISCONNECTED:
        return CallDisconnected()
    if kind is EventKind.PARTICIPANTS_UPDATED:
        return _caller_left(event, run)
    # The call's own answer: one per call connection, whatever context ACS echoes on it (the
    # engine acts on it only while the run waits for the answer).
    if kind is EventKind.CALL_CONNECTED:
        return CallConnected()
    if kind is EventKind.ANSWER_FAILED:
        return AnswerFailed()
    parsed = parse_context(event.operation_context)
    context = event.operation_context or ""
    if parsed is None or parsed.run_id != run.run_id:
        return None  # not one of this run's requests (the management API's own, say)
    if kind is EventKind.ADD_PARTICIPANT_SUCCEEDED:
        return InvitationAnswered(context)
    if kind is EventKind.ADD_PARTICIPANT_FAILED:
        code, sub_code = (event.result.code, event.result.sub_code) if event.result else (None, None)
        return InvitationFailed(context, ring_failure(code, sub_code), ended_by_call(code, sub_code))
    if kind is EventKind.CANCEL_ADD_PARTICIPANT_SUCCEEDED:
        return InvitationCancelled(context)
    if kind in (EventKind.REMOVE_PARTICIPANT_SUCCEEDED, EventKind.REMOVE_PARTICIPANT_FAILED):
        return ParticipantRemoved(context)
    if kind is EventKind.CALL_TRANSFER_ACCEPTED:
        return TransferAccepted(context)
    if kind is EventKind.CALL_TRANSFER_FAILED:
        return TransferFailed(context)
    return _media(event, context)


def _media(event: CallbackEvent, context: str) -> FlowEvent | None:
    kind = event.kind
    if kind is EventKind.PLAY_COMPLETED:
        return PromptPlayed(context)
    if kind in (EventKind.PLAY_FAILED, EventKind.PLAY_CANCELED):
        return PromptFailed(context)
    if kind is EventKind.RECOGNIZE_COMPLETED:
        return DigitsPressed(context, pressed_digits(event.data))
    if kind is EventKind.RECOGNIZE_FAILED:
        return RecognizeEnded(context, menu_failure(event.result.sub_code if event.result else None))
    if kind is EventKind.RECOGNIZE_CANCELED:
        return RecognizeEnded(context, MenuFailure.FAILED)
    return None


def pressed_digits(data: Mapping[str, Any]) -> str:
    """The keys a RecognizeCompleted held (dtmfResult.tones) as digits; anything else reads as
    no keys ("")."""
    result = data.get("dtmfResult")
    tones = result.get("tones") if isinstance(result, dict) else None
    return tones_as_digits(tones) if isinstance(tones, list) else ""


def _caller_left(event: CallbackEvent, run: FlowRun) -> FlowEvent | None:
    caller = run.facts.caller
    if caller is None or not run.answered or event.participants is None:
        return None
    present = {p.identifier.raw_id for p in event.participants}
    return None if caller.raw_id in present else CallerHungUp()
