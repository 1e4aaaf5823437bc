"""Answer, reject and redirect an IncomingCall through its incomingCallContext."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from emulator.acs import emitter, legs
from emulator.acs.models import CallConnection, IncomingCallOffer
from emulator.acs.render import call_connection_properties
from emulator.acs.validation import (
    callback_uri,
    cognitive_services_endpoint,
    optional_string,
    require_object,
    required_string,
)
from emulator.common.errors import call_not_found, conflict, invalid_argument
from emulator.common.identifiers import parse_user_model, require_dialable, required_identifier
from emulator.network.outcomes import BUSY, DECLINED, FORBIDDEN, LegOutcome
from emulator.services import Services

REJECT_OUTCOMES: dict[str, LegOutcome] = {"none": DECLINED, "busy": BUSY, "forbidden": FORBIDDEN}


def _claim_offer(services: Services, body: dict[str, Any], action: str) -> IncomingCallOffer:
    """The offer behind the context, usable once and only while it has not expired."""
    context = required_string(body, "incomingCallContext")
    offer = services.registry.offers.get(context)
    if offer is None:
        raise invalid_argument("The incoming call context is invalid.")
    if offer.consumed_by == "expired" or offer.expired() or offer.call.ended:
        offer.consumed_by = offer.consumed_by or "expired"
        raise call_not_found()
    if offer.consumed_by is not None:
        raise conflict(f"The incoming call was already handled ({offer.consumed_by}).")
    offer.consumed_by = action
    return offer


def answer(services: Services, body: Any, api_version: str) -> dict[str, Any]:
    body = require_object(body)
    uri = callback_uri(body, "callbackUri")
    assert uri is not None
    operation_context = optional_string(body, "operationContext")
    answered_by = parse_user_model(body["answeredBy"], "answeredBy") if body.get("answeredBy") else None
    speech = cognitive_services_endpoint(body)
    offer = _claim_offer(services, body, "answer")
    connection = CallConnection(
        call_connection_id=str(uuid.uuid4()),
        call=offer.call,
        callback_uri=uri,
        api_version=api_version,
        app_identity=offer.callee,
        source=offer.caller,
        targets=[offer.callee],
        direction="inbound",
        operation_context=operation_context,
        answered_by=answered_by,
        cognitive_services_endpoint=speech,
    )
    services.registry.add_connection(connection)
    offer.call.add(offer.caller)
    offer.call.add(offer.callee)
    if offer.outcome is not None and not offer.outcome.done():
        offer.outcome.set_result(legs.ANSWERED)
    services.background.spawn(_connect_later(services, connection))
    return call_connection_properties(connection)


async def _connect_later(services: Services, connection: CallConnection) -> None:
    await asyncio.sleep(services.settings.connect_delay_seconds)
    if connection.is_live:
        emitter.connected(services, connection)


def reject(services: Services, body: Any) -> None:
    body = require_object(body)
    reason = body.get("callRejectReason", "none")
    if not isinstance(reason, str) or reason not in REJECT_OUTCOMES:
        raise invalid_argument("The field callRejectReason must be none, busy or forbidden.")
    offer = _claim_offer(services, body, "reject")
    _settle(services, offer, REJECT_OUTCOMES[reason])


def redirect(services: Services, body: Any) -> None:
    body = require_object(body)
    target = require_dialable(required_identifier(body, "target"), "target")
    offer = _claim_offer(services, body, "redirect")
    services.background.spawn(_follow_redirect(services, offer, target))


async def _follow_redirect(services: Services, offer: IncomingCallOffer, target: Any) -> None:
    """The call now rings at the redirect target: the app's own endpoints raise a new offer."""
    outcome = await legs.dial(
        services,
        offer.call,
        target,
        caller=offer.caller,
        timeout_seconds=services.settings.ring_timeout_seconds,
        caller_display_name=offer.caller_display_name,
        custom_context=offer.custom_context,
        acs_users_are_app=True,
    )
    if offer.outcome is not None:
        if not offer.outcome.done():
            offer.outcome.set_result(outcome)
        return
    if outcome.answered:
        offer.call.add(offer.caller)
        offer.call.add(target)
    elif not services.registry.connections_of(offer.call):
        emitter.end_call(services, offer.call)


def _settle(services: Services, offer: IncomingCallOffer, outcome: LegOutcome) -> None:
    if offer.outcome is not None:
        if not offer.outcome.done():
            offer.outcome.set_result(outcome)
        return
    if not services.registry.connections_of(offer.call):
        emitter.end_call(services, offer.call)
