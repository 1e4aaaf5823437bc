"""Which flows the active rule set has and how a call reaches each: the rules that start it,
the numbers they answer on, what else they ask of a call. Pure: the page's "call into a flow"
form is drawn from this, and the call it places goes through the rules like any other.
"""

from __future__ import annotations

from typing import Any

# Conditions other than `to` a rule may add: the page says so, since a call placed with only a
# caller and a number might not meet them.
_OTHER_CONDITIONS = ("from", "fromNotIn", "callerKinds", "callerWithheld", "sipHeaders",
                     "voipHeaders", "timeWindows")


def flow_entries(rule_set: dict[str, Any]) -> list[dict[str, Any]]:
    """One item per flow of the set, in the document's order."""
    flows = rule_set.get("flows") or {}
    if not isinstance(flows, dict):
        return []
    rules = [r for r in rule_set.get("rules") or [] if isinstance(r, dict)]
    default = rule_set.get("defaultAction") or {}
    found = []
    for name, flow in flows.items():
        if not isinstance(flow, dict):
            continue
        entries = [_entry(rule, index) for index, rule in enumerate(rules)
                   if _starts(rule.get("action"), name)]
        if _starts(default, name):
            entries.append({"ruleId": None, "default": True, "to": [], "dial": [], "alsoRequires": [],
                            "earlierRules": len(rules)})
        steps = [_step(s) for s in flow.get("steps") or [] if isinstance(s, dict)]
        start = flow.get("start") or (steps[0]["id"] if steps else None)
        found.append({"name": name, "start": start, "steps": steps, "entries": entries})
    return found


def _starts(action: Any, name: str) -> bool:
    return isinstance(action, dict) and action.get("type") == "flow" and action.get("flow") == name


def _entry(rule: dict[str, Any], index: int) -> dict[str, Any]:
    conditions = rule.get("conditions") or {}
    to = [str(t) for t in conditions.get("to") or []]
    return {
        "ruleId": rule.get("id"),
        "default": False,
        "to": to,
        # Only whole numbers or ids can be dialled; a trailing * names many.
        "dial": [dialable(t) for t in to if not t.endswith("*")],
        "alsoRequires": [c for c in _OTHER_CONDITIONS if conditions.get(c) not in (None, [], "")],
        "earlierRules": index,  # rules before it decide first when they match
    }


def dialable(value: str) -> str:
    """What the page's To field takes: an E.164 number, or a raw id (4:+1… is a number)."""
    return value[2:] if value.startswith("4:+") else value


def raw_id(identifier: Any) -> str:
    if isinstance(identifier, str):
        return identifier if not identifier.startswith("+") else "4:" + identifier
    if not isinstance(identifier, dict):
        return ""
    if identifier.get("rawId"):
        return str(identifier["rawId"])
    if identifier.get("phoneNumber"):
        return "4:" + str(identifier["phoneNumber"])
    return str(identifier.get("communicationUserId") or "")


def _step(step: dict[str, Any]) -> dict[str, Any]:
    """A step as the page shows it: its id, type and a line saying what it does."""
    kind = str(step.get("type", ""))
    targets = [raw_id(t) for t in step.get("targets") or []]
    if kind == "ring":
        summary = f"ring {step.get('mode', 'simultaneous')}, {len(targets)} target(s)"
        if step.get("timeoutSeconds"):
            summary += f", {step['timeoutSeconds']} s"
    elif kind in ("transfer", "redirect"):
        summary = f"{kind} to {raw_id(step.get('target'))}"
    elif kind == "reject":
        summary = f"reject ({step.get('reason', 'none')})"
    elif kind == "goto":
        summary = f"go to {step.get('next')}"
    else:
        summary = kind
    nexts = {key: step[key] for key in ("fallback", "onNoAnswer", "onBusy", "onDeclined", "onFailed")
             if isinstance(step.get(key), str)}
    return {"id": step.get("id"), "type": kind, "summary": summary, "targets": targets, "next": nexts}
