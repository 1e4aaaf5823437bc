"""The local topic's pure rules: batch checks, bearer checks and subscription filters."""

from __future__ import annotations

import base64
import json

import pytest

from emulator.eventgrid.auth import bearer_problem
from emulator.eventgrid.events import Limits, TopicError, parse_batch
from emulator.eventgrid.subscriptions import SubjectFilter

BATCH = "application/cloudevents-batch+json; charset=utf-8"
NOW = 1_800_000_000.0


def _event(**extra: object) -> dict[str, object]:
    return {"specversion": "1.0", "id": "1", "source": "/s", "type": "t", **extra}


def _jwt(payload: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(payload)}.c2ln"


def test_a_valid_batch_parses_with_any_extension_and_rfc3339_time() -> None:
    events = [_event(time="2026-06-01T12:00:00.1234567+00:00", calltrace="abc", seq=3), _event(id="2")]
    assert parse_batch(json.dumps(events).encode(), BATCH, Limits()) == events


@pytest.mark.parametrize("time", ["2026-06-01", "2026-13-01T00:00:00Z", "2026-06-01T12:00:00"])
def test_a_time_that_is_not_rfc3339_is_refused(time: str) -> None:
    with pytest.raises(TopicError) as raised:
        parse_batch(json.dumps([_event(time=time)]).encode(), BATCH, Limits())
    assert raised.value.status == 400


def test_the_batch_limit_is_checked_before_parsing_and_the_event_limit_per_event() -> None:
    body = json.dumps([_event(data="x" * 100)]).encode()
    with pytest.raises(TopicError) as batch:
        parse_batch(body, BATCH, Limits(max_batch_bytes=50, max_event_bytes=1000))
    with pytest.raises(TopicError) as single:
        parse_batch(body, BATCH, Limits(max_batch_bytes=1000, max_event_bytes=50))
    assert (batch.value.status, single.value.status) == (413, 413)
    assert "events[0]" in single.value.message


@pytest.mark.parametrize(
    ("payload", "refused"),
    [
        ({"aud": "https://eventgrid.azure.net", "exp": NOW + 60}, False),
        ({"aud": ["https://eventgrid.azure.net/"], "exp": NOW + 60}, False),
        ({}, False),
        ({"aud": "https://management.azure.com"}, True),
        ({"exp": NOW - 3600}, True),
        ({"nbf": NOW + 3600}, True),
    ],
)
def test_bearer_tokens(payload: dict[str, object], refused: bool) -> None:
    assert (bearer_problem(_jwt(payload), NOW) is not None) is refused


@pytest.mark.parametrize("token", ["opaque", "a.b", "bm90.anNvbg.c2ln", "e30.W10.c2ln"])
def test_a_bearer_that_is_not_a_jwt_of_json_objects_is_refused(token: str) -> None:
    assert bearer_problem(token, NOW) is not None


def test_filters_match_like_event_grid() -> None:
    assert SubjectFilter().matches({"type": "t"})
    prefix = SubjectFilter(subject_begins_with="calls/")
    assert prefix.matches({"subject": "CALLS/1"})
    assert not prefix.matches({"type": "t"})  # no subject: a prefix cannot match
    exact = SubjectFilter(subject_begins_with="calls/", case_sensitive=True)
    assert not exact.matches({"subject": "CALLS/1"})
    typed = SubjectFilter(included_event_types=("call.ended",))
    assert typed.matches({"type": "Call.Ended"})
    assert not typed.matches({"type": "call.connected"})
