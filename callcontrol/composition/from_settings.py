"""The adapters and options the composition builds, each from the settings, and the settings' own
readiness probe; `rules_file_seed` reads RULES_FILE."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Final

from callcontrol.adapters.store.rules import Seed
from callcontrol.domain.errors import InvalidInput, SettingError
from callcontrol.domain.reconciliation import OperationLimits
from callcontrol.domain.rules import RuleSet, parse_rule_set
from callcontrol.domain.rules.admission import admission_problems
from callcontrol.domain.rules.flows import ask_step_fields, speech_prompt_problems
from callcontrol.settings import (
    FLOW_ASK_SECRET,
    OUTBOX_SCHEDULE,
    RECONCILE_SCHEDULE,
    RETENTION_SCHEDULE,
    RULES_FILE,
    Settings,
)
from callcontrol.usecases.flow_start import PRE_ANSWER_ASK_BUDGET
from callcontrol.usecases.inbound import InboundOptions
from callcontrol.usecases.jobs import OUTBOX, RECONCILER, RETENTION
from callcontrol.usecases.ports import CallerTokens, FlowAsks
from callcontrol.usecases.readiness import NotReady
from callcontrol.usecases.reconcile import ReconcileOptions
from callcontrol.usecases.retention import RetentionOptions

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential

    from callcontrol.adapters.acs_gateway import AcsGateway
    from callcontrol.adapters.callback_auth import CallbackAuthenticator
    from callcontrol.adapters.eventgrid_publisher import EventGridPublisher
    from callcontrol.adapters.store.azure_tables import AzureTableBackend

APP_ROOT: Final = Path(__file__).resolve().parents[2]
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
        refused = admission_problems(rules)
        if refused:  # as PUT /api/rules refuses it
            raise SettingError(RULES_FILE, f"names a rule set that cannot be stored "
                                           f"({', '.join(p.field for p in refused)}): {refused[0].reason}")
        speech = [] if settings.cognitive_services_endpoint else speech_prompt_problems(rules)
        if speech:  # as PUT /api/rules refuses it
            raise SettingError(RULES_FILE, f"names a rule set with spoken prompts "
                                           f"({', '.join(p.field for p in speech)}): {speech[0].reason}")
        return rules

    return seed
