"""An answered inbound call gets its own callback secret (issue 13, item 1): the same for every
delivery of the offer (a retried answer must keep ACS's first callback URI), kept hashed."""

from __future__ import annotations

import pytest

from callcontrol.domain.callback_binding import offer_callback_secret, secret_digest
from callcontrol.domain.errors import AcsUnavailable
from tests.support.memory_tables import MemoryTableBackend
from tests.unit.inbound.support import FakeAcs, incoming, world


async def test_the_answer_carries_the_offers_secret_and_the_record_its_digest() -> None:
    w = await world(MemoryTableBackend())
    call = incoming()
    result = await w.inbound.handle(call)
    secret = offer_callback_secret(call.incoming_call_context or "")
    assert w.acs.callback_secrets == [secret]
    record = await w.calls.stored(result.record_id)
    assert record.callback_binding.secret_sha256 == secret_digest(secret)
    assert secret not in str(record.to_json())  # never shown by the API


async def test_a_retried_answer_sends_the_same_secret() -> None:
    acs = FakeAcs(failures=[AcsUnavailable("slow")])
    w = await world(MemoryTableBackend(), acs=acs)
    call = incoming()
    with pytest.raises(AcsUnavailable):  # ambiguous: ACS may have answered
        await w.inbound.handle(call)
    await w.inbound.handle(call)
    assert len(acs.callback_secrets) == 2 and len(set(acs.callback_secrets)) == 1


async def test_two_offers_get_different_secrets() -> None:
    w = await world(MemoryTableBackend())
    await w.inbound.handle(incoming())
    await w.inbound.handle(incoming())
    assert len(set(w.acs.callback_secrets)) == 2
