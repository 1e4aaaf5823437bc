"""The phone network on demand: list ringing legs, answer or decline them, let a waiting caller
hang up, read the network journal (control API, no HTTP here)."""

from __future__ import annotations

import time
from typing import Any

from emulator.acs import emitter
from emulator.acs.models import IncomingCallOffer
from emulator.common.errors import AcsError, bad_input
from emulator.network.outcomes import ANSWERED, CANCELED, DECLINE_REASONS
from emulator.network.ringing import RingingLeg
from emulator.services import Services


def list_legs(services: Services) -> dict[str, Any]:
    """Every leg still ringing: network callees, and the app's own IncomingCall offers."""
    network = [leg.to_wire() for leg in services.network.ringing.legs.values()]
    offers = [_offer_leg(offer) for offer in _pending_offers(services)]
    return {"value": sorted([*network, *offers], key=lambda leg: leg["startedAt"])}


def _pending_offers(services: Services) -> list[IncomingCallOffer]:
    now = time.monotonic()
    return [
        offer
        for offer in services.registry.offers.values()
        if offer.consumed_by is None and not offer.expired(now) and not offer.call.ended
    ]


def _offer_leg(offer: IncomingCallOffer) -> dict[str, Any]:
    rings_until = time.time() + (offer.expires_at - time.monotonic())
    return {
        "legId": offer.event_id,
        "kind": "app",
        "state": "ringing",
        "serverCallId": offer.call.server_call_id,
        "correlationId": offer.call.correlation_id,
        "caller": offer.caller.to_wire(),
        "callee": offer.callee.to_wire(),
        "behavior": None,
        "startedAt": offer.created_at,
        "ringsUntil": rings_until,
        # The app answers its own offers; a caller from the network may give up first.
        "actions": ["hangup"] if offer.outcome is None else [],
    }


def _leg_result(leg_id: str, name: str, result: dict[str, Any]) -> dict[str, Any]:
    return {"legId": leg_id, "outcome": name, "result": result}


def answer_leg(services: Services, leg_id: str) -> dict[str, Any]:
    leg = _network_leg(services, leg_id)
    if not leg.settle(ANSWERED, "control"):
        raise AcsError(409, "Conflict", "the leg has already been answered or declined")
    return _leg_result(leg_id, "answered", ANSWERED.result())


def answer_legs_together(services: Services, body: Any) -> dict[str, Any]:
    """Answer several ringing legs in the same instant: every leg is settled before any waiter
    runs, so their callees' successes (e.g. two AddParticipantSucceeded) go out back to back."""
    leg_ids = body.get("legIds") if isinstance(body, dict) else None
    if (
        not isinstance(leg_ids, list)
        or not leg_ids
        or not all(isinstance(leg_id, str) for leg_id in leg_ids)
        or len(set(leg_ids)) != len(leg_ids)
    ):
        raise bad_input('body must be {"legIds": ["<legId>", ...]} with distinct ids')
    legs = [_network_leg(services, leg_id) for leg_id in leg_ids]
    if any(leg.outcome.done() for leg in legs):
        raise AcsError(409, "Conflict", "a leg has already been answered or declined")
    for leg in legs:
        leg.settle(ANSWERED, "control")
    return {"value": [_leg_result(leg.leg_id, "answered", ANSWERED.result()) for leg in legs]}


def decline_leg(services: Services, leg_id: str, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_input("body must be a JSON object")
    reason = body.get("reason", "declined")
    outcome = DECLINE_REASONS.get(reason) if isinstance(reason, str) else None
    if outcome is None:
        raise bad_input(f"reason must be one of: {', '.join(DECLINE_REASONS)}")
    leg = _network_leg(services, leg_id)
    if not leg.settle(outcome, "control"):
        raise AcsError(409, "Conflict", "the leg has already been answered or declined")
    return _leg_result(leg_id, reason, outcome.result())


def _network_leg(services: Services, leg_id: str) -> RingingLeg:
    leg = services.network.ringing.legs.get(leg_id)
    if leg is not None:
        return leg
    if any(offer.event_id == leg_id for offer in _pending_offers(services)):
        raise AcsError(
            409, "Conflict", "this leg rings at the app: the app answers, rejects or redirects it"
        )
    raise AcsError(404, "NotFound", "no ringing leg with that legId")


def hang_up_leg(services: Services, leg_id: str) -> dict[str, Any]:
    """Hanging up a ringing leg: a network callee rejects it (as a plain decline); the caller
    of an IncomingCall still waiting for the app gives up, and the call ends."""
    if leg_id in services.network.ringing.legs:
        return decline_leg(services, leg_id, {"reason": "declined"})
    offer = next((o for o in _pending_offers(services) if o.event_id == leg_id), None)
    if offer is None:
        raise AcsError(404, "NotFound", "no ringing leg with that legId")
    if offer.outcome is not None:
        raise AcsError(409, "Conflict", "the app placed this call; it cancels it through its own API")
    offer.consumed_by = "callerHungUp"
    call = offer.call
    services.network.journal.record(
        "hungUp",
        server_call_id=call.server_call_id,
        correlation_id=call.correlation_id,
        party=offer.caller,
        other=offer.callee,
        legId=leg_id,
        by="control",
    )
    if not services.registry.connections_of(call):
        emitter.end_call(services, call, CANCELED.result())
    return _leg_result(leg_id, "canceled", CANCELED.result())


def network_log(services: Services, server_call_id: str | None) -> dict[str, Any]:
    entries = services.network.journal.entries
    if server_call_id:
        return {"value": [e for e in entries if e["serverCallId"] == server_call_id]}
    return {"value": list(entries)}
