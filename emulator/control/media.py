"""The control API's media part: the media settings (prompt lengths, time scale) and a party
on the phone network pressing keys."""

from __future__ import annotations

import asyncio
from typing import Any

from emulator.acs import media
from emulator.acs.dtmf import tones_of_keys
from emulator.acs.mediasettings import InterToneTimeoutEvent, MediaSettings
from emulator.acs.models import ServerCall
from emulator.common.errors import AcsError, bad_input
from emulator.common.identifiers import from_raw_id, parse_identifier
from emulator.common.numbers import finite
from emulator.services import Services

MAX_GAP_MS = 60_000

_NUMBERS = {
    "timeScale": "time_scale",
    "textSecondsPerCharacter": "text_seconds_per_character",
    "fileFetchTimeoutSeconds": "file_fetch_timeout_seconds",
    "mp3Seconds": "mp3_seconds",
}


def describe_media(settings: MediaSettings) -> dict[str, Any]:
    described: dict[str, Any] = {name: getattr(settings, attribute) for name, attribute in _NUMBERS.items()}
    described["interToneTimeoutEvent"] = settings.inter_tone_timeout_event.value
    return described


def update_media(services: Services, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_input("body must be a JSON object")
    unknown = set(body) - {*_NUMBERS, "interToneTimeoutEvent"}
    if unknown:
        raise bad_input(f"unknown media settings: {', '.join(sorted(unknown))}")
    changes: dict[str, Any] = {}
    for name, attribute in _NUMBERS.items():
        if name in body:
            value = body[name]
            number = finite(value)
            if number is None or number < 0:
                raise bad_input(f"{name} must be a finite number >= 0")
            if name == "fileFetchTimeoutSeconds" and number == 0:
                raise bad_input("fileFetchTimeoutSeconds must be > 0")
            changes[attribute] = number
    if "interToneTimeoutEvent" in body:
        try:
            changes["inter_tone_timeout_event"] = InterToneTimeoutEvent(str(body["interToneTimeoutEvent"]))
        except ValueError:
            allowed = ", ".join(event.value for event in InterToneTimeoutEvent)
            raise bad_input(f"interToneTimeoutEvent must be one of: {allowed}") from None
    # All or nothing: a refused body changes no setting.
    for attribute, value in changes.items():
        setattr(services.media, attribute, value)
    return describe_media(services.media)


def reset_media(services: Services) -> None:
    defaults = MediaSettings(time_scale=services.config.media_time_scale)
    for attribute in vars(defaults):
        setattr(services.media, attribute, getattr(defaults, attribute))


async def press_keys(services: Services, call_id: str, body: Any) -> dict[str, Any]:
    """`participant` presses `tones` ("0"-"9", "*", "#", "A"-"D"), `gapMs` apart (real time, not
    scaled). Answers once every key is pressed: which tones a running recognize heard."""
    if not isinstance(body, dict):
        raise bad_input("body must be a JSON object")
    connection = services.registry.connections.get(call_id)
    call = connection.call if connection else services.registry.calls.get(call_id)
    if call is None:
        raise AcsError(404, "NotFound", "no call with that callConnectionId or serverCallId")
    if call.ended:
        raise AcsError(409, "CallEnded", "the call has already ended")
    keys = body.get("tones")
    tones = tones_of_keys(keys) if isinstance(keys, str) and keys else None
    if tones is None:
        raise bad_input('tones must be a non-empty string of DTMF keys: 0-9, *, #, A-D (e.g. "12#")')
    gap = body.get("gapMs", 0)
    if isinstance(gap, bool) or not isinstance(gap, int | float) or not 0 <= gap <= MAX_GAP_MS:
        raise bad_input(f"gapMs must be a number of milliseconds between 0 and {MAX_GAP_MS}")
    participant = _presser(services, call, body.get("participant"))
    heard: list[bool] = []
    for index, tone in enumerate(tones):
        if index and gap:
            await asyncio.sleep(gap / 1000)
        if call.ended:
            break
        heard.append(media.press(services, call, participant, tone))
    services.network.journal.record(
        "pressedKeys",
        server_call_id=call.server_call_id,
        correlation_id=call.correlation_id,
        party=from_raw_id(participant),
        # How many, not which: keys can be account numbers or PINs.
        count=len(heard),
        heard=sum(heard),
    )
    return {"tones": [{"tone": tone, "heard": was} for tone, was in zip(tones, heard, strict=False)]}


def _presser(services: Services, call: ServerCall, value: Any) -> str:
    """The raw id of the remote party pressing: given, or the only remote party of the call."""
    mine = {c.app_identity.raw_id for c in services.registry.connections_of(call)}
    if value is None:
        remotes = [raw_id for raw_id in call.participants if raw_id not in mine]
        if len(remotes) != 1:
            raise bad_input("participant is required when the call has several remote parties")
        return remotes[0]
    try:
        raw_id = parse_identifier(value, "participant").raw_id
    except AcsError as exc:
        raise bad_input(exc.message) from None
    if raw_id not in call.participants or raw_id in mine:
        raise AcsError(404, "NotFound", "that participant is not a remote party of the call")
    return raw_id
