"""The JSON Schema of the play, menu and collect steps (`prompt_parsing.py`), from its constants.

Beyond JSON Schema (the app checks them): a menu choice's keys no longer than the step's
`maxDigits`, a collect's `minDigits` at most its `maxDigits`, a text prompt with something to say
(not only white space; checked when a set is stored), and a text or SSML prompt only when the
app has speech (COGNITIVE_SERVICES_ENDPOINT), a deployment setting.
"""

from __future__ import annotations

from typing import Any, Final

from callcontrol.domain.flows.prompt_parsing import LANGUAGE, MAX_CHOICES, VOICE
from callcontrol.domain.flows.prompts import (
    MAX_COLLECT_DIGITS,
    MAX_DIGITS_LIMIT,
    MAX_INITIAL_SILENCE_SECONDS,
    MAX_INTER_DIGIT_SECONDS,
    MAX_RETRIES,
    MAX_SSML_LENGTH,
    MAX_TEXT_LENGTH,
    PromptKind,
)


def _whole(low: int, high: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": low, "maximum": high}


def _only(name: str, schema: dict[str, Any], **extras: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {name: schema, **extras}, "required": [name],
            "additionalProperties": False}


def prompt_schema(url_pattern: str) -> dict[str, Any]:
    """Exactly one of file (an ask-like URL), text (with an optional voice or language), ssml."""
    return {"description": "one of file (https:// URL ACS fetches), text or ssml", "oneOf": [
        _only(PromptKind.FILE.value, {"type": "string", "pattern": url_pattern}),
        _only(PromptKind.TEXT.value, {"type": "string", "minLength": 1, "maxLength": MAX_TEXT_LENGTH},
              voice={"type": "string", "pattern": f"^{VOICE.pattern}$", "examples": ["en-US-JennyNeural"]},
              language={"type": "string", "pattern": f"^{LANGUAGE.pattern}$", "examples": ["en-US"]}),
        # The parser strips leading white space (str.lstrip) before looking for <speak.
        _only(PromptKind.SSML.value, {"type": "string", "maxLength": MAX_SSML_LENGTH,
                                      "pattern": "^\\s*<speak"}),
    ]}


def listening_fields(step_id: dict[str, Any], prompt: dict[str, Any]) -> dict[str, Any]:
    """What a menu and a collect share: prompts, timers, retries and where a miss goes."""
    return {
        "prompt": prompt, "reprompt": prompt,
        "initialSilenceSeconds": _whole(1, MAX_INITIAL_SILENCE_SECONDS),
        "interDigitSeconds": _whole(1, MAX_INTER_DIGIT_SECONDS),
        "retries": _whole(0, MAX_RETRIES),
        "noInput": step_id, "invalidInput": step_id, "fallback": step_id,
    }


def menu_fields(step_id: dict[str, Any], prompt: dict[str, Any]) -> dict[str, Any]:
    return {
        **listening_fields(step_id, prompt),
        "choices": {"type": "object", "minProperties": 1, "maxProperties": MAX_CHOICES,
                    "propertyNames": {"pattern": f"^[0-9*#]{{1,{MAX_DIGITS_LIMIT}}}$"},
                    "additionalProperties": step_id,
                    "description": "keys (0-9, *, #; at most maxDigits of them) → step id"},
        "maxDigits": _whole(1, MAX_DIGITS_LIMIT),
    }


def collect_fields(step_id: dict[str, Any], prompt: dict[str, Any]) -> dict[str, Any]:
    return {
        **listening_fields(step_id, prompt),
        "next": step_id,
        "maxDigits": _whole(1, MAX_COLLECT_DIGITS),
        "minDigits": {**_whole(1, MAX_COLLECT_DIGITS), "description": "at most maxDigits"},
        "stopTones": {"type": "string", "pattern": "^[*#]+$"},
    }


PLAY_REQUIRED: Final = ("prompt",)
MENU_REQUIRED: Final = ("prompt", "choices")
COLLECT_REQUIRED: Final = ("prompt", "next", "maxDigits")
