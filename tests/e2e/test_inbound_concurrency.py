"""Exactly once across processes: ten concurrent deliveries of one IncomingCall, split between two
devhost processes sharing Azurite and the emulator, give exactly one answer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

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
from tools.processes import free_port, stop
from tools.stack import HOST, Stack, start_devhost, webhook_url


@pytest.fixture
def second_devhost(stack: Stack, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """Another instance of the app: same storage, same emulator, its own process and caches."""
    port, log = free_port(), tmp_path / "devhost-2.log"
    process = start_devhost(port, stack.app_settings(), stack.function_key, stack.master_key, log,
                            eventgrid_key=stack.eventgrid_key)
    try:
        yield webhook_url(f"http://{HOST}:{port}", stack.eventgrid_key), log
    finally:
        stop(process)


def test_ten_concurrent_deliveries_to_two_processes_answer_exactly_once(
    app: App, emulator: Emulator, stack: Stack, second_devhost: tuple[str, Path],
    emulator_settings: Callable[[dict[str, Any]], None],
) -> None:
    put_rules(app, ANSWER_ALL)
    emulator_settings({"eventWebhook": None})  # we deliver, so both instances get copies
    caller, callee = pstn(), acs_user()
    placed = undelivered_call(emulator, caller, callee)
    event = incoming_event(placed, caller, callee)
    second_webhook, second_log = second_devhost
    webhooks = [stack.webhook_url, second_webhook] * 5
    with ThreadPoolExecutor(max_workers=10) as pool:
        replies = list(pool.map(lambda url: deliver(url, event), webhooks))

    answers = requests_for(emulator, "AnswerCall", placed["incomingCallContext"])
    assert len(answers) == 1, answers
    assert answers[0]["status"] == 200
    # Every copy is acknowledged: duplicates wait for the owner, then succeed doing nothing.
    assert [r.status for r in replies] == [202] * 10, [r.text for r in replies if r.status != 202]
    [call] = eventually(lambda: [c for c in inbound_calls(app, placed["serverCallId"])
                                 if c["state"] == "connected"], what="the one answered call")
    assert call["inbound"]["outcome"] == "answered"
    assert len(inbound_calls(app, placed["serverCallId"])) == 1
    # The second process really ran its five copies.
    assert second_log.read_text().count(f"Executing incoming_call for event {placed['eventId']}") == 5
