"""Sending what a flow run asks for, after the write that moved the run.

Each request is an action like any other (usecases/actions.py `run_action`): reserved on the
call record under the operationContext and repeatability id the engine derived from (run, visit,
step, attempt, verb), so it appears in the call's operations, its callbacks settle it, and a
second send of it (a retry, another instance) is recognised by its repeatability id and never
reaches ACS as a new request. An add is reserved in the very write that moved the run
(flow_runs.moved), so it goes out with no storage round trip of its own before it (a flow step's
latency: bench/flow_step_bench.py). Requests before the answer (answer, reject, redirect) are the
inbound use case's; an ask is the ask port's (FlowAsks), and its outcome comes back as an event
the caller applies to the run in a write of its own, as it does for a request ACS refused.
Prompts and menus are usecases/media.py's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from enum import Enum
from typing import Final

from callcontrol.domain.errors import (
    AcsRejected,
    CallControlError,
    CallGone,
    Conflict,
    InvalidInput,
    NotFound,
)
from callcontrol.domain.flows import (
    AddParticipant,
    AskFailed,
    AskFailure,
    AskReply,
    AskRequest,
    CallerHungUp,
    CancelAddParticipant,
    FlowAction,
    FlowEvent,
    HangUp,
    InvitationFailed,
    RemoveParticipant,
    RingFailure,
    TransferCall,
    TransferFailed,
)
from callcontrol.domain.flows.actions import CancelMedia, PlayMedia, RecognizeDtmf
from callcontrol.domain.flows.media_events import PromptFailed, RecognizeEnded
from callcontrol.domain.flows.prompts import MenuFailure
from callcontrol.usecases import calls as call_commands
from callcontrol.usecases import media as media_commands
from callcontrol.usecases import participants as participant_commands
from callcontrol.usecases.calls import Calls
from callcontrol.usecases.media import Media
from callcontrol.usecases.participants import Participants
from callcontrol.usecases.ports import CallRecords, FlowAsks

logger = logging.getLogger(__name__)
# A cancel may follow its add's acceptance by milliseconds: how long to wait for the add's
# invitation id to be noted before giving up (the run's settle deadline covers the rest).
_INVITATION_WAIT_SECONDS: Final = 2.0


class _Sent(Enum):
    OK = "ok"  # sent (or maybe sent: kept pending)
    REFUSED = "refused"  # refused for good
    # Refused because the call is gone or going: 8522 (the call, or the participant the request
    # names, not found), 8501 / 8528 (not established any more, ended), or the record says so.
    GONE = "gone"


def refused_event(action: FlowAction, gone: bool = False) -> FlowEvent:
    """How the run reads a request that failed for good. A prompt or menu (sent only once the
    call is connected) refused because the call is gone or going was sent as the caller hung up:
    that is the caller's leaving (docs/flows.md), not a failed step whose fallback would ask a
    gone call for more (before CallDisconnected arrives)."""
    if gone and isinstance(action, PlayMedia | RecognizeDtmf):
        return CallerHungUp()
    if isinstance(action, TransferCall):
        return TransferFailed(action.context)
    if isinstance(action, PlayMedia):
        return PromptFailed(action.context)
    if isinstance(action, RecognizeDtmf):
        return RecognizeEnded(action.context, MenuFailure.FAILED)
    return InvitationFailed(action.context, RingFailure.FAILED)


class FlowActions:
    def __init__(self, calls: CallRecords, call_actions: Calls, participants: Participants,
                 media: Media, asks: FlowAsks | None = None) -> None:
        self._calls = calls
        self._call_actions = call_actions
        self._participants = participants
        self._media = media
        self._asks = asks

    async def ask(self, action: AskRequest) -> AskReply:
        """An ask's outcome as the run's event (an app without the port fails it at once)."""
        if self._asks is None:
            logger.error("flow ask %s: no ask adapter", action.context)
            return AskFailed(action.context, AskFailure.ERROR)
        return await self._asks.ask(action)

    async def send(self, call_connection_id: str, actions: Sequence[FlowAction]) -> list[FlowEvent]:
        """Send the run's requests in the engine's order, adds next to each other together (a
        simultaneous ring rings at once). Returns what the run must read next: the adds and
        transfers ACS refused for good (failed at once) and the asks' outcomes; a transient
        failure leaves the request pending, and the run's deadline moves it on (the reconciler)."""
        refused: list[tuple[FlowAction, _Sent]] = []
        outcomes: list[FlowEvent] = []
        index = 0
        while index < len(actions):
            first = actions[index]
            if isinstance(first, AskRequest):
                outcomes.append(await self.ask(first))
                index += 1
                continue
            batch = [first]
            while (isinstance(batch[0], AddParticipant) and index + len(batch) < len(actions)
                   and isinstance(actions[index + len(batch)], AddParticipant)):
                batch.append(actions[index + len(batch)])
            results = await asyncio.gather(*(self._one(call_connection_id, a) for a in batch))
            refused.extend((action, sent) for action, sent in zip(batch, results, strict=True)
                           if sent is not _Sent.OK)
            index += len(batch)
        failed = [refused_event(a, sent is _Sent.GONE) for a, sent in refused
                  if isinstance(a, AddParticipant | TransferCall | PlayMedia | RecognizeDtmf)]
        return [*failed, *outcomes]

    async def _one(self, call_id: str, action: FlowAction) -> _Sent:
        """Sent, refused for good, or refused because the call is gone or going (see _Sent)."""
        try:
            request = self._request(call_id, action)
            if request is not None:
                await request
        except (AcsRejected, NotFound, InvalidInput, Conflict) as exc:
            logger.warning("flow request %s (%s) refused: %s", action.name, action.context,
                           type(exc).__name__)
            return _Sent.GONE if isinstance(exc, CallGone | Conflict) else _Sent.REFUSED
        except CallControlError as exc:  # unavailable, throttled: maybe sent, kept pending
            logger.warning("flow request %s (%s) not confirmed: %s", action.name, action.context,
                           type(exc).__name__)
        return _Sent.OK

    def _request(self, call_id: str, action: FlowAction) -> Awaitable[object] | None:
        context, rid = action.context, action.repeatability_id
        if isinstance(action, AddParticipant):
            return self._participants.add_participant(participant_commands.AddParticipant(
                call_id, action.target, caller_id=action.caller_id,
                invitation_timeout_seconds=action.invitation_timeout_seconds,
                operation_context=context, repeatability_id=rid, reserved=True))
        if isinstance(action, CancelAddParticipant):
            return self._cancel(call_id, action)
        if isinstance(action, RemoveParticipant):
            return self._participants.remove_participant(participant_commands.RemoveParticipant(
                call_id, action.target, operation_context=context, repeatability_id=rid))
        if isinstance(action, TransferCall):
            return self._call_actions.transfer(call_commands.TransferCall(
                call_id, action.target, transferee=action.transferee, caller_id=action.caller_id,
                operation_context=context, repeatability_id=rid))
        if isinstance(action, HangUp):
            return self._call_actions.hang_up(call_commands.HangUp(
                call_id, for_everyone=action.for_everyone, repeatability_id=rid,
                operation_context=context))
        return self._media_request(call_id, action)

    def _media_request(self, call_id: str, action: FlowAction) -> Awaitable[object] | None:
        context, rid = action.context, action.repeatability_id
        if isinstance(action, PlayMedia):
            return self._media.play(media_commands.PlayPrompt(call_id, action.prompt, context, rid))
        if isinstance(action, RecognizeDtmf):
            return self._media.recognize(media_commands.RecognizeDigits(
                call_id, action.target, action.prompt, action.max_tones, action.initial_silence_seconds,
                action.inter_tone_seconds, context, rid, action.stop_tones))
        if isinstance(action, CancelMedia):
            return self._media.cancel(media_commands.CancelMedia(call_id, context, rid))
        logger.warning("flow request %s cannot be sent on a connected call", action.name)
        return None

    async def _cancel(self, call_id: str, action: CancelAddParticipant) -> None:
        invitation_id = await self._invitation_of(call_id, action.add_context)
        if invitation_id is None:
            logger.warning("flow cancel %s: its add's invitation id is not known", action.context)
            return
        await self._participants.cancel_add_participant(participant_commands.CancelAddParticipant(
            call_id, invitation_id, operation_context=action.context,
            repeatability_id=action.repeatability_id))

    async def _invitation_of(self, call_id: str, add_context: str) -> str | None:
        loop = asyncio.get_running_loop()
        until = loop.time() + _INVITATION_WAIT_SECONDS
        delay = 0.05
        while True:
            record = await self._calls.find(call_id)
            operation = record.operation(add_context) if record is not None else None
            if operation is not None and operation.invitation_id is not None:
                return operation.invitation_id
            if loop.time() >= until:
                return None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.4)
