"""Identifiers: every accepted input form, always the full form out."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.common.errors import AcsError
from emulator.common.identifiers import parse_identifier, require_dialable

PHONE_FULL = {"rawId": "4:+14255550123", "kind": "phoneNumber", "phoneNumber": {"value": "+14255550123"}}
ANONYMOUS_FULL = {
    "rawId": "4:anonymous",
    "kind": "phoneNumber",
    "phoneNumber": {"value": "anonymous", "isAnonymous": True},
}
ASSERTED_FULL = {
    "rawId": "4:+14255550123_a1",
    "kind": "phoneNumber",
    "phoneNumber": {"value": "+14255550123", "assertedId": "a1"},
}
USER = "8:acs:11111111-2222-3333-4444-555555555555_0000001b-3abf-ae51-290c-113a0d001011"
USER_FULL = {"rawId": USER, "kind": "communicationUser", "communicationUser": {"id": USER}}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"phoneNumber": "+14255550123"}, PHONE_FULL),
        ({"rawId": "4:+14255550123"}, PHONE_FULL),
        ({"rawId": "4:+14255550123", "phoneNumber": {"value": "+14255550123"}}, PHONE_FULL),
        (PHONE_FULL, PHONE_FULL),
        ({"communicationUserId": USER}, USER_FULL),
        ({"rawId": USER}, USER_FULL),
        ({"rawId": USER, "communicationUser": {"id": USER}}, USER_FULL),
        (USER_FULL, USER_FULL),
        (
            {"rawId": "8:orgid:abc"},
            {
                "rawId": "8:orgid:abc",
                "kind": "microsoftTeamsUser",
                "microsoftTeamsUser": {"userId": "abc", "cloud": "public"},
            },
        ),
        (
            {"rawId": "28:orgid:app1"},
            {
                "rawId": "28:orgid:app1",
                "kind": "microsoftTeamsApp",
                "microsoftTeamsApp": {"appId": "app1", "cloud": "public"},
            },
        ),
        ({"rawId": "something"}, {"rawId": "something", "kind": "unknown"}),
        ({"rawId": "4:anonymous"}, ANONYMOUS_FULL),
        ({"phoneNumber": "anonymous"}, ANONYMOUS_FULL),
        ({"phoneNumber": {"value": "anonymous", "isAnonymous": True}}, ANONYMOUS_FULL),
        ({"rawId": "4:anonymous", "phoneNumber": {"value": "anonymous"}}, ANONYMOUS_FULL),
        (ANONYMOUS_FULL, ANONYMOUS_FULL),
        ({"rawId": "4:+14255550123_a1"}, ASSERTED_FULL),
        ({"phoneNumber": {"value": "+14255550123", "assertedId": "a1"}}, ASSERTED_FULL),
        (ASSERTED_FULL, ASSERTED_FULL),
    ],
)
def test_accepted_forms_render_in_full_form(given: dict[str, Any], expected: dict[str, Any]) -> None:
    assert parse_identifier(given, "target").to_wire() == expected


@pytest.mark.parametrize(
    "given",
    [
        None,
        "4:+14255550123",
        [],
        {},
        {"phoneNumber": "14255550123"},
        {"phoneNumber": {"value": 5}},
        {"phoneNumber": {}},
        {"communicationUser": {}},
        {"communicationUser": {"id": ""}},
        {"rawId": 7},
        {"rawId": "4:notanumber"},
        {"rawId": "4:+14255550123_"},
        {"rawId": "4:anonymous_a1"},
        {"phoneNumber": {"value": "+14255550123", "isAnonymous": True}},
        {"phoneNumber": {"value": "anonymous", "isAnonymous": "yes"}},
        {"phoneNumber": {"value": "+14255550123", "assertedId": 5}},
        {"rawId": "4:+14255550199", "phoneNumber": {"value": "+14255550123"}},
        {"rawId": "4:+14255550123_a1", "phoneNumber": {"value": "+14255550123", "assertedId": "b2"}},
    ],
)
def test_wrong_shapes_are_acs_invalid_argument(given: Any) -> None:
    with pytest.raises(AcsError) as refused:
        parse_identifier(given, "target")
    assert (refused.value.status, refused.value.code) == (400, "8523")


def test_an_anonymous_number_is_a_participant_but_cannot_be_dialled() -> None:
    anonymous = parse_identifier({"rawId": "4:anonymous"}, "target")
    with pytest.raises(AcsError) as refused:
        require_dialable(anonymous, "target")
    assert (refused.value.status, refused.value.code) == (400, "8523")
    number = parse_identifier({"rawId": "4:+14255550123_a1"}, "target")
    assert require_dialable(number, "target") is number
