"""A short storage stall under an inbound call (issue 25): the claim's insert is held in the
storage tap past the app's deadline, so the first delivery fails, and only then lands. The
interleaving is the test's, not the scheduler's: nothing here depends on how long a freeze is."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from callcontrol.domain.claims import claim_key
from tests.e2e.conftest import App, Emulator, acs_user, eventually, pstn
from tests.e2e.inbound_support import (
    ANSWER_ALL,
    deliver,
    emulator_settings_fixture,  # noqa: F401  (a fixture)
    inbound_calls,
    incoming_event,
    put_rules,
    requests_for,
    undelivered_call,
)
from tests.faults.conftest import EVENT_GRID_TIMEOUT_SECONDS
from tests.faults.storage_tap import StorageTap
from tools.stack import Stack

OFFER_SECONDS = 20  # the offer's life at the emulator: shorter than the orphan's lease (32 s)
PROMPT_SECONDS = 8  # a redelivery that does not wait on the orphan decides well within this


def warm_up(emulator: Emulator, stack: Stack) -> None:
    """One offer decided normally, so the claims table exists (an earlier test may have
    restarted storage empty) and the held insert is the only thing that stalls."""
    caller, callee = pstn(), acs_user()
    placed = undelivered_call(emulator, caller, callee)
    reply = deliver(stack.webhook_url, incoming_event(placed, caller, callee))
    assert reply.status in (200, 202), reply.text


def test_a_claim_written_after_its_delivery_gave_up_does_not_hold_up_the_redelivery(
    app: App, emulator: Emulator, fault_stack: Stack, storage_tap: StorageTap,
    emulator_settings: Callable[[dict[str, Any]], None],
) -> None:
    # GIVEN an offer the test delivers itself (as Event Grid), alive for OFFER_SECONDS
    put_rules(app, ANSWER_ALL)
    emulator_settings({"eventWebhook": None, "incomingCallTtlSeconds": OFFER_SECONDS})
    warm_up(emulator, fault_stack)
    caller, callee = pstn(), acs_user()
    placed = undelivered_call(emulator, caller, callee)
    event = incoming_event(placed, caller, callee)
    context = placed["incomingCallContext"]
    key = claim_key(context).encode()
    # AND storage that stalls on the claim's insert: held in the tap, not forwarded
    held = storage_tap.hold(lambda method, path, body: method == "POST" and "claims" in path
                            and key in body and b"claimed" in body)
    try:
        # WHEN the first delivery meets the stall, it fails at the app's storage deadline
        first = deliver(fault_stack.webhook_url, event)
        assert held.caught.is_set(), "the claim's insert never reached the storage tap"
        assert first.status >= 500, first.text
    finally:
        held.release.set()  # AND only then does the insert land: an orphan claim
    assert held.landed.wait(30) and held.status in (201, 204), held.status
    # THEN the redelivery decides the call at once, while the offer is alive
    started = time.monotonic()
    second = deliver(fault_stack.webhook_url, event)
    took = time.monotonic() - started
    assert second.status in (200, 202), second.text
    assert took < PROMPT_SECONDS, f"the redelivery took {took:.1f} s: it waited on the orphan"
    assert took < EVENT_GRID_TIMEOUT_SECONDS
    assert len(requests_for(emulator, "AnswerCall", context)) == 1
    [call] = eventually(lambda: inbound_calls(app, placed["serverCallId"]),
                        what="the inbound call record")
    assert call["inbound"]["outcome"] == "answered", call["inbound"]
