"""What the use cases need from the outside world, declared here so they never import adapters.

The adapters (callcontrol/adapters) provide these; the composition root wires them in. Tests
may pass anything with the same methods (the in-memory table twin under the real stores, or a
fake ACS).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from callcontrol.domain.access import Actor
from callcontrol.domain.callback_tokens import TokenUse
from callcontrol.domain.claims import Acquired, Claim, ClaimOutcome, ClaimStatus, Held
from callcontrol.domain.events.call_events import APP, CallEvent, Cause
from callcontrol.domain.flows import AskReply, AskRequest
from callcontrol.domain.flows.prompts import Prompt
from callcontrol.domain.identifiers import Identifier
from callcontrol.domain.listing import CallPage, CallQuery, IndexedCall
from callcontrol.domain.models import (
    AcsCall,
    AddParticipantOutcome,
    CallRecord,
    Participant,
    StoredEvent,
)
from callcontrol.domain.rules import RuleSet
from callcontrol.domain.rules.versions import RuleSetVersion

CallChange = Callable[[CallRecord | None], CallRecord | None]
# A change the app makes on its own: the record to write and the history entry explaining it.
CallAmendment = Callable[[CallRecord], tuple[CallRecord, StoredEvent] | None]


class CallEventsOutbox(Protocol):
    """Where a call's changes are announced (docs/events.md). The call store is given one:
    each guarded write puts the events `announce` returns into the call row's outbox, in that
    same write (no change without its events), then calls `pending`. The relay
    (usecases/outbox.py) implements it and publishes them after, off the call path.

    Use cases announce by writing through `CallRecords`, naming the change's cause: an action
    `modify(..., cause=APP)`, a callback `record_event(..., cause=Cause(Source.CALLBACK, ...))`,
    the reconciler `amend` (RECONCILIATION). Without a topic the store has no outbox and
    nothing is announced.
    """

    def announce(self, before: CallRecord | None, after: CallRecord, cause: Cause
                 ) -> list[CallEvent]:
        """The events a change of the record from `before` to `after` announces (pure: it may
        run once per write attempt)."""
        ...

    def pending(self, call_connection_id: str) -> None:
        """A write left the call with unpublished events: publish them soon. Never waits for
        the publish and never raises."""
        ...


class CallRecords(Protocol):
    """The call store: one ETag-guarded read-modify-write per change, plus reads. Every write
    announces its change (CallEventsOutbox) as made by its `cause`."""

    async def modify(self, call_connection_id: str, change: CallChange, *, cause: Cause = APP
                     ) -> CallRecord | None:
        """`cause` names what made the change for the events it announces (docs/events.md); the
        reconciler passes `call_events.RECONCILIATION`."""
        ...

    async def record_event(
        self, event: StoredEvent, change: Callable[[CallRecord | None], CallRecord], *,
        cause: Cause | None = None,
    ) -> bool:
        """`cause` announces the change as that callback's (None: derived from `event`)."""
        ...

    async def find(self, call_connection_id: str) -> CallRecord | None: ...

    def holds(self, call_connection_id: str) -> bool:
        """Whether a `record_event` of the call would start without a read (so would a
        `prefetch`: nothing to overlap)."""
        ...

    async def prefetch(self, call_connection_id: str) -> None:
        """Read the call ahead of a `record_event` (nothing to do when the store holds it)."""
        ...

    async def events(self, call_connection_id: str) -> list[StoredEvent]: ...

    async def list_page(self, query: CallQuery) -> CallPage: ...

    async def amend(self, call_connection_id: str, change: CallAmendment) -> CallRecord | None: ...


class CallIndexes(Protocol):
    """The call store's index rows, for the timers: calls not ended, calls past retention."""

    async def open_calls(self, *, after: str | None, limit: int) -> list[IndexedCall]: ...

    async def created_before(self, cutoff: datetime, limit: int) -> list[IndexedCall]: ...

    async def unindex(self, entry: IndexedCall) -> None: ...

    async def delete_call(self, entry: IndexedCall) -> int: ...

    async def drop_emptied_days(self, cutoff: datetime) -> int:
        """Remove what indexed the days before `cutoff` once no call of theirs is left."""
        ...

    async def load_cursor(self, name: str) -> str | None: ...

    async def save_cursor(self, name: str, position: str | None) -> None: ...


class Expiring(Protocol):
    """A store whose rows expire after a fixed time (idempotency keys, claims)."""

    async def purge(self, now: datetime, limit: int) -> int: ...


class CallbackTokenUses(Protocol):
    """Callback token ids used once per deployment (the replay store); rows expire with the
    token, and retention purges them."""

    async def admit(self, use: TokenUse, now: datetime) -> None:
        """Record the token's first use; a repeat of that same delivery passes again.

        Raises:
            Unauthenticated: the token was already used for another body or other calls.
        """
        ...

    async def purge(self, now: datetime, limit: int) -> int: ...


class PrunableRuleVersions(Protocol):
    async def prune(self, keep: int, limit: int, superseded_before: datetime | None = None) -> int: ...


class CallLookup(Protocol):
    """What the reconciler asks of ACS: does it still know the call (404 → NotFound), in what
    state, with whom."""

    async def get_call_properties(self, call_connection_id: str) -> AcsCall: ...

    async def list_participants(self, call_connection_id: str) -> list[Participant]: ...


class InboundCallActions(Protocol):
    """What the inbound use case asks of ACS."""

    async def answer(self, incoming_call_context: str, *, operation_context: str | None = None,
                     repeatability_id: str | None = None,
                     callback_secret: str | None = None) -> AcsCall: ...

    async def reject(self, incoming_call_context: str, reason: str, *,
                     repeatability_id: str | None = None) -> None: ...

    async def redirect(self, incoming_call_context: str, target: Identifier, *,
                       repeatability_id: str | None = None) -> None: ...


class CallAutomation(InboundCallActions, Protocol):
    """ACS Call Automation as the management use cases use it (the ACS gateway provides it)."""

    async def create_call(
        self, targets: list[Identifier], *, caller_id: str | None, display_name: str | None,
        operation_context: str | None, repeatability_id: str | None = None,
        callback_secret: str | None = None,
    ) -> AcsCall: ...

    async def get_call_properties(self, call_connection_id: str) -> AcsCall: ...

    async def hang_up(self, call_connection_id: str, *, for_everyone: bool,
                      repeatability_id: str | None = None) -> None: ...

    async def transfer(
        self, call_connection_id: str, target: Identifier, *, transferee: Identifier | None,
        caller_id: str | None, operation_context: str, repeatability_id: str | None = None,
    ) -> None: ...

    async def list_participants(self, call_connection_id: str) -> list[Participant]: ...

    async def get_participant(self, call_connection_id: str, who: Identifier) -> Participant: ...

    async def add_participant(
        self, call_connection_id: str, who: Identifier, *, caller_id: str | None,
        invitation_timeout: int | None, operation_context: str, repeatability_id: str | None = None,
    ) -> AddParticipantOutcome: ...

    async def remove_participant(self, call_connection_id: str, who: Identifier, *,
                                 operation_context: str, repeatability_id: str | None = None) -> None: ...

    async def mute_participant(self, call_connection_id: str, who: Identifier, *,
                               operation_context: str, repeatability_id: str | None = None) -> None: ...

    async def cancel_add_participant(self, call_connection_id: str, invitation_id: str, *,
                                     operation_context: str,
                                     repeatability_id: str | None = None) -> None: ...

    async def play_media(self, call_connection_id: str, prompt: Prompt, *, operation_context: str) -> None:
        """CallMedia_Play to everyone in the call."""

    async def recognize_dtmf(
        self, call_connection_id: str, target: Identifier, *, prompt: Prompt, max_tones: int,
        initial_silence_seconds: int, inter_tone_seconds: int, operation_context: str,
        stop_tones: str = "",
    ) -> None:
        """CallMedia_Recognize (dtmf) from `target`, `prompt` played first, cut by a key."""

    async def cancel_all_media(self, call_connection_id: str) -> None:
        """CallMedia_CancelAllMediaOperations."""


class OfferClaims(Protocol):
    """The claim store: one claim per IncomingCall offer, and the redirect hop rows."""

    async def acquire(self, key: str, *, owner: str, now: datetime, lease: timedelta,
                      server_call_id: str | None = None) -> Acquired | Held: ...

    async def get(self, key: str) -> Claim | None: ...

    async def mark(self, claim: Claim, status: ClaimStatus, outcome: ClaimOutcome) -> Claim: ...

    async def release(self, claim: Claim) -> None: ...

    async def hops_before(self, loop_key: str, key: str, now: datetime) -> int: ...

    async def record_hop(self, loop_key: str, key: str, now: datetime) -> None: ...

    async def forget_hop(self, loop_key: str, key: str) -> None: ...


class FlowAsks(Protocol):
    """A flow's ask step: the call's description POSTed, signed, to the flow's service."""

    async def ask(self, request: AskRequest) -> AskReply:
        """The service's reply read as the run's event. Never raises for the service's failures:
        a timeout, no connection, a non-2xx status or an invalid reply is an AskFailed."""


class CallerTokens(Protocol):
    """Verifies a management caller's bearer token (Entra ID) and says who it names."""

    async def actor(self, authorization: str) -> Actor:
        """The caller the token names, with its app roles; Unauthenticated when it does not
        hold (signature, issuer, audience, expiry)."""
        ...


class RuleSetVersions(Protocol):
    """The rule store: the current version behind an ETag, every version kept."""

    async def current(self) -> RuleSetVersion: ...

    async def version(self, version: int) -> RuleSetVersion: ...

    async def versions(self) -> list[RuleSetVersion]: ...

    async def replace(self, rules: RuleSet, if_match: Sequence[str] | None,
                      actor: Actor | None = None) -> RuleSetVersion: ...


class RuleSetInForce(Protocol):
    """The cached rule set the IncomingCall path decides by."""

    async def get(self) -> RuleSetVersion: ...

    def prime(self, entry: RuleSetVersion) -> None: ...


# --- the outbox relay's collaborators (usecases/outbox.py) --------------------------------


class EventPublisher(Protocol):
    async def publish(self, events: Sequence[CallEvent]) -> None:
        """Send the events as one batch; raise PublishFailed unless the topic accepted them all."""
        ...


class PendingEvents(Protocol):
    """The call store's outbox side."""

    async def pending_events(self, call_connection_id: str, *, fresh: bool = False
                             ) -> list[CallEvent]: ...

    def mark_published(self, call_connection_id: str, event_ids: set[str]) -> None: ...

    async def settle(self, call_connection_id: str) -> bool: ...

    async def calls_with_pending_events(self) -> list[str]: ...


# --- readiness (usecases/readiness.py) ----------------------------------------------------


class Probe(Protocol):
    name: str

    async def check(self) -> str:
        """What was found when all is well; raises readiness.NotReady (or any error) if not."""
        ...
