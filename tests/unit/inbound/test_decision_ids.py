"""A call the app rejected or redirected is `inbound-…` in the API: its decision's log lines
carry that id as the callConnectionId, so the id a person reads in the API is in the logs too."""

from __future__ import annotations

import pytest

from callcontrol.observability.context import call_ids
from tests.support.memory_tables import MemoryTableBackend
from tests.unit.inbound.support import AGENT, incoming, rules, world

REJECT_ALL = {"id": "no", "action": {"type": "reject", "reason": "busy"}}
REDIRECT_ALL = {"id": "to-agent", "action": {"type": "redirect", "target": {"communicationUserId": AGENT}}}


@pytest.mark.parametrize("rule", [REJECT_ALL, REDIRECT_ALL], ids=["reject", "redirect"])
async def test_the_decision_is_logged_under_the_calls_api_id(rule: dict[str, object]) -> None:
    w = await world(MemoryTableBackend(), rules(rule))
    call = incoming()
    result = await w.inbound.handle(call)
    assert result.record_id.startswith("inbound-")
    ids = call_ids()
    assert ids is not None
    assert (ids.call_connection_id, ids.correlation_id) == (result.record_id, call.correlation_id)
