"""One call's story in order, as arrows between lanes: callers and callees, ACS, the app.

Built from what the emulator records: its network journal (who dialled, rang, answered,
declined, hung up), the Event Grid deliveries (IncomingCall), the app's requests to ACS and
ACS's callbacks to the app; plus the app's own inbound decision and its flow runs (the
`call.flow.step` events the app published to the emulator's topic). Pure: no I/O here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from console.flow_steps import flow_steps
from console.steps import ACS, APP, Step, iso_seconds

EVENT_PREFIX = "Microsoft.Communication."

# What a party did on the network, as words on its arrow (party -> ACS unless noted).
_NETWORK_WORDS = {
    "answered": "answers",
    "declined": "declines",
    "busy": "busy",
    "noAnswer": "no answer",
    "unreachable": "unreachable",
    "hungUp": "hangs up",
    "failed": "fails",
}


@dataclass
class Logs:
    """The emulator's control API answers a timeline is built from."""

    call: dict[str, Any]
    journal: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    app_calls: list[dict[str, Any]] = field(default_factory=list)
    flow_events: list[dict[str, Any]] = field(default_factory=list)


def raw_id(identifier: dict[str, Any] | None) -> str:
    if not identifier:
        return ""
    return str(
        identifier.get("rawId")
        or identifier.get("phoneNumber")
        or identifier.get("communicationUserId")
        or ""
    )


def short_name(raw: str) -> str:
    """A lane title people can read: the number, or the tail of an ACS user id."""
    if raw.startswith("4:"):
        return raw[2:]
    if raw.startswith("8:acs:"):
        tail = raw.split("_", 1)[-1]
        return "user …" + tail[-6:] if len(tail) > 8 else "user " + tail
    return raw


def build(logs: Logs) -> dict[str, Any]:
    call = logs.call
    server_call_id = call["serverCallId"]
    correlation_id = call["correlationId"]
    connection_ids = {c["callConnectionId"] for c in call.get("connections", [])}
    offers = {offer["eventId"]: offer for offer in call.get("offers", [])}
    contexts = {offer.get("incomingCallContext") for offer in offers.values()} - {None}
    app_identities = {raw_id(c.get("appIdentity")) for c in call.get("connections", [])}
    app_identities |= {raw_id(offer.get("to")) for offer in offers.values()}

    steps: list[Step] = []
    steps += _network_steps(logs.journal, server_call_id, app_identities)
    steps += _incoming_call_steps(logs.deliveries, offers)
    steps += _request_steps(logs.requests, correlation_id, connection_ids, contexts)
    steps += _callback_steps(logs.callbacks, server_call_id, connection_ids)
    steps += _decision_steps(logs.app_calls, server_call_id, connection_ids)
    steps += flow_steps(logs.flow_events, server_call_id)
    steps.sort(key=lambda step: step.time)
    return {
        "serverCallId": server_call_id,
        "lanes": _lanes(steps, logs.journal, server_call_id),
        "steps": [step.to_json() for step in steps],
    }


def _network_steps(journal: list[dict[str, Any]], server_call_id: str, app_ids: set[str]) -> list[Step]:
    steps = []
    for entry in journal:
        if entry.get("serverCallId") != server_call_id:
            continue
        party = raw_id(entry.get("party"))
        other = raw_id(entry.get("other"))
        kind = entry["kind"]
        result = entry.get("result") or {}
        detail = _result_text(result)
        at = float(entry["time"])
        if party in app_ids:
            continue  # the app's own legs show as its requests and callbacks
        if kind == "dialed":
            steps.append(Step(at, party, ACS, f"dials {short_name(other)}", "network", _headers(entry)))
        elif kind == "ringing":
            steps.append(
                Step(at, ACS, party, "rings", "network", f"caller {short_name(other)}" if other else "")
            )
        elif kind == "canceled":
            steps.append(Step(at, ACS, party, "stops ringing", "network"))
        elif kind == "noAnswer" and entry.get("by") == "timeout":
            steps.append(Step(at, ACS, party, "no answer (timeout)", "network", detail, failed=True))
        else:
            words = _NETWORK_WORDS.get(kind, kind)
            failed = kind not in ("answered", "hungUp")
            steps.append(Step(at, party, ACS, words, "network", detail, failed=failed))
    return steps


def _incoming_call_steps(deliveries: list[dict[str, Any]], offers: dict[str, Any]) -> list[Step]:
    steps = []
    for delivery in deliveries:
        if delivery.get("eventId") not in offers or delivery.get("aegEventType") != "Notification":
            continue
        status = delivery.get("status")
        offer = offers[delivery["eventId"]]
        label = f"IncomingCall → {status if status is not None else delivery.get('error')}"
        detail = f"to {short_name(raw_id(offer.get('to')))}; offer {offer.get('status')}"
        failed = not isinstance(status, int) or status >= 400
        # The log records a delivery once it is answered, after whatever the app did meanwhile;
        # the first attempt left when the offer was made.
        at = float(delivery["time"])
        if delivery.get("deliveryCount") == 0 and offer.get("createdAt"):
            at = float(offer["createdAt"]) + 0.001
        steps.append(Step(at, ACS, APP, label, "eventgrid", detail, failed))
    return steps


def _request_steps(
    requests: list[dict[str, Any]], correlation_id: str, connection_ids: set[str], contexts: set[Any]
) -> list[Step]:
    steps = []
    for request in requests:
        raw_body = request.get("body")
        body: dict[str, Any] = raw_body if isinstance(raw_body, dict) else {}
        ours = (
            request.get("correlationId") == correlation_id
            or body.get("incomingCallContext") in contexts
            or any(cid in request.get("path", "") for cid in connection_ids)
        )
        if not ours:
            continue
        status = request.get("status")
        operation = str(request.get("operation", "")).removeprefix("CallConnection_")
        label = f"{operation} → {status}"
        detail = _request_detail(body)
        failed = not isinstance(status, int) or status >= 400
        steps.append(Step(float(request["time"]), APP, ACS, label, "request", detail, failed))
    return steps


def _request_detail(body: dict[str, Any]) -> str:
    parts = []
    for key in ("targets", "targetParticipant", "participantToAdd", "participantToRemove", "target"):
        value = body.get(key)
        if isinstance(value, list):
            parts.append(f"{key}: " + ", ".join(short_name(raw_id(v)) for v in value if isinstance(v, dict)))
        elif isinstance(value, dict):
            parts.append(f"{key}: {short_name(raw_id(value))}")
    if body.get("callRejectReason"):
        parts.append(f"reason: {body['callRejectReason']}")
    return "; ".join(parts)


def _callback_steps(
    callbacks: list[dict[str, Any]], server_call_id: str, connection_ids: set[str]
) -> list[Step]:
    steps = []
    for callback in callbacks:
        data = (callback.get("event") or {}).get("data") or {}
        if (
            data.get("serverCallId") != server_call_id
            and callback.get("callConnectionId") not in connection_ids
        ):
            continue
        name = str(callback.get("type", "")).removeprefix(EVENT_PREFIX)
        status = callback.get("status")
        label = f"{name} → {status if status is not None else callback.get('error')}"
        detail = _result_text(data.get("resultInformation") or {})
        if name == "ParticipantsUpdated":
            roster = [short_name(raw_id(p.get("identifier"))) for p in data.get("participants", [])]
            detail = "roster: " + ", ".join(roster)
        failed = not callback.get("delivered", True) or name.endswith("Failed")
        steps.append(Step(float(callback["time"]), ACS, APP, label, "callback", detail, failed))
    return steps


def _decision_steps(
    app_calls: list[dict[str, Any]], server_call_id: str, connection_ids: set[str]
) -> list[Step]:
    """The app's rule decision for the call, as a note on its own lane."""
    steps = []
    for app_call in app_calls:
        mine = (
            app_call.get("serverCallId") == server_call_id
            or app_call.get("callConnectionId") in connection_ids
        )
        inbound = app_call.get("inbound")
        if not mine or not inbound or not inbound.get("decidedAt"):
            continue
        at = iso_seconds(inbound["decidedAt"])
        if at is None:
            continue
        rule = inbound.get("ruleId") or "default"
        steps.append(
            Step(at, APP, APP, f"rule {rule}: {inbound.get('action')}", "decision", inbound.get("detail", ""))
        )
    return steps


def _lanes(steps: list[Step], journal: list[dict[str, Any]], server_call_id: str) -> list[dict[str, str]]:
    """Callers left of ACS, then ACS and the app, then everyone the call reached."""
    callers = [
        raw_id(e.get("party"))
        for e in journal
        if e.get("serverCallId") == server_call_id and e["kind"] == "dialed"
    ]
    others: list[str] = []
    for step in steps:
        for lane in (step.source, step.target):
            if lane not in (ACS, APP) and lane not in callers and lane not in others:
                others.append(lane)
    lanes = [{"id": c, "title": short_name(c), "role": "caller"} for c in dict.fromkeys(callers)]
    lanes.append({"id": ACS, "title": "ACS (emulator)", "role": "acs"})
    lanes.append({"id": APP, "title": "App", "role": "app"})
    lanes += [{"id": o, "title": short_name(o), "role": "party"} for o in others]
    return lanes


def _result_text(result: dict[str, Any]) -> str:
    if not result or "code" not in result:
        return ""
    return f"{result.get('code')}/{result.get('subCode')} {result.get('message', '')}".strip()


def _headers(entry: dict[str, Any]) -> str:
    context = entry.get("customContext") or {}
    headers = {**(context.get("sipHeaders") or {}), **(context.get("voipHeaders") or {})}
    return ", ".join(f"{k}: {v}" for k, v in headers.items())
