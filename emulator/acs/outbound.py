"""CreateCall: the app dials one target (1:1) or several (group call)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from emulator.acs import emitter, legs
from emulator.acs.models import CallConnection, ConnectionState
from emulator.acs.render import call_connection_properties
from emulator.acs.validation import (
    callback_uri,
    cognitive_services_endpoint,
    optional_string,
    require_object,
)
from emulator.common.errors import call_not_found, invalid_argument
from emulator.common.identifiers import (
    Identifier,
    parse_identifier,
    parse_phone_model,
    parse_user_model,
    require_dialable,
)
from emulator.network.outcomes import LegOutcome
from emulator.services import Services

PSTN_NEEDS_CALLER_ID = "Invalid request: sourceCallerIdNumber is required when a target is a phone number."


def create_call(services: Services, body: Any, api_version: str) -> tuple[CallConnection, dict[str, Any]]:
    body = require_object(body)
    targets = _targets(body)
    uri = callback_uri(body, "callbackUri")
    assert uri is not None
    caller_id = (
        parse_phone_model(body["sourceCallerIdNumber"], "sourceCallerIdNumber")
        if body.get("sourceCallerIdNumber") is not None
        else None
    )
    display_name = optional_string(body, "sourceDisplayName")
    operation_context = optional_string(body, "operationContext")
    speech = cognitive_services_endpoint(body)
    source = parse_user_model(body["source"], "source") if body.get("source") else services.bot_identity
    if caller_id is None and any(target.is_phone for target in targets):
        raise invalid_argument(PSTN_NEEDS_CALLER_ID)
    call = services.registry.new_call()
    connection = CallConnection(
        call_connection_id=str(uuid.uuid4()),
        call=call,
        callback_uri=uri,
        api_version=api_version,
        app_identity=source,
        source=source,
        targets=targets,
        direction="outbound",
        operation_context=operation_context,
        source_caller_id=caller_id,
        source_display_name=display_name,
        cognitive_services_endpoint=speech,
    )
    services.registry.add_connection(connection)
    connection.dialing = services.background.spawn(_dial_all(services, connection))
    return connection, call_connection_properties(connection, include_server_call_id=False)


def _targets(body: dict[str, Any]) -> list[Identifier]:
    raw = body.get("targets")
    if raw is None:
        raise invalid_argument("The targets field is required.")
    if not isinstance(raw, list) or not raw:
        raise invalid_argument("The field targets must be a non-empty array.")
    targets = [
        require_dialable(parse_identifier(item, f"targets[{index}]"), f"targets[{index}]")
        for index, item in enumerate(raw)
    ]
    if len({target.raw_id for target in targets}) != len(targets):
        raise invalid_argument("The field targets contains duplicates.")
    return targets


async def _dial_all(services: Services, connection: CallConnection) -> None:
    """Ring every target at once; the call connects when the first one answers."""
    caller = (
        Identifier("phoneNumber", "4:" + connection.source_caller_id)
        if connection.source_caller_id
        else connection.source
    )

    async def ring(target: Identifier) -> tuple[Identifier, LegOutcome]:
        outcome = await legs.dial(
            services,
            connection.call,
            target,
            caller=caller,
            timeout_seconds=services.settings.ring_timeout_seconds,
            caller_display_name=connection.source_display_name or "",
        )
        return target, outcome

    # Tracked rings: reset and shutdown cancel them, and so does leaving this function early
    # (hang-up, terminate), which also marks a ringing offer to the app as canceled.
    rings = [services.background.spawn(ring(target)) for target in connection.targets]
    failures: list[LegOutcome] = []
    try:
        for finished in asyncio.as_completed(rings):
            target, outcome = await finished
            if not connection.is_live:
                return
            if not outcome.answered:
                failures.append(outcome)
                continue
            connection.call.add(connection.app_identity)
            connection.call.add(target)
            if connection.state is ConnectionState.CONNECTING:
                await asyncio.sleep(services.settings.connect_delay_seconds)
                # A hang-up or terminate during the delay already sent CallDisconnected (§4).
                if not connection.is_live or connection.call.ended:
                    return
                emitter.connected(services, connection)
            else:
                emitter.participants_updated(services, connection.call)
    finally:
        for task in rings:
            task.cancel()
    if connection.state is ConnectionState.CONNECTING and failures:
        emitter.emit(
            services,
            connection,
            "CreateCallFailed",
            operation_context=connection.operation_context,
            result=failures[0].result(),
        )
        emitter.end_call(services, connection.call, failures[0].result())


LOCATOR_FIELDS = {
    "serverCallLocator": "serverCallId",
    "groupCallLocator": "groupCallId",
    "roomCallLocator": "roomId",
}


def connect(services: Services, body: Any, api_version: str) -> tuple[CallConnection, dict[str, Any]]:
    """Connect: the app joins an existing server call, or a group/room call by its id."""
    body = require_object(body)
    locator = body.get("callLocator")
    if not isinstance(locator, dict):
        raise invalid_argument("The callLocator field is required.")
    kind = locator.get("kind")
    field = LOCATOR_FIELDS.get(kind) if isinstance(kind, str) else None
    if field is None:
        raise invalid_argument("The field callLocator.kind is invalid.")
    locator_id = locator.get(field)
    if not isinstance(locator_id, str) or not locator_id:
        raise invalid_argument(f"The field callLocator.{field} is required.")
    uri = callback_uri(body, "callbackUri")
    assert uri is not None
    operation_context = optional_string(body, "operationContext")
    registry = services.registry
    if kind == "serverCallLocator":
        call = registry.calls.get(locator_id)
        if call is None or call.ended:
            raise call_not_found()
    else:
        call = registry.rooms.get(locator_id)
        if call is None or call.ended:  # a room whose call ended starts a new call
            call = registry.new_call()
            registry.rooms[locator_id] = call
    connection = CallConnection(
        call_connection_id=str(uuid.uuid4()),
        call=call,
        callback_uri=uri,
        api_version=api_version,
        app_identity=services.bot_identity,
        source=services.bot_identity,
        targets=[],
        direction="connect",
        operation_context=operation_context,
    )
    registry.add_connection(connection)
    call.add(connection.app_identity)
    services.background.spawn(_connect_later(services, connection))
    return connection, call_connection_properties(connection)


async def _connect_later(services: Services, connection: CallConnection) -> None:
    await asyncio.sleep(services.settings.connect_delay_seconds)
    if connection.is_live:
        emitter.connected(services, connection)
        emitter.participants_updated(services, connection.call, skip=connection)
