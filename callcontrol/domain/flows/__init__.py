"""Call flows (issue 21): named graphs of steps a rule can start, run exactly once per call.

Pure, like the rest of the domain (standard library and callcontrol.domain only):

- `model.py`       the flow and its steps (ring, ask, transfer, redirect, reject, hangup, goto,
  play, menu, collect); `prompts.py` what a caller hears and the keys a menu hears back
- `parsing.py`     the `flows` section of the rule-set document → model, problems by field path
  (`fields.py` the reading helpers, `targets.py` who may be called, `graph.py` the graph checks)
- `state.py`       a run's state (`FlowRun`), stored with the call (`to_json` / `from_json`)
- `events.py`      what moves a run; `actions.py` what it asks for, with deterministic identities
- `outcomes.py`    AddParticipantFailed's result codes read as a ring outcome, a recognize's as a
  menu's; `media_events.py` what moves a play or menu step
- `prompt_parsing.py`  play, menu and collect steps from JSON; `menus.py` how they move
- `engine.py`      `advance(flow, run, event, now) -> (run, actions)` (`turn.py` its moves)
- `ask.py`         the ask request's signature and the reply's reading
- `script.py`, `simulation.py`   the dry run: scripted outcomes in, path and actions out

- `from_callback.py`  a callback read as the event it is for a run

Wired by the rule set (`rules/flows.py`), the inbound use case (`usecases/flow_start.py`), the
callbacks and the reconciler (`usecases/flow_runs.py`, `flow_actions.py`); docs/flows.md.
"""

from callcontrol.domain.flows.actions import (
    AddParticipant,
    AnswerCall,
    AskRequest,
    CancelAddParticipant,
    FlowAction,
    FlowContext,
    HangUp,
    RedirectCall,
    RejectCall,
    RemoveParticipant,
    TransferCall,
    parse_context,
)
from callcontrol.domain.flows.ask import parse_ask_answer, signature, signed_headers, verify
from callcontrol.domain.flows.engine import advance
from callcontrol.domain.flows.events import (
    AnswerFailed,
    AskAnswer,
    AskAnswered,
    AskFailed,
    AskFailure,
    AskReply,
    CallConnected,
    CallDisconnected,
    CallerHungUp,
    FlowEvent,
    FlowStarted,
    InlineAnswer,
    InlineRedirect,
    InlineReject,
    InvitationAnswered,
    InvitationCancelled,
    InvitationFailed,
    ParticipantRemoved,
    StepOverdue,
    TransferAccepted,
    TransferFailed,
)
from callcontrol.domain.flows.model import Flow, RingFailure, RingMode, Step, StepType
from callcontrol.domain.flows.outcomes import ring_failure
from callcontrol.domain.flows.parsing import parse_flow, parse_flows
from callcontrol.domain.flows.script import AskOutcome, RingOutcome, TransferOutcome, parse_script
from callcontrol.domain.flows.simulation import SimulatedStep, Simulation, simulate
from callcontrol.domain.flows.state import CallFacts, FlowOutcome, FlowRun, RunStatus, Waiting, run_id_for

__all__ = [
    "AddParticipant",
    "AnswerCall",
    "AnswerFailed",
    "AskAnswer",
    "AskAnswered",
    "AskFailed",
    "AskFailure",
    "AskOutcome",
    "AskReply",
    "AskRequest",
    "CallConnected",
    "CallDisconnected",
    "CallFacts",
    "CallerHungUp",
    "CancelAddParticipant",
    "Flow",
    "FlowAction",
    "FlowContext",
    "FlowEvent",
    "FlowOutcome",
    "FlowRun",
    "FlowStarted",
    "HangUp",
    "InlineAnswer",
    "InlineRedirect",
    "InlineReject",
    "InvitationAnswered",
    "InvitationCancelled",
    "InvitationFailed",
    "ParticipantRemoved",
    "RedirectCall",
    "RejectCall",
    "RemoveParticipant",
    "RingFailure",
    "RingMode",
    "RingOutcome",
    "RunStatus",
    "SimulatedStep",
    "Simulation",
    "Step",
    "StepOverdue",
    "StepType",
    "TransferAccepted",
    "TransferCall",
    "TransferFailed",
    "TransferOutcome",
    "Waiting",
    "advance",
    "parse_ask_answer",
    "parse_context",
    "parse_flow",
    "parse_flows",
    "parse_script",
    "ring_failure",
    "run_id_for",
    "signature",
    "signed_headers",
    "simulate",
    "verify",
]
