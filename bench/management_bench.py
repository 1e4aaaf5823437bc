"""Management overhead: a request through devhost to the emulator, against the bare SDK call to
the emulator, in the same run. Target: p50 at most 1.2x the bare call plus 5 ms.

Ours: GET /api/calls/{id} (store read + ACS get_call, merged) and GET …/participants, over HTTP
with the function key. Baseline: the official aio SDK's get_call_properties / list_participants
straight to the emulator. Runs are interleaved round by round so noise hits both alike.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from typing import Any

import aiohttp
from azure.communication.callautomation.aio import CallAutomationClient
from azure.core.credentials import AzureKeyCredential

from bench._common import sample, summary, write
from tools.stack import Stack, start_stack

ROUNDS, PER_ROUND = 5, 60


def place_call(stack: Stack) -> str:
    body = json.dumps({"from": {"phoneNumber": "+14255550100"},
                       "to": {"communicationUserId": "8:acs:bench_00000000-0000-0000-0000-000000000001"}})
    request = urllib.request.Request(f"{stack.emulator_url}/emulator/incoming-calls", data=body.encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        server_call_id = json.loads(response.read())["serverCallId"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        listing = urllib.request.Request(f"{stack.app_url}/api/calls?state=connected",
                                         headers={"x-functions-key": stack.function_key})
        with urllib.request.urlopen(listing, timeout=10) as response:
            for call in json.loads(response.read())["value"]:
                if call["serverCallId"] == server_call_id:
                    return str(call["callConnectionId"])
        time.sleep(0.1)
    raise RuntimeError("the benchmark call never connected")


async def measure(stack: Stack, call_id: str) -> dict[str, Any]:
    headers = {"x-functions-key": stack.function_key}
    results: dict[str, dict[str, list[float]]] = {
        "get_call": {"ours": [], "bare": []}, "list_participants": {"ours": [], "bare": []}}
    async with aiohttp.ClientSession() as http, CallAutomationClient(
        stack.emulator_url, AzureKeyCredential(stack.access_key)
    ) as sdk:
        connection = sdk.get_call_connection(call_id)

        async def ours_get() -> None:
            async with http.get(f"{stack.app_url}/api/calls/{call_id}", headers=headers) as reply:
                assert reply.status == 200, await reply.text()
                await reply.read()

        async def ours_participants() -> None:
            async with http.get(f"{stack.app_url}/api/calls/{call_id}/participants",
                                headers=headers) as reply:
                assert reply.status == 200, await reply.text()
                await reply.read()

        async def bare_get() -> None:
            await connection.get_call_properties()

        async def bare_participants() -> None:
            [p async for p in connection.list_participants()]

        for _ in range(ROUNDS):
            results["get_call"]["bare"] += await sample(bare_get, PER_ROUND, warmup=5)
            results["get_call"]["ours"] += await sample(ours_get, PER_ROUND, warmup=5)
            results["list_participants"]["bare"] += await sample(bare_participants, PER_ROUND, warmup=5)
            results["list_participants"]["ours"] += await sample(ours_participants, PER_ROUND, warmup=5)
    report: dict[str, Any] = {}
    for name, pair in results.items():
        ours, bare = summary(pair["ours"]), summary(pair["bare"])
        report[name] = {
            "ours": ours, "bare_sdk": bare,
            "p50_ratio": round(ours["p50_ms"] / bare["p50_ms"], 3),
            "p50_overhead_ms": round(ours["p50_ms"] - bare["p50_ms"], 3),
            "meets_target": ours["p50_ms"] <= 1.2 * bare["p50_ms"] + 5,
        }
    return report


def main() -> None:
    stack = start_stack()
    try:
        call_id = place_call(stack)
        report = asyncio.run(measure(stack, call_id))
        write("management_overhead", {**report, "target": "ours p50 <= 1.2 x bare p50 + 5 ms"})
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
