"""Reaching one callee: a scripted network endpoint, or the app itself through IncomingCall."""

from __future__ import annotations

import asyncio
from typing import Any

from emulator.acs import incoming
from emulator.acs.models import ServerCall
from emulator.common.identifiers import Identifier
from emulator.eventgrid.system_topic import WebhookValidationFailed
from emulator.network.outcomes import ANSWERED, NOT_ANSWERED, UNREACHABLE, LegOutcome
from emulator.services import Services

__all__ = ["ANSWERED", "dial", "reaches_app"]


def reaches_app(services: Services, target: Identifier, acs_users_are_app: bool) -> bool:
    """Calls to numbers of this resource (and, on redirect, to ACS users) raise IncomingCall."""
    return services.network.is_resource_number(target) or (acs_users_are_app and target.is_acs_user)


async def dial(
    services: Services,
    call: ServerCall,
    target: Identifier,
    caller: Identifier,
    timeout_seconds: float,
    caller_display_name: str = "",
    custom_context: dict[str, Any] | None = None,
    acs_users_are_app: bool = False,
) -> LegOutcome:
    if not reaches_app(services, target, acs_users_are_app):
        return await services.network.ring(target, timeout_seconds, call, caller)
    outcome: asyncio.Future[LegOutcome] = asyncio.get_running_loop().create_future()
    offer = incoming.create_offer(
        services,
        call,
        caller,
        target,
        caller_display_name,
        custom_context,
        outcome=outcome,
        ttl_seconds=timeout_seconds,
    )
    try:
        try:
            await incoming.publish(services, offer)
        except WebhookValidationFailed:
            offer.consumed_by = "undeliverable"
            return UNREACHABLE
        return await asyncio.wait_for(asyncio.shield(outcome), timeout_seconds)
    except TimeoutError:
        offer.consumed_by = offer.consumed_by or "expired"
        return NOT_ANSWERED
    except asyncio.CancelledError:
        # The caller gave up (hang-up, cancel add), even mid-delivery: the offer is void.
        offer.consumed_by = offer.consumed_by or "canceled"
        raise
