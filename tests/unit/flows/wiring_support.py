"""A flow wired as in production over the in-memory store and a fake ACS: inbound starts the
run, callbacks move it, the actions go through the management use cases."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from callcontrol.adapters.store.calls import CallStore
from callcontrol.adapters.store.claims import ClaimStore
from callcontrol.adapters.store.rules import RuleSetCache, RuleStore
from callcontrol.domain.errors import StoreError
from callcontrol.domain.events.callbacks import parse_callback_event
from callcontrol.domain.flows.prompts import Prompt
from callcontrol.domain.identifiers import Identifier
from callcontrol.domain.models import AcsCall, CallRecord, CallState
from callcontrol.domain.rules import IncomingCall, parse_rule_set
from callcontrol.usecases.callbacks import Callbacks, IngestCallbacks
from callcontrol.usecases.calls import Calls
from callcontrol.usecases.flow_actions import FlowActions
from callcontrol.usecases.flow_catalog import FlowCatalog
from callcontrol.usecases.flow_runs import FlowRuns
from callcontrol.usecases.inbound import InboundCalls, InboundOptions
from callcontrol.usecases.media import Media
from callcontrol.usecases.outbox import OutboxRelay
from callcontrol.usecases.participants import Participants
from callcontrol.usecases.ports import FlowAsks
from tests.support.memory_tables import MemoryTableBackend
from tests.unit.actions.support import FakeAcs
from tests.unit.inbound.support import CALLEE, incoming

CONNECTION = "conn-flow-1"
CALLER = "+14255550100"
ALICE = {"communicationUserId": "8:acs:flow_alice"}
BOB = {"communicationUserId": "8:acs:flow_bob"}


@dataclass
class FlowAcs(FakeAcs):
    """The management fake plus the offer's requests (answer, reject, redirect) and media."""

    prompts: list[Prompt] = field(default_factory=list)  # each play's or recognize's, in order

    async def answer(self, incoming_call_context: str, *, operation_context: str | None = None,
                     repeatability_id: str | None = None,
                     callback_secret: str | None = None) -> AcsCall:
        await self._request("answer", CONNECTION, operation_context, repeatability_id)
        return AcsCall(call_connection_id=CONNECTION, server_call_id="server-flow",
                       correlation_id="corr-flow", state=CallState.CONNECTING, targets=(),
                       source=None, source_caller_id=None, source_display_name=None)

    async def reject(self, incoming_call_context: str, reason: str, *,
                     repeatability_id: str | None = None) -> None:
        await self._request("reject", "", None, repeatability_id)

    async def redirect(self, incoming_call_context: str, target: Identifier, *,
                       repeatability_id: str | None = None) -> None:
        await self._request("redirect", "", None, repeatability_id)

    async def play_media(self, call_connection_id: str, prompt: Prompt, *, operation_context: str) -> None:
        self.prompts.append(prompt)
        await self._request("play", call_connection_id, operation_context, None)

    async def recognize_dtmf(
        self, call_connection_id: str, target: Identifier, *, prompt: Prompt, max_tones: int,
        initial_silence_seconds: int, inter_tone_seconds: int, operation_context: str,
        stop_tones: str = "",
    ) -> None:
        self.prompts.append(prompt)
        await self._request("recognize", call_connection_id, operation_context, None)

    async def cancel_all_media(self, call_connection_id: str) -> None:
        await self._request("cancelMedia", call_connection_id, None, None)


@dataclass
class FlowRig:
    rules: RuleStore
    acs: FlowAcs
    store: CallStore
    inbound: InboundCalls
    callbacks: Callbacks
    runs: FlowRuns
    backend: MemoryTableBackend

    async def offer(self) -> IncomingCall:
        call = incoming(caller=CALLER, callee=CALLEE)
        await self.inbound.handle(call)
        return call

    async def callback(self, kind: str, event_id: str | None = None, **data: Any) -> None:
        event = parse_callback_event({
            "id": event_id or str(uuid.uuid4()), "type": f"Microsoft.Communication.{kind}",
            "data": {"callConnectionId": CONNECTION, **data}})
        await self.callbacks.ingest(IngestCallbacks((event,)))

    async def listening(self) -> str | None:
        """Offer the call, connect it, play the flow's first prompt through: the context of the
        menu's Recognize that follows (a flow that starts with a play, then a menu)."""
        await self.offer()
        [answer] = self.sent("answer")
        await self.callback("CallConnected", operationContext=answer)
        [play] = self.sent("play")
        await self.callback("PlayCompleted", operationContext=play)
        [recognize] = self.sent("recognize")
        return recognize

    async def record(self) -> CallRecord:
        record = await self.store.find(CONNECTION)
        assert record is not None
        return record

    def sent(self, action: str) -> list[str | None]:
        return [s.operation_context for s in self.acs.sent if s.action == action]


async def flow_rig(flow: dict[str, Any], asks: FlowAsks | None = None, *,
                   outbox: OutboxRelay | None = None, publish_digits: bool = False) -> FlowRig:
    """`outbox`: the call events are announced (and attached to the store here)."""
    backend = MemoryTableBackend()
    rules = RuleStore(backend)
    await rules.replace(parse_rule_set({
        "rules": [], "defaultAction": {"type": "flow", "flow": "desk"}, "flows": {"desk": flow}}), None)
    acs = FlowAcs()
    store = CallStore(backend, outbox=outbox)
    if outbox is not None:
        outbox.attach(store)
    calls = Calls(store, lambda: acs, default_caller_id=lambda: None)
    participants = Participants(store, lambda: acs, default_caller_id=lambda: None)
    media = Media(store, lambda: acs)
    runs = FlowRuns(store, FlowCatalog(rules), FlowActions(store, calls, participants, media, asks))
    inbound = InboundCalls(rules=RuleSetCache(rules, 5), claims=ClaimStore(backend), calls=store,
                           gateway=lambda: acs, options=InboundOptions(), flows=runs)
    return FlowRig(rules, acs, store, inbound,
                   Callbacks(store, flows=runs, publish_digits=lambda: publish_digits), runs, backend)


async def answered_but_not_recorded(rig: FlowRig) -> IncomingCall:
    """An offer answered (after its asks, if any) and marked decided, whose record's write then
    failed: Event Grid redelivers it."""
    writing = rig.store.modify
    failures = [StoreError("the record's write failed")]

    async def fail_once(*args: Any, **kwargs: Any) -> Any:
        if failures:
            raise failures.pop()
        return await writing(*args, **kwargs)

    rig.store.modify = fail_once  # type: ignore[method-assign]
    call = incoming(caller=CALLER, callee=CALLEE)
    with pytest.raises(StoreError):
        await rig.inbound.handle(call)
    return call
