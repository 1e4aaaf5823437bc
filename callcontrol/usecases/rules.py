"""The inbound rule set: read it, replace it (If-Match), list its versions, dry-run it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from callcontrol.domain.access import Actor
from callcontrol.domain.errors import FieldProblem, InvalidInput
from callcontrol.domain.events.incoming_call import IncomingCall
from callcontrol.domain.flows import Simulation, parse_script, simulate
from callcontrol.domain.rules import Decision, FlowStartAction, RuleSet, decide, flow_of
from callcontrol.domain.rules.admission import admission_problems
from callcontrol.domain.rules.flows import ask_step_fields, call_facts, speech_prompt_problems
from callcontrol.domain.rules.versions import RuleSetVersion
from callcontrol.domain.validation_problems import summary
from callcontrol.usecases.ports import RuleSetInForce, RuleSetVersions

# --- commands ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplaceRuleSet:
    rules: RuleSet  # validated
    if_match: tuple[str, ...] | None  # the entity tags of If-Match; None when absent
    actor: Actor | None = None  # the management caller: recorded on the version


@dataclass(frozen=True)
class GetRuleSetVersion:
    version: int  # 0 is the shipped default


@dataclass(frozen=True)
class EvaluateRules:
    call: IncomingCall
    at: datetime  # the instant time windows are checked against
    script: object = None  # the outcomes a flow meets in the dry run (domain/flows/script.py)


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    decision: Decision
    version: RuleSetVersion
    at: datetime
    flow: Simulation | None = None  # the path a flow the rule starts would take


# --- the use cases -------------------------------------------------------------------------


ASK_SECRET_MISSING = "is an ask step, and the app has no secret to sign ask requests with (set {setting})"


class Rules:
    def __init__(self, store: RuleSetVersions, in_force: RuleSetInForce,
                 ask_signing: Callable[[], bool] = lambda: False, ask_setting: str = "", *,
                 speech: Callable[[], bool] = lambda: False) -> None:
        self._store = store
        self._in_force = in_force
        self._ask_signing = ask_signing  # whether the ask's secret is set (read per request)
        self._ask_setting = ask_setting  # its name, for the refusal
        # Text / SSML prompts can be spoken (COGNITIVE_SERVICES_ENDPOINT set); read per request,
        # so a malformed setting fails only the PUT that needs it, as ask_signing does.
        self._speech = speech

    async def current(self) -> RuleSetVersion:
        return await self._store.current()

    async def replace(self, command: ReplaceRuleSet) -> RuleSetVersion:
        """Raises InvalidInput naming each ask step when the app cannot sign ask requests: an
        unsigned ask would be refused by every receiver, so the set would never run as written;
        each text / SSML prompt when the app has no speech (COGNITIVE_SERVICES_ENDPOINT), and
        what a set may not be stored with (domain/rules/admission.py)."""
        asks = ask_step_fields(command.rules)
        if asks and not self._ask_signing():
            reason = ASK_SECRET_MISSING.format(setting=self._ask_setting or "the ask secret")
            raise InvalidInput("the rule set has ask steps, and ask requests cannot be signed",
                               [FieldProblem(where, reason) for where in asks])
        speech = speech_prompt_problems(command.rules)
        if speech and self._speech():
            speech = []
        problems = [*admission_problems(command.rules), *speech]
        if problems:  # refused now, not found out by the first caller who hears silence
            raise InvalidInput(summary(problems, "rule set"), problems)
        saved = await self._store.replace(command.rules, command.if_match, command.actor)
        self._in_force.prime(saved)  # in force here at once; elsewhere within RULES_CACHE_SECONDS
        return saved

    async def versions(self) -> list[RuleSetVersion]:
        return await self._store.versions()

    async def version(self, command: GetRuleSetVersion) -> RuleSetVersion:
        return await self._store.version(command.version)

    async def evaluate(self, command: EvaluateRules) -> Evaluation:
        """Dry run: the rule and action the IncomingCall would get from the current set."""
        version = await self._store.current()
        decision = decide(command.call, version.rules, command.at)
        action, simulation = decision.action, None
        if isinstance(action, FlowStartAction):
            flow = flow_of(version.rules, action.flow)
            if flow is None:  # a validated set names only its own flows
                raise InvalidInput(f"the rule set has no flow '{action.flow}'")
            script = parse_script({} if command.script is None else command.script, flow)
            simulation = simulate(flow, call_facts(command.call), script)
        elif command.script is not None:
            problem = FieldProblem("script", "applies only when the deciding rule starts a flow")
            raise InvalidInput("script given, but no flow is started", [problem])
        return Evaluation(decision, version, command.at, simulation)
