"""Inbound call rules: the rule-set model, its validation, the IncomingCall view and `decide`.

Everything here is pure: storage (adapters/store/rules.py), the management endpoints
(handlers/rules.py via usecases/rules.py) and the exactly-once claim of an IncomingCall
(usecases/inbound.py) live elsewhere and call into these functions. Anyone may import it.
"""

from __future__ import annotations

from callcontrol.domain.events.incoming_call import (
    IncomingCall,
    incoming_call_json_schema,
    parse_incoming_call,
)
from callcontrol.domain.identifiers import Identifier
from callcontrol.domain.rules.engine import Decision, RuleMiss, decide, default_rule_set
from callcontrol.domain.rules.flows import flow_of
from callcontrol.domain.rules.model import (
    Action,
    AnswerAction,
    Conditions,
    FlowStartAction,
    RedirectAction,
    RejectAction,
    Rule,
    RuleSet,
    SipHeaderCondition,
    VoipHeaderCondition,
)
from callcontrol.domain.rules.targets import parse_target
from callcontrol.domain.rules.time_windows import TimeWindow
from callcontrol.domain.rules.validation import parse_rule_set, rule_set_json_schema

__all__ = [
    "Action",
    "AnswerAction",
    "Conditions",
    "Decision",
    "FlowStartAction",
    "Identifier",
    "IncomingCall",
    "RedirectAction",
    "RejectAction",
    "Rule",
    "RuleMiss",
    "RuleSet",
    "SipHeaderCondition",
    "TimeWindow",
    "VoipHeaderCondition",
    "decide",
    "default_rule_set",
    "flow_of",
    "incoming_call_json_schema",
    "parse_incoming_call",
    "parse_rule_set",
    "parse_target",
    "rule_set_json_schema",
]
