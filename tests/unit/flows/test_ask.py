"""The ask step's wire: its signature, and how a service's reply is read."""

from __future__ import annotations

from typing import Any

import pytest

from callcontrol.domain.errors import InvalidInput
from callcontrol.domain.flows import (
    AskAnswer,
    InlineAnswer,
    InlineRedirect,
    InlineReject,
    parse_ask_answer,
    signature,
    signed_headers,
    verify,
)
from callcontrol.domain.identifiers import phone

SECRET = b"flow-secret"
BODY = b'{"flow":"sales"}'
STAMP = 1767225600
# HMAC-SHA256(SECRET, "1767225600." + BODY), computed apart from the code under test.
PINNED = "v1=984e910a67a0739f7bb74279490fff0bea80586d410bd209b021b5333e8b70a1"


def test_the_signature_covers_timestamp_and_body() -> None:
    assert signature(SECRET, STAMP, BODY) == PINNED
    assert signature(SECRET, STAMP + 1, BODY) != PINNED
    assert signature(SECRET, STAMP, BODY + b" ") != PINNED
    assert signature(b"other", STAMP, BODY) != PINNED


def test_signed_headers() -> None:
    assert signed_headers(SECRET, STAMP, BODY, "req-1") == {
        "X-Flow-Signature": PINNED, "X-Flow-Timestamp": "1767225600", "X-Flow-Request-Id": "req-1"}


@pytest.mark.parametrize(
    ("timestamp", "given", "now", "valid"),
    [("1767225600", PINNED, STAMP, True),
     ("1767225600", PINNED, STAMP + 300, True),
     ("1767225600", PINNED, STAMP + 301, False),  # replayed too late
     ("1767225600", PINNED, STAMP - 301, False),
     ("1767225601", PINNED, STAMP, False),  # the timestamp is signed
     ("1767225600", PINNED.upper(), STAMP, False),
     ("17672256OO", PINNED, STAMP, False),
     ("", PINNED, STAMP, False),
     ("1767225600", "v1=\u00e9t\u00e9", STAMP, False)],  # outside ASCII: refused, not a TypeError
)
def test_verify(timestamp: str, given: str, now: int, valid: bool) -> None:
    assert verify(SECRET, timestamp, BODY, given, now) is valid


@pytest.mark.parametrize(
    ("payload", "answer"),
    [({"next": "ring"}, AskAnswer(next_step="ring")),
     ({"action": {"type": "answer"}}, AskAnswer(action=InlineAnswer())),
     ({"action": {"type": "reject"}}, AskAnswer(action=InlineReject("none"))),
     ({"action": {"type": "reject", "reason": "busy"}}, AskAnswer(action=InlineReject("busy"))),
     ({"action": {"type": "redirect", "target": {"phoneNumber": "+14255550101"}}},
      AskAnswer(action=InlineRedirect(phone("+14255550101"))))],
)
def test_accepted_replies(payload: Any, answer: AskAnswer) -> None:
    assert parse_ask_answer(payload) == answer


@pytest.mark.parametrize(
    ("payload", "field"),
    [("ring", "answer"), (None, "answer"), ({}, "answer"),
     ({"next": "a", "action": {"type": "answer"}}, "answer"),
     ({"next": 3}, "answer.next"), ({"next": "a b"}, "answer.next"),
     ({"next": "a", "why": "x"}, "answer.why"),
     ({"action": {"type": "transfer"}}, "answer.action.type"),
     ({"action": {"type": "reject", "reason": "later"}}, "answer.action.reason"),
     ({"action": {"type": "answer", "target": {}}}, "answer.action.target"),
     ({"action": {"type": "redirect"}}, "answer.action.target"),
     ({"action": {"type": "redirect", "target": {"phoneNumber": "555"}}}, "answer.action.target.phoneNumber"),
     ({"action": "answer"}, "answer.action")],
)
def test_refused_replies_name_the_member(payload: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_ask_answer(payload)
    assert field in [p.field for p in caught.value.problems]
