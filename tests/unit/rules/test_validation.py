"""parse_rule_set: every problem reported, each named by rule index and wire field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from callcontrol.domain.errors import FieldProblem, InvalidInput
from callcontrol.domain.rules import (
    AnswerAction,
    RedirectAction,
    RejectAction,
    default_rule_set,
    parse_rule_set,
)
from tests.unit.rules._support import VALID, with_change


def problems_of(payload: object) -> list[FieldProblem]:
    with pytest.raises(InvalidInput) as caught:
        parse_rule_set(payload)
    assert caught.value.problems, "InvalidInput must list its problems"
    return caught.value.problems


def test_valid_rule_set_parses_and_round_trips() -> None:
    rule_set = parse_rule_set(VALID)
    assert [rule.id for rule in rule_set.rules] == ["block-premium", "business-hours", "front-desk"]
    assert rule_set.default_action == RejectAction(reason="busy")
    redirect = rule_set.rules[1].action
    assert isinstance(redirect, RedirectAction)
    assert redirect.target.to_json() == {
        "kind": "phoneNumber",
        "rawId": "4:+14255550199",
        "phoneNumber": "+14255550199",
    }
    assert parse_rule_set(rule_set.to_json()) == rule_set
    assert "fromNotIn" in rule_set.to_json()["rules"][1]["conditions"]


def test_shipped_default_answers_everything() -> None:
    shipped = default_rule_set()
    assert shipped.rules == ()
    assert shipped.default_action == AnswerAction()
    assert parse_rule_set(shipped.to_json()) == shipped


TZ: list[str | int] = ["rules", 1, "conditions", "timeWindows", 0]
ACTION: list[str | int] = ["rules", 1, "action"]


@pytest.mark.parametrize(
    ("path", "value", "field", "reason"),
    [
        (
            [*TZ, "timeZone"],
            "Mars/Olympus_Mons",
            "rules[1].conditions.timeWindows[0].timeZone",
            "IANA",
        ),
        (
            [*TZ, "timeZone"],
            "../../etc/passwd",
            "rules[1].conditions.timeWindows[0].timeZone",
            "IANA",
        ),
        ([*TZ, "start"], "9:00", "rules[1].conditions.timeWindows[0].start", "HH:MM"),
        ([*TZ, "end"], "24:01", "rules[1].conditions.timeWindows[0].end", "HH:MM"),
        ([*TZ, "start"], "24:00", "rules[1].conditions.timeWindows[0]", "start must be"),
        ([*TZ, "end"], "09:00", "rules[1].conditions.timeWindows[0]", "must differ"),
        ([*TZ, "days"], [], "rules[1].conditions.timeWindows[0].days", "at least 1 "),
        ([*TZ, "days"], ["monday"], "rules[1].conditions.timeWindows[0].days[0]", "'mon'"),
        (["rules", 0, "conditions", "from", 0], "+190055", "rules[0].conditions.from[0]", "E.164"),
        (
            ["rules", 0, "conditions", "from", 0],
            "14255550100",
            "rules[0].conditions.from[0]",
            "E.164",
        ),
        (
            ["rules", 0, "conditions", "from", 0],
            "+1234567890123456",
            "rules[0].conditions.from[0]",
            "E.164",
        ),
        (
            ["rules", 0, "conditions", "from", 0],
            "+1*900",
            "rules[0].conditions.from[0]",
            "wildcard",
        ),
        (["rules", 0, "conditions", "from", 0], "+1900x*", "rules[0].conditions.from[0]", "prefix"),
        (["rules", 0, "conditions", "from"], [], "rules[0].conditions.from", "at least 1 "),
        (["rules", 0, "conditions", "to"], "+1425*", "rules[0].conditions.to", "JSON array"),
        (
            ["rules", 0, "conditions", "callerKinds"],
            ["robot"],
            "rules[0].conditions.callerKinds[0]",
            "phoneNumber",
        ),
        (
            ["rules", 0, "conditions", "callerWithheld"],
            "yes",
            "rules[0].conditions.callerWithheld",
            "JSON boolean",
        ),
        (
            ["rules", 0, "conditions", "callerWithheld"],
            1,
            "rules[0].conditions.callerWithheld",
            "JSON boolean",
        ),
        (
            ["rules", 1, "conditions", "voipHeaders", 0, "exists"],
            "true",
            "rules[1].conditions.voipHeaders[0].exists",
            "JSON boolean",
        ),
        (
            ["rules", 0, "conditions", "caller_kinds"],
            ["phoneNumber"],
            "rules[0].conditions.caller_kinds",
            "not a known field",
        ),
        (
            ["rules", 0, "conditions", "priority"],
            1,
            "rules[0].conditions.priority",
            "not a known field",
        ),
        (["rules", 0, "enabled"], True, "rules[0].enabled", "not a known field"),
        (
            ["rules", 1, "conditions", "sipHeaders", 0, "name"],
            "X-Tier",
            "rules[1].conditions.sipHeaders[0].name",
            "X-MS-Custom-",
        ),
        (
            ["rules", 1, "conditions", "sipHeaders", 0, "name"],
            "X-MS-Custom-",
            "rules[1].conditions.sipHeaders[0].name",
            "X-MS-Custom-",
        ),
        (
            ["rules", 1, "conditions", "sipHeaders", 0, "exists"],
            True,
            "rules[1].conditions.sipHeaders[0]",
            "exactly one",
        ),
        (
            ["rules", 1, "conditions", "voipHeaders", 0, "exists"],
            ...,
            "rules[1].conditions.voipHeaders[0]",
            "exactly one",
        ),
        (
            ["rules", 1, "conditions", "voipHeaders", 0, "name"],
            "bad name",
            "rules[1].conditions.voipHeaders[0].name",
            "header name",
        ),
        (["rules", 0, "id"], "has space", "rules[0].id", "letters, digits"),
        (["rules", 0, "id"], "", "rules[0].id", "letters, digits"),
        (["rules", 0, "id"], ..., "rules[0].id", "required"),
        (["rules", 0, "description"], "x" * 501, "rules[0].description", "500"),
        (
            ["rules", 0, "action", "type"],
            "voicemail",
            "rules[0].action.type",
            "answer, reject or redirect",
        ),
        (["rules", 0, "action", "type"], ..., "rules[0].action.type", "required"),
        (["rules", 0, "action", "reason"], "declined", "rules[0].action.reason", "'busy'"),
        (["rules", 0, "action"], ..., "rules[0].action", "required"),
        ([*ACTION, "target"], ..., "rules[1].action.target", "required"),
        ([*ACTION, "target"], "+14255550199", "rules[1].action.target", "object"),
        ([*ACTION, "target"], {"phoneNumber": "425-555-0199"}, "rules[1].action.target", "E.164"),
        (
            [*ACTION, "target"],
            {"rawId": "9:whatever"},
            "rules[1].action.target",
            "rawId must start",
        ),
        (
            [*ACTION, "target"],
            {"communicationUserId": "+14255550199"},
            "rules[1].action.target",
            "ACS user id",
        ),
        (
            [*ACTION, "target"],
            {"phoneNumber": "+14255550199", "rawId": "4:+14255550100"},
            "rules[1].action.target",
            "rawId does not match",
        ),
        (
            [*ACTION, "target"],
            {"kind": "communicationUser", "phoneNumber": "+14255550199"},
            "rules[1].action.target",
            "does not agree",
        ),
        (
            [*ACTION, "target"],
            {"phone": "+14255550199"},
            "rules[1].action.target",
            "unknown identifier member",
        ),
        (
            [*ACTION, "sourceCallerIdNumber"],
            "+14255550100",
            "rules[1].action",
            "no caller-id field",
        ),
        (
            ["rules", 2, "action", "operationContext"],
            "",
            "rules[2].action.operationContext",
            "at least 1 ",
        ),
        (["defaultAction"], ..., "defaultAction", "required"),
        (["defaultAction", "type"], "drop", "defaultAction.type", "answer, reject or redirect"),
        (["defaultAction", "extra"], 1, "defaultAction.extra", "not a known field"),
        (["rules"], {"id": "x"}, "rules", "JSON array"),
    ],
)
def test_a_bad_field_is_named_by_index_and_wire_name(
    path: list[str | int], value: Any, field: str, reason: str
) -> None:
    problems = problems_of(with_change(path, value))
    assert [p.field for p in problems] == [field], problems
    assert reason.lower() in problems[0].reason.lower(), problems[0].reason


def test_duplicate_ids_name_every_repeat_and_the_first_use() -> None:
    payload = copy.deepcopy(VALID)
    payload["rules"][2]["id"] = "block-premium"
    payload["rules"].append({"id": "block-premium", "action": {"type": "answer"}})
    problems = problems_of(payload)
    assert [p.field for p in problems] == ["rules[2].id", "rules[3].id"]
    assert all("rules[0]" in p.reason and "unique" in p.reason for p in problems)


def test_every_problem_is_reported_at_once() -> None:
    payload = copy.deepcopy(VALID)
    payload["rules"][0]["conditions"]["from"] = ["nope"]
    payload["rules"][1]["conditions"]["timeWindows"][0]["timeZone"] = "Nowhere/Land"
    payload["rules"][2]["id"] = "block-premium"
    payload["defaultAction"] = {"type": "redirect"}
    with pytest.raises(InvalidInput) as caught:
        parse_rule_set(payload)
    fields = [p.field for p in caught.value.problems]
    assert fields == [
        "rules[0].conditions.from[0]",
        "rules[1].conditions.timeWindows[0].timeZone",
        "rules[2].id",
        "defaultAction.target",
    ]
    assert caught.value.detail.startswith("invalid rule set: rules[0].conditions.from[0] ")
    assert caught.value.detail.endswith("(and 3 more)")


@pytest.mark.parametrize("payload", [None, [], "rules", 42])
def test_a_body_that_is_not_an_object_is_refused(payload: object) -> None:
    problems = problems_of(payload)
    assert [p.field for p in problems] == ["(body)"]


@pytest.mark.parametrize(
    "target",
    [
        {"phoneNumber": "+14255550199"},
        {"rawId": "4:+14255550199"},
        {"kind": "phoneNumber", "rawId": "4:+14255550199", "phoneNumber": "+14255550199"},
    ],
)
def test_phone_target_forms_agree(target: dict[str, str]) -> None:
    rule_set = parse_rule_set(with_change([*ACTION, "target"], target))
    action = rule_set.rules[1].action
    assert isinstance(action, RedirectAction)
    assert action.target.raw_id == "4:+14255550199"
    assert action.target.value == "+14255550199"


@pytest.mark.parametrize(
    ("target", "kind", "raw_id"),
    [
        ({"communicationUserId": "8:acs:r_u"}, "communicationUser", "8:acs:r_u"),
        ({"rawId": "8:acs:r_u"}, "communicationUser", "8:acs:r_u"),
        (
            {"kind": "communicationUser", "rawId": "8:acs:r_u", "communicationUserId": "8:acs:r_u"},
            "communicationUser",
            "8:acs:r_u",
        ),
        ({"rawId": "8:orgid:6e8d1f5c"}, "microsoftTeamsUser", "8:orgid:6e8d1f5c"),
        ({"rawId": "28:orgid:2f1c7e9a"}, "microsoftTeamsApp", "28:orgid:2f1c7e9a"),
    ],
)
def test_other_target_forms(target: dict[str, str], kind: str, raw_id: str) -> None:
    action = parse_rule_set(with_change([*ACTION, "target"], target)).rules[1].action
    assert isinstance(action, RedirectAction)
    assert (action.target.kind, action.target.raw_id) == (kind, raw_id)


def test_pattern_forms_that_are_accepted() -> None:
    patterns = [
        "+14255550100",
        "+1425*",
        "+*",
        "4:+1425*",
        "4:anonymous",
        "4:*",
        "8:acs:r_*",
        "8:*",
    ]
    rule_set = parse_rule_set(with_change(["rules", 0, "conditions", "from"], patterns))
    assert rule_set.rules[0].conditions.from_ == tuple(patterns)


def test_python_callers_may_use_snake_case_names() -> None:
    # only the wire is camelCase-only; code builds models with attribute names
    from callcontrol.domain.rules import Conditions, Rule, RuleSet

    built = RuleSet(
        rules=(Rule(id="a", conditions=Conditions(from_=("+1900*",)), action=RejectAction()),),
        default_action=AnswerAction(),
    )
    assert built.to_json()["rules"][0]["conditions"] == {"from": ["+1900*"]}
