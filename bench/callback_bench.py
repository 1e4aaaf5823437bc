"""Callback ingestion cost against one bare Table upsert per event, in the same run (Azurite).

Ours: ingestion through the callbacks use case with each request's binding checked (the call's
URI secret, issue 13, and the token id recorded once per deployment in the replay store, issue
25), the state machine, de-duplication, and one conditional write of the call's row carrying the
event; every 90 events a transaction moves the history to rows). Baseline: one `upsert_entity`
of a similar-size entity per event with the same async SDK, its client built with the SDK's
defaults (the issue's baseline) and, as a second baseline, with the options the app's client gets
(`connect_tables`: no per-request proxy and .netrc lookups, http_environment.py), which shows what
is left of our own cost. A third baseline is the floor of the design since issue 25: the two bare
requests a callback needs, one after the other (a token-like row inserted, then the record-like
row upserted), with the app's client options; its ratio is our own cost over the storage's.
Sequential per call, several calls interleaved, as callbacks arrive.
Reports events/s, the cost ratio and storage round trips per event, and the same ratios in this
process's CPU time (the client side of both; on a loaded
machine the wall-clock ratio mostly measures waiting for a core).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.data.tables.aio import TableServiceClient

from bench._common import write
from callcontrol.adapters.http_environment import transport_options
from callcontrol.adapters.store.azure_tables import connect_tables
from callcontrol.adapters.store.callback_tokens import CallbackTokenStore
from callcontrol.adapters.store.calls import CallStore
from callcontrol.domain.callback_binding import CallbackCredentials, body_digest, new_callback_secret
from callcontrol.domain.events.callbacks import CallbackEvent, parse_callback_event
from callcontrol.usecases.callbacks import Callbacks, IngestCallbacks
from tools.azurite import start_azurite

CALLS, EVENTS_PER_CALL = 20, 15
ROUNDS = int(os.environ.get("CALLBACK_BENCH_ROUNDS", "3"))
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def scenario(call: str) -> list[CallbackEvent]:
    events = [{"id": f"{call}-c", "type": "Microsoft.Communication.CallConnected",
               "time": T0.isoformat(), "data": {"callConnectionId": call}}]
    for n in range(1, EVENTS_PER_CALL):
        events.append({
            "id": f"{call}-p{n}", "type": "Microsoft.Communication.ParticipantsUpdated",
            "time": (T0 + timedelta(seconds=n)).isoformat(),
            "data": {"callConnectionId": call, "sequenceNumber": n, "participants": [
                {"identifier": {"rawId": f"4:+1425555{i:04d}", "phoneNumber": {"value": f"+1425555{i:04d}"}},
                 "isMuted": False} for i in range(3)]},
        })
    return [parse_callback_event(e) for e in events]


async def run_ours(connection_string: str) -> tuple[float, float, int, int]:
    # Built as the app builds it (from_settings.py), only with a table prefix of its own.
    backend = connect_tables(connection_string=connection_string,
                             table_prefix=f"b{uuid.uuid4().hex[:8]}")
    callbacks = Callbacks(CallStore(backend), CallbackTokenStore(backend))
    per_call = [scenario(f"call-{uuid.uuid4()}") for _ in range(CALLS)]
    secrets = {id(events): new_callback_secret() for events in per_call}

    def request(events: list[CallbackEvent], step: int) -> IngestCallbacks:
        # As the sink sees it: the call's URI secret, a fresh token id, the body's digest.
        credentials = CallbackCredentials(secrets[id(events)], str(uuid.uuid4()),
                                          datetime.now(UTC) + timedelta(minutes=5),
                                          body_digest(events[step].id.encode()))
        return IngestCallbacks((events[step],), credentials)

    await callbacks.ingest(request(per_call[0], 0))  # create the table outside the timing
    trips_before = backend.round_trips
    started, cpu_started = time.perf_counter(), time.process_time()
    for step in range(EVENTS_PER_CALL):  # calls interleave, each call's events in order
        for events in per_call:
            if not (events is per_call[0] and step == 0):
                await callbacks.ingest(request(events, step))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    count = CALLS * EVENTS_PER_CALL - 1
    trips = backend.round_trips - trips_before
    await backend.close()
    return elapsed, cpu, count, trips


async def run_baseline(connection_string: str, count: int, **options: Any) -> tuple[float, float]:
    async with TableServiceClient.from_connection_string(connection_string, **options) as service:
        table = await service.create_table_if_not_exists(f"base{uuid.uuid4().hex[:8]}")
        payload = "x" * 900  # about the size of our record row
        started, cpu_started = time.perf_counter(), time.process_time()
        for index in range(count):
            await table.upsert_entity({"PartitionKey": f"call-{index % CALLS}",
                                       "RowKey": "call", "Record": payload, "N": index})
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        await table.close()
    return elapsed, cpu


async def run_two_requests(connection_string: str, count: int) -> tuple[float, float]:
    """The floor: per event a fresh row inserted into one table, then an upsert into another."""
    async with TableServiceClient.from_connection_string(connection_string,
                                                         **transport_options()) as service:
        tokens = await service.create_table_if_not_exists(f"tok{uuid.uuid4().hex[:8]}")
        records = await service.create_table_if_not_exists(f"rec{uuid.uuid4().hex[:8]}")
        payload = "x" * 900
        started, cpu_started = time.perf_counter(), time.process_time()
        for index in range(count):
            key = uuid.uuid4().hex
            await tokens.create_entity({"PartitionKey": key, "RowKey": key, "BodySha256": key})
            await records.upsert_entity({"PartitionKey": f"call-{index % CALLS}",
                                         "RowKey": "call", "Record": payload, "N": index})
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        await tokens.close()
        await records.close()
    return elapsed, cpu


async def run() -> None:
    azurite = start_azurite()
    try:
        ours_s: list[float] = []
        base_s: list[float] = []
        ours_cpu: list[float] = []
        base_cpu: list[float] = []
        same_s: list[float] = []
        same_cpu: list[float] = []
        two_s: list[float] = []
        two_cpu: list[float] = []
        trips_per_event = 0.0
        for _ in range(ROUNDS):  # alternate to share the machine's noise
            elapsed, cpu, count, trips = await run_ours(azurite.connection_string)
            ours_s.append(elapsed / count)
            ours_cpu.append(cpu / count)
            trips_per_event = trips / count
            elapsed, cpu = await run_baseline(azurite.connection_string, count)
            base_s.append(elapsed / count)
            base_cpu.append(cpu / count)
            elapsed, cpu = await run_baseline(azurite.connection_string, count, **transport_options())
            same_s.append(elapsed / count)
            same_cpu.append(cpu / count)
            elapsed, cpu = await run_two_requests(azurite.connection_string, count)
            two_s.append(elapsed / count)
            two_cpu.append(cpu / count)
        ours, base, same, two = min(ours_s), min(base_s), min(same_s), min(two_s)
        cpu_ours, cpu_base = statistics.median(ours_cpu), statistics.median(base_cpu)
        cpu_same, cpu_two = statistics.median(same_cpu), statistics.median(two_cpu)
        write("callback_ingestion", {
            "events_per_round": CALLS * EVENTS_PER_CALL - 1,
            "ours_ms_per_event": round(ours * 1000, 3),
            "baseline_upsert_ms_per_event": round(base * 1000, 3),
            "ours_events_per_second": round(1 / ours, 1),
            "baseline_events_per_second": round(1 / base, 1),
            "cost_ratio": round(ours / base, 3),
            "storage_round_trips_per_event": round(trips_per_event, 3),
            "ours_cpu_ms_per_event": round(cpu_ours * 1000, 3),
            "baseline_cpu_ms_per_event": round(cpu_base * 1000, 3),
            "cpu_ratio": round(cpu_ours / cpu_base, 3),
            "same_client_upsert_ms_per_event": round(same * 1000, 3),
            "same_client_upsert_cpu_ms_per_event": round(cpu_same * 1000, 3),
            "cost_ratio_vs_same_client": round(ours / same, 3),
            "cpu_ratio_vs_same_client": round(cpu_ours / cpu_same, 3),
            "two_requests_ms_per_event": round(two * 1000, 3),
            "two_requests_cpu_ms_per_event": round(cpu_two * 1000, 3),
            "cost_ratio_vs_two_requests": round(ours / two, 3),
            "cpu_ratio_vs_two_requests": round(cpu_ours / cpu_two, 3),
            "target": "cost_ratio <= 1.3 (issue 20), round trips <= 2",
        })
    finally:
        azurite.stop()


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
