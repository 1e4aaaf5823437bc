"""Per-request cost of the emulator (GetCall, AnswerCall) against a trivial aiohttp server.

All servers run on the same stack (aiohttp, access log off, each on its own event loop in a
thread of this process) and receive the same pre-signed requests, one after the other, from one
aiohttp client with keep-alive. The trivial server only reads the body and returns a JSON
document of the same size as the emulator's reply, so emulator/trivial is the cost of the
emulator's own work (HMAC check, routing, request log, state, events).

An answer makes the emulator sign two RS256 tokens and POST two callbacks after its response
(contract §7: a fresh token per callback). That work is counted: a timed window ends only once
every callback of its answers has been delivered. A second floor, the trivial server that also
POSTs two unsigned bodies of the same size per request to the same sink, shows how much of the
callbacks' cost is the HTTP delivery every implementation pays and how much is the signatures.

Rounds are interleaved (the order of the servers alternates each round, the first round is a
discarded warm-up) and the figures are medians over rounds; min-of-rounds and process CPU time
per request are reported too, the latter being less sensitive to other load on a shared machine.
Results go to bench/results/emulator.json.

Run: python -m bench.emulator_bench   (or python bench/emulator_bench.py)
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

from emulator import EmulatorConfig, start_in_thread  # noqa: E402
from emulator.app import EmulatorThread  # noqa: E402

ACCESS_KEY = base64.b64encode(b"emulator-benchmark-key-not-a-secret").decode()
RESOURCE_ID = "00000000-0000-0000-0000-0000000000be"
API = "?api-version=2026-03-12"
ROUNDS = 15  # measured rounds, after one warm-up round
GET_REQUESTS = 300
ANSWER_REQUESTS = 150
RESULTS = ROOT / "bench" / "results" / "emulator.json"
TARGET_RATIO = 2.0

Request = tuple[str, str, bytes]


class TrivialServer:
    """The floor: an aiohttp app that answers every request with a fixed JSON body.

    With ``callback`` set (url, body, headers) it also POSTs that body twice, one after the
    other, after each response, like the emulator's callbacks but without signing anything.
    """

    def __init__(self, reply: bytes, callback: tuple[str, bytes, dict[str, str]] | None = None) -> None:
        self._reply = reply
        self._callback = callback
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._tasks: set[asyncio.Task[None]] = set()
        self.base_url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        await request.read()
        if self._callback is not None:
            task = self._loop.create_task(self._post_twice(*self._callback))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return web.Response(body=self._reply, content_type="application/json")

    async def _post_twice(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        for _ in range(2):
            async with self._session.post(url, data=body, headers=headers) as response:
                await response.read()

    async def _start(self) -> None:
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def _drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*self._tasks)

    def drain(self) -> None:
        """Block until every POST started so far has been answered."""
        asyncio.run_coroutine_threadsafe(self._drain(), self._loop).result(60)

    def start(self) -> TrivialServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _stop(self) -> None:
        await self._runner.cleanup()
        await self._session.close()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


SINK_SCRIPT = """
import asyncio, sys
from aiohttp import web
async def ok(request):
    await request.read()
    return web.Response(status=200)
async def main():
    app = web.Application()
    app.router.add_post("/{tail:.*}", ok)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(runner.addresses[0][1], flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


class CallbackSink:
    """Receives the callbacks in a separate process, so its CPU is not ours."""

    def __enter__(self) -> str:
        self._process = subprocess.Popen(
            [sys.executable, "-c", SINK_SCRIPT], stdout=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        return f"http://127.0.0.1:{self._process.stdout.readline().strip()}"

    def __exit__(self, *exc: object) -> None:
        self._process.terminate()
        self._process.wait(10)


def signed_headers(method: str, host: str, path_and_query: str, body: bytes) -> dict[str, str]:
    date = formatdate(usegmt=True)
    content_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
    to_sign = f"{method}\n{path_and_query}\n{date};{host};{content_hash}"
    key = base64.b64decode(ACCESS_KEY)
    signature = base64.b64encode(hmac.new(key, to_sign.encode(), hashlib.sha256).digest()).decode()
    return {
        "x-ms-date": date,
        "x-ms-content-sha256": content_hash,
        "Authorization": "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256"
        f"&Signature={signature}",
        "Content-Type": "application/json",
    }


@dataclass(frozen=True)
class Sample:
    """Seconds per request: wall clock, and CPU of this whole process (client and servers)."""

    wall: float
    cpu: float


async def timed(
    session: aiohttp.ClientSession,
    base_url: str,
    requests: list[Request],
    settle: Callable[[], None] | None = None,
) -> Sample:
    """Send the requests one after the other, then wait for the work they left behind."""
    host = base_url.removeprefix("http://")
    prepared = [(m, p, b, signed_headers(m, host, p, b)) for m, p, b in requests]
    statuses: set[int] = set()
    wall, cpu = time.perf_counter(), time.process_time()
    for method, path, body, headers in prepared:
        async with session.request(method, base_url + path, data=body or None, headers=headers) as r:
            await r.read()
            statuses.add(r.status)
    if settle is not None:
        settle()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert statuses == {200}, statuses
    return Sample(wall / len(prepared), cpu / len(prepared))


async def control(session: aiohttp.ClientSession, url: str, body: Any) -> Any:
    async with session.post(url, json=body) as response:
        assert response.status < 300, await response.text()
        return await response.json()


async def offers(session: aiohttp.ClientSession, base_url: str, callback: str) -> list[Request]:
    """One fresh IncomingCall per answer request to come (placed before timing starts)."""
    answers = []
    for _ in range(ANSWER_REQUESTS):
        offer = await control(
            session,
            base_url + "/emulator/incoming-calls",
            {"from": {"phoneNumber": "+14255550100"}, "to": {"phoneNumber": "+18005550123"}},
        )
        body = {"incomingCallContext": offer["incomingCallContext"], "callbackUri": callback}
        answers.append(("POST", "/calling/callConnections:answer" + API, json.dumps(body).encode()))
    return answers


class EmulatorAnswers:
    """Times answers to fresh offers, waiting for their callbacks (delivered or dropped)."""

    def __init__(self, session: aiohttp.ClientSession, running: EmulatorThread, callback: str) -> None:
        self.session = session
        self.running = running
        self.callback = callback

    def settle(self) -> None:
        self.running.run(self.running.services.callbacks.idle())

    async def run(self, drop: bool) -> Sample:
        answers = await offers(self.session, self.running.base_url, self.callback)
        if drop:
            await control(
                self.session,
                self.running.base_url + "/emulator/callback-faults",
                {"mode": "drop", "count": 2 * ANSWER_REQUESTS},
            )
        return await timed(self.session, self.running.base_url, answers, self.settle)


async def first_answer(session: aiohttp.ClientSession, base_url: str, callback: str) -> dict[str, Any]:
    placed = await control(
        session,
        base_url + "/emulator/incoming-calls",
        {"from": {"phoneNumber": "+14255550100"}, "to": {"phoneNumber": "+18005550123"}},
    )
    path = "/calling/callConnections:answer" + API
    body = json.dumps(
        {"incomingCallContext": placed["incomingCallContext"], "callbackUri": callback}
    ).encode()
    headers = signed_headers("POST", base_url.removeprefix("http://"), path, body)
    async with session.post(base_url + path, data=body, headers=headers) as r:
        answered: dict[str, Any] = await r.json()
        assert r.status == 200, answered
    return answered


async def callback_template(session: aiohttp.ClientSession, base_url: str) -> tuple[bytes, dict[str, str]]:
    """A delivered callback's body and a token of the same size, for the unsigned floor."""
    async with session.get(base_url + "/emulator/callbacks?wait=idle") as response:
        log = (await response.json())["value"]
    event = next(entry["event"] for entry in log if entry["delivered"])
    from emulator.acs.tokens import TokenIssuer

    token = TokenIssuer(RESOURCE_ID).mint(base_url)  # signed once here, reused as-is
    return json.dumps([event]).encode(), {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {token}",
    }


async def measure() -> dict[str, list[tuple[str, Sample]]]:
    """Samples per row and contender; every round alternates which contender goes first."""
    rounds: dict[str, list[tuple[str, Sample]]] = {}
    with CallbackSink() as sink_url:
        running = start_in_thread(
            EmulatorConfig(access_key=ACCESS_KEY, resource_id=RESOURCE_ID, connect_delay_seconds=0.0)
        )
        callback = sink_url + "/callbacks"
        try:
            async with aiohttp.ClientSession() as session:
                answered = await first_answer(session, running.base_url, callback)
                reply = json.dumps(answered).encode()
                body, headers = await callback_template(session, running.base_url)
                trivial = TrivialServer(reply).start()
                posting = TrivialServer(reply, (callback, body, headers)).start()
                emulator = EmulatorAnswers(session, running, callback)
                get_path = f"/calling/callConnections/{answered['callConnectionId']}" + API
                gets: list[Request] = [("GET", get_path, b"")] * GET_REQUESTS
                answers: list[Request] = await offers(session, running.base_url, callback)
                try:
                    for number in range(ROUNDS + 1):
                        plan: dict[str, list[tuple[str, Callable[[], Any]]]] = {
                            "GetCall": [
                                ("emulator", lambda: timed(session, running.base_url, gets)),
                                ("trivial", lambda: timed(session, trivial.base_url, gets)),
                            ],
                            "AnswerCall, request path (callbacks dropped)": [
                                ("emulator", lambda: emulator.run(drop=True)),
                                ("trivial", lambda: timed(session, trivial.base_url, answers)),
                            ],
                            "AnswerCall + its 2 signed callbacks": [
                                ("emulator", lambda: emulator.run(drop=False)),
                                ("trivial", lambda: timed(session, trivial.base_url, answers)),
                                (
                                    "trivial + 2 unsigned POSTs",
                                    lambda: timed(session, posting.base_url, answers, posting.drain),
                                ),
                            ],
                        }
                        for row, contenders in plan.items():
                            order = contenders if number % 2 == 0 else contenders[::-1]
                            for name, run in order:
                                sample = await run()
                                if number > 0:  # round 0 warms up
                                    rounds.setdefault(row, []).append((name, sample))
                finally:
                    trivial.stop()
                    posting.stop()
        finally:
            running.stop()
    return rounds


def sign_cost() -> float:
    """What one fresh callback token costs (RS256 over a 2048-bit key), in microseconds."""
    from emulator.acs.tokens import TokenIssuer

    issuer = TokenIssuer(RESOURCE_ID)
    started = time.perf_counter()
    for _ in range(200):
        issuer.mint("http://127.0.0.1")
    return (time.perf_counter() - started) / 200 * 1e6


def summarize(samples: list[tuple[str, Sample]]) -> dict[str, dict[str, float]]:
    names = dict.fromkeys(name for name, _ in samples)
    figures = {}
    for name in names:
        mine = [sample for who, sample in samples if who == name]
        figures[name] = {
            "medianMicroseconds": round(statistics.median(s.wall for s in mine) * 1e6, 1),
            "minMicroseconds": round(min(s.wall for s in mine) * 1e6, 1),
            "cpuMedianMicroseconds": round(statistics.median(s.cpu for s in mine) * 1e6, 1),
        }
    return figures


def ratios(figures: dict[str, dict[str, float]], floor: str) -> dict[str, float]:
    mine, base = figures["emulator"], figures[floor]
    return {
        "median": round(mine["medianMicroseconds"] / base["medianMicroseconds"], 2),
        "minOfRounds": round(mine["minMicroseconds"] / base["minMicroseconds"], 2),
        "cpu": round(mine["cpuMedianMicroseconds"] / base["cpuMedianMicroseconds"], 2),
    }


def report(rounds: dict[str, list[tuple[str, Sample]]], rsa_us: float) -> dict[str, Any]:
    results: dict[str, Any] = {
        "benchmark": "emulator per-request cost vs trivial aiohttp server (same stack, same run)",
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "rounds": ROUNDS,
        "requestsPerRound": {"GetCall": GET_REQUESTS, "AnswerCall": ANSWER_REQUESTS},
        "note": "Microseconds per request, median over interleaved rounds. Answer windows end once "
        "every callback of their answers has been delivered. Each answer makes the emulator sign two "
        "RS256 tokens and POST two callbacks to a sink in another process; 'trivial + 2 unsigned "
        "POSTs' does the same deliveries without signing. The 'callbacks dropped' row isolates the "
        "request path with the emulator's own drop fault. CPU is this process's (client included).",
        "rsaSignMicroseconds": round(rsa_us, 1),
        "target": f"ratio <= {TARGET_RATIO}",
        "operations": {},
    }
    for row, samples in rounds.items():
        figures = summarize(samples)
        entry: dict[str, Any] = {"contenders": figures, "ratioToTrivial": ratios(figures, "trivial")}
        if "trivial + 2 unsigned POSTs" in figures:
            entry["ratioToTrivialPlusPosts"] = ratios(figures, "trivial + 2 unsigned POSTs")
        results["operations"][row] = entry
    answer = results["operations"]
    with_callbacks = answer["AnswerCall + its 2 signed callbacks"]["contenders"]
    dropped = answer["AnswerCall, request path (callbacks dropped)"]["contenders"]
    results["callbackCostMicrosecondsPerAnswer"] = {
        "emulator (with callbacks - dropped)": round(
            with_callbacks["emulator"]["medianMicroseconds"] - dropped["emulator"]["medianMicroseconds"], 1
        ),
        "two plain POSTs (trivial + POSTs - trivial)": round(
            with_callbacks["trivial + 2 unsigned POSTs"]["medianMicroseconds"]
            - with_callbacks["trivial"]["medianMicroseconds"],
            1,
        ),
        "two RS256 signatures": round(2 * rsa_us, 1),
    }
    return results


def main() -> None:
    results = report(asyncio.run(measure()), sign_cost())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    for row, entry in results["operations"].items():
        figures = entry["contenders"]
        print(row)
        for name, numbers in figures.items():
            median, low, cpu = (
                numbers["medianMicroseconds"],
                numbers["minMicroseconds"],
                numbers["cpuMedianMicroseconds"],
            )
            print(f"  {name:<28} {median:>8.1f} us/req (min {low:.1f}, cpu {cpu:.1f})")
        for key, floor in (("ratioToTrivial", "trivial"), ("ratioToTrivialPlusPosts", "trivial + 2 POSTs")):
            if key in entry:
                median, low, cpu = entry[key]["median"], entry[key]["minOfRounds"], entry[key]["cpu"]
                print(
                    f"  ratio to {floor:<19} {median:.2f}x median, {low:.2f}x min-of-rounds, {cpu:.2f}x cpu"
                    f" (target <= {TARGET_RATIO:g}x)"
                )
    for part, cost in results["callbackCostMicrosecondsPerAnswer"].items():
        print(f"callbacks per answer: {part:<44} {cost:>7.1f} us")
    print(f"one RS256 callback token: {results['rsaSignMicroseconds']:.0f} us")
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
