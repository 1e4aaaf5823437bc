"""The ask receiver's signature check, against the app's own signing (tests may import both),
and its reply scripts."""

from __future__ import annotations

import pytest

from callcontrol.domain.flows import signed_headers
from emulator.ask.replies import Reply, parse_script
from emulator.ask.signature import expected_signature, refusal
from emulator.common.errors import AcsError

SECRET = b"s3cret"
NOW = 1_800_000_000
BODY = b'{"flow": "f", "step": "ask"}'


def headers(secret: bytes = SECRET, at: int = NOW, body: bytes = BODY) -> dict[str, str]:
    return signed_headers(secret, at, body, "req-1")


def test_the_apps_signature_is_the_one_the_receiver_expects() -> None:
    assert expected_signature(SECRET, str(NOW), BODY) == headers()["X-Flow-Signature"]
    assert refusal(SECRET, headers(), BODY, NOW, 300) is None
    assert refusal(SECRET, headers(at=NOW - 300), BODY, NOW, 300) is None  # the edge is inside


@pytest.mark.parametrize(
    ("given", "body", "secret", "why"),
    [
        (headers(), BODY + b" ", SECRET, "does not match"),
        (headers(secret=b"other"), BODY, SECRET, "does not match"),
        (headers(at=NOW - 301), BODY, SECRET, "tolerance"),
        (headers(at=NOW + 301), BODY, SECRET, "tolerance"),
        ({**headers(), "X-Flow-Timestamp": "-5"}, BODY, SECRET, "whole seconds"),
        ({**headers(), "X-Flow-Timestamp": "١٢"}, BODY, SECRET, "whole seconds"),  # non-ASCII digits
        ({"X-Flow-Timestamp": str(NOW)}, BODY, SECRET, "required"),
        ({**headers(), "X-Flow-Signature": "v2=" + headers()["X-Flow-Signature"][3:]}, BODY, SECRET,
         "does not match"),
        (headers(), BODY, None, "no ask secret"),
    ],
)
def test_refusals_name_their_reason(
    given: dict[str, str], body: bytes, secret: bytes | None, why: str
) -> None:
    reason = refusal(secret, given, body, NOW, 300)
    assert reason is not None and why in reason


def test_a_sequence_keeps_its_last_reply() -> None:
    script = parse_script({"sequence": [{"status": 500}, {"answer": {"next": "a"}}]})
    assert [script.next_reply().status for _ in range(3)] == [500, 200, 200]
    assert parse_script({"raw": "x"}).next_reply() == Reply(raw="x")


def test_reply_bodies_and_media_types() -> None:
    assert Reply(answer={"next": "a"}).body() == b'{"next": "a"}'
    assert Reply(raw="<html>").media_type().startswith("text/plain")
    assert Reply(status=503).body() == b""
    assert Reply(raw="x", content_type="application/json").media_type() == "application/json"


@pytest.mark.parametrize("bad", [{"delaySeconds": float("nan")}, {"status": True}, {"sequence": "x"}])
def test_bad_replies_are_refused(bad: object) -> None:
    with pytest.raises(AcsError):
        parse_script(bad)
