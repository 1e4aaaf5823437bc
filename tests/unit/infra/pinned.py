"""The one pinned list of Azure resource types and API versions the infra may use.

Each version was checked against the published Bicep/ARM reference for that type. Changing a
version is a deliberate edit here; a template that drifts from this list fails the tests.
"""

from __future__ import annotations

from typing import Final

PINNED_API_VERSIONS: Final[dict[str, str]] = {
    "Microsoft.Resources/resourceGroups": "2022-09-01",
    "Microsoft.ManagedIdentity/userAssignedIdentities": "2023-01-31",
    "Microsoft.Storage/storageAccounts": "2023-05-01",
    "Microsoft.Storage/storageAccounts/blobServices": "2023-05-01",
    "Microsoft.Storage/storageAccounts/blobServices/containers": "2023-05-01",
    "Microsoft.Storage/storageAccounts/managementPolicies": "2023-05-01",
    "Microsoft.OperationalInsights/workspaces": "2023-09-01",
    "Microsoft.Insights/components": "2020-02-02",
    # 2025-05-01: the first GA version with disableLocalAuth (no access keys).
    "Microsoft.Communication/communicationServices": "2025-05-01",
    "Microsoft.EventGrid/systemTopics": "2025-02-15",
    "Microsoft.EventGrid/topics": "2025-02-15",
    "Microsoft.Authorization/roleAssignments": "2022-04-01",
    "Microsoft.Authorization/roleDefinitions": "2022-04-01",
    # functionAppConfig (Flex Consumption) needs 2023-12-01 or later; 2024-11-01 is the current
    # GA version and keeps the same shape (scaleAndConcurrency.triggers.http included).
    "Microsoft.Web/serverfarms": "2024-11-01",
    "Microsoft.Web/sites": "2024-11-01",
    "Microsoft.Web/sites/config": "2024-11-01",
    "Microsoft.Web/sites/basicPublishingCredentialsPolicies": "2024-11-01",
    # Diagnostics and alerts (infra/app/diagnostics.bicep, infra/app/alerts.bicep).
    "Microsoft.Insights/diagnosticSettings": "2021-05-01-preview",
    "Microsoft.Insights/metricAlerts": "2018-03-01",
    "Microsoft.Insights/scheduledQueryRules": "2023-12-01",
    "Microsoft.Insights/actionGroups": "2023-01-01",
    # Text prompts (infra/core/speech.bicep): a GA version with customSubDomainName and
    # disableLocalAuth for kind AIServices.
    "Microsoft.CognitiveServices/accounts": "2025-06-01",
}

# Written by the postdeploy hooks through ARM (az rest), not by Bicep.
HOOK_API_VERSIONS: Final[dict[str, str]] = {
    "Microsoft.EventGrid/systemTopics/eventSubscriptions": "2025-02-15",
}

# Built-in role definition ids: the same GUID in every tenant.
STORAGE_BLOB_DATA_OWNER: Final = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
STORAGE_BLOB_DATA_CONTRIBUTOR: Final = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
STORAGE_TABLE_DATA_CONTRIBUTOR: Final = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
MONITORING_METRICS_PUBLISHER: Final = "3913510d-42f4-4e42-8a64-420c390055eb"
COMMUNICATION_AND_EMAIL_SERVICE_OWNER: Final = "09976791-48a7-449e-bb21-39d1a415f350"  # not granted
EVENTGRID_DATA_SENDER: Final = "d5a91429-5739-47e2-a06b-3470a27159e7"
COGNITIVE_SERVICES_USER: Final = "a97b65f3-24c7-4388-baec-2e87135dc908"

# The app's custom role on ACS (infra/app/access.bicep): exactly these actions, nothing else.
ACS_CALLER_ROLE_NAME: Final = "ACS Call Automation caller"
ACS_CALLER_ACTIONS: Final = frozenset({
    "Microsoft.Communication/CommunicationServices/Read",
    "Microsoft.Communication/CommunicationServices/Write",
})
