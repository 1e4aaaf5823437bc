"""The control API's media part: the media settings (prompt lengths, time scale) and, in
dtmf.py's terms, a party pressing keys."""

from __future__ import annotations

from typing import Any

from emulator.acs.mediasettings import InterToneTimeoutEvent, MediaSettings
from emulator.common.errors import bad_input
from emulator.services import Services

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
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise bad_input(f"{name} must be a number >= 0")
            if name == "fileFetchTimeoutSeconds" and value == 0:
                raise bad_input("fileFetchTimeoutSeconds must be > 0")
            changes[attribute] = float(value)
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
