"""A flow run on the timeline: each step entered, each ring attempt's outcome, the run's end.

Read from the `call.flow.step` events the app published to the emulator's Event Grid topic
(`GET /emulator/eventgrid/events?type=call.flow.step`); each says which path entry the change
added or ended. Pure: no I/O here.
"""

from __future__ import annotations

from typing import Any

from console.steps import APP, Step, iso_seconds

FLOW_STEP_TYPE = "call.flow.step"
KIND = "flow"
# A path entry ending like this is a target or step that did not work out, drawn in red; the run
# goes on to its fallback, so the run itself is not failed by it.
_FAILED_OUTCOMES = frozenset(
    {"busy", "declined", "noAnswer", "failed", "unreachable", "timeout", "callerLeft", "callEnded"}
)
_FAILED_RUNS = frozenset({"failed", "maxSteps"})


def flow_steps(received: list[dict[str, Any]], server_call_id: str) -> list[Step]:
    """The timeline steps of every flow run on the call, in the order the app published them."""
    steps: list[Step] = []
    entered: set[tuple[Any, ...]] = set()
    ended: set[tuple[Any, ...]] = set()
    ends: dict[str, Step] = {}
    for event, at in _events_of(received, server_call_id):
        change = (event.get("data") or {}).get("change") or {}
        run_id = str(change.get("runId", ""))
        step, attempt = str(change.get("step", "")), int(change.get("attempt") or 1)
        entry = (run_id, step, change.get("visit"), attempt)
        outcome = change.get("outcome")
        # Keyed by entry, so a publish retried (the same event twice) draws nothing new.
        if entry not in entered:  # entered (and maybe ended in the same write: one event)
            entered.add(entry)
            steps.append(_entered(at, change, step, attempt))
        if outcome and entry not in ended:  # the run's own end repeats its last entry
            ended.add(entry)
            label = f"{step}: {outcome}" + (f" (attempt {attempt})" if attempt > 1 else "")
            steps.append(Step(at, APP, APP, label, KIND, f"flow {change.get('flow')}",
                              failed=outcome in _FAILED_OUTCOMES))
        if change.get("runStatus") == "finished" and run_id not in ends:
            run_outcome = change.get("runOutcome")
            ends[run_id] = Step(at, APP, APP, f"flow {change.get('flow')} ends: {run_outcome}", KIND,
                                f"run {run_id}", failed=run_outcome in _FAILED_RUNS)
    # After the entries: the write that ended the run may have entered a last step (a hangup).
    return steps + list(ends.values())


def _entered(at: float, change: dict[str, Any], step: str, attempt: int) -> Step:
    label = f"flow {change.get('flow')} → {step}" + (f" (attempt {attempt})" if attempt > 1 else "")
    return Step(at, APP, APP, label, KIND, f"visit {change.get('visit')}")


def _events_of(received: list[dict[str, Any]], server_call_id: str) -> list[tuple[dict[str, Any], float]]:
    """The call's flow-step events with their times, oldest first (ties keep publish order)."""
    found = []
    for item in received:
        event = item.get("event") or {}
        data = event.get("data") or {}
        if event.get("type") != FLOW_STEP_TYPE or data.get("serverCallId") != server_call_id:
            continue
        at = iso_seconds(str(event.get("time") or "")) or iso_seconds(str(item.get("receivedAt") or ""))
        found.append((event, at or 0.0))
    found.sort(key=lambda pair: pair[1])
    return found
