"""Properties of `decide` over generated calls and rule sets (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from callcontrol.domain.rules import (
    AnswerAction,
    Conditions,
    IncomingCall,
    RedirectAction,
    RejectAction,
    Rule,
    RuleSet,
    SipHeaderCondition,
    TimeWindow,
    decide,
    parse_rule_set,
    parse_target,
)
from callcontrol.domain.rules.model import Action
from tests.unit.rules._support import party

SETTINGS = settings(
    max_examples=150, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

PARTIES = [
    "4:+14255550100",
    "4:+14255559999",
    "4:+12065550123",
    "4:+19005550100",
    "4:anonymous",
    "8:acs:res1_user-a",
    "8:acs:res2_user-b",
    "8:orgid:6e8d1f5c-0000-4000-8000-00000000abcd",
    "28:orgid:2f1c7e9a-0000-4000-8000-00000000beef",
]
PATTERNS = [
    "+1425*",
    "+14255550100",
    "+1206*",
    "+1900*",
    "4:anonymous",
    "4:*",
    "8:acs:res1_*",
    "8:acs:*",
    "8:orgid:*",
    "28:orgid:*",
]
KINDS = ["phoneNumber", "communicationUser", "microsoftTeamsUser", "microsoftTeamsApp", "unknown"]
HEADER_VALUES = ["gold", "silver"]
ZONES = ["America/New_York", "Europe/Berlin", "Australia/Sydney", "UTC", "Asia/Kolkata"]
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

clock = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.sampled_from([0, 30]))
instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@st.composite
def calls(draw: st.DrawFn) -> IncomingCall:
    caller = draw(st.none() | st.sampled_from(PARTIES))
    sip = draw(
        st.dictionaries(
            st.sampled_from(["X-MS-Custom-Tier", "x-ms-custom-vip"]), st.sampled_from(HEADER_VALUES)
        )
    )
    return IncomingCall(
        to=party(draw(st.sampled_from(PARTIES))),
        from_=party(caller) if caller is not None else None,
        incoming_call_context="context",
        sip_headers=sip,
    )


@st.composite
def time_windows(draw: st.DrawFn) -> TimeWindow:
    start, end = draw(clock), draw(clock)
    assume(start != end)
    days = draw(st.lists(st.sampled_from(DAYS), min_size=1, max_size=7, unique=True))
    return TimeWindow(
        time_zone=draw(st.sampled_from(ZONES)), days=tuple(days), start=start, end=end
    )


def _optional_tuple(elements: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.none() | st.lists(elements, min_size=1, max_size=3).map(tuple)


@st.composite
def conditions(draw: st.DrawFn) -> Conditions:
    return Conditions(
        to=draw(_optional_tuple(st.sampled_from(PATTERNS))),
        from_=draw(_optional_tuple(st.sampled_from(PATTERNS))),
        from_not_in=draw(_optional_tuple(st.sampled_from(PATTERNS))),
        caller_kinds=draw(_optional_tuple(st.sampled_from(KINDS))),
        caller_withheld=draw(st.none() | st.booleans()),
        sip_headers=draw(
            _optional_tuple(
                st.builds(
                    SipHeaderCondition,
                    name=st.sampled_from(["X-MS-Custom-Tier", "X-MS-CUSTOM-VIP"]),
                    equals=st.sampled_from(HEADER_VALUES),
                )
            )
        ),
        time_windows=draw(_optional_tuple(time_windows())),
    )


actions: st.SearchStrategy[Action] = st.one_of(
    st.builds(AnswerAction, operation_context=st.none() | st.sampled_from(["a", "b"])),
    st.builds(RejectAction, reason=st.sampled_from(["none", "busy", "forbidden"])),
    st.builds(
        RedirectAction,
        target=st.sampled_from(["+14255550123", "+442071838750"]).map(
            lambda n: parse_target({"phoneNumber": n})
        ),
    ),
)


@st.composite
def rule_lists(draw: st.DrawFn, max_size: int = 6) -> tuple[Rule, ...]:
    count = draw(st.integers(0, max_size))
    return tuple(
        Rule(id=f"rule-{index}", conditions=draw(conditions()), action=draw(actions))
        for index in range(count)
    )


def matches_alone(rule: Rule, call: IncomingCall, now: datetime) -> bool:
    return (
        decide(call, RuleSet(rules=(rule,), default_action=AnswerAction()), now).rule_id == rule.id
    )


@SETTINGS
@given(calls(), rule_lists(), actions, instants)
def test_the_first_rule_that_holds_on_its_own_decides(
    call: IncomingCall, rules: tuple[Rule, ...], default: Action, now: datetime
) -> None:
    decision = decide(call, RuleSet(rules=rules, default_action=default), now)
    first = next((rule for rule in rules if matches_alone(rule, call, now)), None)
    event("default" if first is None else f"rule at position {rules.index(first)}")
    if first is None:
        assert (decision.rule_id, decision.action) == (None, default)
        assert [miss.rule_id for miss in decision.skipped] == [rule.id for rule in rules]
    else:
        assert (decision.rule_id, decision.action) == (first.id, first.action)
        assert decision.matched
        assert [miss.rule_id for miss in decision.skipped] == [
            rule.id for rule in rules[: rules.index(first)]
        ]


@SETTINGS
@given(calls(), rule_lists(), actions, conditions(), actions, instants)
def test_prepending_a_rule_that_does_not_hold_changes_nothing(
    call: IncomingCall,
    rules: tuple[Rule, ...],
    default: Action,
    extra_conditions: Conditions,
    extra_action: Action,
    now: datetime,
) -> None:
    extra = Rule(id="prepended", conditions=extra_conditions, action=extra_action)
    assume(not matches_alone(extra, call, now))
    before = decide(call, RuleSet(rules=rules, default_action=default), now)
    after = decide(call, RuleSet(rules=(extra, *rules), default_action=default), now)
    assert (after.rule_id, after.action, after.matched) == (
        before.rule_id,
        before.action,
        before.matched,
    )
    assert after.skipped[0].rule_id == "prepended"
    assert after.skipped[1:] == before.skipped


@SETTINGS
@given(calls(), actions, instants)
def test_no_rules_always_yields_the_default(
    call: IncomingCall, default: Action, now: datetime
) -> None:
    decision = decide(call, RuleSet(rules=(), default_action=default), now)
    assert decision.rule_id is None
    assert decision.action == default
    assert decision.skipped == ()


@SETTINGS
@given(calls(), rule_lists(), actions, instants)
def test_decide_is_deterministic_and_survives_the_wire(
    call: IncomingCall, rules: tuple[Rule, ...], default: Action, now: datetime
) -> None:
    rule_set = RuleSet(rules=rules, default_action=default)
    first = decide(call, rule_set, now)
    assert decide(call, rule_set, now) == first
    # the stored (JSON) form decides the same, and so does the same instant in another zone
    assert decide(call, parse_rule_set(rule_set.to_json()), now) == first
    assert decide(call, rule_set, now.astimezone(datetime.now().astimezone().tzinfo)) == first


@SETTINGS
@given(st.sampled_from(ZONES), clock, clock, instants)
def test_a_window_and_its_complement_cover_every_instant_once(
    zone: str, start: str, end: str, now: datetime
) -> None:
    assume(start != end)
    window = Conditions(time_windows=(TimeWindow(time_zone=zone, start=start, end=end),))
    complement = Conditions(time_windows=(TimeWindow(time_zone=zone, start=end, end=start),))
    call = IncomingCall(to=party("4:+14255550100"), from_=None)
    inside = matches_alone(Rule(id="w", conditions=window, action=AnswerAction()), call, now)
    outside = matches_alone(Rule(id="c", conditions=complement, action=AnswerAction()), call, now)
    assert inside != outside


@SETTINGS
@given(st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True), st.integers(0, 15))
def test_an_e164_number_matches_itself_and_every_prefix_pattern(number: str, cut: int) -> None:
    prefix = number[: min(len(number), 1 + cut)] + "*"
    call = IncomingCall(to=party("4:" + number), from_=None)
    for pattern in (number, prefix, "4:" + prefix):
        rule = Rule(id="p", conditions=Conditions(to=(pattern,)), action=AnswerAction())
        assert matches_alone(rule, call, datetime(2026, 1, 5, tzinfo=UTC))
    neighbour = number[:-1] + str((int(number[-1]) + 1) % 10)
    other = Rule(id="o", conditions=Conditions(to=(neighbour,)), action=AnswerAction())
    assert not matches_alone(other, call, datetime(2026, 1, 5, tzinfo=UTC))
