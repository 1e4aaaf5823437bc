"""Identifier forms in, one full form out."""

from __future__ import annotations

from typing import Any

import pytest

from callcontrol.domain.errors import InvalidInput
from callcontrol.domain.identifiers import (
    IdentifierKind,
    from_raw_id,
    parse_lenient_identifier,
    parse_strict_identifier,
)

ACS = "8:acs:11111111-2222-4333-8444-555555555555_0000"


@pytest.mark.parametrize(
    ("payload", "kind", "raw"),
    [
        ({"phoneNumber": "+14255550123"}, IdentifierKind.PHONE_NUMBER, "4:+14255550123"),
        ({"rawId": "4:+14255550123"}, IdentifierKind.PHONE_NUMBER, "4:+14255550123"),
        ({"communicationUserId": ACS}, IdentifierKind.COMMUNICATION_USER, ACS),
        ({"rawId": ACS}, IdentifierKind.COMMUNICATION_USER, ACS),
        ({"kind": "phoneNumber", "rawId": "4:+14255550123",
          "phoneNumber": {"value": "+14255550123"}}, IdentifierKind.PHONE_NUMBER, "4:+14255550123"),
        ({"rawId": ACS, "kind": "communicationUser", "communicationUser": {"id": ACS}},
         IdentifierKind.COMMUNICATION_USER, ACS),
        ({"rawId": "8:orgid:abc"}, IdentifierKind.MICROSOFT_TEAMS_USER, "8:orgid:abc"),
        ({"rawId": "4:anonymous"}, IdentifierKind.PHONE_NUMBER, "4:anonymous"),
    ],
)
def test_accepted_forms(payload: dict[str, object], kind: IdentifierKind, raw: str) -> None:
    ident = parse_strict_identifier(payload)
    assert (ident.kind, ident.raw_id) == (kind, raw)


def test_full_form_rendering() -> None:
    assert parse_strict_identifier({"phoneNumber": "+14255550123"}).to_json() == {
        "kind": "phoneNumber", "rawId": "4:+14255550123", "phoneNumber": "+14255550123"}
    assert from_raw_id(ACS).to_json() == {
        "kind": "communicationUser", "rawId": ACS, "communicationUserId": ACS}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ("+14255550123", "target"),
        ({}, "target"),
        ({"phoneNumber": "4255550123"}, "target.phoneNumber"),
        ({"phoneNumber": "+1 425 555"}, "target.phoneNumber"),
        ({"communicationUserId": "bob"}, "target.communicationUserId"),
        ({"rawId": "4:12345"}, "target.rawId"),
        ({"phoneNumber": "+14255550123", "rawId": "4:+19999999999"}, "target.rawId"),
        ({"nickname": "bob"}, "target"),
        ({"kind": "communicationUser", "phoneNumber": "+14255550123"}, "target.kind"),
    ],
)
def test_refused_forms_name_the_field(payload: object, field: str) -> None:
    with pytest.raises(InvalidInput) as failure:
        parse_strict_identifier(payload, "target")
    assert failure.value.problems[0].field == field


def test_repr_redacts_the_number() -> None:
    assert "5550123" not in repr(parse_strict_identifier({"phoneNumber": "+14255550123"}))


@pytest.mark.parametrize("raw_id", ["4:+14255550123", ACS, "8:orgid:abc", "28:orgid:bot-1"])
def test_the_full_form_we_return_is_accepted_back(raw_id: str) -> None:
    full = from_raw_id(raw_id).to_json()
    assert parse_strict_identifier(full).to_json() == full


@pytest.mark.parametrize("kind", [[], ["phoneNumber"], {}, {"a": 1}, 7, True])
@pytest.mark.parametrize("parse", [parse_strict_identifier, parse_lenient_identifier])
def test_a_kind_that_is_not_a_string_is_refused_by_name(kind: object, parse: Any) -> None:
    """Issue 25: a list or object `kind` was unhashable in the lenient reader (a 500 at
    /api/callbacks and /api/rules/evaluate)."""
    with pytest.raises(InvalidInput) as failure:
        parse({"kind": kind, "rawId": "4:+14255550123"}, "target")
    assert failure.value.problems[0].field == "target.kind"
    assert "must be a string" in failure.value.problems[0].reason
