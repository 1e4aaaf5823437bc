"""Media on a call: play a prompt, gather DTMF tones after one, stop what plays.

Used by call flows (play and menu steps, usecases/flow_actions.py). Each request is an action
like the others (usecases/actions.py `run_action`): reserved on the call record under its
operationContext and repeatability id, so it is on the call's operations and its callback
settles it (PlayCompleted, RecognizeCompleted, …). ACS's CallMedia_* requests take no
Repeatability-Request-ID, so the reservation is all there is: a second send of one request
whose first has settled is answered from the record, while one whose first is still pending is
sent again (run_action's rule for an outcome never heard) and ACS takes it as a new request.
Flows never do that: each attempt of a play or menu step has a context of its own, and a
redelivered callback finds the run already moved on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from callcontrol.domain.clock import Clock, utc_now
from callcontrol.domain.flows.prompts import Prompt
from callcontrol.domain.identifiers import Identifier
from callcontrol.domain.models import OperationKind, OperationStatus
from callcontrol.observability import use_case
from callcontrol.usecases.actions import Accepted, Action, Noted, run_action
from callcontrol.usecases.ports import CallAutomation, CallRecords

# --- commands ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlayPrompt:
    call_connection_id: str
    prompt: Prompt
    operation_context: str
    repeatability_id: str


@dataclass(frozen=True)
class RecognizeDigits:
    call_connection_id: str
    target: Identifier  # whose keys are heard (the caller)
    prompt: Prompt
    max_tones: int
    initial_silence_seconds: int
    inter_tone_seconds: int
    operation_context: str
    repeatability_id: str
    stop_tones: str = ""  # keys among * and # that end the entry


@dataclass(frozen=True)
class CancelMedia:
    call_connection_id: str
    operation_context: str
    repeatability_id: str


# --- the use cases -------------------------------------------------------------------------


class Media:
    def __init__(self, calls: CallRecords, gateway: Callable[[], CallAutomation], *,
                 clock: Clock = utc_now) -> None:
        self._calls = calls
        self._gateway = gateway
        self._clock = clock

    @use_case
    async def play(self, command: PlayPrompt) -> Accepted:
        call_id, prompt = command.call_connection_id, command.prompt

        async def send(context: str, _: str | None) -> None:
            await self._gateway().play_media(call_id, prompt, operation_context=context)

        return await run_action(self._calls, Action(
            call_id, OperationKind.PLAY, send, "play", operation_context=command.operation_context,
            repeatability_id=command.repeatability_id,
        ), self._clock, self._gateway)

    @use_case
    async def recognize(self, command: RecognizeDigits) -> Accepted:
        call_id = command.call_connection_id

        async def send(context: str, _: str | None) -> None:
            await self._gateway().recognize_dtmf(
                call_id, command.target, prompt=command.prompt, max_tones=command.max_tones,
                initial_silence_seconds=command.initial_silence_seconds,
                inter_tone_seconds=command.inter_tone_seconds, operation_context=context,
                stop_tones=command.stop_tones)

        # No target on the operation: the caller's number stays out of the operation's events.
        return await run_action(self._calls, Action(
            call_id, OperationKind.RECOGNIZE, send, "recognize",
            operation_context=command.operation_context, repeatability_id=command.repeatability_id,
        ), self._clock, self._gateway)

    @use_case
    async def cancel(self, command: CancelMedia) -> Accepted:
        call_id = command.call_connection_id

        async def send(_: str, __: str | None) -> None:  # ACS takes no context on a cancel
            await self._gateway().cancel_all_media(call_id)

        return await run_action(self._calls, Action(
            call_id, OperationKind.CANCEL_MEDIA, send, "cancelmedia",
            operation_context=command.operation_context, repeatability_id=command.repeatability_id,
            noted=_cancelled,
        ), self._clock, self._gateway)


def _cancelled(_: None) -> Noted:
    return Noted(status=OperationStatus.SUCCEEDED)  # no callback of its own: the 202 is the outcome
