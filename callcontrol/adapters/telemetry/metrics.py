"""The app's metric instruments, all of them, on the OpenTelemetry metrics API.

Names and attributes (docs/operations.md lists them for dashboards and alerts):

| instrument | kind | unit | attributes |
| --- | --- | --- | --- |
| callcontrol.inbound.decisions | counter | {decision} | outcome, action, ruleId |
| callcontrol.inbound.decision.duration | histogram | ms | outcome, action |
| callcontrol.callbacks | counter | {event} | result (applied, duplicate, refused), eventType |
| callcontrol.callback.apply.duration | histogram | ms | eventType |
| callcontrol.actions | counter | {request} | kind, outcome (accepted, refused, unavailable) |
| callcontrol.acs.errors | counter | {error} | action, status, code |
| callcontrol.unexpected_errors | counter | {request} | function |
| callcontrol.readiness | gauge | 1 (1 passed, 0 failed) | check (settings, tableStorage, acs, callbackKeys) |
| callcontrol.outbox.pending_calls | gauge | {call} | none |
"""

from __future__ import annotations

from typing import Final

from opentelemetry.metrics import Meter

from callcontrol.observability.port import ActionOutcome, CallbackResult

METER_NAME: Final = "callcontrol"
INBOUND_DECISIONS: Final = "callcontrol.inbound.decisions"
INBOUND_DECISION_DURATION: Final = "callcontrol.inbound.decision.duration"
CALLBACKS: Final = "callcontrol.callbacks"
CALLBACK_APPLY_DURATION: Final = "callcontrol.callback.apply.duration"
ACTIONS: Final = "callcontrol.actions"
ACS_ERRORS: Final = "callcontrol.acs.errors"
UNEXPECTED_ERRORS: Final = "callcontrol.unexpected_errors"
READINESS: Final = "callcontrol.readiness"  # infra/app/alerts.bicep queries both gauges by name
OUTBOX_PENDING_CALLS: Final = "callcontrol.outbox.pending_calls"


class OtelMetrics:
    def __init__(self, meter: Meter) -> None:
        self._decisions = meter.create_counter(
            INBOUND_DECISIONS, unit="{decision}", description="IncomingCall decisions by outcome")
        self._decision_duration = meter.create_histogram(
            INBOUND_DECISION_DURATION, unit="ms",
            description="From the IncomingCall to ACS's answer to the action")
        self._callbacks = meter.create_counter(
            CALLBACKS, unit="{event}", description="Callback events applied, duplicate or refused")
        self._callback_duration = meter.create_histogram(
            CALLBACK_APPLY_DURATION, unit="ms",
            description="Applying one callback event to the stored call")
        self._actions = meter.create_counter(
            ACTIONS, unit="{request}", description="Actions sent to ACS by kind and outcome")
        self._acs_errors = meter.create_counter(
            ACS_ERRORS, unit="{error}", description="ACS requests that failed, by ACS code")
        self._unexpected = meter.create_counter(
            UNEXPECTED_ERRORS, unit="{request}",
            description="Requests answered 500 after an unexpected error, by function")
        self._readiness = meter.create_gauge(
            READINESS, unit="1", description="Readiness checks in steady state: 1 passed, 0 failed")
        self._outbox_pending = meter.create_gauge(
            OUTBOX_PENDING_CALLS, unit="{call}",
            description="Calls the outbox sweep found with unpublished call events")

    def inbound_decision(self, *, outcome: str, action: str, rule_id: str | None,
                         latency_ms: float) -> None:
        self._decisions.add(1, {"outcome": outcome, "action": action,
                                "ruleId": rule_id or "(default)"})
        self._decision_duration.record(latency_ms, {"outcome": outcome, "action": action})

    def callback(self, result: CallbackResult, *, event_type: str | None = None,
                 latency_ms: float | None = None) -> None:
        attributes = {"result": result.value}
        if event_type:
            attributes["eventType"] = event_type
        self._callbacks.add(1, attributes)
        if latency_ms is not None and result is CallbackResult.APPLIED:
            self._callback_duration.record(latency_ms, {"eventType": event_type or "unknown"})

    def action(self, *, kind: str, outcome: ActionOutcome) -> None:
        self._actions.add(1, {"kind": kind, "outcome": outcome.value})

    def acs_error(self, *, action: str, status: int | None, code: str | None) -> None:
        self._acs_errors.add(1, {"action": action, "status": status or 0, "code": code or "none"})

    def unexpected_error(self, *, function: str) -> None:
        self._unexpected.add(1, {"function": function})

    def readiness(self, *, check: str, ok: bool) -> None:
        self._readiness.set(1 if ok else 0, {"check": check})

    def outbox_backlog(self, *, calls: int) -> None:
        self._outbox_pending.set(calls)
