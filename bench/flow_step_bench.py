"""A flow step's latency against callback ingestion plus one ACS request, in the same run (issue 21).

The step: a sequential ring's first target is busy; from the moment its AddParticipantFailed is
handed to the callbacks use case to the moment the ring's second AddParticipant arrives at the
emulator (its request log stamps arrival with time.time(), the clock this process reads).
The baseline, per call and in the same run: the ingestion of a plain callback of the same call
(the ParticipantsUpdated ACS sends after the connect: a write, no move of the run) plus one
AddParticipant sent as the app sends any (its gateway: span, timeout, repeatability headers), from
the call to its arrival at the emulator. A bare one through the official aio SDK is timed beside
it, to show what the gateway's own path costs.
Target: step p50 <= baseline p50, and no more storage round trips than the plain callback.

Real parts, one process: the app's services (the composition) over Azurite with the ACS gateway
on the emulator, which runs in a thread of this process (so the emulator's own work competes for
the same interpreter on both sides alike). The emulator drops every callback (its `drop` fault
logs the event unsent); this script hands each one to the use case itself, without callback
credentials on either side (the JWT and replay-store checks are callback_bench's subject).
Storage round trips are counted per table call, by caller, to say where a step's go, and the
app's gateway stamps the moment the step's request leaves, splitting the step into the app's work
before it and the request's way to the emulator (to set beside the plain ingestion and bare add).
"""

from __future__ import annotations

import asyncio
import base64
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from azure.communication.callautomation import CommunicationUserIdentifier
from azure.communication.callautomation.aio import CallAutomationClient
from azure.core.credentials import AzureKeyCredential
from azure.data.tables.aio import TableServiceClient

from bench._common import summary, write
from callcontrol.adapters.acs_gateway import AcsGateway
from callcontrol.adapters.store.azure_tables import AzureTableBackend
from callcontrol.adapters.telemetry.dependencies import client_options
from callcontrol.composition import Services
from callcontrol.domain.events.callbacks import parse_callback_event
from callcontrol.domain.events.incoming_call import parse_incoming_call
from callcontrol.domain.identifiers import Identifier, from_raw_id
from callcontrol.domain.models import AddParticipantOutcome
from callcontrol.domain.rules import parse_rule_set
from callcontrol.settings import load_settings
from callcontrol.usecases.callbacks import IngestCallbacks
from emulator import EmulatorConfig, start_in_thread
from emulator.acs import midcall
from emulator.app import EmulatorThread
from emulator.control import operations
from tools.azurite import start_azurite

CALLS, WARMUP = 60, 8
ACCESS_KEY = base64.b64encode(b"flow-step-benchmark-key-not-a-secret").decode()
RESOURCE_ID = "00000000-0000-0000-0000-0000000000f1"
CALLEE = "8:acs:bench_flow_00000000-0000-0000-0000-0000000000a0"
BUSY = "8:acs:bench_flow_00000000-0000-0000-0000-0000000000b1"
AGENT = "8:acs:bench_flow_00000000-0000-0000-0000-0000000000b2"
SPARE = "8:acs:bench_flow_00000000-0000-0000-0000-0000000000b3"
RULES = {"rules": [], "defaultAction": {"type": "flow", "flow": "hunt"}, "flows": {"hunt": {
    "start": "team", "steps": [
        {"id": "team", "type": "ring", "mode": "sequential", "timeoutSeconds": 20,
         "targets": [{"communicationUserId": BUSY}, {"communicationUserId": AGENT}],
         "fallback": "bye"},
        {"id": "bye", "type": "hangup"}]}}}


ADD = "CallConnection_AddParticipant"


def most_common(values: Iterable[int]) -> int:
    return Counter(values).most_common(1)[0][0]


class CountingBackend(AzureTableBackend):
    """The app's table backend, each round trip also counted by the store method that made it."""

    by_caller: Counter[str]
    started: list[float]  # wall time each round trip began (to count those before a request)

    async def _on_table(self, table: str, action: Callable[[Any], Awaitable[Any]], *,
                        insert: bool = False) -> Any:
        caller = sys._getframe(1).f_code.co_name  # the backend method: get, query, transact ...
        outer = sys._getframe(2).f_code.co_name  # the store method calling it
        self.by_caller[f"{table}.{caller}<-{outer}"] += 1
        self.started.append(time.time())
        return await super()._on_table(table, action, insert=insert)


class StampedGateway(AcsGateway):
    """The app's gateway, each AddParticipant's departure stamped (wall time, as the emulator's)."""

    sent: list[float]

    async def add_participant(self, call_connection_id: str, who: Identifier,
                              **options: Any) -> AddParticipantOutcome:
        self.sent.append(time.time())
        return await super().add_participant(call_connection_id, who, **options)


class Emulator:
    """The in-thread emulator's logs, read on its own loop."""

    def __init__(self, thread: EmulatorThread) -> None:
        self._thread = thread

    def callbacks(self, call_id: str) -> list[dict[str, Any]]:
        async def read() -> list[dict[str, Any]]:
            return [e for e in self._thread.services.callbacks.log if e["callConnectionId"] == call_id]
        return self._thread.run(read())

    def arrivals(self, operation: str) -> dict[str, float]:
        """operationContext -> arrival time of each logged request of that operation."""
        async def read() -> dict[str, float]:
            found = {}
            for entry in self._thread.services.request_log:
                wire = entry.to_wire()
                body = wire["body"] if isinstance(wire["body"], dict) else {}
                if wire["operation"] == operation and body.get("operationContext"):
                    found[str(body["operationContext"])] = float(wire["time"])
            return found
        return self._thread.run(read())

    def offer(self, caller: str) -> dict[str, Any]:
        """An IncomingCall placed and not delivered (no webhook): its event's data."""
        body = {"from": {"phoneNumber": caller}, "to": {"communicationUserId": CALLEE}}
        placed = self._thread.run(operations.place_incoming_call(self._thread.services, body))
        return {"to": {"rawId": CALLEE, "communicationUser": {"id": CALLEE}},
                "from": {"rawId": f"4:{caller}", "phoneNumber": {"value": caller}},
                "serverCallId": placed["serverCallId"], "correlationId": placed["correlationId"],
                "incomingCallContext": placed["incomingCallContext"], "callerDisplayName": ""}

    def setup(self) -> None:
        async def run() -> None:
            services = self._thread.services
            operations.add_callback_fault(services, {"mode": "drop", "count": 10**9})
            for endpoint, behavior in ((BUSY, "busy"), (AGENT, "noAnswer"), (SPARE, "noAnswer")):
                operations.set_endpoint_behavior(
                    services, {"endpoint": {"communicationUserId": endpoint}, "behavior": behavior})
        self._thread.run(run())

    def hang_up(self, call_id: str) -> None:
        async def run() -> None:
            services = self._thread.services
            connection = services.registry.connections.get(call_id)
            if connection is not None:
                midcall.terminate(services, connection)
        self._thread.run(run())


async def wait_for(find: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + 10.0
    while time.monotonic() < deadline:
        found = find()
        if found:
            return found
        await asyncio.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


def event_of(emulator: Emulator, call_id: str, kind: str) -> Any:
    entries = [e for e in emulator.callbacks(call_id) if e["type"].endswith("." + kind)]
    return parse_callback_event(entries[0]["event"]) if entries else None


async def one_call(services: Services, emulator: Emulator, sdk: CallAutomationClient,
                   backend: CountingBackend, gateway: StampedGateway) -> dict[str, Any]:
    """Offer → answer → connected → first add (busy), untimed; then the two timed parts."""
    offer = emulator.offer(f"+1425555{uuid.uuid4().int % 10000:04d}")
    result = await services.inbound.handle(parse_incoming_call(offer))
    call_id = result.record_id
    connected = await wait_for(lambda: event_of(emulator, call_id, "CallConnected"), "CallConnected")
    plain = await wait_for(lambda: event_of(emulator, call_id, "ParticipantsUpdated"), "ParticipantsUpdated")
    await services.callbacks.ingest(IngestCallbacks((connected,)))
    busy = await wait_for(lambda: event_of(emulator, call_id, "AddParticipantFailed"), "the busy target")

    # Baseline part 1: a plain callback of the same call, ingested.
    trips, backend.by_caller = backend.round_trips, Counter()
    started = time.perf_counter()
    await services.callbacks.ingest(IngestCallbacks((plain,)))
    plain_ms = (time.perf_counter() - started) * 1000
    plain_trips, plain_calls = backend.round_trips - trips, backend.by_caller

    # Baseline part 2: one AddParticipant through the app's gateway, from the call to its arrival.
    context = f"bench-app-{uuid.uuid4()}"
    sent_at = time.time()
    await gateway.add_participant(call_id, from_raw_id(SPARE), caller_id=None, invitation_timeout=20,
                                  operation_context=context, repeatability_id=str(uuid.uuid4()))
    app_ms = (await wait_for(lambda: emulator.arrivals(ADD).get(context), "the app's add") - sent_at) * 1000
    # Beside it: a bare one through the SDK.
    context = f"bench-bare-{uuid.uuid4()}"
    sent_at = time.time()
    await sdk.get_call_connection(call_id).add_participant(
        CommunicationUserIdentifier(SPARE), operation_context=context, invitation_timeout=20)
    bare_ms = (await wait_for(lambda: emulator.arrivals(ADD).get(context), "the bare add") - sent_at) * 1000

    # The step: the deciding callback in, the next attempt's AddParticipant out.
    trips, backend.by_caller, backend.started = backend.round_trips, Counter(), []
    before = set(emulator.arrivals(ADD))
    gateway.sent = []
    started_wall = time.time()
    await services.callbacks.ingest(IngestCallbacks((busy,)))
    step_trips, step_calls = backend.round_trips - trips, backend.by_caller
    added = await wait_for(lambda: {c: t for c, t in emulator.arrivals(ADD).items()
                                    if c not in before and c.startswith("flow:")}, "attempt 2")
    [(_, arrived)] = added.items()
    ahead = sum(1 for started in backend.started if started < arrived)  # before the add arrived
    emulator.hang_up(call_id)  # ends the ringing invitations too: nothing piles up
    [left] = gateway.sent
    return {"plain_ms": plain_ms, "app_add_ms": app_ms, "bare_ms": bare_ms,
            "step_ms": (arrived - started_wall) * 1000,
            "step_app_ms": (left - started_wall) * 1000, "step_request_ms": (arrived - left) * 1000,
            "plain_trips": plain_trips, "step_trips": step_trips, "step_trips_ahead": ahead,
            "plain_calls": plain_calls, "step_calls": step_calls}


async def measure(services: Services, emulator: Emulator, backend: CountingBackend,
                  sdk: CallAutomationClient, gateway: StampedGateway) -> dict[str, Any]:
    rows = []
    for index in range(WARMUP + CALLS):
        row = await one_call(services, emulator, sdk, backend, gateway)
        if index >= WARMUP:
            rows.append(row)
    baseline = [r["plain_ms"] + r["app_add_ms"] for r in rows]
    step, base = summary([r["step_ms"] for r in rows]), summary(baseline)
    trips = {"plain_callback": most_common(r["plain_trips"] for r in rows),
             "step": most_common(r["step_trips"] for r in rows),
             "step_before_its_request": most_common(r["step_trips_ahead"] for r in rows)}
    return {
        "calls": len(rows),
        "step_callback_to_next_add": step,
        "baseline_plain_ingest_plus_add": base,
        "plain_ingest": summary([r["plain_ms"] for r in rows]),
        "app_add_to_arrival": summary([r["app_add_ms"] for r in rows]),
        "bare_sdk_add_to_arrival": summary([r["bare_ms"] for r in rows]),
        "step_until_its_request_leaves": summary([r["step_app_ms"] for r in rows]),
        "step_request_to_arrival": summary([r["step_request_ms"] for r in rows]),
        "p50_ratio": round(step["p50_ms"] / base["p50_ms"], 3),
        "storage_round_trips": trips,
        "round_trips_by_caller": {"plain_callback": dict(rows[-1]["plain_calls"]),
                                  "step": dict(rows[-1]["step_calls"])},
        "meets_target": step["p50_ms"] <= base["p50_ms"]
        and trips["step_before_its_request"] <= trips["plain_callback"],
        "target": "step p50 <= p50 of (plain ingestion + one ACS request as the app sends it); "
                  "no more round trips before the step's request than a plain callback makes",
    }


async def run() -> dict[str, Any]:
    azurite = start_azurite()
    thread = start_in_thread(EmulatorConfig(access_key=ACCESS_KEY, resource_id=RESOURCE_ID,
                                            connect_delay_seconds=0.0))
    try:
        emulator = Emulator(thread)
        settings = load_settings({
            "ACS_ENDPOINT": thread.base_url, "ACS_ACCESS_KEY": ACCESS_KEY, "ACS_RESOURCE_ID": RESOURCE_ID,
            "ACS_CALLBACK_ISSUER": thread.base_url,
            "ACS_CALLBACK_JWKS_URL": f"{thread.base_url}/calling/keys",
            "CALLBACK_BASE_URL": "http://127.0.0.1:9", "CallStateStorage": azurite.connection_string})
        service = TableServiceClient.from_connection_string(azurite.connection_string)
        backend = CountingBackend(service, table_prefix=f"f{uuid.uuid4().hex[:8]}")
        backend.by_caller, backend.started = Counter(), []
        gateway = StampedGateway(
            CallAutomationClient(thread.base_url, AzureKeyCredential(ACCESS_KEY), retry_total=2,
                                 retry_backoff_max=4, **client_options()),  # as connect_gateway
            callback_url=settings.callback_url, timeout_seconds=settings.acs_request_timeout_seconds)
        gateway.sent = []
        services = Services(settings, backend=backend, gateway=gateway)
        await services.rule_store.replace(parse_rule_set(RULES), None)
        emulator.setup()
        try:
            async with CallAutomationClient(thread.base_url, AzureKeyCredential(ACCESS_KEY)) as sdk:
                return await measure(services, emulator, backend, sdk, gateway)
        finally:
            await services.aclose()
            await gateway.close()
            await backend.close()
    finally:
        thread.stop()
        azurite.stop()


def main() -> None:
    write("flow_step", asyncio.run(run()))


if __name__ == "__main__":
    main()
