"""docs/deployment.md against the templates: what gets created, and how many role assignments.

The page drifted before (five role assignments when there were six; the custom topic missing
from "What gets created"). These checks derive the facts from the Bicep files.
"""

from __future__ import annotations

import re

from tests.unit.infra.bicep_model import REPO_ROOT, bicep_files, resources
from tests.unit.infra.test_access_and_secrets import grants

DEPLOYMENT_DOC = REPO_ROOT / "docs" / "deployment.md"
NUMBER_WORDS = {4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine"}

# Each resource type the templates create, and the words its row in "What gets created" uses.
# Child resources and settings are covered by their parent's row.
ROWS = {
    "Microsoft.Resources/resourceGroups": "Resource group",
    "Microsoft.ManagedIdentity/userAssignedIdentities": "User-assigned managed identity",
    "Microsoft.Storage/storageAccounts": "Storage account",
    "Microsoft.Storage/storageAccounts/blobServices": "Storage account",
    "Microsoft.Storage/storageAccounts/blobServices/containers": "incoming-call-deadletter",
    "Microsoft.Storage/storageAccounts/managementPolicies": "lifecycle rule",
    "Microsoft.OperationalInsights/workspaces": "Log Analytics workspace",
    "Microsoft.Insights/components": "Application Insights",
    "Microsoft.Web/serverfarms": "Flex Consumption plan",
    "Microsoft.Web/sites": "function app",
    "Microsoft.Web/sites/config": "The app settings are",
    "Microsoft.Web/sites/basicPublishingCredentialsPolicies": "basic publishing off",
    "Microsoft.Communication/communicationServices": "Communication Services resource",
    "Microsoft.EventGrid/systemTopics": "Event Grid system topic",
    "Microsoft.EventGrid/topics": "Event Grid custom topic",
    "Microsoft.Authorization/roleDefinitions": "Custom role definition",
    "Microsoft.Authorization/roleAssignments": "role assignments",
    "Microsoft.Insights/diagnosticSettings": "Diagnostic settings",
    "Microsoft.Insights/metricAlerts": "alert rules",
    "Microsoft.Insights/scheduledQueryRules": "alert rules",
    "Microsoft.Insights/actionGroups": "action group",
    "Microsoft.CognitiveServices/accounts": "Azure AI services resource",
}


def section(title: str) -> str:
    text = DEPLOYMENT_DOC.read_text()
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return re.sub(r"\s+", " ", text[start:end])


def created_types() -> set[str]:
    return {resource["type"] for path in bicep_files()
            for resource in resources(path).values() if not resource["existing"]}


def test_what_gets_created_names_every_resource_type() -> None:
    types = created_types()
    assert types - set(ROWS) == set(), "a new resource type: give it a row and an entry here"
    created = section("What gets created")
    missing = sorted(t for t in types if ROWS[t] not in created)
    assert missing == []


def test_the_role_assignment_count_is_the_templates() -> None:
    count = NUMBER_WORDS[len(grants())]
    assert f"{count.capitalize()} role assignments" in section("What gets created")
    assert f"the role assignments are exactly the {count} above" in section(
        "What was checked offline, and what only a real deployment proves")
    for word in set(NUMBER_WORDS.values()) - {count}:
        assert f"exactly the {word} above" not in DEPLOYMENT_DOC.read_text()
