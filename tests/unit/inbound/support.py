"""Builders for the inbound tests: a fake ACS (records what it was asked), calls and the use case."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

from callcontrol.adapters.acs_gateway import AcsCall
from callcontrol.adapters.store.backend import TableBackend
from callcontrol.adapters.store.calls import CallStore
from callcontrol.adapters.store.claims import ClaimStore
from callcontrol.adapters.store.rules import RuleSetCache, RuleStore
from callcontrol.domain.identifiers import Identifier
from callcontrol.domain.models import CallState
from callcontrol.domain.rules import IncomingCall, RuleSet, parse_incoming_call, parse_rule_set
from callcontrol.usecases.inbound import InboundCalls, InboundOptions
from tests.support.calls import StoredCalls

CALLEE = "8:acs:11111111-2222-3333-4444-555555555555_0000"
AGENT = "8:acs:11111111-2222-3333-4444-555555555555_0001"


@dataclass
class Sent:
    action: str
    context: str
    repeatability_id: str | None
    detail: Any = None


@dataclass
class FakeAcs:
    """Answers like ACS unless told to fail: `failures` are raised by the next requests."""

    sent: list[Sent] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)
    delay: float = 0.0
    callback_secrets: list[str | None] = field(default_factory=list)  # one per answer

    async def _request(self, action: str, context: str, key: str | None, detail: Any = None) -> None:
        self.sent.append(Sent(action, context, key, detail))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failures:
            raise self.failures.pop(0)

    async def answer(self, incoming_call_context: str, *, operation_context: str | None = None,
                     repeatability_id: str | None = None,
                     callback_secret: str | None = None) -> AcsCall:
        self.callback_secrets.append(callback_secret)
        await self._request("answer", incoming_call_context, repeatability_id, operation_context)
        return AcsCall(
            call_connection_id=f"conn-{uuid.uuid4()}", server_call_id="server-from-acs",
            correlation_id="corr-from-acs", state=CallState.CONNECTING, targets=(), source=None,
            source_caller_id=None, source_display_name=None,
        )

    async def reject(self, incoming_call_context: str, reason: str, *,
                     repeatability_id: str | None = None) -> None:
        await self._request("reject", incoming_call_context, repeatability_id, reason)

    async def redirect(self, incoming_call_context: str, target: Identifier, *,
                       repeatability_id: str | None = None) -> None:
        await self._request("redirect", incoming_call_context, repeatability_id, target)

    def actions(self) -> list[str]:
        return [s.action for s in self.sent]


def incoming(
    *, caller: str = "+14255550100", callee: str = CALLEE, server_call_id: str | None = None,
    correlation_id: str | None = None, context: str | None = None,
) -> IncomingCall:
    data: dict[str, Any] = {
        "to": {"rawId": callee},
        "from": {"kind": "phoneNumber", "rawId": f"4:{caller}", "phoneNumber": {"value": caller}},
        "serverCallId": server_call_id or f"server-{uuid.uuid4()}",
        "correlationId": correlation_id or str(uuid.uuid4()),
        "incomingCallContext": context or f"ctx-{uuid.uuid4()}",
        "callerDisplayName": "",
    }
    return parse_incoming_call(data)


def rules(*rules: dict[str, Any], default: dict[str, Any] | None = None) -> RuleSet:
    return parse_rule_set({"rules": list(rules), "defaultAction": default or {"type": "answer"}})


@dataclass
class World:
    backend: TableBackend
    acs: FakeAcs
    inbound: InboundCalls
    calls: StoredCalls
    claims: ClaimStore
    store: RuleStore


async def world(
    backend: TableBackend, rule_set: RuleSet | None = None, *, acs: FakeAcs | None = None,
    options: InboundOptions | None = None, **kwargs: Any,
) -> World:
    acs = acs or FakeAcs()
    store = RuleStore(backend)
    if rule_set is not None:
        await store.replace(rule_set, None)
    claims = ClaimStore(backend)
    calls = StoredCalls(CallStore(backend))
    inbound = InboundCalls(rules=RuleSetCache(store, 5), claims=claims, calls=calls.store,
                           gateway=lambda: acs,
                           options=options or InboundOptions(), **kwargs)
    return World(backend, acs, inbound, calls, claims, store)
