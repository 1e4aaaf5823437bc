"""The JSON Schema of one flow (`flows.<name>` of a rule set), as `parsing.py` accepts it.

Built from the parser's own constants (limits, NAME, the step types, the identifier forms), so
the OpenAPI document says what the parser checks field by field. What JSON Schema cannot say
stays with the parser alone (docs/api.md, "What the document cannot say"): the graph checks
(`graph.py`), a phone target's caller id given on the step instead, a full-form identifier whose
members disagree, and the media steps' relations (`media_schema.py` describes those steps).
tests/unit/flows/test_schema.py holds the schema and the parser together.
"""

from __future__ import annotations

from typing import Any, Final

from callcontrol.domain.flows.fields import DESCRIPTION_LIMIT, NAME
from callcontrol.domain.flows.media_schema import (
    COLLECT_REQUIRED,
    MENU_REQUIRED,
    PLAY_REQUIRED,
    collect_fields,
    menu_fields,
    prompt_schema,
)
from callcontrol.domain.flows.model import (
    MAX_ASK_TIMEOUT_SECONDS,
    MAX_RING_TARGETS,
    MAX_RING_TIMEOUT_SECONDS,
    MAX_STEPS_LIMIT,
    MIN_ASK_TIMEOUT_SECONDS,
    MIN_RING_TIMEOUT_SECONDS,
    REJECT_REASONS,
    RingMode,
    StepType,
)
from callcontrol.domain.flows.parsing import RING_TRANSITIONS
from callcontrol.domain.flows.targets import CALLABLE_KINDS
from callcontrol.domain.identifier_schema import target_forms
from callcontrol.domain.identifiers import E164

STEP_ID: Final = {"type": "string", "pattern": f"^{NAME.pattern}$",
                  "description": "1 to 32 letters, digits, '_' or '-', starting with a letter or digit"}
DESCRIPTION: Final = {"type": "string", "minLength": 1, "maxLength": DESCRIPTION_LIMIT}
CALLER_ID: Final = {"type": "string", "pattern": E164.pattern, "examples": ["+18005550100"],
                    "description": "the E.164 number shown to a phone target"}
RING_TIMEOUT: Final = {"type": "integer", "minimum": MIN_RING_TIMEOUT_SECONDS,
                       "maximum": MAX_RING_TIMEOUT_SECONDS}

# An ask's url, as close as a regex gets to `targets.ask_url_problem`: https:// to a host name or
# IPv4 address, or plain http:// to a loopback host; an optional port (0-65535); no credentials
# (no "@" before the path) and no #fragment; printable ASCII without spaces, as the parser asks.
# Stricter than the parser (no IPv6 but [::1]), never looser.
_PORT: Final = "(?::(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
_HOST: Final = "[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?"
_OCTET: Final = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_LOOPBACK: Final = f"(?:[Ll][Oo][Cc][Aa][Ll][Hh][Oo][Ss][Tt]|127(?:\\.{_OCTET}){{3}}|\\[::1\\])"
_REST: Final = "(?:[/?][A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?"
ASK_URL_PATTERN: Final = (
    f"^(?:[Hh][Tt][Tt][Pp][Ss]://{_HOST}|[Hh][Tt][Tt][Pp]://{_LOOPBACK}){_PORT}{_REST}$"
)


def _callable_target(extras: dict[str, Any]) -> dict[str, Any]:
    """A party a call can be extended to (phone, ACS user, Teams user), in any form the parser
    reads, each form also taking `extras` (a ring target's own callerId and timeout)."""
    forms = [{**form, "properties": {**form["properties"], **extras}}
             for form in target_forms(CALLABLE_KINDS)]
    return {"oneOf": forms}


def _step(step_type: StepType, fields: dict[str, Any], required: tuple[str, ...] = (),
          description: str = "") -> dict[str, Any]:
    return {
        "type": "object",
        "title": f"{step_type.value} step",
        "description": description,
        "properties": {"id": STEP_ID, "type": {"const": step_type.value},
                       "description": DESCRIPTION, **fields},
        "required": ["id", "type", *required],
        "additionalProperties": False,
    }


_PROMPT: Final = prompt_schema(ASK_URL_PATTERN)
_RING_TARGET: Final = _callable_target({"callerId": CALLER_ID, "timeoutSeconds": RING_TIMEOUT})
_TARGET: Final = _callable_target({})

# Each step type's own fields (beside id, type and description), by type.
STEP_SCHEMAS: Final[dict[StepType, dict[str, Any]]] = {
    StepType.RING: _step(StepType.RING, {
        "targets": {"type": "array", "minItems": 1, "maxItems": MAX_RING_TARGETS, "items": _RING_TARGET},
        "mode": {"enum": [mode.value for mode in RingMode], "default": RingMode.SIMULTANEOUS.value},
        "timeoutSeconds": RING_TIMEOUT,
        "callerId": CALLER_ID,
        **{transition: STEP_ID for transition in RING_TRANSITIONS},
        "fallback": STEP_ID,
    }, ("targets",), "invite the targets; a phone target needs a callerId (its own or the step's)"),
    StepType.ASK: _step(StepType.ASK, {
        "url": {"type": "string", "pattern": ASK_URL_PATTERN},
        "timeoutSeconds": {"type": "number", "minimum": MIN_ASK_TIMEOUT_SECONDS,
                           "maximum": MAX_ASK_TIMEOUT_SECONDS},
        "choices": {"type": "array", "items": STEP_ID},
        "fallback": STEP_ID,
    }, ("url", "fallback"), "ask a service (signed POST to url) which step comes next"),
    StepType.TRANSFER: _step(StepType.TRANSFER, {
        "target": _TARGET, "callerId": CALLER_ID, "onFailed": STEP_ID,
    }, ("target",), "transfer the answered call; to a phone number it needs a callerId"),
    StepType.REDIRECT: _step(StepType.REDIRECT, {
        "target": _TARGET,
        "callerId": {"not": {}, "description": "not supported: ACS RedirectCall has no caller-id field"},
    }, ("target",), "redirect the unanswered call"),
    StepType.REJECT: _step(StepType.REJECT, {
        "reason": {"enum": list(REJECT_REASONS), "default": "none"},
    }, (), "reject the unanswered call"),
    StepType.HANGUP: _step(StepType.HANGUP, {}, (), "end the call for everyone"),
    StepType.GOTO: _step(StepType.GOTO, {"next": STEP_ID}, ("next",), "go on at another step"),
    StepType.PLAY: _step(StepType.PLAY, {"prompt": _PROMPT, "next": STEP_ID, "onFailed": STEP_ID},
                         PLAY_REQUIRED, "play a prompt (answers the call first)"),
    StepType.MENU: _step(StepType.MENU, menu_fields(STEP_ID, _PROMPT), MENU_REQUIRED,
                         "play a prompt and go to the step of the keys pressed"),
    StepType.COLLECT: _step(StepType.COLLECT, collect_fields(STEP_ID, _PROMPT), COLLECT_REQUIRED,
                            "gather keys for a later ask"),
}

FLOW_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "title": "Flow",
    "description": "A call flow (docs/flows.md). The app also checks what this schema cannot say: "
                   "the graph (step ids unique and named, every step reachable, no goto-only loop, "
                   "no redirect or reject after the call is answered), a phone target's callerId "
                   "(its own or the step's), a menu choice's keys within maxDigits (a collect's "
                   "minDigits too), that a full-form identifier's members agree, and the settings "
                   "an ask (signing secret) or a text/SSML prompt (speech) needs.",
    "properties": {
        "start": {**STEP_ID, "description": "the first step's id (default: the first step)"},
        "maxSteps": {"type": "integer", "minimum": 1, "maximum": MAX_STEPS_LIMIT},
        "steps": {"type": "array", "minItems": 1,
                  "items": {"oneOf": list(STEP_SCHEMAS.values())}},
        "description": DESCRIPTION,
    },
    "required": ["steps"],
    "additionalProperties": False,
}
