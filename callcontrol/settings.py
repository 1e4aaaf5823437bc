"""App settings: every name the app reads, declared once, read lazily.

Nothing here runs at import time beyond building the declarations. `load_settings()` reads the
environment when first asked and fails with the offending setting's name, so a missing value
breaks the first request that needs it, never the indexing of every function.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Final
from urllib.parse import urlparse

from callcontrol.domain.access import AuthMode
from callcontrol.domain.errors import SettingError
from callcontrol.domain.identifiers import E164
from callcontrol.domain.schedule import Schedule, parse_schedule


class Where(Enum):
    """Where a setting's value comes from in a deployment."""

    INFRA = "infra"  # infra/ must provide it on the deployed function app
    OPTIONAL = "optional"  # the app works without it; infra may leave it unset
    LOCAL_ONLY = "local-only"  # must never be provided by infra (a secret, or local wiring)


@dataclass(frozen=True)
class SettingSpec:
    name: str
    where: Where
    description: str
    default: str | None = None


ACS_ENDPOINT: Final = "ACS_ENDPOINT"
ACS_ACCESS_KEY: Final = "ACS_ACCESS_KEY"
ACS_RESOURCE_ID: Final = "ACS_RESOURCE_ID"
ACS_CALLBACK_ISSUER: Final = "ACS_CALLBACK_ISSUER"
ACS_CALLBACK_JWKS_URL: Final = "ACS_CALLBACK_JWKS_URL"
CALLBACK_BASE_URL: Final = "CALLBACK_BASE_URL"
DEFAULT_CALLER_ID: Final = "DEFAULT_CALLER_ID"
CALL_STATE_STORAGE: Final = "CallStateStorage"
CALL_STATE_TABLE_URI: Final = "CallStateStorage__tableServiceUri"
CALL_STATE_CLIENT_ID: Final = "CallStateStorage__clientId"
CALL_STATE_CREDENTIAL: Final = "CallStateStorage__credential"
AZURE_CLIENT_ID: Final = "AZURE_CLIENT_ID"
AZURE_TOKEN_CREDENTIALS: Final = "AZURE_TOKEN_CREDENTIALS"
MANAGED_IDENTITY_CREDENTIAL: Final = "ManagedIdentityCredential"
RULES_FILE: Final = "RULES_FILE"
RULES_CACHE_SECONDS: Final = "RULES_CACHE_SECONDS"
REDIRECT_MAX_HOPS: Final = "REDIRECT_MAX_HOPS"
REDIRECT_LOOP_KEY: Final = "REDIRECT_LOOP_KEY"
REDIRECT_LOOP_REJECT_REASON: Final = "REDIRECT_LOOP_REJECT_REASON"
ACS_REQUEST_TIMEOUT_SECONDS: Final = "ACS_REQUEST_TIMEOUT_SECONDS"
EVENTGRID_TOPIC_ENDPOINT: Final = "EVENTGRID_TOPIC_ENDPOINT"
PUBLISH_DIGITS: Final = "PUBLISH_DIGITS"
EVENTGRID_TOPIC_KEY: Final = "EVENTGRID_TOPIC_KEY"
EVENTGRID_PUBLISH_TIMEOUT_SECONDS: Final = "EVENTGRID_PUBLISH_TIMEOUT_SECONDS"
OUTBOX_SCHEDULE: Final = "OUTBOX_SCHEDULE"
DEFAULT_OUTBOX_SCHEDULE: Final = "0 */1 * * * *"  # every minute
AZURE_SDK_LOG_LEVEL: Final = "AZURE_SDK_LOG_LEVEL"
OTEL_EXPORTER_OTLP_ENDPOINT: Final = "OTEL_EXPORTER_OTLP_ENDPOINT"
RECONCILE_SCHEDULE: Final = "RECONCILE_SCHEDULE"
RETENTION_SCHEDULE: Final = "RETENTION_SCHEDULE"
RECONCILE_AFTER_MINUTES: Final = "RECONCILE_AFTER_MINUTES"
RECONCILE_MAX_CALLS: Final = "RECONCILE_MAX_CALLS"
PENDING_OPERATION_TIMEOUT_SECONDS: Final = "PENDING_OPERATION_TIMEOUT_SECONDS"
ADD_PARTICIPANT_MARGIN_SECONDS: Final = "ADD_PARTICIPANT_MARGIN_SECONDS"
CALL_RETENTION_DAYS: Final = "CALL_RETENTION_DAYS"
RULE_VERSIONS_KEPT: Final = "RULE_VERSIONS_KEPT"
RETENTION_BATCH_SIZE: Final = "RETENTION_BATCH_SIZE"
MANAGEMENT_AUTH: Final = "MANAGEMENT_AUTH"
ENTRA_TENANT_ID: Final = "ENTRA_TENANT_ID"
MANAGEMENT_API_AUDIENCES: Final = "MANAGEMENT_API_AUDIENCES"
ENTRA_ISSUERS: Final = "ENTRA_ISSUERS"
ENTRA_JWKS_URL: Final = "ENTRA_JWKS_URL"
LISTING_KEY: Final = "LISTING_KEY"
COGNITIVE_SERVICES_ENDPOINT: Final = "COGNITIVE_SERVICES_ENDPOINT"
LISTING_KEY_MIN_CHARS: Final = 32
FLOW_ASK_SECRET: Final = "FLOW_ASK_SECRET"
FLOW_ASK_SECRET_MIN_CHARS: Final = 32

REAL_ACS_ISSUER: Final = "https://acscallautomation.communication.azure.com"
REAL_ACS_JWKS_URL: Final = "https://acscallautomation.communication.azure.com/calling/keys"

SETTINGS: Final[tuple[SettingSpec, ...]] = (
    SettingSpec(ACS_ENDPOINT, Where.INFRA, "ACS endpoint, https://<name>.communication.azure.com"),
    SettingSpec(ACS_ACCESS_KEY, Where.LOCAL_ONLY, "ACS access key; absent = managed identity"),
    SettingSpec(ACS_RESOURCE_ID, Where.INFRA, "ACS immutable resource id (callback audience)"),
    SettingSpec(ACS_CALLBACK_ISSUER, Where.OPTIONAL, "callback JWT issuer", REAL_ACS_ISSUER),
    SettingSpec(ACS_CALLBACK_JWKS_URL, Where.OPTIONAL, "callback JWT key set", REAL_ACS_JWKS_URL),
    SettingSpec(CALLBACK_BASE_URL, Where.INFRA, "public base URL of this app"),
    SettingSpec(DEFAULT_CALLER_ID, Where.OPTIONAL, "default E.164 caller id for PSTN targets"),
    SettingSpec(CALL_STATE_STORAGE, Where.LOCAL_ONLY, "Table Storage connection string (local)"),
    SettingSpec(CALL_STATE_TABLE_URI, Where.INFRA, "Table service URI (identity-based)"),
    SettingSpec(CALL_STATE_CLIENT_ID, Where.INFRA, "client id of the user-assigned identity"),
    SettingSpec(CALL_STATE_CREDENTIAL, Where.INFRA, "managedidentity (Functions identity convention)"),
    SettingSpec(AZURE_CLIENT_ID, Where.INFRA, "client id of the user-assigned identity the app runs as"),
    SettingSpec(AZURE_TOKEN_CREDENTIALS, Where.INFRA,
                "ManagedIdentityCredential in Azure: no DefaultAzureCredential chain"),
    SettingSpec(RULES_FILE, Where.OPTIONAL, "JSON rule set seeding the store on first start"),
    SettingSpec(RULES_CACHE_SECONDS, Where.OPTIONAL, "rule set revalidation interval", "5"),
    SettingSpec(REDIRECT_MAX_HOPS, Where.OPTIONAL, "redirects followed per original call", "3"),
    SettingSpec(REDIRECT_LOOP_KEY, Where.OPTIONAL,
                "IncomingCall field that identifies the original call across redirect hops: "
                "correlationId or serverCallId (the other is the fallback)", "correlationId"),
    SettingSpec(REDIRECT_LOOP_REJECT_REASON, Where.OPTIONAL,
                "reject reason when the loop guard stops a redirect: none, busy or forbidden", "busy"),
    SettingSpec(ACS_REQUEST_TIMEOUT_SECONDS, Where.OPTIONAL, "bound on one ACS request", "10"),
    # Call events out (docs/events.md): opt-in; without an endpoint nothing is published.
    SettingSpec(EVENTGRID_TOPIC_ENDPOINT, Where.INFRA,
                "Event Grid custom topic endpoint (https://<topic>.<region>-1.eventgrid.azure.net/"
                "api/events); unset = call events are not published"),
    SettingSpec(EVENTGRID_TOPIC_KEY, Where.LOCAL_ONLY, "topic access key; absent = managed identity"),
    SettingSpec(EVENTGRID_PUBLISH_TIMEOUT_SECONDS, Where.OPTIONAL, "bound on one publish", "5"),
    SettingSpec(PUBLISH_DIGITS, Where.OPTIONAL,
                "true: the call.flow.step event ending a menu or collect attempt carries the keys "
                "pressed (`digits`); false: only the choice made (keys are personal data)", "false"),
    SettingSpec(OUTBOX_SCHEDULE, Where.INFRA,
                "NCRONTAB schedule of the outbox sweep (re-publishes pending call events)",
                DEFAULT_OUTBOX_SCHEDULE),
    SettingSpec(AZURE_SDK_LOG_LEVEL, Where.OPTIONAL, "level of the Azure SDK loggers", "WARNING"),
    SettingSpec(OTEL_EXPORTER_OTLP_ENDPOINT, Where.OPTIONAL,
                "OTLP/HTTP collector for traces, metrics and logs (when App Insights is not set)"),
    # Job schedules (NCRONTAB, six fields) are read by the app: one timer function ticks every
    # minute and runs the jobs due (callcontrol/usecases/jobs.py). Infra sets them explicitly.
    SettingSpec(RECONCILE_SCHEDULE, Where.INFRA, "when the reconciler runs", "0 */5 * * * *"),
    SettingSpec(RETENTION_SCHEDULE, Where.INFRA, "when retention runs", "0 17 3 * * *"),
    SettingSpec(RECONCILE_AFTER_MINUTES, Where.OPTIONAL,
                "a call not ended and unchanged this long is looked up at ACS", "10"),
    SettingSpec(RECONCILE_MAX_CALLS, Where.OPTIONAL, "calls the reconciler examines per run",
                "200"),
    SettingSpec(PENDING_OPERATION_TIMEOUT_SECONDS, Where.OPTIONAL,
                "an operation other than an add still pending after this is settled as failed",
                "300"),
    SettingSpec(ADD_PARTICIPANT_MARGIN_SECONDS, Where.OPTIONAL,
                "grace beyond an add's invitation timeout before it is settled as failed", "60"),
    SettingSpec(CALL_RETENTION_DAYS, Where.OPTIONAL, "calls and their events are kept this long",
                "30"),
    SettingSpec(RULE_VERSIONS_KEPT, Where.OPTIONAL, "newest rule set versions kept", "50"),
    SettingSpec(RETENTION_BATCH_SIZE, Where.OPTIONAL,
                "rows retention deletes per kind and run (the rest wait for the next run)", "500"),
    # Management API callers (docs/security.md#management-api-callers). The host reads
    # MANAGEMENT_AUTH too, when it indexes the functions (entra: the routes are anonymous).
    SettingSpec(MANAGEMENT_AUTH, Where.INFRA,
                "who may call the management API: keys (function keys), entra (Entra ID tokens "
                "with app roles only) or both (a key at the host; a token, if sent, names the "
                "caller and limits it to its roles)", AuthMode.KEYS.value),
    SettingSpec(ENTRA_TENANT_ID, Where.OPTIONAL,
                "the Entra ID tenant whose tokens the management API accepts (entra, both)"),
    SettingSpec(MANAGEMENT_API_AUDIENCES, Where.OPTIONAL,
                "comma-separated audiences a caller's token must name: the API app "
                "registration's client id and its application id URI (entra, both)"),
    SettingSpec(ENTRA_ISSUERS, Where.OPTIONAL,
                "comma-separated token issuers; unset = the tenant's v1 and v2 issuers (set "
                "locally to the test issuer)"),
    SettingSpec(ENTRA_JWKS_URL, Where.OPTIONAL,
                "the caller tokens' key set; unset = the tenant's Entra ID keys"),
    # A secret: never in the repo, never logged. Changing it orphans the number index rows
    # (run `python -m commands.reindex`) and voids the continuation tokens given out.
    SettingSpec(LISTING_KEY, Where.OPTIONAL,
                f"secret (at least {LISTING_KEY_MIN_CHARS} characters) keying the hashes of phone "
                "numbers in the index and signing the listing's continuation tokens; unset = "
                "derived from the account key in CallStateStorage, and with identity-based "
                "storage made once and kept in the callindex table (set it there)"),
    # Text prompts (docs/deployment.md#prompts): ACS speaks them with this Azure AI services
    # resource, named on every answer and create; unset = only audio-file prompts can work.
    SettingSpec(COGNITIVE_SERVICES_ENDPOINT, Where.OPTIONAL,
                "https endpoint of the Azure AI services resource connected to ACS "
                "(https://<custom subdomain>.cognitiveservices.azure.com/), passed on answer and "
                "create call; unset = calls get no text-to-speech"),
    # A secret shared with the services a flow's ask step posts to: never in the repo or logs.
    SettingSpec(FLOW_ASK_SECRET, Where.OPTIONAL,
                f"secret (at least {FLOW_ASK_SECRET_MIN_CHARS} characters) whose UTF-8 bytes sign "
                "a flow's ask requests (HMAC-SHA256, docs/flows.md); unset = a rule set with an "
                "ask step is refused"),
)


@dataclass(frozen=True)
class TableConnection:
    """How to reach Table Storage: a connection string, or a URI plus managed identity."""

    connection_string: str | None = None
    table_service_uri: str | None = None
    client_id: str | None = None
    managed_identity: bool = False  # CallStateStorage__credential = managedidentity


@dataclass(frozen=True)
class Settings:
    """A snapshot of the environment, validated field by field on access."""

    values: Mapping[str, str]

    def _get(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None or not value.strip():
            spec = next((s for s in SETTINGS if s.name == name), None)
            return spec.default if spec else None
        return value.strip()

    def _require(self, name: str) -> str:
        value = self._get(name)
        if value is None:
            raise SettingError(name, "is not set")
        return value

    def _url(self, name: str, *, required: bool = True) -> str | None:
        value = self._require(name) if required else self._get(name)
        if value is None:
            return None
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise SettingError(name, f"must be an http(s) URL, got {value!r}")
        return value.rstrip("/")

    def _int(self, name: str, low: int, high: int) -> int:
        raw = self._require(name)
        try:
            number = int(raw)
        except ValueError:
            raise SettingError(name, f"must be an integer, got {raw!r}") from None
        if not low <= number <= high:
            raise SettingError(name, f"must be between {low} and {high}, got {number}")
        return number

    @property
    def acs_endpoint(self) -> str:
        value = self._url(ACS_ENDPOINT)
        assert value is not None
        return value

    @property
    def acs_access_key(self) -> str | None:
        return self._get(ACS_ACCESS_KEY)

    @property
    def acs_resource_id(self) -> str:
        return self._require(ACS_RESOURCE_ID)

    @property
    def callback_issuer(self) -> str:
        value = self._url(ACS_CALLBACK_ISSUER)
        assert value is not None
        return value

    @property
    def callback_jwks_url(self) -> str:
        value = self._url(ACS_CALLBACK_JWKS_URL)
        assert value is not None
        return value

    @property
    def callback_base_url(self) -> str:
        value = self._url(CALLBACK_BASE_URL)
        assert value is not None
        return value

    @property
    def callback_url(self) -> str:
        return f"{self.callback_base_url}/api/callbacks"

    @property
    def default_caller_id(self) -> str | None:
        value = self._get(DEFAULT_CALLER_ID)
        if value is not None and not _is_e164(value):
            raise SettingError(DEFAULT_CALLER_ID, f"must be an E.164 number, got {value!r}")
        return value

    @property
    def table_connection(self) -> TableConnection:
        connection_string = self._get(CALL_STATE_STORAGE)
        if connection_string:
            return TableConnection(connection_string=connection_string)
        uri = self._url(CALL_STATE_TABLE_URI, required=False)
        if uri is None:
            raise SettingError(
                CALL_STATE_STORAGE, f"is not set (nor is {CALL_STATE_TABLE_URI})"
            )
        credential = self._get(CALL_STATE_CREDENTIAL)
        if credential is not None and credential.lower() != "managedidentity":
            # The value is not echoed: a misplaced secret must not reach the logs.
            raise SettingError(CALL_STATE_CREDENTIAL, "must be managedidentity (or unset)")
        return TableConnection(
            table_service_uri=uri,
            client_id=self._get(CALL_STATE_CLIENT_ID) or self._get(AZURE_CLIENT_ID),
            managed_identity=credential is not None,
        )

    @property
    def listing_key(self) -> bytes | None:
        """The listing's secret: LISTING_KEY, else derived from the storage account key; None
        when neither exists (identity-based storage without LISTING_KEY)."""
        value = self._get(LISTING_KEY)
        if value is not None:
            if len(value) < LISTING_KEY_MIN_CHARS:
                # The value is not echoed: it is a secret.
                raise SettingError(LISTING_KEY, f"must be at least {LISTING_KEY_MIN_CHARS} "
                                                "characters")
            return _derive(value.encode(), b"listing-key")
        account_key = _account_key(self._get(CALL_STATE_STORAGE) or "")
        return _derive(account_key.encode(), b"listing-key-from-storage") if account_key else None

    @property
    def flow_ask_secret(self) -> bytes | None:
        """The ask requests' signing key as the receiver computes it: the value's UTF-8 bytes."""
        value = self._get(FLOW_ASK_SECRET)
        if value is None:
            return None
        if len(value) < FLOW_ASK_SECRET_MIN_CHARS:  # the value is not echoed: it is a secret
            raise SettingError(FLOW_ASK_SECRET, f"must be at least {FLOW_ASK_SECRET_MIN_CHARS} characters")
        return value.encode("utf-8")

    @property
    def managed_identity_pinned(self) -> bool:
        """True where infra pins the app to its managed identity (AZURE_TOKEN_CREDENTIALS)."""
        return (self._get(AZURE_TOKEN_CREDENTIALS) or "").lower() == MANAGED_IDENTITY_CREDENTIAL.lower()

    @property
    def azure_client_id(self) -> str | None:
        return self._get(AZURE_CLIENT_ID)

    @property
    def rules_file(self) -> str | None:
        return self._get(RULES_FILE)

    @property
    def rules_cache_seconds(self) -> int:
        return self._int(RULES_CACHE_SECONDS, 0, 3600)

    @property
    def redirect_max_hops(self) -> int:
        return self._int(REDIRECT_MAX_HOPS, 0, 20)

    @property
    def redirect_loop_key(self) -> str:
        return self._choice(REDIRECT_LOOP_KEY, ("correlationId", "serverCallId"))

    @property
    def redirect_loop_reject_reason(self) -> str:
        return self._choice(REDIRECT_LOOP_REJECT_REASON, ("none", "busy", "forbidden"))

    def _choice(self, name: str, allowed: tuple[str, ...]) -> str:
        value = self._require(name)
        if value not in allowed:
            raise SettingError(name, f"must be one of {', '.join(allowed)}, got {value!r}")
        return value

    @property
    def acs_request_timeout_seconds(self) -> int:
        return self._int(ACS_REQUEST_TIMEOUT_SECONDS, 1, 120)

    def schedule(self, name: str) -> Schedule:
        """A job's NCRONTAB schedule (RECONCILE_SCHEDULE, RETENTION_SCHEDULE, OUTBOX_SCHEDULE)."""
        return parse_schedule(name, self._require(name))

    @property
    def reconcile_after_minutes(self) -> int:
        return self._int(RECONCILE_AFTER_MINUTES, 0, 24 * 60)  # 0: every run asks ACS

    @property
    def reconcile_max_calls(self) -> int:
        return self._int(RECONCILE_MAX_CALLS, 1, 5000)

    @property
    def pending_operation_timeout_seconds(self) -> int:
        return self._int(PENDING_OPERATION_TIMEOUT_SECONDS, 30, 24 * 3600)

    @property
    def add_participant_margin_seconds(self) -> int:
        return self._int(ADD_PARTICIPANT_MARGIN_SECONDS, 0, 3600)

    @property
    def call_retention_days(self) -> int:
        return self._int(CALL_RETENTION_DAYS, 1, 3650)

    @property
    def rule_versions_kept(self) -> int:
        return self._int(RULE_VERSIONS_KEPT, 1, 10_000)

    @property
    def retention_batch_size(self) -> int:
        return self._int(RETENTION_BATCH_SIZE, 1, 10_000)


    @property
    def management_auth(self) -> AuthMode:
        return AuthMode(self._choice(MANAGEMENT_AUTH, tuple(m.value for m in AuthMode)))

    @property
    def entra_tenant_id(self) -> str:
        return self._require(ENTRA_TENANT_ID)

    @property
    def management_api_audiences(self) -> tuple[str, ...]:
        audiences = _csv(self._get(MANAGEMENT_API_AUDIENCES))
        if not audiences:
            raise SettingError(MANAGEMENT_API_AUDIENCES, "is not set")
        return audiences

    @property
    def entra_issuers(self) -> tuple[str, ...]:
        """Entra ID signs v1 tokens as sts.windows.net and v2 as login.microsoftonline.com;
        which one a caller gets depends on the API registration's accessTokenAcceptedVersion."""
        given = _csv(self._get(ENTRA_ISSUERS))
        if given:
            return given
        tenant = self.entra_tenant_id
        return (f"https://sts.windows.net/{tenant}/",
                f"https://login.microsoftonline.com/{tenant}/v2.0")

    @property
    def entra_jwks_url(self) -> str:
        given = self._url(ENTRA_JWKS_URL, required=False)
        if given is not None:
            return given
        return f"https://login.microsoftonline.com/{self.entra_tenant_id}/discovery/v2.0/keys"

    @property
    def publish_digits(self) -> bool:
        raw = self._require(PUBLISH_DIGITS).lower()
        if raw not in ("true", "false"):
            raise SettingError(PUBLISH_DIGITS, f"must be true or false, got {raw!r}")
        return raw == "true"

    @property
    def eventgrid_topic_endpoint(self) -> str | None:
        return self._url(EVENTGRID_TOPIC_ENDPOINT, required=False)

    @property
    def eventgrid_topic_key(self) -> str | None:
        return self._get(EVENTGRID_TOPIC_KEY)

    @property
    def eventgrid_publish_timeout_seconds(self) -> int:
        return self._int(EVENTGRID_PUBLISH_TIMEOUT_SECONDS, 1, 60)

    @property
    def cognitive_services_endpoint(self) -> str | None:
        """Passed to ACS as given (the resource's endpoint ends in a slash); https only, as ACS
        reaches it with its own identity."""
        value = self._get(COGNITIVE_SERVICES_ENDPOINT)
        if value is None:
            return None
        try:
            parsed = urlparse(value)
            usable = (parsed.scheme == "https" and bool(parsed.hostname)
                      and not parsed.query and not parsed.fragment)
        except ValueError:  # e.g. an unclosed IPv6 bracket
            usable = False
        if not usable:
            raise SettingError(COGNITIVE_SERVICES_ENDPOINT,
                               f"must be an https URL without query or fragment, got {value!r}")
        return value


def management_auth_at_index(environ: Mapping[str, str] | None = None) -> AuthMode:
    """The mode as the host's indexing sees it (auth levels are fixed then). A value this
    release does not know counts as `keys` here, so the host keeps its key check; the first
    management request then fails on the setting (Settings.management_auth): closed, not open."""
    values = os.environ if environ is None else environ
    raw = (values.get(MANAGEMENT_AUTH) or "").strip()
    return AuthMode(raw) if raw in {m.value for m in AuthMode} else AuthMode.KEYS


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def _derive(secret: bytes, label: bytes) -> bytes:
    """A key of its own for one use, so the secret itself is never the key."""
    return hmac.new(secret, label, hashlib.sha256).digest()


def _account_key(connection_string: str) -> str | None:
    for part in connection_string.split(";"):
        name, _, value = part.partition("=")
        if name.strip().lower() == "accountkey" and value.strip():
            return value.strip()
    return None


def _is_e164(value: str) -> bool:
    return E164.fullmatch(value) is not None


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Snapshot the environment (or the given mapping) as settings; validation is per access."""
    return Settings(dict(os.environ if environ is None else environ))
