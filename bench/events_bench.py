"""Callback ingestion with call events published vs not, in the same run (Azurite + the emulator's
Event Grid topic). Not a timed test: it prints the ratio and writes bench/results/events.json.

Off: Callbacks over a CallStore without an outbox (the app with no EVENTGRID_TOPIC_ENDPOINT).
On: the same over a CallStore whose writes carry each change's events in the call's row, with the
relay publishing them in the background through EventGridPublisherClient to the emulator's
topic and settling them afterwards. Same scenario as bench/callback_bench.py: several calls
interleaved, each call's events in order, one at a time (the latency a callback request sees).
After each "on" round the relay is drained and every event is checked to have reached the topic.
Rounds alternate to share the machine's noise; the headline ratio compares the best round of
each, and the median of the paired rounds' ratios is reported beside it, with per-callback
latencies. A control runs the outbox and relay with a publisher that accepts at once (no SDK, no
topic): its ratio against "off" shows the write path's own cost and the noise floor of the run.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import statistics
import time
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from azure.data.tables.aio import TableServiceClient

from bench._common import percentile, summary, write
from bench.callback_bench import CALLS, EVENTS_PER_CALL, scenario
from callcontrol.adapters.eventgrid_publisher import EventGridPublisher, connect_publisher
from callcontrol.adapters.store.azure_tables import AzureTableBackend
from callcontrol.adapters.store.calls import CallStore
from callcontrol.domain.events.call_events import CallEvent
from callcontrol.usecases.callbacks import Callbacks, IngestCallbacks
from callcontrol.usecases.outbox import OutboxRelay
from tools.azurite import start_azurite
from tools.processes import free_port, stop
from tools.stack import start_emulator

ROUNDS = 11


class NullPublisher:
    """Accepts at once: the outbox and relay without the SDK or a topic (the control)."""

    def __init__(self) -> None:
        self.published = 0
        self.batches = 0

    async def publish(self, events: Sequence[CallEvent]) -> None:
        self.published += len(events)
        self.batches += 1


class CountingPublisher:
    def __init__(self, inner: EventGridPublisher) -> None:
        self.inner = inner
        self.published = 0
        self.batches = 0

    async def publish(self, events: Sequence[CallEvent]) -> None:
        await self.inner.publish(events)
        self.published += len(events)
        self.batches += 1


@dataclass
class Round:
    seconds_per_event: float
    latencies_ms: list[float]
    round_trips_per_event: float
    published: int = 0
    batches: int = 0
    drain_seconds: float = 0.0
    settle_round_trips: int = 0


async def run_round(connection_string: str, publisher: CountingPublisher | NullPublisher | None
                    ) -> Round:
    service = TableServiceClient.from_connection_string(connection_string)
    backend = AzureTableBackend(service, table_prefix=f"e{uuid.uuid4().hex[:8]}")
    relay: OutboxRelay | None = None
    if publisher is None:
        store = CallStore(backend)
    else:
        relay = OutboxRelay(lambda: publisher)
        store = CallStore(backend, outbox=relay)
        relay.attach(store)
    callbacks = Callbacks(store)
    per_call = [scenario(f"call-{uuid.uuid4()}") for _ in range(CALLS)]
    await callbacks.ingest(IngestCallbacks((per_call[0][0],)))  # the table, outside the timing
    if relay is not None:
        await relay.idle()
    trips_before = backend.round_trips
    latencies: list[float] = []
    started = time.perf_counter()
    for step in range(EVENTS_PER_CALL):  # calls interleave, each call's events in order
        for events in per_call:
            if not (events is per_call[0] and step == 0):
                one = time.perf_counter()
                await callbacks.ingest(IngestCallbacks((events[step],)))
                latencies.append((time.perf_counter() - one) * 1000)
    elapsed = time.perf_counter() - started
    count = CALLS * EVENTS_PER_CALL - 1
    result = Round(elapsed / count, latencies, (backend.round_trips - trips_before) / count)
    if relay is not None and publisher is not None:
        drain_started = time.perf_counter()
        await relay.idle()
        result.drain_seconds = time.perf_counter() - drain_started
        result.settle_round_trips = backend.round_trips - trips_before - round(
            result.round_trips_per_event * count)
        result.published, result.batches = publisher.published, publisher.batches
        publisher.published = publisher.batches = 0
        left = await store.calls_with_pending_events()
        if left:
            raise AssertionError(f"{len(left)} calls still have pending events after the drain")
    await backend.close()
    return result


def topic_event_count(emulator_url: str) -> int:
    with urllib.request.urlopen(f"{emulator_url}/emulator/eventgrid/events", timeout=10) as reply:
        return len(json.loads(reply.read())["value"])


async def run() -> None:
    azurite = start_azurite()
    port = free_port()
    topic_key = base64.b64encode(secrets.token_bytes(32)).decode()
    emulator = start_emulator(port, base64.b64encode(secrets.token_bytes(32)).decode(),
                              str(uuid.uuid4()), "http://127.0.0.1:9/unused", None,
                              ["--log-max-entries", "100000"], topic_key=topic_key)
    emulator_url = f"http://127.0.0.1:{port}"
    publisher = CountingPublisher(connect_publisher(f"{emulator_url}/api/events", access_key=topic_key,
                                                    token_credential=None, timeout_seconds=5))
    try:
        off: list[Round] = []
        on: list[Round] = []
        control: list[Round] = []
        for _ in range(ROUNDS):  # alternate to share the machine's noise
            off.append(await run_round(azurite.connection_string, None))
            on.append(await run_round(azurite.connection_string, publisher))
            control.append(await run_round(azurite.connection_string, NullPublisher()))
        best_off = min(off, key=lambda r: r.seconds_per_event)
        best_on = min(on, key=lambda r: r.seconds_per_event)
        events_per_round = CALLS * EVENTS_PER_CALL - 1
        ratio = best_on.seconds_per_event / best_off.seconds_per_event
        paired = sorted(b.seconds_per_event / a.seconds_per_event for a, b in zip(off, on, strict=True))
        paired_control = sorted(b.seconds_per_event / a.seconds_per_event
                                for a, b in zip(off, control, strict=True))
        all_off = [x for r in off for x in r.latencies_ms]
        all_on = [x for r in on for x in r.latencies_ms]
        all_control = [x for r in control for x in r.latencies_ms]
        write("events", {
            "events_per_round": events_per_round,
            "rounds": ROUNDS,
            "off_ms_per_callback": round(best_off.seconds_per_event * 1000, 3),
            "on_ms_per_callback": round(best_on.seconds_per_event * 1000, 3),
            "ratio_on_over_off": round(ratio, 3),
            "ratio_median_of_paired_rounds": round(paired[len(paired) // 2], 3),
            "control_ratio_median_of_paired_rounds": round(paired_control[len(paired_control) // 2], 3),
            "per_callback_off": summary(all_off),
            "per_callback_on": summary(all_on),
            "per_callback_control": summary(all_control),
            "ratio_of_per_callback_means": round(statistics.fmean(all_on) / statistics.fmean(all_off), 3),
            "ratio_of_per_callback_p50": round(percentile(all_on, 0.5) / percentile(all_off, 0.5), 3),
            "ratio_per_round": [round(b.seconds_per_event / a.seconds_per_event, 3)
                                for a, b in zip(off, on, strict=True)],
            "off_storage_round_trips_per_callback": round(best_off.round_trips_per_event, 3),
            "on_storage_round_trips_per_callback": round(best_on.round_trips_per_event, 3),
            "on_cloudevents_published_per_round": best_on.published,
            "on_publish_batches_per_round": best_on.batches,
            "on_drain_after_last_callback_ms": round(best_on.drain_seconds * 1000, 1),
            "on_settle_writes_per_call_after_the_round": round(best_on.settle_round_trips / CALLS, 2),
            "events_the_topic_accepted_in_all": topic_event_count(emulator_url),
            "target": "ratio_on_over_off <= 1.2",
        })
    finally:
        await publisher.inner.close()
        stop(emulator)
        azurite.stop()


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
