"""IncomingCall offers: mint the opaque context, publish the Event Grid event, expire it."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import time
import uuid
from typing import Any

from emulator.acs import emitter
from emulator.acs.models import IncomingCallOffer, ServerCall
from emulator.common.identifiers import Identifier
from emulator.common.timestamps import timestamp
from emulator.network.outcomes import NOT_ANSWERED, LegOutcome
from emulator.services import Services

INCOMING_CALL_TYPE = "Microsoft.Communication.IncomingCall"


def mint_context(call: ServerCall, caller: Identifier, callee: Identifier) -> str:
    """An unsigned JWT like the live one: ``{"cc": base64(gzip(call notification))}``."""
    notification = {
        "serverCallId": call.server_call_id,
        "correlationId": call.correlation_id,
        "from": caller.raw_id,
        "to": callee.raw_id,
        "nonce": uuid.uuid4().hex,
    }
    cc = base64.b64encode(gzip.compress(json.dumps(notification).encode("utf-8"))).decode("ascii")
    header = _b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode("utf-8"))
    payload = _b64url(json.dumps({"cc": cc}).encode("utf-8"))
    return f"{header}.{payload}."


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def incoming_call_event(services: Services, offer: IncomingCallOffer) -> dict[str, Any]:
    """IncomingCall in the Event Grid schema, like the official example."""
    data: dict[str, Any] = {
        "to": offer.callee.to_wire(),
        "from": offer.caller.to_wire(),
        "serverCallId": offer.call.server_call_id,
        "callerDisplayName": offer.caller_display_name,
        "customContext": offer.custom_context,
        "incomingCallContext": offer.context,
        "correlationId": offer.call.correlation_id,
    }
    return {
        "id": offer.event_id,
        "topic": services.config.eventgrid_topic,
        "subject": f"/caller/{offer.caller.raw_id}/recipient/{offer.callee.raw_id}",
        "data": data,
        "eventType": INCOMING_CALL_TYPE,
        "dataVersion": "1.0",
        "metadataVersion": "1",
        "eventTime": timestamp(),
    }


def create_offer(
    services: Services,
    call: ServerCall,
    caller: Identifier,
    callee: Identifier,
    caller_display_name: str = "",
    custom_context: dict[str, Any] | None = None,
    outcome: asyncio.Future[LegOutcome] | None = None,
    ttl_seconds: float | None = None,
) -> IncomingCallOffer:
    ttl = services.settings.incoming_call_ttl_seconds if ttl_seconds is None else ttl_seconds
    offer = IncomingCallOffer(
        context=mint_context(call, caller, callee),
        event_id=str(uuid.uuid4()),
        call=call,
        caller=caller,
        callee=callee,
        caller_display_name=caller_display_name,
        custom_context=custom_context or {"sipHeaders": {}, "voipHeaders": {}},
        expires_at=time.monotonic() + ttl,
        outcome=outcome,
    )
    services.registry.add_offer(offer)
    services.background.spawn(_expire(services, offer, ttl))
    return offer


async def publish(services: Services, offer: IncomingCallOffer) -> tuple[int | None, str | None]:
    """Deliver the offer's IncomingCall; (first attempt status, error). No webhook → (None, ...)."""
    if not services.event_webhook:
        return None, "no event webhook configured"
    return await services.eventgrid.publish(incoming_call_event(services, offer))


async def _expire(services: Services, offer: IncomingCallOffer, ttl: float) -> None:
    """Nobody acted in time: the caller gives up (or the app's own leg counts as not answered)."""
    await asyncio.sleep(ttl)
    if offer.consumed_by is not None:
        return
    offer.consumed_by = "expired"
    if offer.outcome is not None:
        if not offer.outcome.done():
            offer.outcome.set_result(NOT_ANSWERED)
    elif not services.registry.connections_of(offer.call):
        emitter.end_call(services, offer.call)
