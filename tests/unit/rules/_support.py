"""Builders shared by the rules tests: calls, one-rule sets, and the shared contract folder."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from callcontrol.domain.identifiers import Identifier, parse_lenient_identifier
from callcontrol.domain.rules import IncomingCall, RuleSet, decide, parse_rule_set
from tests.support.shared import contract_dir, shared_root

# A Monday, 10:00 in UTC: inside ordinary business hours in Europe, before them in the Americas.
MONDAY_10_UTC = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def shared_dir() -> Path:
    """The shared ACS contract folder (`<repo>/../shared`, or ACS_SHARED_DIR); skips if absent."""
    found = contract_dir()
    if found is None:
        pytest.skip(f"shared ACS contract folder not found under {shared_root()} (set ACS_SHARED_DIR)")
    return found


def load_shared_json(relative: str) -> Any:
    path = shared_dir() / relative
    if not path.is_file():
        pytest.skip(f"recorded sample {relative} is absent from {path.parent}")
    return json.loads(path.read_text(encoding="utf-8"))


def party(raw_id: str) -> Identifier:
    return parse_lenient_identifier({"rawId": raw_id})


def make_call(
    to: str = "4:+14255550100",
    from_: str | None = "4:+12065550123",
    sip: dict[str, str] | None = None,
    voip: dict[str, str] | None = None,
) -> IncomingCall:
    return IncomingCall(
        to=party(to),
        from_=party(from_) if from_ is not None else None,
        server_call_id="server-call",
        incoming_call_context="context",
        sip_headers=dict(sip or {}),
        voip_headers=dict(voip or {}),
    )


def one_rule(conditions: dict[str, Any]) -> RuleSet:
    """A rule set whose only rule `r` rejects when `conditions` hold; otherwise it answers."""
    return parse_rule_set(
        {
            "rules": [{"id": "r", "conditions": conditions, "action": {"type": "reject"}}],
            "defaultAction": {"type": "answer"},
        }
    )


def holds(conditions: dict[str, Any], call: IncomingCall, now: datetime = MONDAY_10_UTC) -> bool:
    return decide(call, one_rule(conditions), now).rule_id == "r"


# A rule set using every condition type and action, valid as it stands.
VALID: dict[str, Any] = {
    "rules": [
        {
            "id": "block-premium",
            "description": "Premium-rate callers are refused",
            "conditions": {"from": ["+1900*"]},
            "action": {"type": "reject", "reason": "forbidden"},
        },
        {
            "id": "business-hours",
            "conditions": {
                "to": ["+1425*", "8:acs:11111111-2222-3333-4444-555555555555_*"],
                "fromNotIn": ["4:anonymous"],
                "callerKinds": ["phoneNumber", "microsoftTeamsUser"],
                "callerWithheld": False,
                "sipHeaders": [{"name": "X-MS-Custom-Tier", "equals": "gold"}],
                "voipHeaders": [{"name": "customHeader", "exists": True}],
                "timeWindows": [
                    {
                        "timeZone": "America/Los_Angeles",
                        "days": ["mon", "tue", "wed", "thu", "fri"],
                        "start": "09:00",
                        "end": "17:00",
                    }
                ],
            },
            "action": {"type": "redirect", "target": {"phoneNumber": "+14255550199"}},
        },
        {"id": "front-desk", "action": {"type": "answer", "operationContext": "front-desk"}},
    ],
    "defaultAction": {"type": "reject", "reason": "busy"},
}


def with_change(path: list[str | int], value: Any) -> dict[str, Any]:
    """VALID with one member replaced (or removed, when value is ...)."""
    payload = copy.deepcopy(VALID)
    target: Any = payload
    for part in path[:-1]:
        target = target[part]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return payload
