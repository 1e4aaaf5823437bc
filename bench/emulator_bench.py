"""Per-request cost of the emulator (GetCall, AnswerCall) against a trivial aiohttp server.

Both servers run on the same stack (aiohttp, own event loop in a thread) and receive the same
signed requests from one aiohttp client with keep-alive; the trivial server only reads the body
and returns a JSON document of the same size. The ratio emulator/trivial is the overhead of the
emulator's work (HMAC check, routing, state, callback scheduling). Results go to
bench/results/emulator.json.

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
import sys
import threading
import time
from email.utils import formatdate
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

from emulator import EmulatorConfig, start_in_thread  # noqa: E402

ACCESS_KEY = base64.b64encode(b"emulator-benchmark-key-not-a-secret").decode()
RESOURCE_ID = "00000000-0000-0000-0000-0000000000be"
API = "?api-version=2026-03-12"
ROUNDS = 5
GET_REQUESTS = 400
ANSWER_REQUESTS = 150
RESULTS = ROOT / "bench" / "results" / "emulator.json"


class TrivialServer:
    """The baseline: an aiohttp app that answers every request with a fixed JSON body."""

    def __init__(self, reply: bytes) -> None:
        self._reply = reply
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.base_url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=self._reply, content_type="application/json")

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    def start(self) -> TrivialServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
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
    """Receives the emulator's callbacks in a separate process, so its CPU is not ours."""

    def __enter__(self) -> str:
        import subprocess

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


async def timed(
    session: aiohttp.ClientSession, base_url: str, requests: list[tuple[str, str, bytes]]
) -> tuple[float, list[int]]:
    """Send the requests one after the other; mean seconds per request and the statuses."""
    host = base_url.removeprefix("http://")
    prepared = [(m, p, b, signed_headers(m, host, p, b)) for m, p, b in requests]
    statuses: list[int] = []
    started = time.perf_counter()
    for method, path, body, headers in prepared:
        async with session.request(method, base_url + path, data=body or None, headers=headers) as r:
            await r.read()
            statuses.append(r.status)
    return (time.perf_counter() - started) / len(prepared), statuses


async def control(session: aiohttp.ClientSession, url: str, body: Any) -> Any:
    async with session.post(url, json=body) as response:
        assert response.status < 300, await response.text()
        return await response.json()


async def offers(
    session: aiohttp.ClientSession, base_url: str, callback: str
) -> list[tuple[str, str, bytes]]:
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


async def bench() -> dict[str, Any]:
    sink = CallbackSink()
    sink_url = sink.__enter__()
    running = start_in_thread(
        EmulatorConfig(access_key=ACCESS_KEY, resource_id=RESOURCE_ID, connect_delay_seconds=0.0)
    )
    try:
        async with aiohttp.ClientSession() as session:
            placed = await control(
                session,
                running.base_url + "/emulator/incoming-calls",
                {"from": {"phoneNumber": "+14255550100"}, "to": {"phoneNumber": "+18005550123"}},
            )
            callback = sink_url + "/callbacks"
            answer_body = json.dumps(
                {"incomingCallContext": placed["incomingCallContext"], "callbackUri": callback}
            ).encode()
            status, answered = 0, None
            async with session.post(
                running.base_url + "/calling/callConnections:answer" + API,
                data=answer_body,
                headers=signed_headers(
                    "POST", running.base_url[7:], "/calling/callConnections:answer" + API, answer_body
                ),
            ) as r:
                status, answered = r.status, await r.json()
            assert status == 200, answered
            reply = json.dumps(answered).encode()
            get_path = f"/calling/callConnections/{answered['callConnectionId']}" + API
            baseline = TrivialServer(reply).start()
            try:
                rounds: dict[str, list[tuple[float, float]]] = {"GetCall": []}
                for _ in range(ROUNDS):
                    gets = [("GET", get_path, b"")] * GET_REQUESTS
                    emu, emu_statuses = await timed(session, running.base_url, gets)
                    base, _ = await timed(session, baseline.base_url, gets)
                    assert set(emu_statuses) == {200}, set(emu_statuses)
                    rounds["GetCall"].append((emu, base))

                    # Answer twice: with its two signed callbacks dropped (the request path
                    # alone), then with them delivered (the whole work ACS does per answer).
                    for label, drop in (
                        ("AnswerCall (callbacks dropped)", True),
                        ("AnswerCall (+2 signed callbacks)", False),
                    ):
                        answers = await offers(session, running.base_url, callback)
                        if drop:
                            await control(
                                session,
                                running.base_url + "/emulator/callback-faults",
                                {"mode": "drop", "count": 2 * ANSWER_REQUESTS},
                            )
                        emu, emu_statuses = await timed(session, running.base_url, answers)
                        base, _ = await timed(session, baseline.base_url, answers)
                        assert set(emu_statuses) == {200}, set(emu_statuses)
                        rounds.setdefault(label, []).append((emu, base))
                    await asyncio.sleep(0.2)  # let the answered calls' callbacks drain
            finally:
                baseline.stop()
    finally:
        running.stop()
        sink.__exit__(None, None, None)

    rsa_us = sign_cost()
    results: dict[str, Any] = {
        "benchmark": "emulator per-request cost vs trivial aiohttp server (same stack, same run)",
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "rounds": ROUNDS,
        "requestsPerRound": {"GetCall": GET_REQUESTS, "AnswerCall": ANSWER_REQUESTS},
        "note": "Each answer makes the emulator sign two RS256 tokens and POST two callbacks (to a "
        "sink in another process); the trivial server does neither. The 'callbacks dropped' row "
        "isolates the request path using the emulator's own drop fault.",
        "rsaSignMicroseconds": round(rsa_us, 1),
        "target": "ratio <= 2.0",
        "operations": {},
    }
    for operation, samples in rounds.items():  # median of the rounds
        emulator_us = statistics.median(s[0] for s in samples) * 1e6
        baseline_us = statistics.median(s[1] for s in samples) * 1e6
        results["operations"][operation] = {
            "emulatorMicrosecondsPerRequest": round(emulator_us, 1),
            "baselineMicrosecondsPerRequest": round(baseline_us, 1),
            "ratio": round(emulator_us / baseline_us, 2),
        }
    return results


def sign_cost() -> float:
    """What one fresh callback token costs (RS256 over a 2048-bit key), in microseconds."""
    from emulator.tokens import TokenIssuer

    issuer = TokenIssuer(RESOURCE_ID)
    started = time.perf_counter()
    for _ in range(200):
        issuer.mint("http://127.0.0.1")
    return (time.perf_counter() - started) / 200 * 1e6


def main() -> None:
    results = asyncio.run(bench())
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    for operation, numbers in results["operations"].items():
        print(
            f"{operation:<33} emulator {numbers['emulatorMicrosecondsPerRequest']:>8.1f} us/req   "
            f"baseline {numbers['baselineMicrosecondsPerRequest']:>8.1f} us/req   "
            f"ratio {numbers['ratio']:.2f}x (target <= 2x)"
        )
    print(f"one RS256 callback token: {results['rsaSignMicroseconds']:.0f} us")
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
