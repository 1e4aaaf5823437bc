"""The one place the app's Entra token credential is chosen.

In Azure the app runs as one user-assigned identity, and infra pins it (AZURE_TOKEN_CREDENTIALS =
ManagedIdentityCredential, AZURE_CLIENT_ID = its client id): the credential is then exactly that
identity, never a chain that could pick up another identity or an environment secret.
DefaultAzureCredential is left for local development (az login, VS Code, ...).
"""

from __future__ import annotations

from azure.core.credentials import TokenCredential
from azure.core.credentials_async import AsyncTokenCredential

from callcontrol.domain.errors import SettingError
from callcontrol.settings import AZURE_CLIENT_ID, Settings


def token_credential(
    settings: Settings, *, client_id: str | None = None, managed_identity: bool = False
) -> AsyncTokenCredential:
    """ManagedIdentityCredential for the user-assigned identity when pinned, else the dev chain.

    `client_id` overrides AZURE_CLIENT_ID (a connection's own `__clientId`); `managed_identity`
    asks for the managed identity even without the global pin (a connection's `__credential`).
    """
    from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

    if settings.managed_identity_pinned or managed_identity:
        identity = client_id or settings.azure_client_id
        if identity is None:
            # A system-assigned fallback would be a different, unauthorised identity: refuse.
            raise SettingError(AZURE_CLIENT_ID, "is not set; the managed identity needs its client id")
        return ManagedIdentityCredential(client_id=identity)
    return DefaultAzureCredential()


def ingestion_credential(settings: Settings) -> TokenCredential:
    """The same identity for Azure Monitor ingestion (Entra-only), whose exporter takes a
    synchronous credential: ManagedIdentityCredential when pinned, else the dev chain."""
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    if settings.managed_identity_pinned:
        if settings.azure_client_id is None:
            raise SettingError(AZURE_CLIENT_ID, "is not set; the managed identity needs its client id")
        return ManagedIdentityCredential(client_id=settings.azure_client_id)
    return DefaultAzureCredential()
