"""CallMedia_Play and CallMedia_CancelAllMediaOperations on an established connection; the
queue and the callbacks every media operation shares (recognize.py runs through them)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from emulator.acs import emitter, mediacodes
from emulator.acs.mediaqueue import Body, MediaOperation, Phase
from emulator.acs.midcall import require_established
from emulator.acs.models import CallConnection, ServerCall
from emulator.acs.prompts import PlaySource, parse_sources, reject_unknown, require_speech
from emulator.acs.validation import callback_uri, optional_string, require_object
from emulator.common.errors import invalid_argument, participant_not_found
from emulator.common.identifiers import parse_identifier
from emulator.services import Services

_PLAY_FIELDS = {
    "playSources",
    "playTo",
    "interruptCallMediaOperation",
    "playOptions",
    "operationContext",
    "operationCallbackUri",
}
# A looping play whose sources all last 0 s still yields to the loop this often.
_MIN_LOOP_SECONDS = 0.001


@dataclass(frozen=True)
class PlayRequest:
    sources: list[PlaySource]
    loop: bool


def optional_bool(body: dict[str, Any], field: str, where: str = "") -> bool:
    value = body.get(field)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise invalid_argument(f"The field {where}{field} must be a boolean.")
    return value


def require_participant(connection: CallConnection, value: Any, field: str) -> str:
    """The raw id of an identifier that must name someone in the call (else 404/8522)."""
    identifier = parse_identifier(value, field)
    if identifier.raw_id not in connection.call.participants:
        raise participant_not_found()
    return identifier.raw_id


def report(
    services: Services,
    connection: CallConnection,
    operation: MediaOperation,
    event_type: str,
    result: dict[str, Any],
    fields: dict[str, Any] | None = None,
) -> None:
    if not connection.is_live:
        return
    emitter.emit(
        services,
        connection,
        event_type,
        fields,
        operation_context=operation.operation_context,
        result=result,
        callback_uri=operation.callback_uri,
    )


def finish(
    services: Services,
    connection: CallConnection,
    operation: MediaOperation,
    event_type: str,
    result: dict[str, Any],
    fields: dict[str, Any] | None = None,
) -> None:
    """The operation's last callback; once DONE, a cancel no longer reports it."""
    operation.phase = Phase.DONE
    report(services, connection, operation, event_type, result, fields)


def start(
    services: Services,
    connection: CallConnection,
    operation: MediaOperation,
    interrupt: bool,
) -> None:
    """Queue the operation; with `interruptCallMediaOperation` it barges in first."""
    if interrupt:
        cancel_running(services, connection)
    connection.media.enqueue(operation, services.background.spawn)


# play ----------------------------------------------------------------------------------------
def play(services: Services, connection: CallConnection, body: Any) -> None:
    body = require_object(body)
    require_established(connection)
    reject_unknown(body, _PLAY_FIELDS, "")
    sources = parse_sources(body.get("playSources"), "playSources")
    require_speech(sources, connection.cognitive_services_endpoint)
    play_to = body.get("playTo")
    if play_to is not None:
        if not isinstance(play_to, list):
            raise invalid_argument("The field playTo must be an array of identifiers.")
        for index, item in enumerate(play_to):
            require_participant(connection, item, f"playTo[{index}]")
    options = body.get("playOptions")
    loop = False
    if options is not None:
        if not isinstance(options, dict) or "loop" not in options:
            raise invalid_argument("The field playOptions must be an object with loop.")
        reject_unknown(options, {"loop"}, "playOptions")
        loop = optional_bool(options, "loop", "playOptions.")
    interrupt = optional_bool(body, "interruptCallMediaOperation")
    operation = MediaOperation(
        "play",
        optional_string(body, "operationContext"),
        callback_uri(body, "operationCallbackUri", required=False),
        _play_body(services, connection, PlayRequest(sources, loop)),
    )
    start(services, connection, operation, interrupt)


def _play_body(services: Services, connection: CallConnection, request: PlayRequest) -> Body:
    async def run(operation: MediaOperation) -> None:
        lengths: dict[int, float] = {}
        while True:
            for index, source in enumerate(request.sources):
                if index not in lengths:
                    prompt = await services.prompts.resolve(source)
                    if prompt.failure is not None:
                        fields = {"failedPlaySourceIndex": index}
                        finish(services, connection, operation, "PlayFailed", prompt.failure, fields)
                        return
                    lengths[index] = prompt.seconds
                    if index == 0:
                        report(services, connection, operation, "PlayStarted", mediacodes.SUCCESS)
                await asyncio.sleep(services.media.scaled(lengths[index]))
            if not request.loop:
                break
            await asyncio.sleep(_MIN_LOOP_SECONDS)
        finish(services, connection, operation, "PlayCompleted", mediacodes.SUCCESS)

    return run


# cancel --------------------------------------------------------------------------------------
def cancel_all(services: Services, connection: CallConnection) -> None:
    require_established(connection)
    cancel_running(services, connection)


def cancel_running(services: Services, connection: CallConnection) -> None:
    for operation in connection.media.cancel_all():
        event_type = "PlayCanceled" if operation.kind == "play" else "RecognizeCanceled"
        report(services, connection, operation, event_type, mediacodes.CANCELED)


# tones from the phone network ----------------------------------------------------------------
def press(services: Services, call: ServerCall, participant: str, tone: str) -> bool:
    """A participant pressed a key: it reaches the recognize listening to them, on whichever of
    the app's connections runs one; without one it is lost (no continuous DTMF recognition)."""
    heard = False
    for connection in services.registry.connections_of(call):
        if connection.is_live and connection.media.press(participant, tone):
            heard = True
    return heard
