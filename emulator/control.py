"""What the control API does to the simulated world (no HTTP here)."""

from __future__ import annotations

from typing import Any

from emulator import incoming
from emulator.errors import AcsError
from emulator.eventgrid import WebhookValidationFailed
from emulator.identifiers import parse_identifier
from emulator.services import Services

BAD_INPUT = "InvalidInput"


def bad_input(message: str) -> AcsError:
    return AcsError(400, BAD_INPUT, message)


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
        raise bad_input("customContext must be {\"sipHeaders\": {...}, \"voipHeaders\": {...}}")
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
        callee = parse_identifier(body["to"], "to")
    except AcsError as exc:
        raise bad_input(exc.message) from None
    display_name = body.get("callerDisplayName", "")
    if not isinstance(display_name, str):
        raise bad_input("callerDisplayName must be a string")
    custom_context = parse_custom_context(body.get("customContext"))
    call = services.registry.new_call()
    call.add(caller)
    offer = incoming.create_offer(services, call, caller, callee, display_name, custom_context)
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
    services.callbacks.reset()
    services.eventgrid.reset()
    services.registry.clear()
    services.faults.clear()
    services.repeatability.clear()
    services.request_log.clear()
    services.network.behaviors.clear()
    services.network.resource_numbers = set(services.config.resource_numbers)
    config = services.config
    services.settings.incoming_call_ttl_seconds = config.incoming_call_ttl_seconds
    services.settings.ring_timeout_seconds = config.ring_timeout_seconds
    services.settings.connect_delay_seconds = config.connect_delay_seconds
    services.settings.participants_page_size = config.participants_page_size
    services.eventgrid.settings.retry_factor = config.eventgrid_retry_factor
