"""Each condition type, table-driven, through the wire format and `decide`."""

from __future__ import annotations

from typing import Any

import pytest

from callcontrol.domain.rules import IncomingCall, decide, parse_incoming_call
from tests.unit.rules._support import MONDAY_10_UTC, holds, make_call, one_rule

ACS_USER = "8:acs:11111111-2222-3333-4444-555555555555_0000001b-aaaa"
OTHER_ACS_USER = "8:acs:99999999-2222-3333-4444-555555555555_0000001b-bbbb"
TEAMS_USER = "8:orgid:6e8d1f5c-0000-4000-8000-00000000abcd"
TEAMS_APP = "28:orgid:2f1c7e9a-0000-4000-8000-00000000beef"


@pytest.mark.parametrize(
    ("patterns", "to", "expected"),
    [
        (["+14255550100"], "4:+14255550100", True),
        (["+14255550100"], "4:+14255550101", False),
        (["+1425*"], "4:+14255550100", True),
        (["+1425*"], "4:+12065550100", False),
        (["4:+1425*"], "4:+14255550100", True),
        (["4:+14255550100"], "4:+14255550100", True),
        (["+1206*", "+1425*"], "4:+14255550100", True),  # any pattern in the list
        ([ACS_USER], ACS_USER, True),
        (["8:acs:11111111-2222-3333-4444-555555555555_*"], ACS_USER, True),
        (["8:acs:11111111-2222-3333-4444-555555555555_*"], OTHER_ACS_USER, False),
        (["+1425*"], ACS_USER, False),  # an E.164 pattern never matches a non-phone party
        (["8:orgid:6E8D1F5C*"], TEAMS_USER, True),  # raw ids compare case-insensitively
        (["4:*"], "4:+14255550100", True),
    ],
)
def test_to_patterns(patterns: list[str], to: str, expected: bool) -> None:
    assert holds({"to": patterns}, make_call(to=to)) is expected


@pytest.mark.parametrize(
    ("patterns", "caller", "expected"),
    [
        (["+1206*"], "4:+12065550123", True),
        (["+1206*"], "4:+14255550123", False),
        (["+12065550123"], "4:+12065550123_assertedid", True),  # asserted-id suffix ignored
        (["4:+12065550123"], "4:+12065550123_assertedid", True),
        ([ACS_USER], ACS_USER, True),
        ([TEAMS_USER], TEAMS_USER, True),
        (["+1206*"], None, False),  # no caller matches no pattern
    ],
)
def test_from_patterns(patterns: list[str], caller: str | None, expected: bool) -> None:
    assert holds({"from": patterns}, make_call(from_=caller)) is expected


@pytest.mark.parametrize(
    ("blocked", "caller", "expected"),
    [
        (["+1900*"], "4:+19005550100", False),
        (["+1900*", "+1976*"], "4:+19765550100", False),
        (["+1900*"], "4:+14255550100", True),
        (["+1900*"], None, True),  # nothing to block
        ([ACS_USER], ACS_USER, False),
    ],
)
def test_from_not_in_is_a_block_list(
    blocked: list[str], caller: str | None, expected: bool
) -> None:
    assert holds({"fromNotIn": blocked}, make_call(from_=caller)) is expected


def test_allow_list_and_block_list_combine() -> None:
    conditions = {"from": ["+1425*"], "fromNotIn": ["+1425555*"]}
    assert holds(conditions, make_call(from_="4:+14251110000"))
    assert not holds(conditions, make_call(from_="4:+14255550000"))
    assert not holds(conditions, make_call(from_="4:+12065550000"))


@pytest.mark.parametrize(
    ("caller", "kind"),
    [
        ("4:+14255550100", "phoneNumber"),
        ("4:anonymous", "phoneNumber"),
        (ACS_USER, "communicationUser"),
        (TEAMS_USER, "microsoftTeamsUser"),
        ("8:teamsvisitor:abcdef", "microsoftTeamsUser"),
        (TEAMS_APP, "microsoftTeamsApp"),
        ("something-else", "unknown"),
        (None, "unknown"),
    ],
)
def test_caller_kinds(caller: str | None, kind: str) -> None:
    call = make_call(from_=caller)
    assert holds({"callerKinds": [kind]}, call)
    others = [k for k in ("phoneNumber", "communicationUser", "microsoftTeamsUser") if k != kind]
    assert not holds({"callerKinds": others}, call)


def test_teams_user_with_live_typed_member_is_a_teams_user() -> None:
    call = parse_incoming_call(
        {
            "to": {"rawId": ACS_USER},
            "from": {
                "kind": "microsoftTeamsUser",
                "rawId": TEAMS_USER,
                "microsoftTeamsUser": {"userId": "6e8d1f5c-0000-4000-8000-00000000abcd"},
            },
        },
        require_call_context=False,
    )
    assert holds({"callerKinds": ["microsoftTeamsUser"]}, call)


@pytest.mark.parametrize(
    ("from_member", "withheld"),
    [
        ({"rawId": "4:anonymous"}, True),
        ({"kind": "phoneNumber", "phoneNumber": {"value": "anonymous", "isAnonymous": True}}, True),
        (None, True),  # no `from` at all
        ({"rawId": "4:+14255550100"}, False),
        ({"rawId": ACS_USER}, False),
    ],
)
def test_caller_withheld(from_member: dict[str, Any] | None, withheld: bool) -> None:
    data: dict[str, Any] = {"to": {"rawId": "4:+14255550100"}, "incomingCallContext": "c"}
    if from_member is not None:
        data["from"] = from_member
    call = parse_incoming_call(data)
    assert call.caller_withheld is withheld
    assert holds({"callerWithheld": True}, call) is withheld
    assert holds({"callerWithheld": False}, call) is not withheld


@pytest.mark.parametrize(
    ("condition", "headers", "expected"),
    [
        ({"name": "X-MS-Custom-Tier", "equals": "gold"}, {"X-MS-Custom-Tier": "gold"}, True),
        ({"name": "x-ms-custom-tier", "equals": "gold"}, {"X-MS-CUSTOM-TIER": "gold"}, True),
        ({"name": "X-MS-Custom-Tier", "equals": "gold"}, {"X-MS-Custom-Tier": "Gold"}, False),
        ({"name": "X-MS-Custom-Tier", "equals": "gold"}, {}, False),
        ({"name": "X-MS-Custom-VIP", "exists": True}, {"x-ms-custom-vip": ""}, True),
        ({"name": "X-MS-Custom-VIP", "exists": True}, {"X-MS-Custom-Other": "1"}, False),
        ({"name": "X-MS-Custom-VIP", "exists": False}, {}, True),
        ({"name": "X-MS-Custom-VIP", "exists": False}, {"X-MS-Custom-VIP": "1"}, False),
    ],
)
def test_sip_header_conditions(
    condition: dict[str, Any], headers: dict[str, str], expected: bool
) -> None:
    assert holds({"sipHeaders": [condition]}, make_call(sip=headers)) is expected
    # the same test on VoIP headers behaves the same on the VoIP map
    assert holds({"voipHeaders": [condition]}, make_call(voip=headers)) is expected


def test_sip_and_voip_conditions_read_their_own_map() -> None:
    equals = {"name": "X-MS-Custom-Tier", "equals": "gold"}
    assert not holds({"sipHeaders": [equals]}, make_call(voip={"X-MS-Custom-Tier": "gold"}))
    assert not holds({"voipHeaders": [equals]}, make_call(sip={"X-MS-Custom-Tier": "gold"}))


@pytest.mark.parametrize(
    ("condition", "headers", "expected"),
    [
        ({"name": "customHeader", "equals": "customValue"}, {"customheader": "customValue"}, True),
        ({"name": "CUSTOMHEADER", "exists": True}, {"customHeader": "x"}, True),
        ({"name": "customHeader", "equals": "other"}, {"customHeader": "customValue"}, False),
    ],
)
def test_voip_header_conditions(
    condition: dict[str, Any], headers: dict[str, str], expected: bool
) -> None:
    assert holds({"voipHeaders": [condition]}, make_call(voip=headers)) is expected


def test_header_conditions_in_one_list_are_alternatives() -> None:
    conditions = {
        "sipHeaders": [
            {"name": "X-MS-Custom-Tier", "equals": "gold"},
            {"name": "X-MS-Custom-VIP", "exists": True},
        ]
    }
    assert holds(conditions, make_call(sip={"X-MS-Custom-VIP": "yes"}))
    assert holds(conditions, make_call(sip={"X-MS-Custom-Tier": "gold"}))
    assert not holds(conditions, make_call(sip={"X-MS-Custom-Tier": "silver"}))


def test_all_given_conditions_must_hold() -> None:
    conditions = {"to": ["+1425*"], "callerKinds": ["phoneNumber"], "callerWithheld": False}
    assert holds(conditions, make_call(to="4:+14255550100", from_="4:+12065550123"))
    assert not holds(conditions, make_call(to="4:+12065550100", from_="4:+12065550123"))
    assert not holds(conditions, make_call(to="4:+14255550100", from_=ACS_USER))
    assert not holds(conditions, make_call(to="4:+14255550100", from_="4:anonymous"))


def test_rule_without_conditions_matches_everything() -> None:
    decision = decide(make_call(from_=None), one_rule({}), MONDAY_10_UTC)
    assert decision.rule_id == "r"
    assert decision.matched == ("no conditions: matches every call",)


def _decide(conditions: dict[str, Any], call: IncomingCall) -> tuple[str | None, tuple[str, ...]]:
    decision = decide(call, one_rule(conditions), MONDAY_10_UTC)
    failed = tuple(miss.failed for miss in decision.skipped)
    return decision.rule_id, decision.matched if decision.rule_id else failed


def test_explanations_name_the_deciding_conditions() -> None:
    conditions = {
        "to": ["+1206*", "+1425*"],
        "sipHeaders": [{"name": "X-MS-Custom-T", "exists": True}],
    }
    rule_id, matched = _decide(conditions, make_call(sip={"X-MS-Custom-T": "1"}))
    assert rule_id == "r"
    assert matched == ("to +1425* matched", "SIP header X-MS-Custom-T exists")


def test_a_miss_names_the_first_failing_condition_without_caller_data() -> None:
    conditions = {"to": ["+1425*"], "from": ["+1900*"], "callerKinds": ["communicationUser"]}
    rule_id, failed = _decide(conditions, make_call(from_="4:+12065550123"))
    assert rule_id is None
    assert failed == ("from matched none of [+1900*]",)
    assert "12065550123" not in failed[0]


def test_decision_repr_leaves_numbers_from_explanations_out() -> None:
    rules = one_rule({"from": ["+12065550123"]})
    decision = decide(make_call(from_="4:+12065550123"), rules, MONDAY_10_UTC)
    assert decision.matched == ("from +12065550123 matched",)  # the dry run shows it in full
    assert repr(decision) == "Decision(rule_id='r', action=reject, matched=1, skipped=0)"
