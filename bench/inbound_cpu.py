"""CPU of one devhost worker per inbound decision, for one or more checkouts of the app in one run.

    .venv/bin/python -m bench.inbound_cpu                          # this checkout
    .venv/bin/python -m bench.inbound_cpu old=/work/old-1747eef here=.   # label=checkout pairs
    .venv/bin/python -m bench.inbound_cpu here=. quiet=.:notopic   # an arm without call events

Wall-clock latency on a shared machine mostly measures waiting for a core; the CPU the worker
process spends does not. Each checkout gets its own Azurite, ACS emulator (this checkout's) and
devhost worker (the checkout's own devhost and app, through bench/profiled_devhost.py), wired as
tools/stack.py wires them (topic settings and LOG_FORMAT=json included; `:notopic` after a
checkout leaves the topic out, so that arm publishes no call events). The worker's CPU
(user + system, all threads, /proc/<pid>/stat) is read before and after each round of
IncomingCall deliveries, delivered one at a time as inbound_bench.py does; rounds alternate
between the checkouts so the machine's state hits them alike.

Two phases: "decision" (the emulator drops the answered calls' callbacks, so the worker only
decides: claim, rules, answer, record) and "with_callbacks" (each answer's callbacks are
delivered and ingested before the next delivery). Then one cProfile of each worker over
PROFILE_DECISIONS decisions of the first phase's kind, written to INBOUND_CPU_PROFILE_DIR
(default /tmp/inbound_cpu): `python -m pstats <file>` or bench/profile_diff.py compares two.
Results: bench/results/inbound_cpu.json.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench._common import write
from bench.inbound_bench import Emulator, event_for
from tools.azurite import Azurite, start_azurite
from tools.processes import ROOT, free_port, stop, wait_for_port
from tools.stack import HOST, app_settings, start_emulator, topic_settings, webhook_url

ROUNDS = int(os.environ.get("INBOUND_CPU_ROUNDS", "6"))
PER_ROUND = int(os.environ.get("INBOUND_CPU_PER_ROUND", "25"))
WARMUP = 15
PROFILE_DECISIONS = int(os.environ.get("INBOUND_CPU_PROFILE_DECISIONS", "100"))
PROFILE_DIR = Path(os.environ.get("INBOUND_CPU_PROFILE_DIR", "/tmp/inbound_cpu"))
SHIM = Path(__file__).resolve().parent / "profiled_devhost.py"
TICKS = os.sysconf("SC_CLK_TCK")
CALLER = "+14255550142"


@dataclass
class Worker:
    """One checkout's stack: Azurite, the emulator, and its devhost worker."""

    label: str
    checkout: Path
    azurite: Azurite
    emulator: subprocess.Popen[bytes]
    devhost: subprocess.Popen[bytes]
    emulator_url: str
    webhook: str
    profile: Path
    cpu_ms: dict[str, list[float]] = field(default_factory=dict)  # per phase: ms per decision, per round

    def cpu_seconds(self) -> float:
        """User + system CPU of the worker process, all its threads."""
        fields = Path(f"/proc/{self.devhost.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def stop(self) -> None:
        stop(self.devhost)
        stop(self.emulator)
        self.azurite.stop()


def start_worker(label: str, checkout: Path, *, topic: bool = True) -> Worker:
    azurite = start_azurite()
    emulator_port, app_port = free_port(), free_port()
    emulator_url, app_url = f"http://{HOST}:{emulator_port}", f"http://{HOST}:{app_port}"
    access_key = base64.b64encode(secrets.token_bytes(32)).decode()
    topic_key = base64.b64encode(secrets.token_bytes(32)).decode()
    resource_id, eventgrid_key = str(uuid.uuid4()), secrets.token_urlsafe(24)
    webhook = webhook_url(app_url, eventgrid_key)
    PROFILE_DIR.mkdir(parents=True, exist_ok=True)
    profile = PROFILE_DIR / f"{label}.prof"
    processes: list[subprocess.Popen[bytes]] = []
    try:
        processes.append(start_emulator(emulator_port, access_key, resource_id, webhook, None,
                                        topic_key=topic_key))
        env = {**os.environ,
               **app_settings(emulator_url, app_url, access_key, resource_id, azurite.connection_string),
               **(topic_settings(f"{emulator_url}/api/events", topic_key) if topic else {}),
               "DEVHOST_FUNCTION_KEY": secrets.token_urlsafe(24),
               "DEVHOST_MASTER_KEY": secrets.token_urlsafe(24),
               "DEVHOST_EVENTGRID_KEY": eventgrid_key, "LOG_FORMAT": "json",
               "DEVHOST_PROFILE_OUT": str(profile)}
        python = checkout / ".venv" / "bin" / "python"
        devhost = subprocess.Popen([str(python), str(SHIM), "--host", HOST, "--port", str(app_port)],
                                   cwd=checkout, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        processes.append(devhost)
        wait_for_port(app_port, devhost, timeout=60)
    except BaseException:
        for process in reversed(processes):
            stop(process)
        azurite.stop()
        raise
    return Worker(label, checkout, azurite, processes[0], devhost, emulator_url, webhook, profile)


class Control(Emulator):
    """The emulator's control API at a URL (Emulator takes it from a Stack)."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self._http, self._base = http, f"{url}/emulator"


async def deliver(http: aiohttp.ClientSession, worker: Worker, emulator: Emulator) -> None:
    """One IncomingCall delivered and decided; with callbacks on, they are ingested too."""
    placed = await emulator.offer(CALLER)
    body = json.dumps([event_for(placed, CALLER)])
    headers = {"Content-Type": "application/json", "aeg-event-type": "Notification"}
    async with http.post(worker.webhook, data=body, headers=headers) as reply:
        assert reply.status == 202, await reply.text()
    await emulator.control("GET", "callbacks?wait=idle")


def signal_and_wait(worker: Worker, signum: signal.Signals, ack: str) -> None:
    """Blocks: nothing else runs meanwhile."""
    marker = Path(f"{worker.profile}.{ack}")
    marker.unlink(missing_ok=True)
    worker.devhost.send_signal(signum)
    deadline = time.monotonic() + 30
    while not marker.exists():
        assert time.monotonic() < deadline, f"{worker.label}: the worker did not handle {signum.name}"
        time.sleep(0.05)


async def measure(workers: list[Worker]) -> None:
    async with aiohttp.ClientSession() as http:
        emulators = {worker.label: Control(http, worker.emulator_url) for worker in workers}
        for worker in workers:
            emulator = emulators[worker.label]
            await emulator.control("PATCH", "settings", {"eventWebhook": None, "connectDelaySeconds": 0})
            for _ in range(WARMUP):  # tables, clients, rule cache, connection pools
                await deliver(http, worker, emulator)
        for phase in ("with_callbacks", "decision"):
            if phase == "decision":  # from now on every answered call's callbacks are dropped
                for worker in workers:
                    await emulators[worker.label].control(
                        "POST", "callback-faults", {"mode": "drop", "count": 1_000_000})
            for _ in range(ROUNDS):
                for worker in workers:
                    emulator = emulators[worker.label]
                    before = worker.cpu_seconds()
                    for _ in range(PER_ROUND):
                        await deliver(http, worker, emulator)
                    spent = (worker.cpu_seconds() - before) * 1000 / PER_ROUND
                    worker.cpu_ms.setdefault(phase, []).append(spent)
        for worker in workers:
            emulator = emulators[worker.label]
            signal_and_wait(worker, signal.SIGUSR1, "started")
            for _ in range(PROFILE_DECISIONS):
                await deliver(http, worker, emulator)
            signal_and_wait(worker, signal.SIGUSR2, "stopped")


def report(workers: list[Worker]) -> dict[str, Any]:
    arms: dict[str, Any] = {}
    for worker in workers:
        arms[worker.label] = {"checkout": str(worker.checkout), "commit": _commit(worker.checkout),
                              "profile": str(worker.profile)}
        for phase, rounds in worker.cpu_ms.items():
            arms[worker.label][f"{phase}_cpu_ms"] = {
                "median": round(statistics.median(rounds), 2), "mean": round(statistics.fmean(rounds), 2),
                "rounds": [round(value, 2) for value in rounds]}
    return {"arms": arms, "rounds": ROUNDS, "per_round": PER_ROUND,
            "load_average": [round(value, 2) for value in os.getloadavg()],
            "measure": "worker process CPU (user + system) per IncomingCall, median of rounds"}


def _commit(checkout: Path) -> str:
    result = subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True, check=False)
    return result.stdout.strip()


def parse(argv: list[str]) -> list[tuple[str, Path, bool]]:
    """label=dir[:notopic] → (label, checkout, topic)."""
    arms = []
    for argument in argv or [f"here={ROOT}"]:
        label, _, directory = argument.partition("=")
        directory, _, option = directory.partition(":")
        if not directory or option not in ("", "notopic"):
            raise SystemExit(f"expected label=checkout-dir[:notopic], got {argument!r}")
        arms.append((label, Path(directory).resolve(), option != "notopic"))
    return arms


def main(argv: list[str] | None = None) -> None:
    """`python -m bench` calls this without arguments: this checkout alone."""
    started = time.monotonic()
    workers: list[Worker] = []
    try:
        for label, checkout, topic in parse(argv or []):
            workers.append(start_worker(label, checkout, topic=topic))
        asyncio.run(measure(workers))
    finally:
        for worker in workers:
            worker.stop()
    write("inbound_cpu", {**report(workers), "wall_seconds": round(time.monotonic() - started, 1)})


if __name__ == "__main__":
    main(sys.argv[1:])
