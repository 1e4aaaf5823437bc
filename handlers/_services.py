"""What the handlers may ask of the app, and the seam through which the composition root hands it.

Handlers see use cases and two narrow ports (callback token checks, Idempotency-Key records),
never an adapter: `function_app.py` builds the real services (callcontrol.composition) and
installs them here once, so the import contract holds without exceptions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from callcontrol.domain.idempotency import KeyReservation, StoredResponse
from callcontrol.usecases.access import ManagementAccess
from callcontrol.usecases.callbacks import Callbacks
from callcontrol.usecases.calls import Calls
from callcontrol.usecases.inbound import InboundCalls
from callcontrol.usecases.jobs import Jobs
from callcontrol.usecases.outbox import OutboxRelay
from callcontrol.usecases.participants import Participants
from callcontrol.usecases.readiness import Readiness
from callcontrol.usecases.reconcile import Reconciler
from callcontrol.usecases.retention import Retention
from callcontrol.usecases.rules import Rules


class CallbackTokens(Protocol):
    async def verify(self, authorization: str | None) -> Mapping[str, Any]:
        """The verified token's JWT claims ("token claims", never an offer's claim);
        Unauthenticated when it does not hold."""


class IdempotencyRecords(Protocol):
    async def begin(self, key: str, fingerprint: str,
                    now: datetime) -> KeyReservation | StoredResponse: ...

    async def complete(self, reservation: KeyReservation, fingerprint: str, now: datetime,
                       response: StoredResponse) -> None: ...

    async def release(self, reservation: KeyReservation) -> None: ...


class AppServices(Protocol):
    @property
    def calls(self) -> Calls: ...
    @property
    def participants(self) -> Participants: ...
    @property
    def callbacks(self) -> Callbacks: ...
    @property
    def inbound(self) -> InboundCalls: ...
    @property
    def rules(self) -> Rules: ...
    @property
    def reconciler(self) -> Reconciler: ...
    @property
    def retention(self) -> Retention: ...
    @property
    def readiness(self) -> Readiness: ...
    @property
    def jobs(self) -> Jobs: ...
    @property
    def outbox(self) -> OutboxRelay | None: ...
    @property
    def authenticator(self) -> CallbackTokens: ...
    @property
    def idempotency(self) -> IdempotencyRecords: ...
    @property
    def access(self) -> ManagementAccess: ...


_provider: Callable[[], AppServices] | None = None
_observe: Callable[[], None] | None = None


def install(provider: Callable[[], AppServices], observe: Callable[[], None]) -> None:
    """Called once by the composition root (function_app.py) before any invocation."""
    global _provider, _observe
    _provider, _observe = provider, observe


def services() -> AppServices:
    if _provider is None:
        raise RuntimeError("no services installed: function_app.py installs them at import")
    return _provider()


def observe() -> None:
    """Telemetry set up once per worker (the composition root decides how)."""
    if _observe is not None:
        _observe()
