"""Response shapes of the rules routes, for the OpenAPI document and the tests that check replies.

Requests need no models of their own: PUT takes a `RuleSet`, evaluate an IncomingCall (the
`IncomingCallData` model, or the whole Event Grid event around it).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from handlers.wire.actor import ActorOut


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleSetVersionOut(_Out):
    version: int = Field(description="0 is the shipped default (nothing stored yet)")
    etag: str
    savedAt: str | None
    source: str = Field(description="default, seed (RULES_FILE) or api (PUT /api/rules)")
    ruleCount: int
    savedBy: ActorOut | None = Field(
        default=None, description="who stored it through the API (absent: seed, default, or "
                                  "stored before callers were named)")


class RuleSetVersionListOut(_Out):
    value: list[RuleSetVersionOut] = Field(description="newest first")


class RuleMissOut(_Out):
    ruleId: str
    failed: str = Field(description="the first condition of the rule that did not hold")


class SimulatedStepOut(_Out):
    step: str
    visit: int = Field(description="the run's step count when the step was entered")
    attempt: int = Field(description="a sequential ring's target, from 1")
    outcome: str | None = Field(description="how the step ended (answered, busy, next:<id>, ...)")
    actions: list[dict[str, Any]] = Field(description="the requests the step would send")


class FlowSimulationOut(_Out):
    path: list[SimulatedStepOut]
    outcome: str | None = Field(description="how the run ends: connected, transferred, rejected, ...")
    stepsTaken: int
    defaultsUsed: list[str] = Field(description="'<step>#<n>: <outcome>' for each outcome not scripted")


class EvaluationOut(_Out):
    ruleId: str | None = Field(description="the matching rule; null when the default action applies")
    action: dict[str, Any] = Field(description="the action the call would get")
    matched: list[str] = Field(description="the conditions that decided it, in words")
    skipped: list[RuleMissOut] = Field(description="earlier rules, and why each did not match")
    ruleSetVersion: int
    etag: str
    evaluatedAt: str
    flow: FlowSimulationOut | None = Field(
        None, description="when the action starts a flow: the path it would take (nothing sent)")


RULES_RESPONSE_MODELS: dict[str, type[BaseModel]] = {
    "ruleSetVersionList": RuleSetVersionListOut,
    "evaluation": EvaluationOut,
}
