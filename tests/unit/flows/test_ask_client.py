"""The ask adapter (adapters/ask_client.py) against the emulator's receiver on a loopback port:
the receiver verifies the signature; each way a service can fail is the step's fallback."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

import pytest
from aiohttp import web

from callcontrol.adapters.ask_client import MAX_REPLY_BYTES, HttpAsks
from callcontrol.domain.flows import (
    AskAnswered,
    AskFailed,
    AskFailure,
    AskRequest,
    InlineRedirect,
    InlineReject,
)
from tests.support.ask_receiver import SECRET, LocalReceiver, local_receiver

CALLER = "+14255550142"
BODY: dict[str, Any] = {"flow": "desk", "runId": "run1", "step": "crm", "answered": False,
                        "call": {"from": {"kind": "phoneNumber", "phoneNumber": CALLER}}, "path": []}


def request(url: str, timeout: float = 3.0) -> AskRequest:
    return AskRequest("flow:run1:1:crm:1:ask", "rid-ask-1", url=url, body=BODY, timeout_seconds=timeout)


async def ask(receiver: LocalReceiver, reply: Any, *, secret: str = SECRET, deadline: float = 3.0
              ) -> AskAnswered | AskFailed:
    receiver.script("crm", reply)
    return await HttpAsks(secret.encode()).ask(request(receiver.url("crm"), deadline))


async def test_a_signed_ask_is_verified_and_its_next_step_read() -> None:
    async with local_receiver() as receiver:
        outcome = await ask(receiver, {"answer": {"next": "sales"}})
        assert isinstance(outcome, AskAnswered) and outcome.context == "flow:run1:1:crm:1:ask"
        assert outcome.answer.next_step == "sales" and outcome.answer.action is None
        [seen] = receiver.requests("crm")
    assert seen["verified"] is True and seen["refusal"] is None
    assert seen["requestId"] == "rid-ask-1" and seen["body"] == BODY
    assert seen["contentType"] == "application/json"


async def test_inline_actions_are_read() -> None:
    async with local_receiver() as receiver:
        rejected = await ask(receiver, {"answer": {"action": {"type": "reject", "reason": "busy"}}})
        redirected = await ask(receiver, {"answer": {"action": {
            "type": "redirect", "target": {"phoneNumber": "+14255550199"}}}})
    assert isinstance(rejected, AskAnswered) and rejected.answer.action == InlineReject("busy")
    assert isinstance(redirected, AskAnswered) and isinstance(redirected.answer.action, InlineRedirect)


async def test_a_wrong_secret_is_refused_by_the_receiver_and_fails_the_ask() -> None:
    async with local_receiver() as receiver:
        outcome = await ask(receiver, {"answer": {"next": "sales"}}, secret="another-secret-" + "x" * 20)
        [seen] = receiver.requests("crm")
    assert outcome == AskFailed("flow:run1:1:crm:1:ask", AskFailure.ERROR)
    assert seen["verified"] is False and "does not match" in seen["refusal"]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ({"status": 500, "answer": {"error": "boom"}}, AskFailure.ERROR),
        ({"status": 404}, AskFailure.ERROR),
        ({"raw": "<html>not json</html>"}, AskFailure.INVALID),
        ({"answer": {"next": "sales", "action": {"type": "answer"}}}, AskFailure.INVALID),
        ({"answer": {"action": {"type": "dance"}}}, AskFailure.INVALID),
        ({"answer": ["sales"]}, AskFailure.INVALID),
        ({"raw": "x" * (MAX_REPLY_BYTES + 1), "contentType": "application/json"}, AskFailure.INVALID),
    ],
)
async def test_an_error_or_an_invalid_reply_fails_the_ask(reply: Any, reason: str) -> None:
    async with local_receiver() as receiver:
        outcome = await ask(receiver, reply)
    assert outcome == AskFailed("flow:run1:1:crm:1:ask", reason)


async def test_a_reply_after_the_deadline_is_a_timeout_and_the_ask_does_not_wait_for_it() -> None:
    async with local_receiver() as receiver:
        started = time.monotonic()
        outcome = await ask(receiver, {"answer": {"next": "sales"}, "delaySeconds": 3}, deadline=0.4)
        elapsed = time.monotonic() - started
        assert len(receiver.requests("crm")) == 1  # it was sent, and answered too late
    assert outcome == AskFailed("flow:run1:1:crm:1:ask", AskFailure.TIMEOUT)
    assert elapsed < 1.5


async def test_a_redirect_is_not_followed() -> None:
    routes = web.RouteTableDef()

    @routes.post("/moved")
    async def moved(_: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect("/emulator/ask/crm")

    async with local_receiver(extra=routes) as receiver:
        receiver.script("crm", {"answer": {"next": "sales"}})
        outcome = await HttpAsks(SECRET.encode()).ask(request(receiver.base_url + "/moved"))
        assert receiver.requests("crm") == []  # the signed body went nowhere else
    assert outcome == AskFailed("flow:run1:1:crm:1:ask", AskFailure.ERROR)


async def test_a_reply_without_a_length_is_cut_at_the_bound() -> None:
    routes = web.RouteTableDef()

    @routes.post("/endless")
    async def endless(request: web.Request) -> web.StreamResponse:
        reply = web.StreamResponse(headers={"Content-Type": "application/json"})
        reply.enable_chunked_encoding()  # no Content-Length to refuse it by
        await reply.prepare(request)
        for _ in range(4 * MAX_REPLY_BYTES // 1024):
            await reply.write(b" " * 1024)
        await reply.write(b'{"next": "sales"}')
        return reply

    async with local_receiver(extra=routes) as receiver:
        outcome = await HttpAsks(SECRET.encode()).ask(request(receiver.base_url + "/endless"))
    assert outcome == AskFailed("flow:run1:1:crm:1:ask", AskFailure.INVALID)


async def test_no_connection_fails_the_ask() -> None:
    with socket.socket() as probe:  # a port nobody listens on once it is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outcome = await HttpAsks(SECRET.encode()).ask(request(f"http://127.0.0.1:{port}/emulator/ask/crm"))
    assert outcome == AskFailed("flow:run1:1:crm:1:ask", AskFailure.ERROR)


async def test_without_a_secret_nothing_is_sent() -> None:
    async with local_receiver() as receiver:
        receiver.script("crm", {"answer": {"next": "sales"}})
        outcome = await HttpAsks(None).ask(request(receiver.url("crm")))
        assert receiver.requests() == []
    assert outcome == AskFailed("flow:run1:1:crm:1:ask", AskFailure.ERROR)


async def test_the_log_names_the_ask_and_never_the_secret_the_signature_or_the_caller(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="callcontrol.adapters.ask_client")
    async with local_receiver() as receiver:
        await ask(receiver, {"answer": {"next": "sales"}})
        await ask(receiver, {"raw": f"not json, {CALLER}"})
        await ask(receiver, {"status": 503})
        signature = receiver.requests("crm")[0]["signature"]
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "flow:run1:1:crm:1:ask" in text and "next:sales" in text and "invalid" in text
    assert "HTTP 503" in text
    assert SECRET not in text and signature not in text and CALLER not in text
