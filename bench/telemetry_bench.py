"""What telemetry costs: callback ingestion and the inbound decision with telemetry on vs off, in
the same process and run. Target: on ≤ 1.1x off for both.

Both go through the app's functions as the host calls them (function_app.app), with the real
adapters: Table Storage is Azurite, ACS is the emulator (over HTTP, through the official SDK),
callbacks carry RS256 tokens the app verifies. "On" is what a deployed worker does with the
distro or OTLP, with in-memory exporters instead of the network: the invocation, decision, ACS
and callback spans, the dependency spans (one per ACS or Table request), span redaction, the
metrics, and every log record exported through OpenTelemetry's logging handler (batched, as in
production). "Off" is the default: no OpenTelemetry at all. The logging layer (ids on records,
redaction) runs in both, records going to a discarded stream. The arms alternate step by step so
machine noise hits both alike; the ratio compares the arms' medians (p50) of per-request
latencies. A third arm, off again, gives the run's noise floor (control / off): a ratio within
it says nothing. The CPU this process spends per request is reported too: on a busy machine it
shows what telemetry adds better than latencies, which then mostly measure waiting for a core.
So is the time the garbage collector takes within each arm's requests: telemetry keeps its spans
and records queued until the exporter takes them, so it makes collections more frequent, and a
full one (tens of ms in this process) lands on whichever request triggers it, which moves an
arm's mean CPU.

The span pipeline is the one a deployed worker runs: RedactingSpanProcessor, then a
BatchSpanProcessor handing spans to the exporter off the request path, as configure_telemetry
builds it for OTLP and as the Azure Monitor distro does for its exporter (the distro adds
processors of its own, so this is the lower bound of what it costs). The exporter is flushed
between steps, outside the timing, and the run checks that every invocation's span and the
dependency spans of its requests reached it: nothing is sampled or dropped.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import logging
import os
import secrets
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.request import Request, urlopen

import azure.functions as func
from opentelemetry import metrics, trace
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, InMemoryLogRecordExporter
from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from bench._common import percentile, write
from callcontrol.adapters.callback_auth import CallbackAuthenticator
from callcontrol.adapters.telemetry.logs import attach_filters, configure_logging
from callcontrol.adapters.telemetry.otel import OtelTelemetry
from callcontrol.adapters.telemetry.span_redaction import RedactingSpanProcessor
from callcontrol.composition import Services, use_services
from callcontrol.domain.callback_binding import SECRET_PARAMETER, new_callback_secret
from callcontrol.observability import install
from callcontrol.settings import load_settings
from emulator.acs.tokens import TokenIssuer
from function_app import app
from tools.azurite import start_azurite
from tools.processes import free_port, stop
from tools.stack import start_emulator

# 15 rounds: with 5, the control arm (off vs off) drifted up to ±0.06 from 1 in a run, as far
# as the target is from 1; with 15 (900 callbacks and 600 decisions per arm) it stays within
# about ±0.02.
ROUNDS = 15
CALLS, EVENTS_PER_CALL = 6, 10  # per arm and round: every call's events in order, calls interleaved
OFFERS = 40  # IncomingCalls per arm and round
WARMUP_OFFERS, WARMUP_CALLS = 10, 3
TARGET = 1.1
CALLEE = "8:acs:bench_00000000-0000-0000-0000-000000000003"
CALLER = "+14255550142"

Invoke = Callable[[Any], Awaitable[Any]]


class Telemetry:
    """Switches this process between telemetry off and on (in-memory exporters)."""

    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(RedactingSpanProcessor())
        tracer_provider.add_span_processor(BatchSpanProcessor(self.spans))
        trace.set_tracer_provider(tracer_provider)
        self.tracer_provider = tracer_provider
        self.reader = InMemoryMetricReader()
        # As configure_telemetry has it: no exemplars.
        metrics.set_meter_provider(MeterProvider(metric_readers=[self.reader],
                                                 exemplar_filter=AlwaysOffExemplarFilter()))
        self.logs = InMemoryLogRecordExporter()
        self.logger_provider = LoggerProvider()
        self.logger_provider.add_log_record_processor(BatchLogRecordProcessor(self.logs))
        self.log_handler = LoggingHandler(logger_provider=self.logger_provider)
        attach_filters(self.log_handler)
        self.port = OtelTelemetry()

    def on(self) -> None:
        install(self.port)
        logging.getLogger().addHandler(self.log_handler)

    def off(self) -> None:
        install(None)
        logging.getLogger().removeHandler(self.log_handler)
        # Exported data is dropped between rounds, outside the timing.
        self.tracer_provider.force_flush()
        self.logger_provider.force_flush()
        self.spans.clear()
        self.logs.clear()
        self.reader.get_metrics_data()

    def switch(self, arm: str) -> None:
        self.on() if arm == "on" else self.off()

    def exported(self) -> Counter[str]:
        """Spans the exporter received since the last clear: by name, and CLIENT ones as
        "dependency" (one per HTTP request)."""
        self.tracer_provider.force_flush()
        spans = self.spans.get_finished_spans()
        counted = Counter(span.name for span in spans)
        counted["dependency"] = sum(1 for span in spans if span.kind is SpanKind.CLIENT)
        return counted


class GcClock:
    """CPU the garbage collector takes while an arm's request is being timed, and how many
    full (generation 2) collections ran then."""

    def __init__(self, arms: tuple[str, ...]) -> None:
        self.arm: str | None = None
        self.ms = dict.fromkeys(arms, 0.0)
        self.full = dict.fromkeys(arms, 0)
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if self.arm is None:
            return
        if phase == "start":
            self._started = time.process_time()
        else:
            self.ms[self.arm] += (time.process_time() - self._started) * 1000
            self.full[self.arm] += info["generation"] == 2


_SECRETS: dict[str, str] = {}  # each call's callback secret


def functions() -> dict[str, Invoke]:
    return {str(f.get_function_name()): f.get_user_function() for f in app.get_functions()}


def callback_request(tokens: TokenIssuer, issuer: str, event: dict[str, Any]) -> func.HttpRequest:
    # Through the call's own URI, as ACS sends them: the bare one takes no call the app lacks.
    secret = _SECRETS.setdefault(event["data"]["callConnectionId"], new_callback_secret())
    return func.HttpRequest(
        method="POST", url="http://localhost/api/callbacks", params={SECRET_PARAMETER: secret},
        route_params={},
        headers={"Authorization": f"Bearer {tokens.mint(issuer)}"},
        body=json.dumps([event]).encode())


def call_events(call_id: str) -> list[dict[str, Any]]:
    def event(kind: str, data: dict[str, Any]) -> dict[str, Any]:
        return {"id": str(uuid.uuid4()), "source": f"calling/callConnections/{call_id}",
                "type": f"Microsoft.Communication.{kind}", "specversion": "1.0",
                "time": "2026-11-30T10:02:03Z", "datacontenttype": "application/json",
                "data": {"callConnectionId": call_id, "serverCallId": "srv", "correlationId": call_id,
                         **data}}

    roster = [{"identifier": {"rawId": f"4:+1425555{i:04d}"}, "isMuted": False} for i in range(3)]
    return [event("CallConnected", {}),
            *[event("ParticipantsUpdated", {"sequenceNumber": n, "participants": roster})
              for n in range(1, EVENTS_PER_CALL)]]


async def ingest_events(callbacks: Invoke, requests: list[func.HttpRequest],
                        cpu: list[float] | None = None) -> list[float]:
    """ms per callback request (one event each); tokens were minted outside the timing. The
    process's CPU ms per request go to `cpu` (this process only: Azurite and the emulator run
    in their own, so this is what telemetry can add)."""
    latencies = []
    for request in requests:
        started, used = time.perf_counter(), time.process_time()
        response = await callbacks(request)
        latencies.append((time.perf_counter() - started) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - used) * 1000)
        assert response.status_code == 200, response.get_body()
    return latencies


def control(emulator_url: str, method: str, path: str, body: object) -> dict[str, Any]:
    request = Request(f"{emulator_url}/emulator/{path}", data=json.dumps(body).encode(),
                      method=method, headers={"Content-Type": "application/json"})
    with urlopen(request, timeout=10) as reply:  # loopback only
        return dict(json.loads(reply.read()))


def offer(emulator_url: str) -> dict[str, Any]:
    """A fresh IncomingCall, not delivered (the bench delivers it to the function itself)."""
    return control(emulator_url, "POST", "incoming-calls",
                   {"from": {"phoneNumber": CALLER}, "to": {"communicationUserId": CALLEE}})


def incoming_event(placed: Mapping[str, Any]) -> func.EventGridEvent:
    data = {
        "to": {"kind": "communicationUser", "rawId": CALLEE, "communicationUser": {"id": CALLEE}},
        "from": {"kind": "phoneNumber", "rawId": f"4:{CALLER}", "phoneNumber": {"value": CALLER}},
        "serverCallId": placed["serverCallId"], "correlationId": placed["correlationId"],
        "incomingCallContext": placed["incomingCallContext"], "callerDisplayName": "",
    }
    return func.EventGridEvent(id=placed["eventId"], data=data, topic="t", subject="s",
                               event_type="Microsoft.Communication.IncomingCall", event_time=None,
                               data_version="1.0")


async def decide_once(incoming_call: Invoke, event: func.EventGridEvent,
                      cpu: list[float] | None = None) -> float:
    """ms from the delivery to the function's return (claimed, decided, answered, recorded)."""
    started, used = time.perf_counter(), time.process_time()
    await incoming_call(event)
    if cpu is not None:
        cpu.append((time.process_time() - used) * 1000)
    return (time.perf_counter() - started) * 1000


def rotated(arms: tuple[str, ...], step: int) -> tuple[str, ...]:
    """Each arm goes first, second, … equally often."""
    shift = step % len(arms)
    return arms[shift:] + arms[:shift]


async def measure(connection_string: str, emulator_url: str, resource_id: str,
                  access_key: str) -> dict[str, Any]:
    tokens = TokenIssuer(resource_id)
    issuer = "http://acs.bench"

    async def keys() -> Mapping[str, Any]:
        return tokens.jwks()

    app_settings = load_settings({
        "CallStateStorage": connection_string, "ACS_ENDPOINT": emulator_url,
        "ACS_ACCESS_KEY": access_key, "ACS_RESOURCE_ID": resource_id,
        "CALLBACK_BASE_URL": "http://127.0.0.1:9",  # ACS's own callbacks go nowhere: both arms alike
    })

    def factory() -> Services:
        auth = CallbackAuthenticator(issuer=issuer, audience=resource_id, fetch_jwks=keys)
        return Services(app_settings, authenticator=auth)

    control(emulator_url, "PATCH", "settings", {"eventWebhook": None, "connectDelaySeconds": 0})
    telemetry = Telemetry()
    by_name = functions()
    callbacks, incoming_call = by_name["callbacks"], by_name["incoming_call"]
    # "control" is off again: the ratio control/off is this run's noise floor.
    ingest: dict[str, list[float]] = {"off": [], "on": [], "control": []}
    decide: dict[str, list[float]] = {"off": [], "on": [], "control": []}
    ingest_cpu: dict[str, list[float]] = {"off": [], "on": [], "control": []}
    decide_cpu: dict[str, list[float]] = {"off": [], "on": [], "control": []}
    exported: Counter[str] = Counter()
    arms = ("off", "on", "control")
    collector = GcClock(arms)

    async def run_arms() -> None:
        # Warm both paths (tables, clients, caches, imports), then measure. The arms alternate
        # at a fine grain, one step of every call or one IncomingCall at a time, and each arm
        # goes first as often as the other: a change in the machine's load hits both alike.
        for arm in arms:
            telemetry.switch(arm)
            for events in [call_events(str(uuid.uuid4())) for _ in range(WARMUP_CALLS)]:
                await ingest_events(callbacks, [callback_request(tokens, issuer, e) for e in events])
            for _ in range(WARMUP_OFFERS):
                await decide_once(incoming_call, incoming_event(offer(emulator_url)))
            telemetry.off()
        for round_number in range(ROUNDS):
            calls = {arm: [call_events(str(uuid.uuid4())) for _ in range(CALLS)] for arm in arms}
            for step in range(EVENTS_PER_CALL):
                for arm in rotated(arms, round_number + step):
                    requests = [callback_request(tokens, issuer, events[step])
                                for events in calls[arm]]
                    telemetry.switch(arm)
                    collector.arm = arm
                    ingest[arm].extend(await ingest_events(callbacks, requests, ingest_cpu[arm]))
                    collector.arm = None
                    if arm == "on":
                        exported.update(telemetry.exported())
                    telemetry.off()
            for index in range(OFFERS):
                for arm in rotated(arms, round_number + index):
                    event = incoming_event(offer(emulator_url))
                    telemetry.switch(arm)
                    collector.arm = arm
                    decide[arm].append(await decide_once(incoming_call, event, decide_cpu[arm]))
                    collector.arm = None
                    if arm == "on":
                        exported.update(telemetry.exported())
                    telemetry.off()
    gc.callbacks.append(collector)
    try:
        with use_services(factory):
            await run_arms()
    finally:
        gc.callbacks.remove(collector)
    # Every invocation of the "on" arm reached the exporter with its span, and each made
    # requests (a callback reads and writes its call; a decision claims, answers, records).
    assert exported["callbacks"] == len(ingest["on"]), exported
    assert exported["incoming_call"] == len(decide["on"]), exported
    assert exported["dependency"] >= 2 * (len(ingest["on"]) + len(decide["on"])), exported
    ingest_off, ingest_on = percentile(ingest["off"], 0.5), percentile(ingest["on"], 0.5)
    decide_off, decide_on = percentile(decide["off"], 0.5), percentile(decide["on"], 0.5)
    ingest_ratio = round(ingest_on / ingest_off, 3)
    decide_ratio = round(decide_on / decide_off, 3)
    ingest_floor = round(percentile(ingest["control"], 0.5) / ingest_off, 3)
    decide_floor = round(percentile(decide["control"], 0.5) / decide_off, 3)

    requests_per_arm = {arm: len(ingest[arm]) + len(decide[arm]) for arm in arms}
    collection = {
        f"{arm}_ms_per_request": round(collector.ms[arm] / requests_per_arm[arm], 3) for arm in arms
    } | {f"{arm}_full_collections": collector.full[arm] for arm in arms}

    def cpu(samples: dict[str, list[float]]) -> dict[str, float]:
        means = {arm: statistics.fmean(values) for arm, values in samples.items()}
        return {"off_mean_ms": round(means["off"], 3), "on_mean_ms": round(means["on"], 3),
                "control_mean_ms": round(means["control"], 3),
                "ratio": round(means["on"] / means["off"], 3)}

    return {
        "callback_ingestion": {
            "off_p50_ms": round(ingest_off, 3), "on_p50_ms": round(ingest_on, 3),
            "off_mean_ms": round(statistics.fmean(ingest["off"]), 3),
            "on_mean_ms": round(statistics.fmean(ingest["on"]), 3),
            "ratio": ingest_ratio, "noise_floor_ratio_off_vs_off": ingest_floor,
            "n_per_arm": len(ingest["on"]), "app_process_cpu": cpu(ingest_cpu),
        },
        "inbound_decision": {
            "off_p50_ms": round(decide_off, 3), "on_p50_ms": round(decide_on, 3),
            "off_p99_ms": round(percentile(decide["off"], 0.99), 3),
            "on_p99_ms": round(percentile(decide["on"], 0.99), 3),
            "off_mean_ms": round(statistics.fmean(decide["off"]), 3),
            "on_mean_ms": round(statistics.fmean(decide["on"]), 3),
            "ratio": decide_ratio, "noise_floor_ratio_off_vs_off": decide_floor,
            "n_per_arm": len(decide["on"]), "app_process_cpu": cpu(decide_cpu),
        },
        "garbage_collection_in_timed_requests": collection,
        "spans_exported_while_on": exported.total() - exported["dependency"],
        "dependency_spans_exported_while_on": exported["dependency"],
        "meets_target": ingest_ratio <= TARGET and decide_ratio <= TARGET,
        "target": f"on <= {TARGET}x off, for callback ingestion and the inbound decision",
    }


def main() -> None:
    started = time.monotonic()
    # The logging layer as in the worker: one root handler (discarded output) with the filters.
    root = logging.getLogger()
    sink = open(os.devnull, "w")  # noqa: SIM115 (closed below)
    handler = logging.StreamHandler(sink)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    configure_logging({})
    access_key = base64.b64encode(secrets.token_bytes(32)).decode()
    resource_id = str(uuid.uuid4())
    azurite = start_azurite()
    # Its own process: its work (and its failing callback posts) must not share our GIL.
    port = free_port()
    emulator = start_emulator(port, access_key, resource_id, "http://127.0.0.1:9/", log=None)
    try:
        report = asyncio.run(measure(azurite.connection_string, f"http://127.0.0.1:{port}",
                                     resource_id, access_key))
    finally:
        stop(emulator)
        azurite.stop()
        root.removeHandler(handler)
        sink.close()
    write("telemetry", {**report, "wall_seconds": round(time.monotonic() - started, 1)})


if __name__ == "__main__":
    main()
