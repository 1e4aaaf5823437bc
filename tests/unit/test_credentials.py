"""The app's token credential: exactly the user-assigned identity in Azure, the dev chain locally.

Which identity a ManagedIdentityCredential asks for is observed the way Azure sees it: the
credential requests its token from the App Service identity endpoint (IDENTITY_ENDPOINT, as on a
Functions host), here a loopback server that records the client id and returns a dummy token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

import callcontrol.adapters.credentials
from callcontrol.adapters.credentials import token_credential
from callcontrol.composition.from_settings import gateway_from_settings, table_backend_from_settings
from callcontrol.domain.errors import SettingError
from callcontrol.settings import load_settings

CLIENT_ID = "00000000-0000-0000-0000-0000000000c1"
TABLE_CLIENT_ID = "00000000-0000-0000-0000-0000000000c2"
# What infra/app/function-app.bicep sets (tests/unit/infra checks the Bicep side).
AZURE = {
    "AZURE_TOKEN_CREDENTIALS": "ManagedIdentityCredential",
    "AZURE_CLIENT_ID": CLIENT_ID,
    "ACS_ENDPOINT": "https://acs-test.communication.azure.com",
    "ACS_RESOURCE_ID": "00000000-0000-0000-0000-0000000000a1",
    "CALLBACK_BASE_URL": "https://func-test.azurewebsites.net",
    "CallStateStorage__tableServiceUri": "https://sttest.table.core.windows.net",
    "CallStateStorage__credential": "managedidentity",
    "CallStateStorage__clientId": TABLE_CLIENT_ID,
}
LOCAL = {k: v for k, v in AZURE.items() if k != "AZURE_TOKEN_CREDENTIALS"}


@pytest.fixture
async def identity_endpoint(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[list[str]]:
    """A loopback App Service identity endpoint; yields the client ids it was asked for."""
    asked: list[str] = []

    async def token(request: web.Request) -> web.Response:
        assert request.headers.get("X-IDENTITY-HEADER") == "test-header"
        asked.append(request.query.get("client_id", "<none>"))
        return web.json_response({"access_token": "dummy", "expires_on": "4102444800",
                                  "resource": request.query.get("resource"), "token_type": "Bearer"})

    app = web.Application()
    app.router.add_get("/msi/token", token)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    monkeypatch.setenv("IDENTITY_ENDPOINT", f"http://127.0.0.1:{port}/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", "test-header")
    try:
        yield asked
    finally:
        await runner.cleanup()


async def test_pinned_managed_identity_asks_for_the_user_assigned_client_id(
    identity_endpoint: list[str],
) -> None:
    credential = token_credential(load_settings(AZURE))
    try:
        assert isinstance(credential, ManagedIdentityCredential)
        await credential.get_token("https://communication.azure.com/.default")
    finally:
        await credential.close()
    assert identity_endpoint == [CLIENT_ID]


async def test_a_connection_client_id_overrides_the_app_one(identity_endpoint: list[str]) -> None:
    credential = token_credential(load_settings(AZURE), client_id=TABLE_CLIENT_ID)
    try:
        await credential.get_token("https://storage.azure.com/.default")
    finally:
        await credential.close()
    assert identity_endpoint == [TABLE_CLIENT_ID]


def test_pinned_without_a_client_id_is_refused() -> None:
    # Falling back to a system-assigned identity would be another, unauthorised principal.
    settings = load_settings({**AZURE, "AZURE_CLIENT_ID": ""})
    with pytest.raises(SettingError) as caught:
        token_credential(settings)
    assert caught.value.name == "AZURE_CLIENT_ID"


async def test_local_development_gets_the_default_chain() -> None:
    credential = token_credential(load_settings(LOCAL))
    try:
        assert isinstance(credential, DefaultAzureCredential)
    finally:
        await credential.close()


def test_table_credential_must_be_managedidentity() -> None:
    settings = load_settings({**AZURE, "CallStateStorage__credential": "s3cr3t-value"})
    with pytest.raises(SettingError) as caught:
        _ = settings.table_connection
    assert caught.value.name == "CallStateStorage__credential"
    assert "s3cr3t-value" not in str(caught.value)


class Spy:
    """Wraps the real token_credential and records what each call site asked for."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, Any], Any]] = []

    def __call__(self, settings: Any, **kwargs: Any) -> Any:
        credential = token_credential(settings, **kwargs)
        self.calls.append((kwargs, credential))
        return credential


@pytest.mark.parametrize("environ", [AZURE, LOCAL], ids=["pinned", "convention-only"])
async def test_table_store_uses_its_connection_identity(
    environ: dict[str, str], monkeypatch: pytest.MonkeyPatch, identity_endpoint: list[str]
) -> None:
    # Without the global pin, CallStateStorage__credential=managedidentity alone selects the
    # managed identity, with the connection's own client id.
    spy = Spy()
    monkeypatch.setattr(callcontrol.adapters.credentials, "token_credential", spy)
    backend = table_backend_from_settings(load_settings(environ))
    [(kwargs, credential)] = spy.calls
    try:
        assert kwargs == {"client_id": TABLE_CLIENT_ID, "managed_identity": True}
        assert isinstance(credential, ManagedIdentityCredential)
        await credential.get_token("https://storage.azure.com/.default")
    finally:
        await backend.close()
        await credential.close()
    assert identity_endpoint == [TABLE_CLIENT_ID]


async def test_acs_gateway_uses_the_pinned_identity(
    monkeypatch: pytest.MonkeyPatch, identity_endpoint: list[str]
) -> None:
    spy = Spy()
    monkeypatch.setattr(callcontrol.adapters.credentials, "token_credential", spy)
    gateway = gateway_from_settings(load_settings(AZURE))
    [(_, credential)] = spy.calls
    try:
        assert isinstance(credential, ManagedIdentityCredential)
        await credential.get_token("https://communication.azure.com/.default")
    finally:
        await gateway.close()
        await credential.close()
    assert identity_endpoint == [CLIENT_ID]


async def test_acs_access_key_needs_no_token_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = Spy()
    monkeypatch.setattr(callcontrol.adapters.credentials, "token_credential", spy)
    gateway = gateway_from_settings(load_settings({**LOCAL, "ACS_ACCESS_KEY": "a2V5"}))
    await gateway.close()
    assert spy.calls == []


async def test_ingestion_uses_the_same_pinned_identity_synchronously(
    identity_endpoint: list[str],
) -> None:
    # The Azure Monitor exporter takes a synchronous credential: same identity, same endpoint.
    import asyncio

    from azure.identity import ManagedIdentityCredential as SyncManagedIdentityCredential

    from callcontrol.adapters.credentials import ingestion_credential

    credential = ingestion_credential(load_settings(AZURE))
    assert isinstance(credential, SyncManagedIdentityCredential)
    await asyncio.to_thread(credential.get_token, "https://monitor.azure.com/.default")
    assert identity_endpoint == [CLIENT_ID]


def test_ingestion_without_the_client_id_is_refused_by_name() -> None:
    from callcontrol.adapters.credentials import ingestion_credential

    settings = load_settings({k: v for k, v in AZURE.items() if k != "AZURE_CLIENT_ID"})
    with pytest.raises(SettingError, match="AZURE_CLIENT_ID"):
        ingestion_credential(settings)
