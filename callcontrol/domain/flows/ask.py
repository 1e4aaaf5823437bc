"""The `ask` step's wire: how its request is signed and how its reply is read.

Signing: `X-Flow-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>` with the Unix
time in `X-Flow-Timestamp`; the receiver recomputes it over the raw body and refuses a
timestamp outside its tolerance (default 5 minutes), so a captured request cannot be replayed
later. `X-Flow-Request-Id` repeats the action's repeatability id: a retried request is the same.

Reply: `{"next": "<step id>"}`, or before the call is answered
`{"action": {"type": "answer"}}`, `{"action": {"type": "reject", "reason": "busy"}}`,
`{"action": {"type": "redirect", "target": {"phoneNumber": "+1…"}}}`. Anything else is invalid
and the step takes its fallback (the engine also refuses a `next` outside the step's choices).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from callcontrol.domain.flows import fields as f
from callcontrol.domain.flows.events import (
    AskAnswer,
    InlineAction,
    InlineAnswer,
    InlineRedirect,
    InlineReject,
)
from callcontrol.domain.flows.fields import Problems, child
from callcontrol.domain.flows.model import REJECT_REASONS
from callcontrol.domain.flows.targets import identifier

SIGNATURE_HEADER: Final = "X-Flow-Signature"
TIMESTAMP_HEADER: Final = "X-Flow-Timestamp"
REQUEST_ID_HEADER: Final = "X-Flow-Request-Id"
SIGNATURE_VERSION: Final = "v1"
DEFAULT_TOLERANCE_SECONDS: Final = 300
_TARGET_KEYS: Final = ("kind", "rawId", "phoneNumber", "communicationUserId", "microsoftTeamsUserId")


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def signed_headers(secret: bytes, timestamp: int, body: bytes, request_id: str) -> dict[str, str]:
    """The headers an ask request carries (besides Content-Type: application/json)."""
    return {
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        TIMESTAMP_HEADER: str(timestamp),
        REQUEST_ID_HEADER: request_id,
    }


def verify(
    secret: bytes, timestamp: str, body: bytes, given: str, now: int,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """What a receiving service checks (here for its tests and ours): fresh and authentic."""
    if not timestamp.isascii() or not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance:
        return False
    # As bytes: compare_digest refuses a str with characters outside ASCII (a header can hold them).
    return hmac.compare_digest(signature(secret, int(timestamp), body).encode(),
                               given.encode("utf-8", "surrogateescape"))


def parse_ask_answer(payload: object, where: str = "answer") -> AskAnswer:
    """Read an ask's JSON reply.

    Raises:
        InvalidInput: naming the member, for a reply that is not one of the accepted forms.
    """
    problems = Problems()
    body = f.obj(payload, where, problems, ("next", "action"))
    answer = None
    if body is not None:
        if ("next" in body) == ("action" in body):
            problems.add(where, "must hold exactly one of next or action")
        elif "next" in body:
            step = f.name(body, "next", where, problems)
            answer = AskAnswer(next_step=step) if step is not None else None
        else:
            action = _inline(body["action"], child(where, "action"), problems)
            answer = AskAnswer(action=action) if action is not None else None
    problems.fail("ask answer")
    assert answer is not None  # no problem means an answer was read
    return answer


def _inline(raw: object, where: str, problems: Problems) -> InlineAction | None:
    body = f.obj(raw, where, problems, ("type", "reason", "target"))
    if body is None:
        return None
    kind = body.get("type")
    allowed = {"answer": (), "reject": ("reason",), "redirect": ("target",)}
    if kind not in allowed:
        problems.add(child(where, "type"), "must be answer, reject or redirect")
        return None
    for key in ("reason", "target"):
        if key in body and key not in allowed[kind]:
            problems.add(child(where, key), "is not a known field")
    if kind == "answer":
        return InlineAnswer()
    if kind == "reject":
        reason = body.get("reason", "none")
        if reason not in REJECT_REASONS:
            problems.add(child(where, "reason"), "must be none, busy or forbidden")
            return None
        return InlineReject(reason)
    raw_target = body.get("target")
    target_body = f.obj(raw_target, child(where, "target"), problems, _TARGET_KEYS)
    target = identifier(target_body, child(where, "target"), problems) if target_body is not None else None
    return InlineRedirect(target) if target is not None else None
