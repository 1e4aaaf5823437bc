"""The decision: which rule, and so which action, an IncomingCall gets. Pure and deterministic.

`decide` reads no clock, no store and no settings: the caller passes the rule set and `now`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from callcontrol.domain.events.incoming_call import IncomingCall
from callcontrol.domain.identifiers import Identifier
from callcontrol.domain.rules.matching import (
    first_matching_pattern,
    header_holds,
    local_time_label,
    window_contains,
)
from callcontrol.domain.rules.model import (
    Action,
    AnswerAction,
    Conditions,
    Rule,
    RuleSet,
    TimeWindow,
    VoipHeaderCondition,
)

NO_CONDITIONS = "no conditions: matches every call"
DEFAULT_USED = "no rule matched: default action"


@dataclass(frozen=True)
class Check:
    """One condition tested against one call: did it hold, and why (in words)."""

    holds: bool
    explanation: str


@dataclass(frozen=True)
class RuleMiss:
    """An earlier rule that did not match, with the first condition that failed."""

    rule_id: str
    failed: str


@dataclass(frozen=True, repr=False)
class Decision:
    """The outcome for one call: the deciding rule (None = default action) and why.

    Explanations quote the rules' patterns, which may be full phone numbers: the repr (what
    logs see) carries only the rule id, the action type and counts.
    """

    rule_id: str | None
    action: Action
    matched: tuple[str, ...]
    skipped: tuple[RuleMiss, ...] = ()

    @property
    def is_default(self) -> bool:
        return self.rule_id is None

    def __repr__(self) -> str:
        return (
            f"Decision(rule_id={self.rule_id!r}, action={self.action.type}, "
            f"matched={len(self.matched)}, skipped={len(self.skipped)})"
        )

    __str__ = __repr__

    def to_json(self) -> dict[str, Any]:
        """The dry-run answer of POST /api/rules/evaluate."""
        return {
            "ruleId": self.rule_id,
            "action": self.action.model_dump(mode="json", exclude_none=True),
            "matched": list(self.matched),
            "skipped": [{"ruleId": miss.rule_id, "failed": miss.failed} for miss in self.skipped],
        }


def decide(call: IncomingCall, rules: RuleSet, now: datetime) -> Decision:
    """First rule whose conditions all hold wins; no match means the rule set's default action.

    Raises:
        ValueError: if `now` is naive (time windows need an instant, not a wall-clock time).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("decide needs a timezone-aware now")
    skipped: list[RuleMiss] = []
    for rule in rules.rules:
        checks = evaluate_rule(rule, call, now)
        if checks and not checks[-1].holds:
            skipped.append(RuleMiss(rule.id, checks[-1].explanation))
            continue
        matched = tuple(check.explanation for check in checks) or (NO_CONDITIONS,)
        return Decision(rule.id, rule.action, matched, tuple(skipped))
    return Decision(None, rules.default_action, (DEFAULT_USED,), tuple(skipped))


def evaluate_rule(rule: Rule, call: IncomingCall, now: datetime) -> list[Check]:
    """The rule's conditions in a fixed order, stopping at the first that fails."""
    results: list[Check] = []
    for check in _checks(rule.conditions):
        result = check(call, now)
        results.append(result)
        if not result.holds:
            break
    return results


_Checker = Callable[[IncomingCall, datetime], Check]


def _checks(conditions: Conditions) -> Iterator[_Checker]:
    """One checker per given condition, in wire order (the order explanations appear in)."""
    to, from_, blocked = conditions.to, conditions.from_, conditions.from_not_in
    kinds, withheld = conditions.caller_kinds, conditions.caller_withheld
    sip, voip, windows = conditions.sip_headers, conditions.voip_headers, conditions.time_windows
    if to is not None:
        yield lambda call, _now: _party_in("to", to, call.to)
    if from_ is not None:
        yield lambda call, _now: _party_in("from", from_, call.from_)
    if blocked is not None:
        yield lambda call, _now: _not_blocked(blocked, call)
    if kinds is not None:
        yield lambda call, _now: _caller_kind(kinds, call)
    if withheld is not None:
        yield lambda call, _now: _withheld(withheld, call)
    if sip is not None:
        yield lambda call, _now: _headers("SIP", sip, call.sip_header)
    if voip is not None:
        yield lambda call, _now: _headers("VoIP", voip, call.voip_header)
    if windows is not None:
        yield lambda _call, now: _time(windows, now)


def _party_in(name: str, patterns: tuple[str, ...], party: Identifier | None) -> Check:
    if party is None:
        return Check(False, f"{name} is absent, so none of {_listed(patterns)} matches")
    hit = first_matching_pattern(patterns, party)
    if hit is None:
        return Check(False, f"{name} matched none of {_listed(patterns)}")
    return Check(True, f"{name} {hit} matched")


def _not_blocked(patterns: tuple[str, ...], call: IncomingCall) -> Check:
    hit = first_matching_pattern(patterns, call.from_)
    if hit is not None:
        return Check(False, f"from {hit} is in fromNotIn")
    return Check(True, f"from is in none of fromNotIn {_listed(patterns)}")


def _caller_kind(kinds: tuple[str, ...], call: IncomingCall) -> Check:
    kind = call.caller_kind
    if kind in kinds:
        return Check(True, f"caller kind {kind} is in callerKinds")
    return Check(False, f"caller kind {kind} is not in callerKinds {_listed(kinds)}")


def _withheld(wanted: bool, call: IncomingCall) -> Check:
    actual = call.caller_withheld
    state = "withheld" if actual else "not withheld"
    return Check(actual == wanted, f"callerWithheld {str(wanted).lower()}: caller is {state}")


def _headers(
    family: str,
    conditions: tuple[VoipHeaderCondition, ...],
    lookup: Callable[[str], str | None],
) -> Check:
    for condition in conditions:
        if header_holds(condition, lookup(condition.name)):
            return Check(True, f"{family} header {condition.describe()}")
    tests = "; ".join(condition.describe() for condition in conditions)
    return Check(False, f"no {family} header condition held ({tests})")


def _time(windows: tuple[TimeWindow, ...], now: datetime) -> Check:
    for window in windows:
        if window_contains(window, now):
            label = local_time_label(window, now)
            return Check(True, f"time window {window.describe()} holds ({label} there)")
    outside = "; ".join(f"{w.describe()} at {local_time_label(w, now)}" for w in windows)
    return Check(False, f"outside every time window ({outside})")


def _listed(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(values) + "]"


def default_rule_set() -> RuleSet:
    """What ships: no rules, answer every call."""
    return RuleSet(rules=(), default_action=AnswerAction())
