"""Redirect targets on the shared identifier model: strict reading, full-form round trip."""

from __future__ import annotations

import pytest

from callcontrol.domain.identifiers import Identifier, IdentifierKind, parse_strict_identifier
from callcontrol.domain.rules import parse_rule_set, parse_target

ACS = "8:acs:11111111-2222-3333-4444-555555555555_0000"


@pytest.mark.parametrize(
    "raw_id", ["4:+14255550199", ACS, "8:orgid:6e8d1f5c", "28:orgid:2f1c7e9a", "8:teamsvisitor:abc"]
)
def test_the_full_form_reads_back_to_the_same_identifier(raw_id: str) -> None:
    identifier = parse_target({"rawId": raw_id})
    assert parse_target(identifier.to_json()) == identifier
    assert parse_strict_identifier(identifier.to_json()) == identifier  # the app's one model


def test_a_rule_set_round_trips_through_its_wire_form() -> None:
    payload = {"rules": [{"id": f"r{i}", "action": {"type": "redirect", "target": {"rawId": raw}}}
                         for i, raw in enumerate(["4:+14255550199", ACS, "8:orgid:abc", "28:orgid:def"])],
               "defaultAction": {"type": "answer"}}
    rules = parse_rule_set(payload)
    assert parse_rule_set(rules.to_json()) == rules
    targets = [rule.action.target for rule in rules.rules]  # type: ignore[union-attr]
    assert all(isinstance(t, Identifier) for t in targets)
    assert [t.kind for t in targets] == [
        IdentifierKind.PHONE_NUMBER, IdentifierKind.COMMUNICATION_USER,
        IdentifierKind.MICROSOFT_TEAMS_USER, IdentifierKind.MICROSOFT_TEAMS_APP,
    ]


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ({"rawId": "4:anonymous"}, "withheld"),
        ({"rawId": "8:acs:"}, "rawId must start"),
        ({"rawId": "something"}, "rawId must start"),
        ({"microsoftTeamsUserId": "abc", "rawId": "8:orgid:xyz"}, "does not agree"),
        ({"microsoftTeamsAppId": "abc", "rawId": "8:orgid:abc"}, "does not agree"),
        ({"phoneNumber": ""}, "non-empty string"),
        ({"phoneNumber": 14255550199}, "non-empty string"),
        ({"rawId": "4:+1425"}, "rawId phone number"),
    ],
)
def test_targets_that_cannot_be_redirected_to_are_refused(target: dict[str, object], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_target(target)


def test_the_documented_example_rule_set_is_valid() -> None:
    import json
    from pathlib import Path

    example = Path(__file__).resolve().parents[3] / "docs" / "rules.example.json"
    rules = parse_rule_set(json.loads(example.read_text()))
    assert [rule.id for rule in rules.rules] == ["block-premium-rate", "after-hours", "vip"]
