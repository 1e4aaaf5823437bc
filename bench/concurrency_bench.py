"""Per-instance concurrency curve of one worker process: the default perInstanceConcurrency.

One devhost process (the real handlers, one Python worker as on a Flex Consumption instance)
with Azurite and the ACS emulator, loaded at concurrency 1, 2, 4, ... 32 by this process over
loopback HTTP. Two request kinds, each measured on its own:
  - callbacks: POST /api/callbacks with a freshly signed RS256 token (as ACS sends them); each
    concurrent sender is one call whose events arrive in order, as ACS delivers a call's events;
  - management read: GET /api/calls/{id} with the function key (a store read plus an ACS
    get_call to the emulator).
Per level: throughput (requests/s over the level's wall time), p50 and p99 latency. The chosen
default is the largest concurrency whose p99 stays under 2x the unloaded (concurrency 1) p99 for
both kinds. Levels run twice, ascending then descending, so drift on a shared machine hits all.

Several profiles, one after the other in the same run. On loopback every storage and ACS request
is answered in a fraction of a millisecond, so the worker never waits and the curve measures only
its CPU (and the shared machine's). In Azure it waits: the other profiles put a delay line in
front of Azurite (each table request held) and have the emulator answer every ACS request late,
at three latencies around what in-region Azure gives; the default is chosen on the middle one
(table 10 ms, ACS 100 ms; BENCH_TABLE_DELAY_MS / BENCH_ACS_DELAY_MS override it).
Results: bench/results/concurrency.json (the chosen profile at the top, every profile under
`profiles`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import aiohttp

from bench._common import percentile, write
from bench.delay_line import DelayLine
from bench.management_bench import place_call
from callcontrol.domain.callback_binding import callback_uri, new_callback_secret
from emulator.acs.tokens import TokenIssuer
from tools.azurite import start_azurite
from tools.processes import free_port
from tools.stack import HOST, Stack, start_devhost, start_emulator

LEVELS = (1, 2, 4, 8, 16, 32)
REQUESTS_PER_LEVEL = 192  # per kind and round; a multiple of every level
ROUNDS = 2
WARMUP = 20
P99_LIMIT_FACTOR = 2.0
# In-region Azure, as assumed (docs/deployment.md says why): a table operation ~10 ms, a Call
# Automation request ~100 ms; half and twice that on either side, and loopback for contrast.
TABLE_DELAY_MS = float(os.environ.get("BENCH_TABLE_DELAY_MS", "10"))
ACS_DELAY_MS = float(os.environ.get("BENCH_ACS_DELAY_MS", "100"))
PROFILES = ((0.0, 0.0), (TABLE_DELAY_MS / 2, ACS_DELAY_MS / 2), (TABLE_DELAY_MS, ACS_DELAY_MS),
            (TABLE_DELAY_MS * 2, ACS_DELAY_MS * 2))
CHOSEN_PROFILE = 2


class KeySet:
    """Serves the emulator's callback keys plus this bench's own, as one JWKS on loopback."""

    def __init__(self, emulator_url: str, own: TokenIssuer) -> None:
        self._emulator_keys = f"{emulator_url}/calling/keys"
        self._own = own
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = json.dumps(outer.jwks()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self._server.server_address[1]}/keys"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def jwks(self) -> dict[str, Any]:
        with urllib.request.urlopen(self._emulator_keys, timeout=10) as reply:
            keys = list(json.loads(reply.read())["keys"])
        return {"keys": keys + list(self._own.jwks()["keys"])}

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def start(table_delay_ms: float = 0.0, acs_delay_ms: float = 0.0,
          issuer: TokenIssuer | None = None) -> tuple[Stack, KeySet, TokenIssuer, DelayLine | None]:
    """Azurite + emulator + one devhost whose callback key set includes this bench's key; the
    app's table requests through a delay line and the emulator's answers late when asked."""
    azurite = start_azurite()
    app_port, emulator_port = free_port(), free_port()
    resource_id = str(uuid.uuid4())
    stack = Stack(
        azurite=azurite, emulator_url=f"http://{HOST}:{emulator_port}",
        app_url=f"http://{HOST}:{app_port}",
        access_key=base64.b64encode(secrets.token_bytes(32)).decode(), resource_id=resource_id,
        function_key=secrets.token_urlsafe(24), master_key=secrets.token_urlsafe(24),
        eventgrid_key=secrets.token_urlsafe(24),
        topic_key=base64.b64encode(secrets.token_bytes(32)).decode())
    signer = issuer or TokenIssuer(audience=resource_id)
    keys: KeySet | None = None
    line: DelayLine | None = None
    try:
        stack.processes.append(start_emulator(emulator_port, stack.access_key, resource_id,
                                              stack.webhook_url, None, topic_key=stack.topic_key))
        if acs_delay_ms:
            late = {"operation": "*", "count": 10**9, "latencySeconds": acs_delay_ms / 1000}
            post_json(f"{stack.emulator_url}/emulator/faults", late)
        keys = KeySet(stack.emulator_url, signer)
        settings = {**stack.app_settings(), "ACS_CALLBACK_JWKS_URL": keys.url}
        if table_delay_ms:
            line = DelayLine(azurite.port, table_delay_ms / 1000)
            settings["CallStateStorage"] = azurite.connection_string.replace(
                f":{azurite.port}/", f":{line.port}/")
        stack.processes.append(start_devhost(app_port, settings, stack.function_key,
                                             stack.master_key, None,
                                             eventgrid_key=stack.eventgrid_key))
    except BaseException:
        if keys is not None:
            keys.stop()
        if line is not None:
            line.stop()
        stack.stop()
        raise
    return stack, keys, signer, line


def post_json(url: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(url, json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        reply.read()


def callback_body(call_id: str, step: int) -> bytes:
    """The step-th event of a synthetic call: CallConnected, then ParticipantsUpdated in order."""
    data: dict[str, Any] = {"callConnectionId": call_id, "serverCallId": f"srv-{call_id}",
                            "correlationId": str(uuid.uuid5(uuid.NAMESPACE_URL, call_id))}
    kind = "CallConnected"
    if step:
        kind = "ParticipantsUpdated"
        data.update(sequenceNumber=step, participants=[
            {"identifier": {"rawId": f"4:+1425555{i:04d}", "kind": "phoneNumber",
                            "phoneNumber": {"value": f"+1425555{i:04d}"}},
             "isMuted": False, "isOnHold": False} for i in range(2)])
    event = {"id": str(uuid.uuid4()), "source": f"calling/callConnections/{call_id}",
             "type": f"Microsoft.Communication.{kind}", "data": data,
             "time": f"2026-11-30T09:00:{step % 60:02d}.000000+00:00", "specversion": "1.0",
             "datacontenttype": "application/json",
             "subject": f"calling/callConnections/{call_id}"}
    return json.dumps([event]).encode()


async def run_level(concurrency: int, count: int, send: Any) -> dict[str, Any]:
    """`concurrency` senders, each doing count/concurrency requests back to back."""
    latencies: list[float] = []
    per_sender = count // concurrency

    async def sender(index: int) -> None:
        for step in range(per_sender):
            started = time.perf_counter()
            await send(index, step)
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(sender(i) for i in range(concurrency)))
    wall = time.perf_counter() - started
    return {"latencies": latencies, "wall_s": wall}


async def measure(stack: Stack, signer: TokenIssuer, call_id: str) -> dict[str, Any]:
    function_key = {"x-functions-key": stack.function_key}
    samples: dict[str, dict[int, dict[str, Any]]] = {
        kind: {c: {"latencies": [], "wall_s": 0.0, "n": 0} for c in LEVELS}
        for kind in ("callback", "management_read")}
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def read(_index: int, _step: int) -> None:
            async with http.get(f"{stack.app_url}/api/calls/{call_id}", headers=function_key) as reply:
                body = await reply.read()
                assert reply.status == 200, body[:300]

        def callbacks_for(concurrency: int, per_sender: int) -> Any:
            # Tokens and bodies are made before the clock starts: only the app's work is timed.
            calls = [f"bench-{uuid.uuid4()}" for _ in range(concurrency)]
            # Each call's own callback URI, as ACS uses it (the bare one takes no unknown call).
            urls = [callback_uri(f"{stack.app_url}/api/callbacks", new_callback_secret())
                    for _ in calls]
            prepared = [[(f"Bearer {signer.mint(stack.emulator_url)}", callback_body(call, step))
                         for step in range(per_sender)] for call in calls]

            async def send(index: int, step: int) -> None:
                token, body = prepared[index][step]
                async with http.post(urls[index], data=body, headers={
                        "Authorization": token, "Content-Type": "application/json"}) as reply:
                    text = await reply.read()
                    assert reply.status == 200, text[:300]
            return send

        await run_level(1, WARMUP, callbacks_for(1, WARMUP))  # tables, key set, pools
        await run_level(1, WARMUP, read)
        for round_index in range(ROUNDS):
            order = LEVELS if round_index % 2 == 0 else tuple(reversed(LEVELS))
            for concurrency in order:
                per_sender = REQUESTS_PER_LEVEL // concurrency
                for kind, send in (("callback", callbacks_for(concurrency, per_sender)),
                                   ("management_read", read)):
                    result = await run_level(concurrency, REQUESTS_PER_LEVEL, send)
                    slot = samples[kind][concurrency]
                    slot["latencies"] += result["latencies"]
                    slot["wall_s"] += result["wall_s"]
                    slot["n"] += len(result["latencies"])
    return samples


def curve(samples: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"concurrency": c, "requests": s["n"],
             "throughput_rps": round(s["n"] / s["wall_s"], 1),
             "p50_ms": round(percentile(s["latencies"], 0.5), 2),
             "p99_ms": round(percentile(s["latencies"], 0.99), 2)} for c, s in samples.items()]


def largest_within(points: list[dict[str, Any]], factor: float = P99_LIMIT_FACTOR) -> int:
    """The largest concurrency whose p99 stays under `factor` x the p99 at concurrency 1."""
    unloaded = next(p["p99_ms"] for p in points if p["concurrency"] == 1)
    within = [p["concurrency"] for p in points if p["p99_ms"] < factor * unloaded]
    return max(within, default=1)


def profile(table_delay_ms: float, acs_delay_ms: float) -> tuple[dict[str, Any], int]:
    """One profile's curves, per kind, and the concurrency the rule picks on them."""
    stack, keys, signer, line = start(table_delay_ms, acs_delay_ms)
    try:
        call_id = place_call(stack)
        samples = asyncio.run(measure(stack, signer, call_id))
    finally:
        keys.stop()
        stack.stop()  # the app first: its connections through the line close with it
        if line is not None:
            line.stop()
    report: dict[str, Any] = {"injected_latency_ms": {"table": table_delay_ms, "acs": acs_delay_ms}}
    chosen: list[int] = []
    for kind, by_level in samples.items():
        points = curve(by_level)
        best = largest_within(points)
        chosen.append(best)
        report[kind] = {"curve": points, "p99_limit_ms": round(P99_LIMIT_FACTOR * points[0]["p99_ms"], 2),
                        "largest_concurrency_within_limit": best}
        print(f"{kind} (table +{table_delay_ms:g} ms, ACS +{acs_delay_ms:g} ms): "
              + ", ".join(f"c{p['concurrency']} {p['throughput_rps']}/s p99 {p['p99_ms']}"
                          for p in points) + f" -> {best}", flush=True)
    return report, min(chosen)


def main() -> None:
    started = time.monotonic()
    profiles = []
    for table_delay_ms, acs_delay_ms in PROFILES:
        report, choice = profile(table_delay_ms, acs_delay_ms)
        profiles.append({**report, "chosen_per_instance_concurrency": choice})
    write("concurrency", {
        **profiles[CHOSEN_PROFILE],
        "rule": f"largest concurrency whose p99 < {P99_LIMIT_FACTOR:g} x the concurrency-1 p99, "
                "for callbacks and management reads alike, with Azure's latency injected "
                f"(table {TABLE_DELAY_MS:g} ms, ACS {ACS_DELAY_MS:g} ms)",
        "setup": "one devhost worker process + Azurite (through a delay line) + ACS emulator "
                 f"(answering late) on loopback; {REQUESTS_PER_LEVEL} requests per kind per level, "
                 f"{ROUNDS} rounds; the profiles in the order run",
        "profiles": [{"injected_latency_ms": p["injected_latency_ms"],
                      "chosen_per_instance_concurrency": p["chosen_per_instance_concurrency"],
                      "callback": p["callback"], "management_read": p["management_read"]}
                     for p in profiles],
        "wall_seconds": round(time.monotonic() - started, 1),
    })


if __name__ == "__main__":
    main()
