"""Management callers below the role matrix: the token → actor mapping, the modes, the
settings, the actor's stored and published forms."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from callcontrol.adapters.caller_auth import actor_of
from callcontrol.adapters.store.codec import decode_call, encode_call
from callcontrol.domain.access import KEY_HOLDER, Actor, ActorKind, AuthMode, Role
from callcontrol.domain.errors import AcsUnavailable, Forbidden, SettingError, Unauthenticated
from callcontrol.domain.events.call_events import Cause, announce
from callcontrol.domain.models import CallRecord, CallState, Operation, OperationKind, OperationStatus
from callcontrol.settings import load_settings, management_auth_at_index
from callcontrol.usecases.access import ManagementAccess
from tests.support.entra import TestTenant

OID = "5b0c7d3e-0000-4000-8000-000000000001"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
BILLING = Actor(ActorKind.APP, OID, "billing", "client-1", frozenset({Role.CALLS_CONTROL}))


def test_an_app_only_v1_token_names_the_app_and_keeps_known_roles() -> None:
    actor = actor_of({"oid": OID, "appid": "client-1", "app_displayname": "billing",
                      "roles": ["calls.control", "something.else"]})
    assert actor == BILLING


def test_a_delegated_token_is_a_user() -> None:
    actor = actor_of({"oid": OID, "azp": "spa", "scp": "user_impersonation", "name": "Ada",
                      "roles": ["rules.read"]})
    assert (actor.kind, actor.name, actor.roles) == (ActorKind.USER, "Ada",
                                                     frozenset({Role.RULES_READ}))


@pytest.mark.parametrize("claims", [{}, {"oid": ""}, {"oid": 7}])
def test_a_token_without_a_principal_is_refused(claims: dict[str, object]) -> None:
    with pytest.raises(Unauthenticated, match="oid"):
        actor_of(claims)


def test_roles_that_are_not_a_list_give_none() -> None:
    assert actor_of({"oid": OID, "roles": "calls.read"}).roles == frozenset()


class Tokens:
    def __init__(self, tenant: TestTenant) -> None:
        self.verifier = tenant.caller_tokens()

    async def actor(self, authorization: str) -> Actor:
        return await self.verifier.actor(authorization)


def access(mode: AuthMode, tenant: TestTenant) -> ManagementAccess:
    return ManagementAccess(lambda: mode, lambda: Tokens(tenant))


async def test_keys_mode_never_reads_a_token() -> None:
    tenant = TestTenant()
    assert await access(AuthMode.KEYS, tenant).admit("Bearer junk", Role.RULES_WRITE) == KEY_HOLDER


async def test_both_mode_a_token_narrows_the_key_holder() -> None:
    tenant = TestTenant()
    both = access(AuthMode.BOTH, tenant)
    assert await both.admit(None, Role.RULES_WRITE) == KEY_HOLDER
    with pytest.raises(Forbidden):
        await both.admit(tenant.token("calls.read"), Role.RULES_WRITE)
    with pytest.raises(Unauthenticated):
        await both.admit("Basic a2V5", Role.CALLS_READ)  # a token that is not one is refused


async def test_entra_mode_checks_issuer_and_expiry() -> None:
    tenant, stranger = TestTenant(), TestTenant()
    entra = access(AuthMode.ENTRA, tenant)
    with pytest.raises(Unauthenticated):
        await entra.admit(stranger.token("calls.read"), Role.CALLS_READ)  # another key
    with pytest.raises(Unauthenticated, match="issuer"):
        await entra.admit(tenant.token("calls.read", iss="https://sts.windows.net/other/"),
                          Role.CALLS_READ)
    with pytest.raises(Unauthenticated, match="expired"):
        await entra.admit(tenant.signer.bearer(lifetime=-120, oid=OID, aud=tenant.signer.audience,
                                               roles=["calls.read"]), Role.CALLS_READ)
    actor = await entra.admit(tenant.token("calls.read", oid=OID), Role.CALLS_READ)
    assert (actor.kind, actor.id) == (ActorKind.APP, OID)


async def test_unreachable_keys_are_a_503_named_for_entra() -> None:
    from callcontrol.adapters.caller_auth import EntraCallerTokens

    async def down() -> dict[str, object]:
        raise OSError("connection refused")

    tokens = EntraCallerTokens(issuers=["i"], audiences=["a"], fetch_jwks=down)
    with pytest.raises(AcsUnavailable, match="Entra ID token signing keys"):
        await tokens.actor(TestTenant().token("calls.read"))


def test_the_mode_setting() -> None:
    assert load_settings({}).management_auth is AuthMode.KEYS
    assert load_settings({"MANAGEMENT_AUTH": "entra"}).management_auth is AuthMode.ENTRA
    with pytest.raises(SettingError, match="MANAGEMENT_AUTH"):
        _ = load_settings({"MANAGEMENT_AUTH": "open"}).management_auth
    # At indexing an unknown value keeps the host's key check (closed, not open).
    assert management_auth_at_index({"MANAGEMENT_AUTH": "open"}) is AuthMode.KEYS
    assert management_auth_at_index({"MANAGEMENT_AUTH": "entra"}) is AuthMode.ENTRA


def test_the_tenant_gives_both_issuers_and_its_key_set() -> None:
    settings = load_settings({"ENTRA_TENANT_ID": "t-1", "MANAGEMENT_API_AUDIENCES": "c, api://x"})
    assert settings.entra_issuers == ("https://sts.windows.net/t-1/",
                                      "https://login.microsoftonline.com/t-1/v2.0")
    assert settings.entra_jwks_url == "https://login.microsoftonline.com/t-1/discovery/v2.0/keys"
    assert settings.management_api_audiences == ("c", "api://x")
    with pytest.raises(SettingError, match="MANAGEMENT_API_AUDIENCES"):
        _ = load_settings({}).management_api_audiences


def record(operation: Operation) -> CallRecord:
    return CallRecord("call-1", state=CallState.CONNECTED, created_at=NOW, updated_at=NOW,
                      operations=(operation,))


def test_the_actor_is_stored_with_the_operation_and_older_rows_have_none() -> None:
    named = record(Operation("hangup-1", OperationKind.HANG_UP, OperationStatus.PENDING, NOW,
                             actor=BILLING))
    assert decode_call(encode_call(named)).operations[0].actor == BILLING
    anonymous = record(Operation("hangup-1", OperationKind.HANG_UP, OperationStatus.PENDING, NOW))
    packed = encode_call(anonymous)
    assert "actor" not in json.dumps(packed)
    assert decode_call(packed).operations[0].actor is None


def test_call_events_carry_the_actor_in_their_cause_and_operation() -> None:
    # A mute is settled by ACS's 200, in the caller's own request: the app's write announces it.
    pending = Operation("mute-1", OperationKind.MUTE, OperationStatus.PENDING, NOW, actor=BILLING)
    before = record(pending)
    after = record(Operation("mute-1", OperationKind.MUTE, OperationStatus.SUCCEEDED, NOW, NOW,
                             actor=BILLING))
    [event] = announce(before, after, Cause.by(BILLING), NOW)
    assert event.data["cause"] == {"source": "app", "actor": BILLING.to_json()}
    assert event.data["change"]["operation"]["actor"] == BILLING.to_json()
    assert Cause.by(None) == Cause()  # no caller known: the cause says what it always said
