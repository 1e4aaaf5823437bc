"""Cold start: the CPU of `import function_app` against the bare SDK imports, and the first
IncomingCall's decision after a fresh devhost start against a warm one.

Import: each round runs three fresh interpreters in a rotating order (no import, so the
interpreter's own start-up is subtracted; the bare SDK imports; `import function_app`) and reads
each child's CPU (user + sys, from the kernel) and wall time. The figure is the median over rounds
of the per-round ratio app / bare SDK, both less the empty interpreter. CPU, not wall time: the
machine these run on is shared, and wall time mostly measures the queue for a core. "The bare SDK
imports" are the SDKs the app's functions are built on, imported eagerly and alone; `azure.functions`
alone (the floor no app can go under) is reported beside them.

Decision: one stack (Azurite, the emulator, devhost); each round stops devhost, starts a fresh one
on the same port, delivers one IncomingCall (cold: the first decision builds the clients and
imports their SDKs) and then another (warm), each timed from the delivery to the AnswerCall at the
emulator. The figure is the median of cold / warm over rounds.
Target (issue 23): the import at most 1.15x the bare SDK imports (CPU).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Final

import aiohttp

from bench._common import summary, write
from bench.inbound_bench import Emulator, event_for
from tools.processes import stop
from tools.stack import Stack, start_devhost, start_stack

ROOT: Final = Path(__file__).resolve().parents[1]
EMPTY: Final = "pass"
BARE_SDK: Final = ("import azure.functions, pydantic, aiohttp, jwt, "
                   "azure.communication.callautomation.aio, azure.data.tables.aio")
FLOOR: Final = "import azure.functions"
APP: Final = "import function_app"
IMPORT_ROUNDS: Final = int(os.environ.get("COLD_START_ROUNDS", "15"))
DECISION_ROUNDS: Final = int(os.environ.get("COLD_START_DECISIONS", "3"))
TARGET: Final = 1.15


def run_child(statement: str) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of a fresh interpreter running `statement` in the app's folder."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], cwd=ROOT, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def measure_imports(rounds: int) -> dict[str, Any]:
    statements = {"empty": EMPTY, "bare_sdk": BARE_SDK, "floor": FLOOR, "app": APP}
    cpu: dict[str, list[float]] = {name: [] for name in statements}
    wall: dict[str, list[float]] = {name: [] for name in statements}
    names = list(statements)
    for round_ in range(rounds):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:  # rotate: load drifts hit every one alike
            spent, elapsed = run_child(statements[name])
            cpu[name].append(spent)
            wall[name].append(elapsed)

    def net(name: str, i: int, series: dict[str, list[float]]) -> float:
        return max(series[name][i] - series["empty"][i], 1e-6)

    ratios = [net("app", i, cpu) / net("bare_sdk", i, cpu) for i in range(rounds)]
    floor_ratios = [net("app", i, cpu) / net("floor", i, cpu) for i in range(rounds)]
    wall_ratios = [net("app", i, wall) / net("bare_sdk", i, wall) for i in range(rounds)]
    return {
        "statements": statements,
        "cpu_median_s": {name: round(statistics.median(v), 3) for name, v in cpu.items()},
        "wall_median_s": {name: round(statistics.median(v), 3) for name, v in wall.items()},
        "cpu_ratio_app_vs_bare_sdk": round(statistics.median(ratios), 3),
        "cpu_ratio_app_vs_azure_functions": round(statistics.median(floor_ratios), 3),
        "wall_ratio_app_vs_bare_sdk": round(statistics.median(wall_ratios), 3),
        "rounds": rounds,
        "meets_target": statistics.median(ratios) <= TARGET,
        "target": f"import function_app <= {TARGET}x the bare SDK imports (CPU, less the interpreter)",
    }


async def one_decision(http: aiohttp.ClientSession, stack: Stack, caller: str) -> float:
    """Milliseconds from the delivery of a fresh IncomingCall to its AnswerCall at the emulator."""
    emulator = Emulator(http, stack)
    placed = await emulator.offer(caller)
    await emulator.control("GET", "callbacks?wait=idle")
    headers = {"Content-Type": "application/json", "aeg-event-type": "Notification"}
    started = time.time()
    async with http.post(stack.webhook_url, data=json.dumps([event_for(placed, caller)]),
                         headers=headers) as reply:
        assert reply.status == 202, await reply.text()
    context = placed["incomingCallContext"]
    for _ in range(600):
        log = await emulator.control("GET", "requests?operation=AnswerCall")
        for entry in log["value"]:
            body = entry.get("body")
            if isinstance(body, dict) and body.get("incomingCallContext") == context:
                return (float(entry["time"]) - started) * 1000
        await asyncio.sleep(0.05)
    raise AssertionError("no AnswerCall for the delivery")


async def decide(stack: Stack) -> tuple[float, float]:
    async with aiohttp.ClientSession() as http:
        await Emulator(http, stack).control("PATCH", "settings",
                                            {"eventWebhook": None, "connectDelaySeconds": 0})
        cold = await one_decision(http, stack, "+14255550143")
        warm = await one_decision(http, stack, "+14255550144")
    return cold, warm


def measure_decisions(rounds: int) -> dict[str, Any]:
    stack = start_stack()
    port = int(stack.app_url.rsplit(":", 1)[1])
    cold: list[float] = []
    warm: list[float] = []
    try:
        for _ in range(rounds):
            devhost = stack.processes.pop()  # started last
            stop(devhost)
            stack.processes.append(start_devhost(port, stack.app_settings(), stack.function_key,
                                                 stack.master_key, None,
                                                 eventgrid_key=stack.eventgrid_key))
            first, second = asyncio.run(decide(stack))
            cold.append(first)
            warm.append(second)
    finally:
        stack.stop()
    return {"first_after_fresh_start": summary(cold), "warm": summary(warm),
            "median_ratio_first_vs_warm": round(statistics.median(
                c / w for c, w in zip(cold, warm, strict=True)), 2),
            "rounds": rounds}


def main() -> None:
    started = time.monotonic()
    load = os.getloadavg()
    imports = measure_imports(IMPORT_ROUNDS)
    decisions = measure_decisions(DECISION_ROUNDS)
    write("cold_start", {"import": imports, "first_incoming_call": decisions,
                         "load_average_at_start": [round(x, 2) for x in load],
                         "cpus": os.cpu_count(), "wall_seconds": round(time.monotonic() - started, 1)})


if __name__ == "__main__":
    main()
