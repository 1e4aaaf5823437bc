"""What the control API does to the simulated world (no HTTP here)."""

from __future__ import annotations

from typing import Any

from emulator.acs import incoming, midcall
from emulator.acs.callbacks import FAULT_MODES, CallbackFault
from emulator.acs.faults import ResponseFault
from emulator.acs.models import ServerCall
from emulator.common.errors import AcsError, bad_input
from emulator.common.identifiers import from_raw_id, is_e164, parse_identifier, require_dialable
from emulator.common.numbers import finite
from emulator.control.media import reset_media
from emulator.eventgrid.system_topic import WebhookValidationFailed
from emulator.network.phone import Behavior, EndpointBehavior
from emulator.services import CancelledInvitationFailure, Services


def _string_map(value: Any, field: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise bad_input(f"{field} must be an object of string values")
    return dict(value)


def parse_custom_context(value: Any) -> dict[str, Any]:
    if value is None:
        return {"sipHeaders": {}, "voipHeaders": {}}
    if not isinstance(value, dict) or set(value) - {"sipHeaders", "voipHeaders"}:
        raise bad_input('customContext must be {"sipHeaders": {...}, "voipHeaders": {...}}')
    return {
        "sipHeaders": _string_map(value.get("sipHeaders"), "customContext.sipHeaders"),
        "voipHeaders": _string_map(value.get("voipHeaders"), "customContext.voipHeaders"),
    }


async def place_incoming_call(services: Services, body: Any) -> dict[str, Any]:
    """A caller on the network dials one of the app's endpoints: IncomingCall goes out."""
    if not isinstance(body, dict):
        raise bad_input("body must be a JSON object")
    for field in ("from", "to"):
        if body.get(field) is None:
            raise bad_input(f"{field} is required")
    try:
        caller = parse_identifier(body["from"], "from")
        callee = require_dialable(parse_identifier(body["to"], "to"), "to")
    except AcsError as exc:
        raise bad_input(exc.message) from None
    display_name = body.get("callerDisplayName", "")
    if not isinstance(display_name, str):
        raise bad_input("callerDisplayName must be a string")
    custom_context = parse_custom_context(body.get("customContext"))
    call = services.registry.new_call()
    call.add(caller)
    offer = incoming.create_offer(services, call, caller, callee, display_name, custom_context)
    services.network.journal.record(
        "dialed",
        server_call_id=call.server_call_id,
        correlation_id=call.correlation_id,
        party=caller,
        other=callee,
        legId=offer.event_id,
        customContext=custom_context,
    )
    try:
        status, error = await incoming.publish(services, offer)
    except WebhookValidationFailed as exc:
        offer.consumed_by = "undeliverable"
        raise AcsError(502, "WebhookValidationFailed", str(exc)) from None
    result: dict[str, Any] = {
        "eventId": offer.event_id,
        "serverCallId": call.server_call_id,
        "incomingCallContext": offer.context,
        "correlationId": call.correlation_id,
        "deliveryStatus": status,
    }
    if error is not None:
        result["deliveryError"] = error
    return result


async def reset(services: Services) -> None:
    """Forget every call, log, fault and scripted behaviour; keys and validation stay."""
    await services.background.cancel_all()
    services.callbacks.reset()
    services.eventgrid.reset()
    services.registry.clear()
    services.faults.clear()
    services.repeatability.clear()
    services.request_log.clear()
    services.network.behaviors.clear()
    services.network.unscripted = EndpointBehavior()
    services.network.ringing.clear()
    services.network.journal.clear()
    services.network.resource_numbers = set(services.config.resource_numbers)
    config = services.config
    services.settings.incoming_call_ttl_seconds = config.incoming_call_ttl_seconds
    services.settings.ring_timeout_seconds = config.ring_timeout_seconds
    services.settings.connect_delay_seconds = config.connect_delay_seconds
    services.settings.participants_page_size = config.participants_page_size
    services.settings.cancelled_invitation_failure = CancelledInvitationFailure(
        config.cancelled_invitation_failure
    )
    services.eventgrid.settings.retry_factor = config.eventgrid_retry_factor
    services.eventgrid.settings.max_attempts = config.eventgrid_max_attempts
    services.event_webhook = config.event_webhook
    services.topic.reset()
    services.ask.reset()
    reset_media(services)
    services.topic.deliverer.settings.retry_factor = config.topic_retry_factor


# phone network -------------------------------------------------------------------------------
def _identifier(value: Any, field: str) -> Any:
    if value is None:
        raise bad_input(f"{field} is required")
    try:
        return parse_identifier(value, field)
    except AcsError as exc:
        raise bad_input(exc.message) from None


def _number(value: Any, field: str, low: float = 0) -> float:
    number = finite(value)
    if number is None or number < low:
        raise bad_input(f"{field} must be a number >= {low}")
    return number


def _behavior(name: Any, field: str) -> Behavior:
    try:
        return Behavior(str(name))
    except ValueError:
        allowed = ", ".join(b.value for b in Behavior)
        raise bad_input(f"{field} must be one of: {allowed}") from None


def set_endpoint_behavior(services: Services, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_input("body must be a JSON object")
    endpoint = _identifier(body.get("endpoint"), "endpoint")
    name = body.get("behavior", body.get("behaviour", Behavior.ANSWER.value))
    behavior = _behavior(name, "behavior")
    delay = _number(body.get("delaySeconds", 0), "delaySeconds")
    rule = EndpointBehavior(behavior, delay)
    services.network.behaviors[endpoint.raw_id] = rule
    return {"endpoint": endpoint.to_wire(), **rule.to_wire()}


def list_endpoint_behaviors(services: Services) -> dict[str, Any]:
    return {
        "value": [
            {"endpoint": from_raw_id(raw_id).to_wire(), **rule.to_wire()}
            for raw_id, rule in services.network.behaviors.items()
        ]
    }


def set_resource_numbers(services: Services, body: Any) -> dict[str, Any]:
    numbers = body.get("numbers") if isinstance(body, dict) else None
    if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers):
        raise bad_input('body must be {"numbers": ["+1...", ...]}')
    for number in numbers:
        if not is_e164(number):
            raise bad_input(f"numbers[] must be E.164 phone numbers, not {number!r}")
    services.network.resource_numbers = set(numbers)
    return {"numbers": sorted(services.network.resource_numbers)}


def remote_hang_up(services: Services, body: Any) -> None:
    """A remote participant hangs up: by callConnectionId or serverCallId, plus who."""
    if not isinstance(body, dict):
        raise bad_input("body must be a JSON object")
    call = _find_call(services, body)
    if call.ended:
        raise AcsError(409, "CallEnded", "the call has already ended")
    if body.get("participant") is None:
        mine = {c.app_identity.raw_id for c in services.registry.connections_of(call)}
        remotes = [raw_id for raw_id in call.participants if raw_id not in mine]
        if len(remotes) != 1:
            raise bad_input("participant is required when the call has several remote parties")
        participant = from_raw_id(remotes[0])
    else:
        participant = _identifier(body["participant"], "participant")
    if participant.raw_id not in call.participants:
        raise AcsError(404, "NotFound", "that participant is not in the call")
    services.network.journal.record(
        "hungUp",
        server_call_id=call.server_call_id,
        correlation_id=call.correlation_id,
        party=participant,
        by="control",
    )
    midcall.remote_hang_up(services, call, participant)


def _find_call(services: Services, body: dict[str, Any]) -> ServerCall:
    connection_id = body.get("callConnectionId")
    server_call_id = body.get("serverCallId")
    if isinstance(connection_id, str):
        connection = services.registry.connections.get(connection_id)
        if connection is None:
            raise AcsError(404, "NotFound", "unknown callConnectionId")
        return connection.call
    if isinstance(server_call_id, str):
        call = services.registry.calls.get(server_call_id)
        if call is None:
            raise AcsError(404, "NotFound", "unknown serverCallId")
        return call
    raise bad_input("callConnectionId or serverCallId is required")


def describe_calls(services: Services) -> dict[str, Any]:
    return {"value": [describe_call(services, call) for call in services.registry.calls.values()]}


def describe_call(services: Services, call: ServerCall) -> dict[str, Any]:
    found = (services.registry.connections.get(cid) for cid in call.connection_ids)
    connections = [connection for connection in found if connection is not None]
    return {
        "serverCallId": call.server_call_id,
        "correlationId": call.correlation_id,
        "ended": call.ended,
        "participants": call.roster(),
        "connections": [
            {
                "callConnectionId": c.call_connection_id,
                "state": c.state.value,
                "direction": c.direction,
                "callbackUri": c.callback_uri,
                "cognitiveServicesEndpoint": c.cognitive_services_endpoint,
                "appIdentity": c.app_identity.to_wire(),
                "targets": [t.to_wire() for t in c.targets],
                "pendingInvitations": [i.invitation_id for i in c.invitations.values() if not i.done],
                "media": c.media.describe(),
            }
            for c in connections
        ],
        "offers": [
            {
                "eventId": offer.event_id,
                "from": offer.caller.to_wire(),
                "to": offer.callee.to_wire(),
                "status": offer.consumed_by or "pending",
                "incomingCallContext": offer.context,
                "createdAt": offer.created_at,
            }
            for offer in services.registry.offers.values()
            if offer.call is call
        ],
    }


def find_call_description(services: Services, call_id: str) -> dict[str, Any]:
    connection = services.registry.connections.get(call_id)
    call = connection.call if connection else services.registry.calls.get(call_id)
    if call is None:
        raise AcsError(404, "NotFound", "no call with that callConnectionId or serverCallId")
    return describe_call(services, call)


# faults --------------------------------------------------------------------------------------
def add_response_fault(services: Services, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_input("body must be a JSON object")
    operation = body.get("operation")
    if not isinstance(operation, str) or not operation:
        raise bad_input("operation is required (an operationId such as GetCall, or *)")
    count = body.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise bad_input("count must be a positive integer")
    status = body.get("status")
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599
    ):
        raise bad_input("status must be an HTTP error status (400-599)")
    latency = _number(body.get("latencySeconds", 0), "latencySeconds")
    if status is None and latency == 0:
        raise bad_input("give a status, a latencySeconds, or both")
    retry_after = body.get("retryAfterSeconds")
    if retry_after is not None:
        retry_after = _number(retry_after, "retryAfterSeconds")
    error_code = body.get("errorCode")
    if error_code is not None and not isinstance(error_code, str):
        raise bad_input("errorCode must be a string")
    fault = ResponseFault(operation, count, status, retry_after, latency, error_code)
    services.faults.faults.append(fault)
    return fault.to_wire()


def add_callback_fault(services: Services, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_input("body must be a JSON object")
    mode = body.get("mode")
    if mode not in FAULT_MODES:
        raise bad_input(f"mode must be one of: {', '.join(FAULT_MODES)}")
    count = body.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise bad_input("count must be a positive integer")
    event_type = body.get("eventType")
    if event_type is not None and not isinstance(event_type, str):
        raise bad_input("eventType must be a string such as CallConnected")
    delay = _number(body.get("delaySeconds", 1.0), "delaySeconds")
    fault = CallbackFault(mode, count, event_type, delay)
    services.callbacks.faults.append(fault)
    return fault.to_wire()


# settings ------------------------------------------------------------------------------------
_SETTINGS = {
    "incomingCallTtlSeconds": "incoming_call_ttl_seconds",
    "ringTimeoutSeconds": "ring_timeout_seconds",
    "connectDelaySeconds": "connect_delay_seconds",
}


def describe_settings(services: Services) -> dict[str, Any]:
    settings = services.settings
    return {
        "incomingCallTtlSeconds": settings.incoming_call_ttl_seconds,
        "ringTimeoutSeconds": settings.ring_timeout_seconds,
        "connectDelaySeconds": settings.connect_delay_seconds,
        "participantsPageSize": settings.participants_page_size,
        "eventgridRetryFactor": services.eventgrid.settings.retry_factor,
        "eventgridMaxAttempts": services.eventgrid.settings.max_attempts,
        "eventWebhook": services.event_webhook,
        "resourceNumbers": sorted(services.network.resource_numbers),
        "unscriptedBehavior": services.network.unscripted.behavior.value,
        "cancelledInvitationFailure": settings.cancelled_invitation_failure.value,
        "issuer": services.issuer,
        "audience": services.config.resource_id,
    }


def update_settings(services: Services, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_input("body must be a JSON object")
    known = {
        *_SETTINGS,
        "participantsPageSize",
        "eventgridRetryFactor",
        "eventgridMaxAttempts",
        "eventWebhook",
        "resourceNumbers",
        "unscriptedBehavior",
        "cancelledInvitationFailure",
    }
    unknown = set(body) - known
    if unknown:
        raise bad_input(f"unknown settings: {', '.join(sorted(unknown))}")
    for name, attribute in _SETTINGS.items():
        if name in body:
            setattr(services.settings, attribute, _number(body[name], name))
    if "participantsPageSize" in body:
        size = body["participantsPageSize"]
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise bad_input("participantsPageSize must be a positive integer")
        services.settings.participants_page_size = size
    if "eventgridRetryFactor" in body:
        factor = _number(body["eventgridRetryFactor"], "eventgridRetryFactor")
        services.eventgrid.settings.retry_factor = factor
    if "eventgridMaxAttempts" in body:
        attempts = body["eventgridMaxAttempts"]
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise bad_input("eventgridMaxAttempts must be a positive integer")
        services.eventgrid.settings.max_attempts = attempts
    if "eventWebhook" in body:
        webhook = body["eventWebhook"]
        if webhook is not None and not isinstance(webhook, str):
            raise bad_input("eventWebhook must be a URL or null")
        services.event_webhook = webhook
    if "resourceNumbers" in body:
        set_resource_numbers(services, {"numbers": body["resourceNumbers"]})
    if "unscriptedBehavior" in body:
        behavior = _behavior(body["unscriptedBehavior"], "unscriptedBehavior")
        services.network.unscripted = EndpointBehavior(behavior)
    if "cancelledInvitationFailure" in body:
        services.settings.cancelled_invitation_failure = _cancel_failure(body["cancelledInvitationFailure"])
    return describe_settings(services)


def _cancel_failure(value: Any) -> CancelledInvitationFailure:
    try:
        return CancelledInvitationFailure(str(value))
    except ValueError:
        allowed = ", ".join(order.value for order in CancelledInvitationFailure)
        raise bad_input(f"cancelledInvitationFailure must be one of: {allowed}") from None
