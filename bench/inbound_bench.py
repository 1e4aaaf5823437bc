"""Inbound decision latency: from the Event Grid delivery of an IncomingCall to the answer request
arriving at the emulator, against the bare SDK answer_call round trip in the same run.
Target: ours p50 at most 1.3x the bare p50 plus 3 ms; p99 reported.

Ours: POST the IncomingCall event to devhost's Event Grid webhook (as Event Grid does); the
function claims the call in Azurite, decides by the cached rule set and answers through the SDK.
The latency ends when the emulator logs the AnswerCall request (its request log stamps arrival
with time.time(), the same clock this process reads before posting). Baseline: the official aio
SDK's answer_call straight to the emulator, request to response. Every iteration answers a fresh
offer placed on the emulator with its own webhook off, so only this script delivers events,
after the previous call's callbacks were delivered. Rounds alternate so noise hits both alike.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
from azure.communication.callautomation.aio import CallAutomationClient
from azure.core.credentials import AzureKeyCredential

from bench._common import summary, write
from tools.stack import Stack, start_stack

ROUNDS, PER_ROUND, WARMUP = 5, 40, 10
CALLEE = {"communicationUserId": "8:acs:bench_00000000-0000-0000-0000-000000000002"}


class Emulator:
    def __init__(self, http: aiohttp.ClientSession, stack: Stack) -> None:
        self._http = http
        self._base = f"{stack.emulator_url}/emulator"

    async def control(self, method: str, path: str, body: object = None) -> Any:
        async with self._http.request(method, f"{self._base}/{path}", json=body) as reply:
            assert reply.status < 300, await reply.text()
            return await reply.json() if reply.status != 204 else None

    async def offer(self, caller: str) -> dict[str, Any]:
        """A fresh IncomingCall, not delivered (the webhook is off): its ids and context."""
        return dict(await self.control("POST", "incoming-calls",
                                       {"from": {"phoneNumber": caller}, "to": CALLEE}))


def event_for(placed: dict[str, Any], caller: str) -> dict[str, Any]:
    user = CALLEE["communicationUserId"]
    return {
        "id": placed["eventId"], "topic": "/subscriptions/bench", "subject": f"/caller/4:{caller}",
        "eventType": "Microsoft.Communication.IncomingCall", "dataVersion": "1.0", "metadataVersion": "1",
        "eventTime": "2026-01-01T00:00:00Z",
        "data": {
            "to": {"kind": "communicationUser", "rawId": user, "communicationUser": {"id": user}},
            "from": {"kind": "phoneNumber", "rawId": f"4:{caller}", "phoneNumber": {"value": caller}},
            "serverCallId": placed["serverCallId"], "correlationId": placed["correlationId"],
            "incomingCallContext": placed["incomingCallContext"], "callerDisplayName": "",
        },
    }


async def measure(stack: Stack) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", "aeg-event-type": "Notification"}
    sent_at: dict[str, float] = {}  # incomingCallContext -> wall time the delivery started
    bare: list[float] = []
    caller = "+14255550142"
    async with aiohttp.ClientSession() as http, CallAutomationClient(
        stack.emulator_url, AzureKeyCredential(stack.access_key)
    ) as sdk:
        emulator = Emulator(http, stack)
        # Only this script delivers events; callbacks follow each answer at once, and every
        # iteration waits (untimed) until they were delivered, so the timed path does not queue
        # behind the previous call's callbacks. Both sides wait alike.
        await emulator.control("PATCH", "settings", {"eventWebhook": None, "connectDelaySeconds": 0})
        callback = f"{stack.app_url}/api/callbacks"

        async def ours(record: bool) -> None:
            placed = await emulator.offer(caller)
            await emulator.control("GET", "callbacks?wait=idle")
            body = json.dumps([event_for(placed, caller)])
            started = time.time()
            async with http.post(stack.webhook_url, data=body, headers=headers) as reply:
                assert reply.status == 202, await reply.text()
            if record:
                sent_at[placed["incomingCallContext"]] = started

        async def baseline(record: bool) -> None:
            placed = await emulator.offer(caller)
            await emulator.control("GET", "callbacks?wait=idle")
            started = time.perf_counter()
            await sdk.answer_call(placed["incomingCallContext"], callback)
            if record:
                bare.append((time.perf_counter() - started) * 1000)

        for _ in range(WARMUP):  # tables, clients, rule cache, connection pools
            await ours(False)
            await baseline(False)
        for _ in range(ROUNDS):
            for _ in range(PER_ROUND):
                await baseline(True)
            for _ in range(PER_ROUND):
                await ours(True)
        log = await emulator.control("GET", "requests?operation=AnswerCall")
    arrived = {entry["body"]["incomingCallContext"]: entry["time"] for entry in log["value"]
               if isinstance(entry.get("body"), dict) and entry["body"].get("incomingCallContext") in sent_at}
    assert len(arrived) == len(sent_at), "every delivery must have produced exactly one answer"
    ours_ms = [(arrived[context] - started) * 1000 for context, started in sent_at.items()]
    ours_summary, bare_summary = summary(ours_ms), summary(bare)
    limit = 1.3 * bare_summary["p50_ms"] + 3
    return {
        "ours_delivery_to_answer": ours_summary,
        "bare_sdk_answer_call": bare_summary,
        "p50_ratio": round(ours_summary["p50_ms"] / bare_summary["p50_ms"], 3),
        "p50_limit_ms": round(limit, 3),
        "meets_target": ours_summary["p50_ms"] <= limit,
        "target": "ours p50 <= 1.3 x bare p50 + 3 ms",
    }


def main() -> None:
    started = time.monotonic()
    stack = start_stack()
    try:
        report = asyncio.run(measure(stack))
    finally:
        stack.stop()
    write("inbound", {**report, "wall_seconds": round(time.monotonic() - started, 1)})


if __name__ == "__main__":
    main()
