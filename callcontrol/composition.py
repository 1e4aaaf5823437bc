"""The composition root's dependencies: adapters built from the settings, use cases built on them.

The one module outside callcontrol/adapters that may import the adapters (the import contract
names it). Handlers get use cases from `services()`; they never see a store or the gateway.

Nothing is created at import time. The first request that needs a piece builds it from the
settings; a missing setting fails that request with the setting's name. Async clients belong to
the event loop that made them, so the cache is keyed by loop. Tests swap the whole container
with `use_services`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from callcontrol.adapters.store.backend import TableBackend
from callcontrol.adapters.store.callback_tokens import CallbackTokenStore
from callcontrol.adapters.store.calls import CallStore
from callcontrol.adapters.store.claims import ClaimStore
from callcontrol.adapters.store.idempotency import IdempotencyStore
from callcontrol.adapters.store.listing_secret import PROCESS_KEYS, ListingKeys, ListingSecret
from callcontrol.adapters.store.rules import RuleSetCache, RuleStore, Seed
from callcontrol.adapters.telemetry import configure_telemetry
from callcontrol.domain.errors import InvalidInput, SettingError
from callcontrol.domain.reconciliation import OperationLimits
from callcontrol.domain.rules import RuleSet, parse_rule_set
from callcontrol.domain.rules.flows import ask_step_fields
from callcontrol.observability import telemetry
from callcontrol.settings import (
    FLOW_ASK_SECRET,
    OUTBOX_SCHEDULE,
    RECONCILE_SCHEDULE,
    RETENTION_SCHEDULE,
    RULES_FILE,
    Settings,
    load_settings,
)
from callcontrol.usecases.access import ManagementAccess
from callcontrol.usecases.callbacks import Callbacks
from callcontrol.usecases.calls import Calls
from callcontrol.usecases.flow_actions import FlowActions
from callcontrol.usecases.flow_catalog import FlowCatalog
from callcontrol.usecases.flow_runs import FlowRuns
from callcontrol.usecases.flow_start import PRE_ANSWER_ASK_BUDGET
from callcontrol.usecases.inbound import InboundCalls, InboundOptions
from callcontrol.usecases.jobs import OUTBOX, RECONCILER, RETENTION, Jobs
from callcontrol.usecases.media import Media
from callcontrol.usecases.outbox import OutboxRelay
from callcontrol.usecases.participants import Participants
from callcontrol.usecases.ports import CallerTokens, EventPublisher, FlowAsks, Probe
from callcontrol.usecases.readiness import CheckReadiness, NotReady, Readiness
from callcontrol.usecases.reconcile import ReconcileOptions, Reconciler, RunReconciliation
from callcontrol.usecases.retention import Retention, RetentionOptions, RunRetention
from callcontrol.usecases.rules import Rules
from callcontrol.usecases.timer_runs import log_run

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from azure.core.credentials_async import AsyncTokenCredential

    from callcontrol.adapters.acs_gateway import AcsGateway
    from callcontrol.adapters.callback_auth import CallbackAuthenticator
    from callcontrol.adapters.eventgrid_publisher import EventGridPublisher
    from callcontrol.adapters.store.azure_tables import AzureTableBackend

APP_ROOT: Final = Path(__file__).resolve().parents[1]
JOB_SCHEDULES: Final = {RECONCILER: RECONCILE_SCHEDULE, RETENTION: RETENTION_SCHEDULE,
                        OUTBOX: OUTBOX_SCHEDULE}  # each job's NCRONTAB setting

logger = logging.getLogger(__name__)

# --- adapters and options from the settings ------------------------------------------------
# The adapters that load an SDK (azure-core and its clients, aiohttp, PyJWT with cryptography)
# are imported where they are built, not at the top: `import function_app` is the cold start of
# every instance, and an instance that serves one kind of request never needs the others'
# clients (docs/benchmarks.md, bench/cold_start.py; tests/unit/test_cold_import.py keeps it so).


# Credentials made for a client are handed to `opened` (when given), so whoever keeps the client
# can close them with it: SDK clients never close the credential they were given.
Opened = list["AsyncTokenCredential"]


def _credential(settings: Settings, opened: Opened | None, *, client_id: str | None = None,
                managed_identity: bool = False) -> AsyncTokenCredential:
    from callcontrol.adapters import credentials

    credential = credentials.token_credential(settings, client_id=client_id,
                                              managed_identity=managed_identity)
    if opened is not None:
        opened.append(credential)
    return credential


def gateway_from_settings(settings: Settings, opened: Opened | None = None) -> AcsGateway:
    """Key credential when ACS_ACCESS_KEY is set, managed identity otherwise."""
    from callcontrol.adapters.acs_gateway import connect_gateway

    return connect_gateway(settings.acs_endpoint, access_key=settings.acs_access_key,
                           callback_url=settings.callback_url,
                           timeout_seconds=settings.acs_request_timeout_seconds,
                           token_credential=None if settings.acs_access_key
                           else _credential(settings, opened),
                           cognitive_services_endpoint=settings.cognitive_services_endpoint)


def authenticator_from_settings(settings: Settings) -> CallbackAuthenticator:
    from callcontrol.adapters.callback_auth import connect_authenticator

    return connect_authenticator(issuer=settings.callback_issuer, audience=settings.acs_resource_id,
                                 jwks_url=settings.callback_jwks_url)


def caller_tokens_from_settings(settings: Settings) -> CallerTokens:
    from callcontrol.adapters.caller_auth import connect_caller_tokens  # PyJWT: on first use

    return connect_caller_tokens(issuers=settings.entra_issuers,
                                 audiences=settings.management_api_audiences,
                                 jwks_url=settings.entra_jwks_url)


def asks_from_settings(settings: Settings) -> FlowAsks:
    """aiohttp is imported here, as for the other clients: only an app that asks loads it."""
    from callcontrol.adapters.ask_client import HttpAsks

    return HttpAsks(settings.flow_ask_secret)


def table_backend_from_settings(settings: Settings,
                                opened: Opened | None = None) -> AzureTableBackend:
    """Connection string (local, Azurite) or table URI + managed identity (Azure)."""
    from callcontrol.adapters.store.azure_tables import connect_tables

    connection = settings.table_connection
    if connection.connection_string:
        return connect_tables(connection_string=connection.connection_string)
    credential = _credential(settings, opened, client_id=connection.client_id,
                             managed_identity=connection.managed_identity)
    return connect_tables(connection_string=None, table_service_uri=connection.table_service_uri,
                          credential=credential)


def publisher_from_settings(settings: Settings, opened: Opened | None = None) -> EventGridPublisher:
    """Imported here, not at the top: without a topic, azure.eventgrid is never loaded."""
    from callcontrol.adapters.eventgrid_publisher import connect_publisher

    endpoint = settings.eventgrid_topic_endpoint
    assert endpoint is not None
    key = settings.eventgrid_topic_key
    return connect_publisher(endpoint, access_key=key,
                             token_credential=None if key else _credential(settings, opened),
                             timeout_seconds=settings.eventgrid_publish_timeout_seconds)


def inbound_options_from_settings(settings: Settings) -> InboundOptions:
    # The lease outlasts everything a live owner can wait on after taking the claim (the rule
    # set read, a flow's asks, one ACS request, the write that marks the claim decided), each bounded by its
    # deadline: a stuck write fails inside the lease instead of handing the offer to a
    # redelivery that would act a second time.
    from callcontrol.adapters.store.backend import STORAGE_DEADLINE_SECONDS

    # A flow's asks before the answer are made under the claim too (usecases/flow_start.py).
    lease = (settings.acs_request_timeout_seconds + 3 * STORAGE_DEADLINE_SECONDS + 5
             + PRE_ANSWER_ASK_BUDGET)
    return InboundOptions(
        redirect_max_hops=settings.redirect_max_hops,
        loop_key=settings.redirect_loop_key,
        loop_reject_reason=settings.redirect_loop_reject_reason,
        claim_lease=timedelta(seconds=lease),
        duplicate_wait_seconds=float(min(lease, 25)),  # Event Grid waits 30 s for an answer
    )


def reconcile_options_from_settings(settings: Settings) -> ReconcileOptions:
    return ReconcileOptions(
        quiet_for=timedelta(minutes=settings.reconcile_after_minutes),
        max_calls=settings.reconcile_max_calls,
        limits=OperationLimits(
            add_margin=timedelta(seconds=settings.add_participant_margin_seconds),
            others=timedelta(seconds=settings.pending_operation_timeout_seconds),
        ),
    )


def retention_options_from_settings(settings: Settings) -> RetentionOptions:
    return RetentionOptions(call_retention=timedelta(days=settings.call_retention_days),
                            rule_versions_kept=settings.rule_versions_kept,
                            batch=settings.retention_batch_size)


# The role infra/app/access.bicep grants the app on the ACS resource (a custom role defined in the
# app's resource group): what an operator must grant when ACS refuses the app's identity.
ACS_ROLE: Final = "ACS Call Automation caller (custom role of infra/app/access.bicep)"


def acs_refused_hint(settings: Settings) -> str:
    if settings.acs_access_key:
        return "ACS_ACCESS_KEY is not a valid key of this ACS resource"
    return (f"the app's managed identity lacks the role assignment '{ACS_ROLE}' on the ACS "
            "resource (infra/app/access.bicep grants it; a new assignment can take several "
            "minutes to apply)")


class SettingsProbe:
    """Every setting the app reads is present and well formed (each names itself if not)."""

    name = "settings"

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def check(self) -> str:
        s = self._settings
        reads: list[Callable[[], object]] = [
            lambda: s.acs_endpoint, lambda: s.acs_resource_id, lambda: s.callback_base_url,
            lambda: s.callback_issuer, lambda: s.callback_jwks_url, lambda: s.table_connection,
            lambda: s.default_caller_id, lambda: s.acs_request_timeout_seconds, lambda: s.publish_digits,
            lambda: s.rules_cache_seconds, lambda: s.redirect_max_hops,
            lambda: s.redirect_loop_key, lambda: s.redirect_loop_reject_reason,
            lambda: s.reconcile_after_minutes, lambda: s.reconcile_max_calls,
            lambda: s.pending_operation_timeout_seconds, lambda: s.add_participant_margin_seconds,
            lambda: s.call_retention_days, lambda: s.rule_versions_kept,
            lambda: s.retention_batch_size, lambda: s.flow_ask_secret, lambda: rules_file_seed(s)(),
            lambda: s.cognitive_services_endpoint,
            *(partial(s.schedule, name) for name in JOB_SCHEDULES.values()),
        ]
        problems = []
        for read in reads:
            try:
                read()
            except SettingError as error:
                problems.append(error.detail)
        if problems:
            raise NotReady("; ".join(problems))
        return f"{len(reads)} settings present and valid"


def rules_file_seed(settings: Settings, root: Path = APP_ROOT) -> Seed:
    """The RULES_FILE setting as a seed: read and validated when first needed, not before.

    A relative path is taken from `root`, the app's folder (where function_app.py is).

    Raises (from the returned callable):
        SettingError: naming RULES_FILE, when the file is missing, not JSON or not a valid set.
    """

    def seed() -> RuleSet | None:
        name = settings.rules_file
        if name is None:
            return None
        path = Path(name)
        path = path if path.is_absolute() else root / path
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise SettingError(RULES_FILE, f"names a file that cannot be read ({exc.strerror})") from None
        except ValueError as exc:
            raise SettingError(RULES_FILE, f"names a file that is not valid JSON ({exc})") from None
        try:
            rules = parse_rule_set(payload)
        except InvalidInput as exc:
            raise SettingError(RULES_FILE, f"names an invalid rule set: {exc.detail}") from None
        asks = ask_step_fields(rules)
        if asks and settings.flow_ask_secret is None:  # as PUT /api/rules refuses it
            raise SettingError(RULES_FILE, f"names a rule set with ask steps ({', '.join(asks)}), "
                                           f"and {FLOW_ASK_SECRET} is not set to sign them")
        return rules

    return seed


# --- the container -------------------------------------------------------------------------


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
                         publish_digits=self.settings.publish_digits)

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
                     speech=self.settings.cognitive_services_endpoint is not None)

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
