"""An inbound call the app did not answer ends with a reason: its call.ended event said
`endReason: null` for a rejected call, as if nothing had ended it."""

from __future__ import annotations

import pytest

from callcontrol.domain.models import CallState
from tests.support.memory_tables import MemoryTableBackend
from tests.unit.inbound.support import FakeAcs, incoming, rules, world

REJECT_ALL = {"id": "no-calls", "conditions": {}, "action": {"type": "reject", "reason": "busy"}}
REDIRECT_ALL = {"id": "to-desk", "conditions": {},
                "action": {"type": "redirect", "target": {"phoneNumber": "+14255550199"}}}


@pytest.mark.parametrize(("rule", "words"), [
    (REJECT_ALL, ("rejected", "no-calls", "busy")),
    (REDIRECT_ALL, ("redirected", "to-desk")),
])
async def test_a_call_the_app_did_not_answer_ends_with_a_reason(
    backend: MemoryTableBackend, rule: dict[str, object], words: tuple[str, ...]
) -> None:
    w = await world(backend, rules(rule))
    result = await w.inbound.handle(incoming())
    record = await w.calls.stored(result.record_id)
    assert record.state is CallState.DISCONNECTED
    assert record.end_reason is not None
    assert all(word in record.end_reason.message for word in words), record.end_reason


async def test_an_answered_call_has_no_end_reason_yet(backend: MemoryTableBackend) -> None:
    w = await world(backend, rules(), acs=FakeAcs())
    result = await w.inbound.handle(incoming())
    assert (await w.calls.stored(result.record_id)).end_reason is None
