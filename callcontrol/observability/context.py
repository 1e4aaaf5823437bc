"""The identifiers of the call being handled, kept in a context variable for the invocation.

Entry points open an `invocation_scope`; use cases `note_call` the identifiers as they learn them
(the logging filter stamps them on every record; each span takes them as attributes when it
ends, so the invocation's span has all that was learnt during the invocation);
`bind_call` narrows the context to one call for a block (one event of a callback batch).
The names are ACS's wire names, the same on log records, span attributes and in KQL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from functools import wraps
from typing import Any, Final, TypeVar

S = TypeVar("S")
C = TypeVar("C")
R = TypeVar("R")

# Python field → the attribute name on records and spans.
ATTRIBUTE_NAMES: Final = {
    "call_connection_id": "callConnectionId",
    "server_call_id": "serverCallId",
    "correlation_id": "correlationId",
    "operation_context": "operationContext",
    "rule_id": "ruleId",
    "action": "action",
    "outcome": "outcome",
}


# Identifiers ACS makes: opaque, never hiding a number; everything else is redacted like text.
ACS_IDS: Final = frozenset({"callConnectionId", "serverCallId", "correlationId"})


@dataclass
class CallIds:
    """What is known so far about the call this invocation is about; None = not known (yet)."""

    call_connection_id: str | None = None
    server_call_id: str | None = None
    correlation_id: str | None = None
    operation_context: str | None = None
    rule_id: str | None = None
    action: str | None = None
    outcome: str | None = None
    # attributes(), made once per change: every log record, span and ACS or Table request of
    # the invocation asks for it.
    _known: Mapping[str, str] | None = field(default=None, init=False, repr=False, compare=False)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if name != "_known":
            object.__setattr__(self, "_known", None)

    def attributes(self) -> Mapping[str, str]:
        """The known identifiers under their wire names (shared: read, don't change)."""
        if self._known is None:
            self._known = {wire: value for name, wire in ATTRIBUTE_NAMES.items()
                           if (value := getattr(self, name))}
        return self._known


_current: ContextVar[CallIds | None] = ContextVar("callcontrol_call_ids", default=None)


def call_ids() -> CallIds | None:
    """The identifiers of the call in hand, or None outside any call."""
    return _current.get()


@contextmanager
def invocation_scope() -> Iterator[CallIds]:
    """A fresh, empty call context for one invocation; the previous one comes back after."""
    ids = CallIds()
    token = _current.set(ids)
    try:
        yield ids
    finally:
        _current.reset(token)


def note_call(
    *,
    call_connection_id: str | None = None,
    server_call_id: str | None = None,
    correlation_id: str | None = None,
    operation_context: str | None = None,
    rule_id: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
) -> CallIds:
    """Add what the caller learnt about the call to the current context.

    Only given values are set; nothing known is erased. Outside any scope a context is opened
    for the rest of the current task.
    """
    ids = _current.get()
    if ids is None:
        ids = CallIds()
        _current.set(ids)
    learnt = {
        "call_connection_id": call_connection_id, "server_call_id": server_call_id,
        "correlation_id": correlation_id, "operation_context": operation_context,
        "rule_id": rule_id, "action": action, "outcome": outcome,
    }
    for name, value in learnt.items():
        if value:
            setattr(ids, name, value)
    return ids


@contextmanager
def bind_call(**ids: str | None) -> Iterator[CallIds]:
    """Within the block, the context is the current one narrowed to another call's ids."""
    base = _current.get() or CallIds()
    given: dict[str, Any] = {name: value for name, value in ids.items() if value}
    narrowed = replace(base, **given)
    token = _current.set(narrowed)
    try:
        yield narrowed
    finally:
        _current.reset(token)


def use_case(method: Callable[[S, C], Awaitable[R]]) -> Callable[[S, C], Awaitable[R]]:
    """Decorates a use case taking one command: on entry, the command's callConnectionId and
    operationContext (when it has them) become the call's context for the rest of the task."""

    @wraps(method)
    async def entered(self: S, command: C) -> R:
        note_call(call_connection_id=getattr(command, "call_connection_id", None),
                  operation_context=getattr(command, "operation_context", None))
        return await method(self, command)

    return entered
