"""The composition root's dependencies: adapters built from the settings, use cases built on them.

The package (`__init__.py` with `Services`; `from_settings.py` building the adapters) is the one
place outside callcontrol/adapters that may import the adapters (the import contract names it).
Handlers get use cases from `services()`; they never see a store or the gateway.

Nothing is created at import time. The first request that needs a piece builds it from the
settings; a missing setting fails that request with the setting's name. Async clients belong to
the event loop that made them, so the cache is keyed by loop. Tests swap the whole container
with `use_services`.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

from callcontrol.adapters.store.backend import TableBackend
from callcontrol.adapters.store.callback_tokens import CallbackTokenStore
from callcontrol.adapters.store.calls import CallStore
from callcontrol.adapters.store.claims import ClaimStore
from callcontrol.adapters.store.idempotency import IdempotencyStore
from callcontrol.adapters.store.listing_secret import PROCESS_KEYS, ListingKeys, ListingSecret
from callcontrol.adapters.store.rules import RuleSetCache, RuleStore
from callcontrol.adapters.telemetry import configure_telemetry
from callcontrol.observability import telemetry
from callcontrol.settings import (
    FLOW_ASK_SECRET,
    Settings,
    load_settings,
)
from callcontrol.usecases.access import ManagementAccess
from callcontrol.usecases.callbacks import Callbacks
from callcontrol.usecases.calls import Calls
from callcontrol.usecases.flow_actions import FlowActions
from callcontrol.usecases.flow_catalog import FlowCatalog
from callcontrol.usecases.flow_runs import FlowRuns
from callcontrol.usecases.inbound import InboundCalls
from callcontrol.usecases.jobs import OUTBOX, RECONCILER, RETENTION, Jobs
from callcontrol.usecases.media import Media
from callcontrol.usecases.outbox import OutboxRelay
from callcontrol.usecases.participants import Participants
from callcontrol.usecases.ports import CallerTokens, EventPublisher, FlowAsks, Probe
from callcontrol.usecases.readiness import CheckReadiness, Readiness
from callcontrol.usecases.reconcile import Reconciler, RunReconciliation
from callcontrol.usecases.retention import Retention, RunRetention
from callcontrol.usecases.rules import Rules
from callcontrol.usecases.timer_runs import log_run

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from callcontrol.adapters.acs_gateway import AcsGateway
    from callcontrol.adapters.callback_auth import CallbackAuthenticator

from callcontrol.composition.from_settings import (
    JOB_SCHEDULES,
    Opened,
    SettingsProbe,
    acs_refused_hint,
    asks_from_settings,
    authenticator_from_settings,
    caller_tokens_from_settings,
    gateway_from_settings,
    inbound_options_from_settings,
    publisher_from_settings,
    reconcile_options_from_settings,
    retention_options_from_settings,
    rules_file_seed,
    table_backend_from_settings,
)

logger = logging.getLogger(__name__)


class Services:
    """Everything a handler may need, each part built on first use."""

    def __init__(
        self,
        settings: Settings,
        *,
        backend: TableBackend | None = None,
        gateway: AcsGateway | None = None,
        authenticator: CallbackAuthenticator | None = None,
        publisher: EventPublisher | None = None,
        caller_tokens: CallerTokens | None = None,
        asks: FlowAsks | None = None,
    ) -> None:
        self.settings = settings
        self._asks = asks
        self._caller_tokens = caller_tokens
        self._backend = backend
        self._gateway = gateway
        self._authenticator = authenticator
        self._publisher = publisher
        self._opened: Opened = []  # credentials made for the clients below

    # Adapters: given ones (tests, tools) win; otherwise built from the settings on first use.
    @cached_property
    def backend(self) -> TableBackend:
        return self._backend or table_backend_from_settings(self.settings, self._opened)

    @cached_property
    def gateway(self) -> AcsGateway:
        return self._gateway or gateway_from_settings(self.settings, self._opened)

    @cached_property
    def authenticator(self) -> CallbackAuthenticator:
        return self._authenticator or authenticator_from_settings(self.settings)

    @cached_property
    def caller_tokens(self) -> CallerTokens:
        return self._caller_tokens or caller_tokens_from_settings(self.settings)

    @cached_property
    def access(self) -> ManagementAccess:
        return ManagementAccess(lambda: self.settings.management_auth, lambda: self.caller_tokens)

    # Call events out: only with a topic (or a given publisher); otherwise no outbox at all.
    @cached_property
    def publishing(self) -> bool:
        return self._publisher is not None or self.settings.eventgrid_topic_endpoint is not None

    @cached_property
    def publisher(self) -> EventPublisher:
        return self._publisher or publisher_from_settings(self.settings, self._opened)

    @cached_property
    def _calls_and_outbox(self) -> tuple[CallStore, OutboxRelay | None]:
        """The call store and, with a topic, the relay: the store's CallEventsOutbox (every
        write announces its change to it), which publishes from that store."""
        if not self.publishing:
            return CallStore(self.backend, keys=self.listing_keys), None
        relay = OutboxRelay(self._topic,
                            deadline_seconds=float(self.settings.eventgrid_publish_timeout_seconds))
        store = CallStore(self.backend, outbox=relay, keys=self.listing_keys)
        relay.attach(store)
        return store, relay

    @cached_property
    def listing_keys(self) -> ListingKeys:
        """From the settings; a store given to the services (tests) may do with the process's
        own; a deployment with no secret at all keeps one in its store (every instance and
        release must hash and sign alike)."""
        key = self.settings.listing_key
        if key is not None:
            return ListingKeys(ListingSecret(key))
        if self._backend is not None:
            return PROCESS_KEYS
        return ListingKeys(backend=self.backend)

    @property
    def call_store(self) -> CallStore:
        return self._calls_and_outbox[0]

    @property
    def outbox(self) -> OutboxRelay | None:
        return self._calls_and_outbox[1]

    def _topic(self) -> EventPublisher:
        """The publisher, built on the relay's first publish (not with the store)."""
        return self.publisher

    @cached_property
    def idempotency(self) -> IdempotencyStore:
        return IdempotencyStore(self.backend)

    @cached_property
    def callback_tokens(self) -> CallbackTokenStore:
        return CallbackTokenStore(self.backend)

    @cached_property
    def rule_store(self) -> RuleStore:
        return RuleStore(self.backend, seed=rules_file_seed(self.settings))

    @cached_property
    def rule_cache(self) -> RuleSetCache:
        return RuleSetCache(self.rule_store, self.settings.rules_cache_seconds)

    @cached_property
    def claims(self) -> ClaimStore:
        return ClaimStore(self.backend)

    # Use cases. The gateway is resolved only by those that reach ACS, so reading calls and
    # ingesting callbacks work without ACS settings.
    @cached_property
    def calls(self) -> Calls:
        return Calls(self.call_store, lambda: self.gateway,
                     default_caller_id=lambda: self.settings.default_caller_id)

    @cached_property
    def participants(self) -> Participants:
        return Participants(self.call_store, lambda: self.gateway,
                            default_caller_id=lambda: self.settings.default_caller_id)

    @cached_property
    def media(self) -> Media:
        return Media(self.call_store, lambda: self.gateway)

    @cached_property
    def flow_runs(self) -> FlowRuns:
        return FlowRuns(self.call_store, FlowCatalog(self.rule_store),
                        FlowActions(self.call_store, self.calls, self.participants, self.media,
                                    self.asks))

    @cached_property
    def asks(self) -> FlowAsks:
        return self._asks or asks_from_settings(self.settings)

    @cached_property
    def callbacks(self) -> Callbacks:
        return Callbacks(self.call_store, self.callback_tokens, flows=self.flow_runs,
                         publish_digits=lambda: self.settings.publish_digits)

    @cached_property
    def inbound(self) -> InboundCalls:
        return InboundCalls(
            rules=self.rule_cache, claims=self.claims, calls=self.call_store,
            gateway=lambda: self.gateway, options=inbound_options_from_settings(self.settings),
            flows=self.flow_runs,
        )

    @cached_property
    def rules(self) -> Rules:
        return Rules(self.rule_store, self.rule_cache,
                     ask_signing=lambda: self.settings.flow_ask_secret is not None,
                     ask_setting=FLOW_ASK_SECRET,
                     speech=lambda: self.settings.cognitive_services_endpoint is not None)

    @cached_property
    def reconciler(self) -> Reconciler:
        return Reconciler(self.call_store, self.call_store, lambda: self.gateway,
                          reconcile_options_from_settings(self.settings), flows=self.flow_runs)

    @cached_property
    def jobs(self) -> Jobs:
        schedules = {job: partial(self.settings.schedule, name) for job, name in JOB_SCHEDULES.items()}
        return Jobs(lambda: {job: read() for job, read in schedules.items()},
                    {RECONCILER: self._run_reconciler, RETENTION: self._run_retention,
                     OUTBOX: self._sweep_outbox})

    async def _run_reconciler(self, trigger: str) -> dict[str, Any]:
        """The reconciliation, then the readiness checks, so that readiness is known in steady
        state (as a metric the identity alert reads) and not only when someone asks /api/ready."""
        counts = (await self.reconciler.run(RunReconciliation(trigger))).to_json()
        report = await self.readiness.check(CheckReadiness())  # logs each failed check
        for check in report.checks:
            telemetry().metrics.readiness(check=check.name, ok=check.ok)
        return {**counts, "ready": report.ready}

    async def _run_retention(self, trigger: str) -> dict[str, Any]:
        return (await self.retention.run(RunRetention(trigger))).to_json()

    async def _sweep_outbox(self, trigger: str) -> dict[str, Any] | None:
        """Re-publishes call events still pending in the call rows (docs/events.md): publishing
        right after each write is the fast path, this catches up after a failed publish, a
        crash or a scale-in. Without a topic there is nothing to publish."""
        relay = self.outbox
        if relay is None:
            return None
        result = await relay.sweep()
        telemetry().metrics.outbox_backlog(calls=result.calls)
        counts = {"calls": result.calls, "published": result.published,
                  "failedCalls": result.failed_calls, "busyCalls": result.busy_calls}
        if result.calls:  # a summary like the other timers' (a `timer` field: a process record)
            log_run(logger, "outbox", trigger, counts)
        return counts

    @cached_property
    def retention(self) -> Retention:
        return Retention(self.call_store, self.call_store, self.idempotency, self.claims,
                         self.rule_store, retention_options_from_settings(self.settings),
                         callback_tokens=self.callback_tokens)

    @cached_property
    def readiness(self) -> Readiness:
        # Everything resolved inside the probes: a missing setting fails its probe, not all.
        from callcontrol.adapters.readiness import AcsProbe, JwksProbe, TableProbe

        probes: list[Probe] = [SettingsProbe(self.settings), TableProbe(lambda: self.backend),
                               AcsProbe(lambda: self.gateway,
                                        refused_hint=acs_refused_hint(self.settings)),
                               JwksProbe(lambda: self.settings.callback_jwks_url)]
        return Readiness(probes)

    async def aclose(self) -> None:
        """Close the clients this container built, then their credentials (their HTTP sessions
        would otherwise be reported unclosed when the process ends). Parts given to it belong to
        the giver and parts never built are left alone; a second call closes nothing."""
        built = self.__dict__
        owned = [built.pop(name) for name, given in (("gateway", self._gateway),
                                                     ("backend", self._backend),
                                                     ("publisher", self._publisher))
                 if name in built and given is None]
        opened, self._opened = self._opened, []
        for resource in [*owned, *opened]:
            close = getattr(resource, "close", None)
            if close is not None:
                await close()


def observe() -> None:
    """Telemetry and the logging layer, configured once per worker process (cheap after that:
    every invocation calls it before opening its span). Ingestion into Application Insights
    authenticates as the app's identity, built only if the distro is configured."""
    configure_telemetry(ingestion_credential=_ingestion_credential)


def _ingestion_credential() -> TokenCredential:
    from callcontrol.adapters import credentials

    return credentials.ingestion_credential(load_settings())


ServicesFactory = Callable[[], Services]
_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Services] = (
    weakref.WeakKeyDictionary()
)
_factory: ServicesFactory | None = None


def services() -> Services:
    loop = asyncio.get_running_loop()
    found = _by_loop.get(loop)
    if found is None:
        found = _factory() if _factory is not None else Services(load_settings())
        _by_loop[loop] = found
    return found


async def close_services() -> None:
    """Close the services of the running loop (the worker, or devhost, is stopping): their
    clients belong to this loop. The next invocation, if any, builds new ones."""
    found = _by_loop.pop(asyncio.get_running_loop(), None)
    if found is not None:
        await found.aclose()


@contextmanager
def use_services(factory: ServicesFactory) -> Iterator[None]:
    """Run handlers against the given services (tests, tools)."""
    global _factory
    previous = _factory
    _factory = factory
    _by_loop.clear()
    try:
        yield
    finally:
        _factory = previous
        _by_loop.clear()
